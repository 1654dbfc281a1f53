import Foundation
import Logging
import PostgresNIO
import TernCore

struct PostgresPrompts: PromptRepository {
    let client: PostgresClient
    let logger: Logger
    static let columns = "project_id, name, version, kind, text, messages, tools, variables, config, commit_message, author, created_at"

    static func version(_ row: PostgresRow) throws -> PromptVersion {
        let (project, name, version, kind, text, messages, tools, variables, config, message, author, created) = try row.decode(
            (String, String, Int, String, String?, String, String?, String, String, String?, String, Int64).self)
        return PromptVersion(
            projectID: project, name: name, version: version, kind: PromptKind(rawValue: kind) ?? .text, text: text,
            messages: StoredJSON.decode([PromptMessage].self, messages, default: []), tools: JSONValue.fromStored(tools),
            variables: StoredJSON.decode([String].self, variables, default: []),
            config: StoredJSON.decode(PromptModelConfig.self, config, default: PromptModelConfig()),
            commitMessage: message, author: author, createdAt: Timestamp.date(created))
    }

    func labels(_ connection: PostgresConnection? = nil, projectID: String, name: String) async throws -> [Int: [String]] {
        let query: PostgresQuery = "SELECT label, version FROM prompt_labels WHERE project_id = \(projectID) AND name = \(name) ORDER BY label"
        let rows = if let connection { try await connection.query(query, logger: logger) } else { try await client.mappedQuery(query, logger: logger) }
        var out: [Int: [String]] = [:]
        for try await (label, version) in rows.decode((String, Int).self) { out[version, default: []].append(label) }
        return out
    }

    func fetch(_ connection: PostgresConnection? = nil, projectID: String, name: String, version: Int?) async throws -> PromptVersion? {
        let query: PostgresQuery =
            if let version {
                "SELECT \(unescaped: Self.columns) FROM prompt_versions WHERE project_id = \(projectID) AND name = \(name) AND version = \(version)"
            } else {
                "SELECT \(unescaped: Self.columns) FROM prompt_versions WHERE project_id = \(projectID) AND name = \(name) ORDER BY version DESC LIMIT 1"
            }
        let rows = if let connection { try await connection.query(query, logger: logger) } else { try await client.mappedQuery(query, logger: logger) }
        guard var found = try await collect(rows, Self.version).first else { return nil }
        found.labels = try await labels(connection, projectID: projectID, name: name)[found.version] ?? []
        return found
    }

    func move(_ connection: PostgresConnection, projectID: String, name: String, label: String, version: Int, author: String) async throws -> PromptLabelMove {
        var from: Int?
        for try await value in try await connection.query(
            "SELECT version FROM prompt_labels WHERE project_id = \(projectID) AND name = \(name) AND label = \(label) FOR UPDATE", logger: logger
        ).decode(Int.self) { from = value }
        let now = Timestamp.now()
        // A label that already points there is not moved, and nothing is recorded.
        if from == version { return PromptLabelMove(name: name, label: label, fromVersion: from, toVersion: version, author: author, movedAt: now) }
        try await connection.query(
            """
            INSERT INTO prompt_labels (project_id, name, label, version) VALUES (\(projectID), \(name), \(label), \(version))
            ON CONFLICT (project_id, name, label) DO UPDATE SET version = EXCLUDED.version
            """, logger: logger)
        try await connection.query(
            """
            INSERT INTO prompt_label_moves (id, project_id, name, label, from_version, to_version, author, moved_at)
            VALUES (\(TernID.makeTimeOrdered()), \(projectID), \(name), \(label), \(from), \(version), \(author), \(Timestamp.micros(now)))
            """, logger: logger)
        return PromptLabelMove(name: name, label: label, fromVersion: from, toVersion: version, author: author, movedAt: now)
    }

    func push(_ version: PromptVersion, labels: [String]) async throws -> (version: PromptVersion, created: Bool) {
        try version.validate()
        for label in labels { try Self.checkLabel(label) }
        // Concurrent pushes of one prompt serialise on the advisory lock of its name.
        do {
            return try await client.mappedTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(version.projectID + "/" + version.name)))", logger: logger)
                var created = false
                var number: Int
                if let latest = try await fetch(connection, projectID: version.projectID, name: version.name, version: nil), latest.sameContent(as: version) {
                    number = latest.version
                } else {
                    number = 1
                    for try await value in try await connection.query(
                        "SELECT COALESCE(MAX(version), 0) + 1 FROM prompt_versions WHERE project_id = \(version.projectID) AND name = \(version.name)",
                        logger: logger
                    ).decode(Int.self) { number = value }
                    try await connection.query(
                        """
                        INSERT INTO prompt_versions (\(unescaped: Self.columns)) VALUES (\(version.projectID), \(version.name), \(number),
                            \(version.kind.rawValue), \(version.text), \(StoredJSON.encode(version.messages)), \(version.tools?.jsonString()),
                            \(StoredJSON.encode(version.variables)), \(StoredJSON.encode(version.config)), \(version.commitMessage), \(version.author),
                            \(Timestamp.micros(version.createdAt)))
                        """, logger: logger)
                    created = true
                }
                for label in labels {
                    _ = try await move(connection, projectID: version.projectID, name: version.name, label: label, version: number, author: version.author)
                }
                guard let stored = try await fetch(connection, projectID: version.projectID, name: version.name, version: number) else {
                    throw TernError.internalError("prompt version vanished while being stored")
                }
                return (stored, created)
            }
        } catch let error as PSQLError {
            throw mapPostgresError(error)
        }
    }

    func get(projectID: String, name: String, version: Int) async throws -> PromptVersion? {
        try await fetch(projectID: projectID, name: name, version: version)
    }

    func get(projectID: String, name: String, label: String) async throws -> PromptVersion? {
        if label == "latest" { return try await fetch(projectID: projectID, name: name, version: nil) }
        var number: Int?
        for try await value in try await client.mappedQuery(
            "SELECT version FROM prompt_labels WHERE project_id = \(projectID) AND name = \(name) AND label = \(label)", logger: logger
        ).decode(Int.self) { number = value }
        guard let number else { return nil }
        return try await fetch(projectID: projectID, name: name, version: number)
    }

    func history(projectID: String, name: String) async throws -> [PromptVersion] {
        let labels = try await labels(projectID: projectID, name: name)
        return try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.columns) FROM prompt_versions WHERE project_id = \(projectID) AND name = \(name) ORDER BY version DESC",
                logger: logger)
        ) { row in
            var version = try Self.version(row)
            version.labels = labels[version.version] ?? []
            return version
        }
    }

    func list(projectID: String) async throws -> [PromptSummary] {
        var labels: [String: [String: Int]] = [:]
        for try await (name, label, version) in try await client.mappedQuery(
            "SELECT name, label, version FROM prompt_labels WHERE project_id = \(projectID)", logger: logger
        ).decode((String, String, Int).self) { labels[name, default: [:]][label] = version }
        return try await collect(
            client.mappedQuery(
                "SELECT name, MAX(version), MAX(created_at) FROM prompt_versions WHERE project_id = \(projectID) GROUP BY name ORDER BY name",
                logger: logger)
        ) { row in
            let (name, latest, updated) = try row.decode((String, Int, Int64).self)
            return PromptSummary(name: name, latestVersion: latest, labels: labels[name] ?? [:], updatedAt: Timestamp.date(updated))
        }
    }

    func setLabel(projectID: String, name: String, label: String, version: Int, author: String) async throws -> PromptLabelMove {
        try Self.checkLabel(label)
        guard try await fetch(projectID: projectID, name: name, version: version) != nil else {
            throw TernError.notFound("prompt \(name) version \(version)", field: "version")
        }
        do {
            return try await client.mappedTransaction(logger: logger) { connection in
                try await move(connection, projectID: projectID, name: name, label: label, version: version, author: author)
            }
        } catch let error as PSQLError {
            throw mapPostgresError(error)
        }
    }

    func labelMoves(projectID: String, name: String) async throws -> [PromptLabelMove] {
        try await collect(
            client.mappedQuery(
                """
                SELECT name, label, from_version, to_version, author, moved_at FROM prompt_label_moves
                WHERE project_id = \(projectID) AND name = \(name) ORDER BY moved_at DESC, id DESC
                """, logger: logger)
        ) { row in
            let (name, label, from, to, author, moved) = try row.decode((String, String, Int?, Int, String, Int64).self)
            return PromptLabelMove(name: name, label: label, fromVersion: from, toVersion: to, author: author, movedAt: Timestamp.date(moved))
        }
    }
}
