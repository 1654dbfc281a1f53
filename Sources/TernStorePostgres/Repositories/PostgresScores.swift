import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

struct PostgresScores: ScoreRepository {
    let client: PostgresClient
    let logger: Logger
    static let columns =
        "id, project_id, trace_id, observation_id, name, data_type, numeric_value, string_value, source, comment, author, config_id, created_at"

    static func score(_ row: PostgresRow) throws -> Score {
        let (id, project, trace, observation, name, type, number, text, source, comment, author, config, created) = try row.decode(
            (String, String, String, String?, String, String, Double?, String?, String, String?, String?, String?, Int64).self)
        return Score(
            id: id, projectID: project, traceID: trace, observationID: observation, name: name,
            dataType: ScoreDataType(rawValue: type) ?? .numeric, numericValue: number, stringValue: text,
            source: ScoreSource(rawValue: source) ?? .api, comment: comment, author: author, configID: config,
            createdAt: Timestamp.date(created))
    }

    func insert(_ scores: [Score]) async throws {
        guard !scores.isEmpty else { return }
        for chunk in stride(from: 0, to: scores.count, by: 2000).map({ Array(scores[$0..<min($0 + 2000, scores.count)]) }) {
            var binder = Binder()
            let rows = chunk.map { s in
                "("
                    + [
                        binder.add(s.id), binder.add(s.projectID), binder.add(s.traceID), binder.add(s.observationID), binder.add(s.name),
                        binder.add(s.dataType.rawValue), binder.add(s.numericValue), binder.add(s.stringValue), binder.add(s.source.rawValue),
                        binder.add(s.comment), binder.add(s.author), binder.add(s.configID), binder.add(Timestamp.micros(s.createdAt)),
                    ]
                    .joined(separator: ",") + ")"
            }
            try await client.mappedQuery(
                PostgresQuery(
                    unsafeSQL: "INSERT INTO scores (\(Self.columns)) VALUES \(rows.joined(separator: ",")) ON CONFLICT (project_id, id) DO NOTHING",
                    binds: binder.bindings), logger: logger)
        }
        // The hours of the scored traces hold score means: recompute them.
        var binder = Binder()
        let now = binder.add(Timestamp.micros(Date()))
        let pairs = scores.map { "(\(binder.add($0.projectID)), \(binder.add($0.traceID)))" }.joined(separator: ",")
        try await client.mappedQuery(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO rollup_dirty (project_id, bucket, marked_at)
                    SELECT DISTINCT t.project_id, (t.start_time / 3600000000) * 3600000000, \(now)::bigint FROM traces t
                    WHERE (t.project_id, t.id) IN (\(pairs))
                    ON CONFLICT (project_id, bucket) DO UPDATE SET marked_at = GREATEST(rollup_dirty.marked_at + 1, EXCLUDED.marked_at)
                    """, binds: binder.bindings), logger: logger)
    }

    func list(projectID: String, traceID: String) async throws -> [Score] {
        try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.columns) FROM scores WHERE project_id = \(projectID) AND trace_id = \(traceID) ORDER BY created_at, id",
                logger: logger), Self.score)
    }

    func numericMeans(projectID: String, traceIDs: [String]) async throws -> [String: [String: Double]] {
        let ids = Array(Set(traceIDs))
        guard !ids.isEmpty else { return [:] }
        var means: [String: [String: Double]] = [:]
        for (trace, name, mean) in try await collect(
            client.mappedQuery(
                """
                SELECT trace_id, name, AVG(numeric_value)::float8 FROM scores
                WHERE project_id = \(projectID) AND trace_id = ANY(\(ids)) AND numeric_value IS NOT NULL GROUP BY trace_id, name
                """, logger: logger),
            { try $0.decode((String, String, Double).self) })
        {
            means[trace, default: [:]][name] = mean
        }
        return means
    }

    func count(projectID: String) async throws -> Int {
        try await collect(client.mappedQuery("SELECT COUNT(*) FROM scores WHERE project_id = \(projectID)", logger: logger)) {
            try $0.decode(Int.self)
        }.first ?? 0
    }

    func dataType(projectID: String, name: String) async throws -> ScoreDataType? {
        let (sql, values) = ScoreSQL.dataType(projectID: projectID, name: name, dialect: .postgres)
        return try await collect(client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger)) { try $0.decode(String.self) }
            .first.flatMap(ScoreDataType.init(rawValue:))
    }
}

struct PostgresScoreConfigs: ScoreConfigRepository {
    let client: PostgresClient
    let logger: Logger
    static let columns = "id, project_id, name, data_type, min_value, max_value, categories, description, created_at"

    static func config(_ row: PostgresRow) throws -> ScoreConfig {
        let (id, project, name, type, minValue, maxValue, categories, description, created) = try row.decode(
            (String, String, String, String, Double?, Double?, String, String?, Int64).self)
        return ScoreConfig(
            id: id, projectID: project, name: name, dataType: ScoreDataType(rawValue: type) ?? .numeric, minValue: minValue,
            maxValue: maxValue, categories: storedTags(categories), description: description, createdAt: Timestamp.date(created))
    }

    func create(_ config: ScoreConfig) async throws -> ScoreConfig {
        do {
            try await client.mappedQuery(
                """
                INSERT INTO score_configs (id, project_id, name, data_type, min_value, max_value, categories, description, created_at)
                VALUES (\(config.id), \(config.projectID), \(config.name), \(config.dataType.rawValue), \(config.minValue)::double precision,
                        \(config.maxValue)::double precision, \(tagsText(config.categories)), \(config.description)::text, \(Timestamp.micros(config.createdAt)))
                """, logger: logger)
        } catch  where isUniqueViolation(error) {
            throw TernError.conflict("a score config named \"\(config.name)\" already exists", field: "name")
        }
        return config
    }

    func get(projectID: String, name: String) async throws -> ScoreConfig? {
        try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.columns) FROM score_configs WHERE project_id = \(projectID) AND name = \(name)", logger: logger),
            Self.config
        ).first
    }

    func list(projectID: String) async throws -> [ScoreConfig] {
        try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.columns) FROM score_configs WHERE project_id = \(projectID) ORDER BY name", logger: logger), Self.config)
    }
}
