import Foundation
import GRDB
import TernCore

struct SQLiteModelVersions: ModelVersionRepository {
    let pool: DatabasePool
    static let columns = "name, version, config, author, message, source_hash, deleted, created_at"

    static func version(_ row: Row) throws -> ModelVersion {
        let text: String = row["config"]
        let config = try JSONDecoder().decode(ModelConfig.self, from: Data(text.utf8))
        return ModelVersion(
            name: row["name"], version: row["version"], config: config, author: row["author"], message: row["message"],
            createdAt: row.date("created_at"), sourceHash: row["source_hash"], deleted: (row["deleted"] as Int) != 0)
    }

    func append(name: String, config: ModelConfig, author: String, message: String?, sourceHash: String?, deleted: Bool) async throws -> ModelVersion {
        let text = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        let now = Timestamp.now()
        return try await pool.write { db in
            let next = (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM model_versions WHERE name = ?", arguments: [name]) ?? 0) + 1
            try db.execute(
                sql: "INSERT INTO model_versions (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [name, next, text, author, message, sourceHash, deleted ? 1 : 0, Timestamp.micros(now)])
            return ModelVersion(
                name: name, version: next, config: config, author: author, message: message, createdAt: now,
                sourceHash: sourceHash, deleted: deleted)
        }
    }

    func latest(name: String) async throws -> ModelVersion? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.columns) FROM model_versions WHERE name = ? ORDER BY version DESC LIMIT 1",
                arguments: [name]
            ).map(Self.version)
        }
    }

    func latestAll() async throws -> [ModelVersion] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.columns) FROM model_versions m
                    WHERE version = (SELECT MAX(version) FROM model_versions WHERE name = m.name) ORDER BY name
                    """
            ).map(Self.version)
        }
    }

    func history(name: String) async throws -> [ModelVersion] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.columns) FROM model_versions WHERE name = ? ORDER BY version DESC",
                arguments: [name]
            ).map(Self.version)
        }
    }

    func get(name: String, version: Int) async throws -> ModelVersion? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.columns) FROM model_versions WHERE name = ? AND version = ?",
                arguments: [name, version]
            ).map(Self.version)
        }
    }

    func changeCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM model_versions") ?? 0 }
    }
}
