import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

struct PostgresModelVersions: ModelVersionRepository {
    let client: PostgresClient
    let logger: Logger
    static let columns = "name, version, config, author, message, source_hash, deleted, created_at"

    static func version(_ row: PostgresRow) throws -> ModelVersion {
        let (name, version, config, author, message, hash, deleted, created) = try row.decode(
            (String, Int, String, String, String?, String?, Int, Int64).self)
        return ModelVersion(
            name: name, version: version, config: try JSONDecoder().decode(ModelConfig.self, from: Data(config.utf8)),
            author: author, message: message, createdAt: Timestamp.date(created), sourceHash: hash, deleted: deleted != 0)
    }

    func append(name: String, config: ModelConfig, author: String, message: String?, sourceHash: String?, deleted: Bool) async throws -> ModelVersion {
        let text = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        let now = Timestamp.now()
        // The primary key (name, version) makes concurrent appends retry rather than collide.
        for _ in 0..<5 {
            do {
                let version =
                    try await collect(
                        client.mappedQuery(
                            """
                            INSERT INTO model_versions (name, version, config, author, message, source_hash, deleted, created_at)
                            SELECT \(name), COALESCE(MAX(version), 0) + 1, \(text), \(author), \(message)::text, \(sourceHash)::text,
                                   \(deleted ? 1 : 0), \(Timestamp.micros(now))
                            FROM model_versions WHERE name = \(name)
                            RETURNING version
                            """, logger: logger)
                    ) { try $0.decode(Int.self) }.first ?? 1
                return ModelVersion(
                    name: name, version: version, config: config, author: author, message: message, createdAt: now,
                    sourceHash: sourceHash, deleted: deleted)
            } catch let error as TernError where error.code == "unique_violation" {
                continue
            }
        }
        throw TernError.conflict("model \(name) is being changed concurrently; try again")
    }

    func latest(name: String) async throws -> ModelVersion? {
        try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.columns) FROM model_versions WHERE name = \(name) ORDER BY version DESC LIMIT 1", logger: logger),
            Self.version
        ).first
    }

    func latestAll() async throws -> [ModelVersion] {
        try await collect(
            client.mappedQuery(
                "SELECT DISTINCT ON (name) \(unescaped: Self.columns) FROM model_versions ORDER BY name, version DESC", logger: logger),
            Self.version)
    }

    func history(name: String) async throws -> [ModelVersion] {
        try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.columns) FROM model_versions WHERE name = \(name) ORDER BY version DESC", logger: logger), Self.version)
    }

    func get(name: String, version: Int) async throws -> ModelVersion? {
        try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.columns) FROM model_versions WHERE name = \(name) AND version = \(version)", logger: logger),
            Self.version
        ).first
    }

    func changeCount() async throws -> Int {
        try await collect(client.mappedQuery("SELECT COUNT(*) FROM model_versions", logger: logger)) { try $0.decode(Int.self) }.first ?? 0
    }
}
