import Foundation
import GRDB
import TernCore

extension JSONValue {
    /// Stored JSON text, or nil.
    static func fromStored(_ text: String?) -> JSONValue? {
        guard let text, let value = try? JSONValue.parse(Data(text.utf8)) else { return nil }
        return value
    }
}

func storedTags(_ text: String?) -> [String] {
    guard let text, let value = JSONValue.fromStored(text)?.array else { return [] }
    return value.compactMap(\.string)
}

func tagsText(_ tags: [String]) -> String { JSONValue.array(tags.map { .string($0) }).jsonString() }

#if canImport(Glibc)
import Glibc
#endif

/// Runs the current thread at SCHED_IDLE while `BackgroundPriority` asks background work to yield
/// (Linux only), and restores normal scheduling after.
enum ThreadScheduling {
    static let idlePolicy: Int32 = 5  // SCHED_IDLE
    static let normalPolicy: Int32 = 0  // SCHED_OTHER

    static func enterIdleIfBackground() -> () -> Void {
        #if canImport(Glibc)
        guard BackgroundPriority.yieldsToRequests else { return {} }
        var param = sched_param()
        param.sched_priority = 0
        // pid 0 is the calling thread.
        guard sched_setscheduler(0, idlePolicy, &param) == 0 else { return {} }
        return {
            var normal = sched_param()
            normal.sched_priority = 0
            _ = sched_setscheduler(0, normalPolicy, &normal)
        }
        #else
        return {}
        #endif
    }
}

struct SQLiteTraces: TraceRepository {
    let pool: DatabasePool

    static let traceColumns = "id, project_id, name, user_id, session_id, tags, metadata, release, environment, input, output, start_time, end_time"
    static let observationColumns = """
        id, trace_id, project_id, parent_id, type, name, start_time, end_time, completion_start_time, model, provider,
        model_parameters, input, output, usage_input, usage_output, usage_cached, usage_reasoning, usage_estimated, cost,
        cost_estimated, level, status_message, metadata, requested_model, deployment, variant, route, cache_status,
        status_code, prompt_name, prompt_version
        """

    static func trace(_ row: Row) -> Trace {
        Trace(id: row["id"], projectID: row["project_id"], name: row["name"], userID: row["user_id"], sessionID: row["session_id"],
              tags: storedTags(row["tags"]), metadata: JSONValue.fromStored(row["metadata"]), release: row["release"],
              environment: row["environment"], input: row["input"], output: row["output"], startTime: row.date("start_time"),
              endTime: row.optionalDate("end_time"))
    }

    static func observation(_ row: Row) -> Observation {
        var usage: TokenUsage?
        if let input = row["usage_input"] as Int?, let output = row["usage_output"] as Int? {
            usage = TokenUsage(inputTokens: input, outputTokens: output, cachedTokens: row["usage_cached"],
                               reasoningTokens: row["usage_reasoning"], estimated: (row["usage_estimated"] as Int? ?? 0) != 0)
        }
        return Observation(
            id: row["id"], traceID: row["trace_id"], projectID: row["project_id"], parentID: row["parent_id"],
            type: ObservationType(rawValue: row["type"]) ?? .span, name: row["name"], startTime: row.date("start_time"),
            endTime: row.optionalDate("end_time"), completionStartTime: row.optionalDate("completion_start_time"),
            model: row["model"], provider: row["provider"], modelParameters: JSONValue.fromStored(row["model_parameters"]),
            input: row["input"], output: row["output"], usage: usage, cost: row["cost"],
            costEstimated: (row["cost_estimated"] as Int? ?? 0) != 0,
            level: ObservationLevel(rawValue: row["level"] ?? "DEFAULT") ?? .default, statusMessage: row["status_message"],
            metadata: JSONValue.fromStored(row["metadata"]), requestedModel: row["requested_model"], deployment: row["deployment"],
            variant: row["variant"], route: row["route"], cacheStatus: row["cache_status"], statusCode: row["status_code"],
            promptName: row["prompt_name"], promptVersion: row["prompt_version"])
    }

    func insert(_ batch: [TraceBatchItem]) async throws {
        guard !batch.isEmpty else { return }
        // The commit (the WAL write) is the costly part, so the idle priority covers the whole transaction.
        try await pool.writeWithoutTransaction { db in
            let restore = ThreadScheduling.enterIdleIfBackground()
            defer { restore() }
            try db.inTransaction {
            // A trace id seen again merges: new non-empty fields win, the time span widens.
            let traceStatement = try db.cachedStatement(sql: """
                INSERT INTO traces (\(Self.traceColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (project_id, id) DO UPDATE SET
                    name = COALESCE(excluded.name, traces.name),
                    user_id = COALESCE(excluded.user_id, traces.user_id),
                    session_id = COALESCE(excluded.session_id, traces.session_id),
                    tags = CASE WHEN excluded.tags = '[]' THEN traces.tags ELSE excluded.tags END,
                    metadata = COALESCE(excluded.metadata, traces.metadata),
                    release = COALESCE(excluded.release, traces.release),
                    environment = COALESCE(excluded.environment, traces.environment),
                    input = COALESCE(excluded.input, traces.input),
                    output = COALESCE(excluded.output, traces.output),
                    start_time = MIN(traces.start_time, excluded.start_time),
                    end_time = CASE WHEN traces.end_time IS NULL THEN excluded.end_time
                                    WHEN excluded.end_time IS NULL THEN traces.end_time
                                    ELSE MAX(traces.end_time, excluded.end_time) END
                """)
            let observationStatement = try db.cachedStatement(sql: """
                INSERT INTO observations (\(Self.observationColumns))
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (project_id, id) DO NOTHING
                """)
            for item in batch {
                let t = item.trace
                try traceStatement.execute(arguments: [
                    t.id, t.projectID, t.name, t.userID, t.sessionID, tagsText(t.tags), t.metadata?.jsonString(), t.release,
                    t.environment, t.input, t.output, Timestamp.micros(t.startTime), t.endTime.map(Timestamp.micros),
                ])
                for o in item.observations {
                    let values: [(any DatabaseValueConvertible)?] = [
                        o.id, o.traceID, o.projectID, o.parentID, o.type.rawValue, o.name, Timestamp.micros(o.startTime),
                        o.endTime.map(Timestamp.micros), o.completionStartTime.map(Timestamp.micros), o.model, o.provider,
                        o.modelParameters?.jsonString(), o.input, o.output, o.usage?.inputTokens, o.usage?.outputTokens,
                        o.usage?.cachedTokens, o.usage?.reasoningTokens, (o.usage?.estimated ?? false) ? 1 : 0, o.cost,
                        o.costEstimated ? 1 : 0, o.level.rawValue, o.statusMessage, o.metadata?.jsonString(), o.requestedModel,
                        o.deployment, o.variant, o.route, o.cacheStatus, o.statusCode, o.promptName, o.promptVersion,
                    ]
                    try observationStatement.execute(arguments: StatementArguments(values))
                }
            }
                return .commit
            }
        }
    }

    func list(projectID: String, query: TraceQuery) async throws -> TracePage {
        var conditions = ["project_id = ?"]
        var arguments: [(any DatabaseValueConvertible)?] = [projectID]
        if let from = query.from { conditions.append("start_time >= ?"); arguments.append(Timestamp.micros(from)) }
        if let to = query.to { conditions.append("start_time < ?"); arguments.append(Timestamp.micros(to)) }
        if let user = query.userID { conditions.append("user_id = ?"); arguments.append(user) }
        if let session = query.sessionID { conditions.append("session_id = ?"); arguments.append(session) }
        if let model = query.model {
            conditions.append("EXISTS (SELECT 1 FROM observations o WHERE o.project_id = traces.project_id AND o.trace_id = traces.id AND o.model = ?)")
            arguments.append(model)
        }
        if let cursor = query.cursor {
            let position = try TraceCursor(encoded: cursor)
            conditions.append("(start_time < ? OR (start_time = ? AND id < ?))")
            arguments += [position.startMicros, position.startMicros, position.id]
        }
        let limit = max(1, min(query.limit, 500))
        arguments.append(limit + 1)
        let sql = "SELECT \(Self.traceColumns) FROM traces WHERE \(conditions.joined(separator: " AND ")) ORDER BY start_time DESC, id DESC LIMIT ?"
        let boundArguments = StatementArguments(arguments)
        return try await pool.read { db in
            var traces = try Row.fetchAll(db, sql: sql, arguments: boundArguments).map(Self.trace)
            var next: String?
            if traces.count > limit {
                traces.removeLast()
                if let last = traces.last { next = TraceCursor(startMicros: Timestamp.micros(last.startTime), id: last.id).encoded }
            }
            let summaries = try Self.summarise(db, projectID: projectID, traces: traces)
            return TracePage(traces: summaries, nextCursor: next)
        }
    }

    static func summarise(_ db: Database, projectID: String, traces: [Trace]) throws -> [TraceSummary] {
        guard !traces.isEmpty else { return [] }
        let placeholders = Array(repeating: "?", count: traces.count).joined(separator: ",")
        var arguments: [(any DatabaseValueConvertible)?] = [projectID]
        arguments += traces.map(\.id)
        let rows = try Row.fetchAll(db, sql: """
            SELECT trace_id, MAX(model) AS model, SUM(COALESCE(usage_input, 0)) AS input, SUM(COALESCE(usage_output, 0)) AS output,
                   SUM(cost) AS cost, MAX(CASE level WHEN 'ERROR' THEN 3 WHEN 'WARNING' THEN 2 WHEN 'DEFAULT' THEN 1 ELSE 0 END) AS level
            FROM observations WHERE project_id = ? AND trace_id IN (\(placeholders)) GROUP BY trace_id
            """, arguments: StatementArguments(arguments))
        var byTrace: [String: Row] = [:]
        for row in rows { byTrace[row["trace_id"]] = row }
        return traces.map { trace in
            let row = byTrace[trace.id]
            let levelRank: Int = row?["level"] ?? 1
            return TraceSummary(
                trace: trace, model: row?["model"], latencyMs: trace.endTime.map { $0.timeIntervalSince(trace.startTime) * 1000 },
                inputTokens: row?["input"] ?? 0, outputTokens: row?["output"] ?? 0, cost: row?["cost"],
                level: levelRank == 3 ? .error : levelRank == 2 ? .warning : levelRank == 0 ? .debug : .default)
        }
    }

    func get(projectID: String, id: String) async throws -> TraceDetail? {
        try await pool.read { db in
            guard let trace = try Row.fetchOne(
                db, sql: "SELECT \(Self.traceColumns) FROM traces WHERE project_id = ? AND id = ?", arguments: [projectID, id]
            ).map(Self.trace) else { return nil }
            let observations = try Row.fetchAll(
                db, sql: "SELECT \(Self.observationColumns) FROM observations WHERE project_id = ? AND trace_id = ? ORDER BY start_time, id",
                arguments: [projectID, id]).map(Self.observation)
            return TraceDetail(trace: trace, observations: observations)
        }
    }

    func count(projectID: String) async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM traces WHERE project_id = ?", arguments: [projectID]) ?? 0 }
    }

    func deleteOlderThan(projectID: String, cutoff: Date) async throws -> Int {
        let micros = Timestamp.micros(cutoff)
        return try await pool.write { db in
            let doomed = "SELECT id FROM traces WHERE project_id = ? AND start_time < ?"
            try db.execute(sql: "DELETE FROM observations WHERE project_id = ? AND trace_id IN (\(doomed))", arguments: [projectID, projectID, micros])
            try db.execute(sql: "DELETE FROM scores WHERE project_id = ? AND trace_id IN (\(doomed))", arguments: [projectID, projectID, micros])
            try db.execute(sql: "DELETE FROM traces WHERE project_id = ? AND start_time < ?", arguments: [projectID, micros])
            return db.changesCount
        }
    }
}

struct SQLiteModelVersions: ModelVersionRepository {
    let pool: DatabasePool
    static let columns = "name, version, config, author, message, source_hash, deleted, created_at"

    static func version(_ row: Row) throws -> ModelVersion {
        let text: String = row["config"]
        let config = try JSONDecoder().decode(ModelConfig.self, from: Data(text.utf8))
        return ModelVersion(name: row["name"], version: row["version"], config: config, author: row["author"], message: row["message"],
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
            return ModelVersion(name: name, version: next, config: config, author: author, message: message, createdAt: now,
                                sourceHash: sourceHash, deleted: deleted)
        }
    }

    func latest(name: String) async throws -> ModelVersion? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM model_versions WHERE name = ? ORDER BY version DESC LIMIT 1",
                             arguments: [name]).map(Self.version)
        }
    }

    func latestAll() async throws -> [ModelVersion] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.columns) FROM model_versions m
                WHERE version = (SELECT MAX(version) FROM model_versions WHERE name = m.name) ORDER BY name
                """).map(Self.version)
        }
    }

    func history(name: String) async throws -> [ModelVersion] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM model_versions WHERE name = ? ORDER BY version DESC",
                             arguments: [name]).map(Self.version)
        }
    }

    func get(name: String, version: Int) async throws -> ModelVersion? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM model_versions WHERE name = ? AND version = ?",
                             arguments: [name, version]).map(Self.version)
        }
    }

    func changeCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM model_versions") ?? 0 }
    }
}

struct SQLiteResponseCache: ResponseCacheRepository {
    let pool: DatabasePool

    func get(projectID: String, key: String, now: Date) async throws -> Data? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM response_cache WHERE project_id = ? AND cache_key = ? AND expires_at > ?",
                              arguments: [projectID, key, Timestamp.micros(now)])
        }
    }

    func put(projectID: String, key: String, value: Data, expiresAt: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO response_cache (project_id, cache_key, value, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (project_id, cache_key) DO UPDATE SET value = excluded.value, created_at = excluded.created_at, expires_at = excluded.expires_at
                """, arguments: [projectID, key, value, Timestamp.micros(Date()), Timestamp.micros(expiresAt)])
        }
    }

    func purgeExpired(now: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM response_cache WHERE expires_at <= ?", arguments: [Timestamp.micros(now)])
            return db.changesCount
        }
    }
}

struct SQLiteSpend: SpendRepository {
    let pool: DatabasePool

    func add(projectID: String, keyID: String, period: String, amount: Double) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO key_spend (key_id, project_id, period, spent_usd) VALUES (?, ?, ?, ?)
                ON CONFLICT (key_id, period) DO UPDATE SET spent_usd = spent_usd + excluded.spent_usd
                """, arguments: [keyID, projectID, period, amount])
        }
    }

    func spent(keyID: String, period: String) async throws -> Double {
        try await pool.read { db in
            try Double.fetchOne(db, sql: "SELECT spent_usd FROM key_spend WHERE key_id = ? AND period = ?", arguments: [keyID, period]) ?? 0
        }
    }
}
