import Foundation
import GRDB
import TernCore

enum PromptColumns {
    static let columns = "project_id, name, version, kind, text, messages, tools, variables, config, commit_message, author, created_at"
}

struct SQLitePrompts: PromptRepository {
    let pool: DatabasePool

    static func version(_ row: Row, labels: [String]) -> PromptVersion {
        PromptVersion(
            projectID: row["project_id"], name: row["name"], version: row["version"], kind: PromptKind(rawValue: row["kind"]) ?? .text,
            text: row["text"], messages: StoredJSON.decode([PromptMessage].self, row["messages"], default: []),
            tools: JSONValue.fromStored(row["tools"]), variables: StoredJSON.decode([String].self, row["variables"], default: []),
            config: StoredJSON.decode(PromptModelConfig.self, row["config"], default: PromptModelConfig()),
            commitMessage: row["commit_message"], author: row["author"], createdAt: row.date("created_at"), labels: labels)
    }

    static func labels(_ db: Database, projectID: String, name: String) throws -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        for row in try Row.fetchAll(
            db, sql: "SELECT label, version FROM prompt_labels WHERE project_id = ? AND name = ? ORDER BY label",
            arguments: [projectID, name])
        {
            out[row["version"], default: []].append(row["label"])
        }
        return out
    }

    static func fetch(_ db: Database, projectID: String, name: String, version: Int?) throws -> PromptVersion? {
        let row: Row? =
            if let version {
                try Row.fetchOne(
                    db, sql: "SELECT \(PromptColumns.columns) FROM prompt_versions WHERE project_id = ? AND name = ? AND version = ?",
                    arguments: [projectID, name, version])
            } else {
                try Row.fetchOne(
                    db, sql: "SELECT \(PromptColumns.columns) FROM prompt_versions WHERE project_id = ? AND name = ? ORDER BY version DESC LIMIT 1",
                    arguments: [projectID, name])
            }
        guard let row else { return nil }
        let number: Int = row["version"]
        return Self.version(row, labels: try labels(db, projectID: projectID, name: name)[number] ?? [])
    }

    static func move(_ db: Database, projectID: String, name: String, label: String, version: Int, author: String) throws -> PromptLabelMove {
        let from = try Int.fetchOne(
            db, sql: "SELECT version FROM prompt_labels WHERE project_id = ? AND name = ? AND label = ?",
            arguments: [projectID, name, label])
        let now = Timestamp.now()
        // A label that already points there is not moved, and nothing is recorded.
        if from == version { return PromptLabelMove(name: name, label: label, fromVersion: from, toVersion: version, author: author, movedAt: now) }
        try db.execute(
            sql: """
                INSERT INTO prompt_labels (project_id, name, label, version) VALUES (?, ?, ?, ?)
                ON CONFLICT (project_id, name, label) DO UPDATE SET version = excluded.version
                """, arguments: [projectID, name, label, version])
        try db.execute(
            sql: """
                INSERT INTO prompt_label_moves (id, project_id, name, label, from_version, to_version, author, moved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [TernID.makeTimeOrdered(), projectID, name, label, from, version, author, Timestamp.micros(now)])
        return PromptLabelMove(name: name, label: label, fromVersion: from, toVersion: version, author: author, movedAt: now)
    }

    func push(_ version: PromptVersion, labels: [String]) async throws -> (version: PromptVersion, created: Bool) {
        try version.validate()
        for label in labels { try Self.checkLabel(label) }
        return try await pool.write { db in
            var created = false
            var number: Int
            if let latest = try Self.fetch(db, projectID: version.projectID, name: version.name, version: nil), latest.sameContent(as: version) {
                number = latest.version
            } else {
                number =
                    (try Int.fetchOne(
                        db, sql: "SELECT MAX(version) FROM prompt_versions WHERE project_id = ? AND name = ?",
                        arguments: [version.projectID, version.name]) ?? 0) + 1
                try db.execute(
                    sql: "INSERT INTO prompt_versions (\(PromptColumns.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [
                        version.projectID, version.name, number, version.kind.rawValue, version.text, StoredJSON.encode(version.messages),
                        version.tools?.jsonString(), StoredJSON.encode(version.variables), StoredJSON.encode(version.config),
                        version.commitMessage, version.author, Timestamp.micros(version.createdAt),
                    ])
                created = true
            }
            for label in labels {
                _ = try Self.move(db, projectID: version.projectID, name: version.name, label: label, version: number, author: version.author)
            }
            guard let stored = try Self.fetch(db, projectID: version.projectID, name: version.name, version: number) else {
                throw TernError.internalError("prompt version vanished while being stored")
            }
            return (stored, created)
        }
    }

    func get(projectID: String, name: String, version: Int) async throws -> PromptVersion? {
        try await pool.read { db in try Self.fetch(db, projectID: projectID, name: name, version: version) }
    }

    func get(projectID: String, name: String, label: String) async throws -> PromptVersion? {
        try await pool.read { db in
            if label == "latest" { return try Self.fetch(db, projectID: projectID, name: name, version: nil) }
            guard
                let number = try Int.fetchOne(
                    db, sql: "SELECT version FROM prompt_labels WHERE project_id = ? AND name = ? AND label = ?",
                    arguments: [projectID, name, label])
            else { return nil }
            return try Self.fetch(db, projectID: projectID, name: name, version: number)
        }
    }

    func history(projectID: String, name: String) async throws -> [PromptVersion] {
        try await pool.read { db in
            let labels = try Self.labels(db, projectID: projectID, name: name)
            return try Row.fetchAll(
                db, sql: "SELECT \(PromptColumns.columns) FROM prompt_versions WHERE project_id = ? AND name = ? ORDER BY version DESC",
                arguments: [projectID, name]
            ).map { Self.version($0, labels: labels[$0["version"]] ?? []) }
        }
    }

    func list(projectID: String) async throws -> [PromptSummary] {
        try await pool.read { db in
            var labels: [String: [String: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, label, version FROM prompt_labels WHERE project_id = ?", arguments: [projectID]) {
                labels[row["name"], default: [:]][row["label"]] = row["version"]
            }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT name, MAX(version) AS latest, MAX(created_at) AS updated FROM prompt_versions WHERE project_id = ? GROUP BY name ORDER BY name
                    """, arguments: [projectID]
            ).map { row in
                PromptSummary(name: row["name"], latestVersion: row["latest"], labels: labels[row["name"]] ?? [:], updatedAt: row.date("updated"))
            }
        }
    }

    func setLabel(projectID: String, name: String, label: String, version: Int, author: String) async throws -> PromptLabelMove {
        try Self.checkLabel(label)
        return try await pool.write { db in
            guard try Self.fetch(db, projectID: projectID, name: name, version: version) != nil else {
                throw TernError.notFound("prompt \(name) version \(version)", field: "version")
            }
            return try Self.move(db, projectID: projectID, name: name, label: label, version: version, author: author)
        }
    }

    func labelMoves(projectID: String, name: String) async throws -> [PromptLabelMove] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT name, label, from_version, to_version, author, moved_at FROM prompt_label_moves
                    WHERE project_id = ? AND name = ? ORDER BY moved_at DESC, id DESC
                    """, arguments: [projectID, name]
            ).map { row in
                PromptLabelMove(
                    name: row["name"], label: row["label"], fromVersion: row["from_version"], toVersion: row["to_version"],
                    author: row["author"], movedAt: row.date("moved_at"))
            }
        }
    }
}
