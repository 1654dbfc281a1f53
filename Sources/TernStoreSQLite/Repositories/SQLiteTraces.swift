import Foundation
import GRDB
import TernCore
import TernStoreSQL

extension SQLValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .text(let text): text.databaseValue
        case .int(let number): number.databaseValue
        case .double(let number): number.databaseValue
        }
    }
}

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
    import TernStoreSQL
#endif

/// Runs the current thread at SCHED_IDLE while `BackgroundPriority` asks background work to yield
/// (Linux only), and restores normal scheduling after.
enum ThreadScheduling {
    static let idlePolicy: Int32 = 5  // SCHED_IDLE
    static let normalPolicy: Int32 = 0  // SCHED_OTHER

    static func enterIdle(_ yield: Bool) -> () -> Void {
        #if canImport(Glibc)
            guard yield else { return {} }
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
    /// The field merges of a trace stored again (written once for both stores).
    static let traceMerge = TraceSQL.traceMergeAssignments(.sqlite)
    static let observationColumns = """
        id, trace_id, project_id, parent_id, type, name, start_time, end_time, completion_start_time, model, provider,
        model_parameters, input, output, usage_input, usage_output, usage_cached, usage_reasoning, usage_estimated, cost,
        cost_estimated, level, status_message, metadata, requested_model, deployment, variant, route, cache_status,
        status_code, prompt_name, prompt_version
        """

    static func trace(_ row: Row) -> Trace {
        Trace(
            id: row["id"], projectID: row["project_id"], name: row["name"], userID: row["user_id"], sessionID: row["session_id"],
            tags: storedTags(row["tags"]), metadata: JSONValue.fromStored(row["metadata"]), release: row["release"],
            environment: row["environment"], input: row["input"], output: row["output"], startTime: row.date("start_time"),
            endTime: row.optionalDate("end_time"))
    }

    static func observation(_ row: Row) -> Observation {
        var usage: TokenUsage?
        if let input = row["usage_input"] as Int?, let output = row["usage_output"] as Int? {
            usage = TokenUsage(
                inputTokens: input, outputTokens: output, cachedTokens: row["usage_cached"],
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
        let markedAt = Timestamp.micros(Date())
        // One upsert per trace: the events of one trace merge here as the database would merge them.
        let merged = TraceBatchItem.mergedTraces(batch)
        // JSON texts are made here, on the caller's thread, so that the one writer thread only binds.
        let observationJSON = batch.map { item in item.observations.map { ($0.modelParameters?.jsonString(), $0.metadata?.jsonString()) } }
        let traceJSON = merged.traces.map { (tagsText($0.tags), $0.metadata?.jsonString()) }
        // Read here: the closure runs on GRDB's writer queue, outside this task.
        let yield = BackgroundPriority.writeShouldYield
        // The commit (the WAL write) is the costly part, so the idle priority covers the whole transaction.
        try await pool.writeWithoutTransaction { db in
            let restore = ThreadScheduling.enterIdle(yield)
            defer { restore() }
            try db.inTransaction {
                // A trace id seen again merges (TraceSQL.traceMergeAssignments): new non-empty fields win, the
                // time span widens. The totals of the observations that landed in this batch are added; the
                // answer tells whether the trace had observations before (then its first generation is
                // recomputed below).
                let traceStatement = try db.cachedStatement(
                    sql: """
                        INSERT INTO traces (trace_key, \(Self.traceColumns), task, language, domain, observation_count, input_tokens, output_tokens,
                                            total_cost, error_count, warning_count, model, deployment, variant, prompt_name, prompt_version,
                                            last_seen)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (project_id, id) DO UPDATE SET
                            \(Self.traceMerge),
                            observation_count = traces.observation_count + excluded.observation_count,
                            input_tokens = traces.input_tokens + excluded.input_tokens,
                            output_tokens = traces.output_tokens + excluded.output_tokens,
                            total_cost = CASE WHEN excluded.total_cost IS NULL THEN traces.total_cost
                                              ELSE COALESCE(traces.total_cost, 0) + excluded.total_cost END,
                            error_count = traces.error_count + excluded.error_count,
                            warning_count = traces.warning_count + excluded.warning_count,
                            model = COALESCE(traces.model, excluded.model),
                            deployment = CASE WHEN traces.model IS NULL THEN excluded.deployment ELSE traces.deployment END,
                            variant = CASE WHEN traces.model IS NULL THEN excluded.variant ELSE traces.variant END,
                            prompt_name = CASE WHEN traces.model IS NULL THEN excluded.prompt_name ELSE traces.prompt_name END,
                            prompt_version = CASE WHEN traces.model IS NULL THEN excluded.prompt_version ELSE traces.prompt_version END
                        RETURNING observation_count
                        """)
                let observationStatement = try db.cachedStatement(
                    sql: """
                        INSERT INTO observations (\(Self.observationColumns), trace_key)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (trace_key, id) DO NOTHING
                        """)
                // Trace keys first: a stored trace keeps its key; a new one takes the next unused key
                // (AUTOINCREMENT's counter, so a deleted trace's key never comes back), which its
                // observations name before its row is written with the totals they add up to.
                let keyStatement = try db.cachedStatement(sql: "SELECT trace_key FROM traces WHERE project_id = ? AND id = ?")
                var next = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'traces'") ?? 0
                var keys: [TraceBatchItem.TraceKey: Int64] = [:]
                keys.reserveCapacity(merged.traces.count)
                for t in merged.traces {
                    var lookup = RawStatement(keyStatement)
                    lookup.bind(t.projectID); lookup.bind(t.id)
                    if let key = try lookup.run(db) {
                        keys[.init(projectID: t.projectID, id: t.id)] = key
                    } else {
                        next += 1
                        keys[.init(projectID: t.projectID, id: t.id)] = next
                    }
                }
                let dirtyStatement = try db.cachedStatement(
                    sql: """
                        INSERT INTO rollup_dirty (project_id, bucket, marked_at) VALUES (?, ?, ?)
                        ON CONFLICT (project_id, bucket) DO UPDATE SET marked_at = MAX(rollup_dirty.marked_at + 1, excluded.marked_at)
                        """)
                // Observations first: the ones that land (a retried batch adds none) make the totals.
                var deltas: [TraceBatchItem.TraceKey: TraceTotalsDelta] = [:]
                for (item, json) in zip(batch, observationJSON) {
                    for (o, (parameters, metadata)) in zip(item.observations, json) {
                        var row = RawStatement(observationStatement)
                        row.bind(o.id); row.bind(o.traceID); row.bind(o.projectID); row.bind(o.parentID); row.bind(o.type.rawValue)
                        row.bind(o.name); row.bind(Timestamp.micros(o.startTime)); row.bind(o.endTime.map(Timestamp.micros))
                        row.bind(o.completionStartTime.map(Timestamp.micros)); row.bind(o.model); row.bind(o.provider)
                        row.bind(parameters); row.bind(o.input); row.bind(o.output); row.bind(o.usage?.inputTokens)
                        row.bind(o.usage?.outputTokens); row.bind(o.usage?.cachedTokens); row.bind(o.usage?.reasoningTokens)
                        row.bind(o.usage?.estimated ?? false); row.bind(o.cost); row.bind(o.costEstimated); row.bind(o.level.rawValue)
                        row.bind(o.statusMessage); row.bind(metadata); row.bind(o.requestedModel); row.bind(o.deployment)
                        row.bind(o.variant); row.bind(o.route); row.bind(o.cacheStatus); row.bind(o.statusCode); row.bind(o.promptName)
                        let trace = TraceBatchItem.TraceKey(projectID: o.projectID, id: o.traceID)
                        row.bind(o.promptVersion); row.bind(keys[trace])
                        try row.run(db)
                        if db.changesCount > 0 { deltas[trace, default: TraceTotalsDelta()].add(o) }
                    }
                }
                var recompute: [String: [String]] = [:]
                for (t, (tags, metadata)) in zip(merged.traces, traceJSON) {
                    let trace = TraceBatchItem.TraceKey(projectID: t.projectID, id: t.id)
                    let delta = deltas[trace] ?? TraceTotalsDelta()
                    let first = delta.firstGeneration
                    var row = RawStatement(traceStatement)
                    row.bind(keys[trace]); row.bind(t.id); row.bind(t.projectID); row.bind(t.name); row.bind(t.userID); row.bind(t.sessionID); row.bind(tags)
                    row.bind(metadata); row.bind(t.release); row.bind(t.environment); row.bind(t.input); row.bind(t.output)
                    row.bind(Timestamp.micros(t.startTime)); row.bind(t.endTime.map(Timestamp.micros)); row.bind(t.task); row.bind(t.language)
                    row.bind(t.domain); row.bind(delta.observationCount); row.bind(delta.inputTokens); row.bind(delta.outputTokens)
                    row.bind(delta.cost); row.bind(delta.errorCount); row.bind(delta.warningCount); row.bind(first?.model)
                    row.bind(first?.deployment); row.bind(first?.variant); row.bind(first?.promptName); row.bind(first?.promptVersion)
                    row.bind(markedAt)
                    let count = try row.run(db).map(Int.init)
                    // The trace had observations before: which generation is first needs them all.
                    if first != nil, count != delta.observationCount { recompute[t.projectID, default: []].append(t.id) }
                }
                for (project, hour) in merged.hours {
                    try dirtyStatement.execute(arguments: [project, hour, markedAt])
                }
                for (project, ids) in recompute {
                    for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
                        let (sql, values) = TraceSQL.refreshTotals(projectID: project, traceIDs: chunk, dialect: .sqlite)
                        try db.execute(sql: sql, arguments: StatementArguments(values.map(\.databaseValue)))
                    }
                }
                return .commit
            }
        }
    }

    func list(projectID: String, query: TraceQuery) async throws -> TracePage {
        let (sql, values) = try TraceSQL.list(query, projectID: projectID, dialect: .sqlite)
        let arguments = StatementArguments(values.map(\.databaseValue))
        let limit = max(1, min(query.limit, 500))
        return try await pool.read { db in
            var rows = try Row.fetchAll(db, sql: sql, arguments: arguments).map { Self.row($0).summary }
            var next: String?
            if rows.count > limit {
                rows.removeLast()
                if let last = rows.last { next = TraceSQL.cursor(after: last, sort: query.sort) }
            }
            return TracePage(traces: rows, nextCursor: next)
        }
    }

    func sessions(projectID: String, filter: TraceFilter, limit: Int) async throws -> [SessionSummary] {
        let (sql, values) = try TraceSQL.sessions(filter, projectID: projectID, limit: limit, dialect: .sqlite)
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values.map(\.databaseValue))).map { row in
                SessionSummary(
                    id: row[0], userID: row[1], traceCount: row[2], firstTime: Timestamp.date(row[3]), lastTime: Timestamp.date(row[4]),
                    tokens: row[5] ?? 0, cost: row[6], errorCount: row[7] ?? 0)
            }
        }
    }

    func segmentSums(projectID: String, filter: TraceFilter, segment: TraceSegment, measure: TraceMeasure, limit: Int) async throws -> [SegmentSums] {
        let (sql, values) = try TraceSQL.segmentSums(filter, projectID: projectID, segment: segment, measure: measure, limit: limit, dialect: .sqlite)
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values.map(\.databaseValue))).map { row in
                SegmentSums(segment: row[0] ?? SegmentSums.none, count: row[1] ?? 0, sum: row[2] ?? 0, sumOfSquares: row[3] ?? 0)
            }
        }
    }

    static func row(_ row: Row) -> TraceRow {
        var trace = Self.trace(row)
        trace.task = row["task"]
        trace.language = row["language"]
        trace.domain = row["domain"]
        return TraceRow(
            trace: trace, model: row["model"], deployment: row["deployment"], variant: row["variant"], promptName: row["prompt_name"],
            promptVersion: row["prompt_version"], observationCount: row["observation_count"], inputTokens: row["input_tokens"],
            outputTokens: row["output_tokens"], totalCost: row["total_cost"], errorCount: row["error_count"],
            warningCount: row["warning_count"])
    }

    func get(projectID: String, id: String) async throws -> TraceDetail? {
        try await pool.read { db in
            guard
                let trace = try Row.fetchOne(
                    db, sql: "SELECT \(TraceSQL.listColumns) FROM traces WHERE project_id = ? AND id = ?", arguments: [projectID, id]
                ).map({ Self.row($0).trace })
            else { return nil }
            let observations = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.observationColumns) FROM observations
                    WHERE trace_key = (SELECT trace_key FROM traces WHERE project_id = ? AND id = ?) ORDER BY start_time, id
                    """,
                arguments: [projectID, id]
            ).map(Self.observation)
            return TraceDetail(trace: trace, observations: observations)
        }
    }

    func details(projectID: String, ids: [String]) async throws -> [String: TraceDetail] {
        let ids = Array(Set(ids))
        guard !ids.isEmpty else { return [:] }
        return try await pool.read { db in
            var details: [String: TraceDetail] = [:]
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                let arguments = StatementArguments([projectID] + chunk)
                for row in try Row.fetchAll(
                    db, sql: "SELECT \(TraceSQL.listColumns) FROM traces WHERE project_id = ? AND id IN (\(marks))", arguments: arguments)
                {
                    let trace = Self.row(row).trace
                    details[trace.id] = TraceDetail(trace: trace, observations: [])
                }
                let observations = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(Self.observationColumns) FROM observations
                        WHERE trace_key IN (SELECT trace_key FROM traces WHERE project_id = ? AND id IN (\(marks))) ORDER BY start_time, id
                        """,
                    arguments: arguments
                ).map(Self.observation)
                for observation in observations { details[observation.traceID]?.observations.append(observation) }
            }
            return details
        }
    }

    func count(projectID: String) async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM traces WHERE project_id = ?", arguments: [projectID]) ?? 0 }
    }

    func deleteOlderThan(projectID: String, cutoff: Date) async throws -> Int {
        let micros = Timestamp.micros(cutoff)
        return try await pool.write { db in
            let doomed = "SELECT id FROM traces WHERE project_id = ? AND start_time < ?"
            try db.execute(
                sql: "DELETE FROM observations WHERE trace_key IN (SELECT trace_key FROM traces WHERE project_id = ? AND start_time < ?)",
                arguments: [projectID, micros])
            try db.execute(sql: "DELETE FROM scores WHERE project_id = ? AND trace_id IN (\(doomed))", arguments: [projectID, projectID, micros])
            try db.execute(sql: "DELETE FROM traces WHERE project_id = ? AND start_time < ?", arguments: [projectID, micros])
            let deleted = db.changesCount
            if deleted > 0 {
                // Whole hours before the cutoff go; the hour it cuts through (and its day's user rows) is recomputed.
                let hour = TraceSQL.hour(micros)
                try db.execute(sql: "DELETE FROM trace_rollups WHERE project_id = ? AND bucket < ?", arguments: [projectID, hour])
                try db.execute(sql: "DELETE FROM rollup_dirty WHERE project_id = ? AND bucket < ?", arguments: [projectID, hour])
                try db.execute(
                    sql: """
                        INSERT INTO rollup_dirty (project_id, bucket, marked_at) VALUES (?, ?, ?)
                        ON CONFLICT (project_id, bucket) DO UPDATE SET marked_at = MAX(rollup_dirty.marked_at + 1, excluded.marked_at)
                        """, arguments: [projectID, hour, Timestamp.micros(Date())])
            }
            return deleted
        }
    }
}
