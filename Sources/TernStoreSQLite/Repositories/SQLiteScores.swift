import Foundation
import GRDB
import TernCore
import TernStoreSQL

struct SQLiteScores: ScoreRepository {
    let pool: DatabasePool
    static let columns =
        "id, project_id, trace_id, observation_id, name, data_type, numeric_value, string_value, source, comment, author, config_id, created_at"

    static func score(_ row: Row) -> Score {
        Score(
            id: row["id"], projectID: row["project_id"], traceID: row["trace_id"], observationID: row["observation_id"], name: row["name"],
            dataType: ScoreDataType(rawValue: row["data_type"]) ?? .numeric, numericValue: row["numeric_value"],
            stringValue: row["string_value"], source: ScoreSource(rawValue: row["source"]) ?? .api, comment: row["comment"],
            author: row["author"], configID: row["config_id"], createdAt: row.date("created_at"))
    }

    func insert(_ scores: [Score]) async throws {
        guard !scores.isEmpty else { return }
        try await pool.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO scores (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, id) DO NOTHING
                    """)
            for s in scores {
                try statement.execute(arguments: [
                    s.id, s.projectID, s.traceID, s.observationID, s.name, s.dataType.rawValue, s.numericValue, s.stringValue,
                    s.source.rawValue, s.comment, s.author, s.configID, Timestamp.micros(s.createdAt),
                ])
            }
            // The hours of the scored traces hold score means: recompute them.
            let mark = try db.cachedStatement(
                sql: """
                    INSERT INTO rollup_dirty (project_id, bucket, marked_at)
                    SELECT project_id, \(TraceSQL.hourOfStart), ? FROM traces WHERE project_id = ? AND id = ?
                    ON CONFLICT (project_id, bucket) DO UPDATE SET marked_at = MAX(rollup_dirty.marked_at + 1, excluded.marked_at)
                    """)
            let now = Timestamp.micros(Date())
            for s in scores { try mark.execute(arguments: [now, s.projectID, s.traceID]) }
        }
    }

    func list(projectID: String, traceID: String) async throws -> [Score] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.columns) FROM scores WHERE project_id = ? AND trace_id = ? ORDER BY created_at, id",
                arguments: [projectID, traceID]
            ).map(Self.score)
        }
    }

    func numericMeans(projectID: String, traceIDs: [String]) async throws -> [String: [String: Double]] {
        let ids = Array(Set(traceIDs))
        guard !ids.isEmpty else { return [:] }
        return try await pool.read { db in
            var means: [String: [String: Double]] = [:]
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT trace_id, name, AVG(numeric_value) AS mean FROM scores
                        WHERE project_id = ? AND trace_id IN (\(marks)) AND numeric_value IS NOT NULL GROUP BY trace_id, name
                        """,
                    arguments: StatementArguments([projectID] + chunk))
                {
                    means[row["trace_id"], default: [:]][row["name"]] = row["mean"]
                }
            }
            return means
        }
    }

    func count(projectID: String) async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM scores WHERE project_id = ?", arguments: [projectID]) ?? 0 }
    }

    func dataType(projectID: String, name: String) async throws -> ScoreDataType? {
        let (sql, values) = ScoreSQL.dataType(projectID: projectID, name: name, dialect: .sqlite)
        return try await pool.read { db in
            try String.fetchOne(db, sql: sql, arguments: StatementArguments(values.map(\.databaseValue))).flatMap(ScoreDataType.init(rawValue:))
        }
    }
}

struct SQLiteScoreConfigs: ScoreConfigRepository {
    let pool: DatabasePool
    static let columns = "id, project_id, name, data_type, min_value, max_value, categories, description, created_at"

    static func config(_ row: Row) -> ScoreConfig {
        ScoreConfig(
            id: row["id"], projectID: row["project_id"], name: row["name"], dataType: ScoreDataType(rawValue: row["data_type"]) ?? .numeric,
            minValue: row["min_value"], maxValue: row["max_value"], categories: storedTags(row["categories"]),
            description: row["description"], createdAt: row.date("created_at"))
    }

    func create(_ config: ScoreConfig) async throws -> ScoreConfig {
        do {
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT INTO score_configs (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [
                        config.id, config.projectID, config.name, config.dataType.rawValue, config.minValue, config.maxValue,
                        tagsText(config.categories), config.description, Timestamp.micros(config.createdAt),
                    ])
            }
        } catch  where isUniqueViolation(error) {
            throw TernError.conflict("a score config named \"\(config.name)\" already exists", field: "name")
        }
        return config
    }

    func get(projectID: String, name: String) async throws -> ScoreConfig? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.columns) FROM score_configs WHERE project_id = ? AND name = ?",
                arguments: [projectID, name]
            ).map(Self.config)
        }
    }

    func list(projectID: String) async throws -> [ScoreConfig] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.columns) FROM score_configs WHERE project_id = ? ORDER BY name",
                arguments: [projectID]
            ).map(Self.config)
        }
    }
}
