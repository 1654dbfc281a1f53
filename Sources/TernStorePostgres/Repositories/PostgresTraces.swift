import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

struct PostgresTraces: TraceRepository {
    let client: PostgresClient
    let logger: Logger

    static let traceColumns = "id, project_id, name, user_id, session_id, tags, metadata, release, environment, input, output, start_time, end_time"
    /// A trace id seen again merges: new non-empty fields win, the time span widens (written once for both stores).
    static let traceMerge = "ON CONFLICT (project_id, id) DO UPDATE SET " + TraceSQL.traceMergeAssignments(.postgres)
    static let observationColumns = """
        id, trace_id, project_id, parent_id, type, name, start_time, end_time, completion_start_time, model, provider, \
        model_parameters, input, output, usage_input, usage_output, usage_cached, usage_reasoning, usage_estimated, cost, \
        cost_estimated, level, status_message, metadata, requested_model, deployment, variant, route, cache_status, \
        status_code, prompt_name, prompt_version
        """

    static func trace(_ row: PostgresRow) throws -> Trace {
        let (id, project, name, user, session, tags, metadata, release, environment, input, output, start, end) = try row.decode(
            (String, String, String?, String?, String?, String, String?, String?, String?, String?, String?, Int64, Int64?).self)
        return Trace(
            id: id, projectID: project, name: name, userID: user, sessionID: session, tags: storedTags(tags),
            metadata: JSONValue.fromStored(metadata), release: release, environment: environment, input: input, output: output,
            startTime: Timestamp.date(start), endTime: end.date)
    }

    static func observation(_ row: PostgresRow) throws -> Observation {
        let cells = row.makeRandomAccess()
        func text(_ i: Int) throws -> String? { try cells[i].decode(String?.self) }
        func int(_ i: Int) throws -> Int? { try cells[i].decode(Int?.self) }
        func big(_ i: Int) throws -> Int64? { try cells[i].decode(Int64?.self) }
        var usage: TokenUsage?
        if let input = try int(14), let output = try int(15) {
            usage = TokenUsage(
                inputTokens: input, outputTokens: output, cachedTokens: try int(16), reasoningTokens: try int(17),
                estimated: (try int(18) ?? 0) != 0)
        }
        return Observation(
            id: try text(0) ?? "", traceID: try text(1) ?? "", projectID: try text(2) ?? "", parentID: try text(3),
            type: ObservationType(rawValue: try text(4) ?? "") ?? .span, name: try text(5),
            startTime: Timestamp.date(try big(6) ?? 0), endTime: try big(7).date, completionStartTime: try big(8).date,
            model: try text(9), provider: try text(10), modelParameters: JSONValue.fromStored(try text(11)),
            input: try text(12), output: try text(13), usage: usage, cost: try cells[19].decode(Double?.self),
            costEstimated: (try int(20) ?? 0) != 0, level: ObservationLevel(rawValue: try text(21) ?? "DEFAULT") ?? .default,
            statusMessage: try text(22), metadata: JSONValue.fromStored(try text(23)), requestedModel: try text(24),
            deployment: try text(25), variant: try text(26), route: try text(27), cacheStatus: try text(28),
            statusCode: try int(29), promptName: try text(30), promptVersion: try int(31))
    }

    func insert(_ batch: [TraceBatchItem]) async throws {
        guard !batch.isEmpty else { return }
        // When the traces were last written: watchers find finished traces by it.
        let markedAt = Timestamp.micros(Date())
        // Multi-row statements keep round trips few: PostgreSQL allows 65,535 parameters per statement.
        var traceChunks: [[Trace]] = []
        var observationChunks: [[Observation]] = []
        var traces: [Trace] = []
        var observations: [Observation] = []
        // One statement cannot update a row twice: merge repeated trace ids first, as the database would.
        let merged = TraceBatchItem.mergedTraces(batch)
        for trace in merged.traces {
            traces.append(trace)
            if traces.count == 2000 { traceChunks.append(traces); traces = [] }
        }
        for item in batch {
            for observation in item.observations {
                observations.append(observation)
                if observations.count == 1000 { observationChunks.append(observations); observations = [] }
            }
        }
        if !traces.isEmpty { traceChunks.append(traces) }
        if !observations.isEmpty { observationChunks.append(observations) }
        try await client.mappedTransaction(logger: logger) { connection in
            for chunk in traceChunks {
                var binder = Binder()
                var rows: [String] = []
                rows.reserveCapacity(chunk.count)
                for t in chunk {
                    let values = [
                        binder.add(t.id), binder.add(t.projectID), binder.add(t.name), binder.add(t.userID), binder.add(t.sessionID),
                        binder.add(tagsText(t.tags)), binder.add(t.metadata?.jsonString()), binder.add(t.release),
                        binder.add(t.environment), binder.add(t.input), binder.add(t.output), binder.add(Timestamp.micros(t.startTime)),
                        binder.add(t.endTime.map(Timestamp.micros)), binder.add(t.task), binder.add(t.language), binder.add(t.domain),
                        binder.add(markedAt),
                    ]
                    rows.append("(" + values.joined(separator: ",") + ")")
                }
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL:
                            "INSERT INTO traces (\(Self.traceColumns), task, language, domain, last_seen) VALUES \(rows.joined(separator: ",")) \(Self.traceMerge)",
                        binds: binder.bindings), logger: logger)
            }
            var touched: [String: Set<String>] = [:]
            for chunk in observationChunks {
                var binder = Binder()
                var rows: [String] = []
                rows.reserveCapacity(chunk.count)
                for o in chunk {
                    let values = [
                        binder.add(o.id), binder.add(o.traceID), binder.add(o.projectID), binder.add(o.parentID), binder.add(o.type.rawValue),
                        binder.add(o.name), binder.add(Timestamp.micros(o.startTime)), binder.add(o.endTime.map(Timestamp.micros)),
                        binder.add(o.completionStartTime.map(Timestamp.micros)), binder.add(o.model), binder.add(o.provider),
                        binder.add(o.modelParameters?.jsonString()), binder.add(o.input), binder.add(o.output),
                        binder.add(o.usage.map { Int32(clamping: $0.inputTokens) }), binder.add(o.usage.map { Int32(clamping: $0.outputTokens) }),
                        binder.add(o.usage?.cachedTokens.map { Int32(clamping: $0) }), binder.add(o.usage?.reasoningTokens.map { Int32(clamping: $0) }),
                        binder.add(Int32((o.usage?.estimated ?? false) ? 1 : 0)), binder.add(o.cost), binder.add(Int32(o.costEstimated ? 1 : 0)),
                        binder.add(o.level.rawValue), binder.add(o.statusMessage), binder.add(o.metadata?.jsonString()),
                        binder.add(o.requestedModel), binder.add(o.deployment), binder.add(o.variant), binder.add(o.route),
                        binder.add(o.cacheStatus), binder.add(o.statusCode.map { Int32(clamping: $0) }), binder.add(o.promptName),
                        binder.add(o.promptVersion.map { Int32(clamping: $0) }),
                    ]
                    rows.append("(" + values.joined(separator: ",") + ")")
                }
                // Only the rows that landed come back: their traces' totals change.
                let inserted = try await connection.query(
                    PostgresQuery(
                        unsafeSQL:
                            "INSERT INTO observations (\(Self.observationColumns)) VALUES \(rows.joined(separator: ",")) ON CONFLICT (project_id, trace_id, id) DO NOTHING RETURNING project_id, trace_id",
                        binds: binder.bindings), logger: logger)
                for try await (project, trace) in inserted.decode((String, String).self) { touched[project, default: []].insert(trace) }
            }
            for (project, ids) in touched {
                let all = Array(ids)
                for chunk in stride(from: 0, to: all.count, by: 2000).map({ Array(all[$0..<min($0 + 2000, all.count)]) }) {
                    let (sql, values) = TraceSQL.refreshTotals(projectID: project, traceIDs: chunk, dialect: .postgres)
                    try await connection.query(PostgresQuery(sql: sql, values: values), logger: logger)
                }
            }
            if !merged.hours.isEmpty {
                var binder = Binder()
                let now = Timestamp.micros(Date())
                // Sorted: concurrent transactions take the row locks in the same order.
                let rows = merged.hours.sorted { ($0.projectID, $0.hour) < ($1.projectID, $1.hour) }
                    .map { "(\(binder.add($0.projectID)), \(binder.add($0.hour)), \(binder.add(now)))" }
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO rollup_dirty (project_id, bucket, marked_at) VALUES \(rows.joined(separator: ","))
                            ON CONFLICT (project_id, bucket) DO UPDATE SET marked_at = GREATEST(rollup_dirty.marked_at + 1, EXCLUDED.marked_at)
                            """, binds: binder.bindings), logger: logger)
            }
        }
    }

    func list(projectID: String, query: TraceQuery) async throws -> TracePage {
        let (sql, values) = try TraceSQL.list(query, projectID: projectID, dialect: .postgres)
        var rows = try await collect(client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger)) { try Self.row($0).summary }
        var next: String?
        if rows.count > max(1, min(query.limit, 500)) {
            rows.removeLast()
            if let last = rows.last { next = TraceSQL.cursor(after: last, sort: query.sort) }
        }
        return TracePage(traces: rows, nextCursor: next)
    }

    func sessions(projectID: String, filter: TraceFilter, limit: Int) async throws -> [SessionSummary] {
        let (sql, values) = try TraceSQL.sessions(filter, projectID: projectID, limit: limit, dialect: .postgres)
        return try await collect(client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger)) { row in
            let (id, user, count, first, last, tokens, cost, errors) = try row.decode((String, String?, Int64, Int64, Int64, Int64?, Double?, Int64?).self)
            return SessionSummary(
                id: id, userID: user, traceCount: Int(count), firstTime: Timestamp.date(first), lastTime: Timestamp.date(last),
                tokens: Int(tokens ?? 0), cost: cost, errorCount: Int(errors ?? 0))
        }
    }

    func segmentSums(projectID: String, filter: TraceFilter, segment: TraceSegment, measure: TraceMeasure, limit: Int) async throws -> [SegmentSums] {
        let (sql, values) = try TraceSQL.segmentSums(filter, projectID: projectID, segment: segment, measure: measure, limit: limit, dialect: .postgres)
        return try await collect(client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger)) { row in
            let (segment, count, sum, squares) = try row.decode((String, Int64, Double?, Double?).self)
            return SegmentSums(segment: segment, count: Int(count), sum: sum ?? 0, sumOfSquares: squares ?? 0)
        }
    }

    /// A row of `TraceSQL.listColumns`.
    static func row(_ row: PostgresRow) throws -> TraceRow {
        let c = row.makeRandomAccess()
        func text(_ i: Int) throws -> String? { try c[i].decode(String?.self) }
        var trace = Trace(
            id: try text(0) ?? "", projectID: try text(1) ?? "", name: try text(2), userID: try text(3), sessionID: try text(4),
            tags: storedTags(try text(5) ?? "[]"), metadata: JSONValue.fromStored(try text(6)), release: try text(7),
            environment: try text(8), input: try text(9), output: try text(10), startTime: Timestamp.date(try c[11].decode(Int64.self)),
            endTime: try c[12].decode(Int64?.self).date)
        trace.task = try text(13)
        trace.language = try text(14)
        trace.domain = try text(15)
        return TraceRow(
            trace: trace, model: try text(16), deployment: try text(17), variant: try text(18), promptName: try text(19),
            promptVersion: try c[20].decode(Int?.self), observationCount: try c[21].decode(Int.self), inputTokens: try c[22].decode(Int.self),
            outputTokens: try c[23].decode(Int.self), totalCost: try c[24].decode(Double?.self), errorCount: try c[25].decode(Int.self),
            warningCount: try c[26].decode(Int.self))
    }

    func get(projectID: String, id: String) async throws -> TraceDetail? {
        guard
            let trace = try await collect(
                client.mappedQuery(
                    "SELECT \(unescaped: TraceSQL.listColumns) FROM traces WHERE project_id = \(projectID) AND id = \(id)", logger: logger),
                { try Self.row($0).trace }
            ).first
        else { return nil }
        let observations = try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.observationColumns) FROM observations WHERE project_id = \(projectID) AND trace_id = \(id) ORDER BY start_time, id",
                logger: logger), Self.observation)
        return TraceDetail(trace: trace, observations: observations)
    }

    func details(projectID: String, ids: [String]) async throws -> [String: TraceDetail] {
        let ids = Array(Set(ids))
        guard !ids.isEmpty else { return [:] }
        var details: [String: TraceDetail] = [:]
        for trace in try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: TraceSQL.listColumns) FROM traces WHERE project_id = \(projectID) AND id = ANY(\(ids))", logger: logger),
            { try Self.row($0).trace })
        {
            details[trace.id] = TraceDetail(trace: trace, observations: [])
        }
        let observations = try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.observationColumns) FROM observations WHERE project_id = \(projectID) AND trace_id = ANY(\(ids)) ORDER BY start_time, id",
                logger: logger), Self.observation)
        for observation in observations { details[observation.traceID]?.observations.append(observation) }
        return details
    }

    func count(projectID: String) async throws -> Int {
        try await collect(client.mappedQuery("SELECT COUNT(*) FROM traces WHERE project_id = \(projectID)", logger: logger)) {
            try $0.decode(Int.self)
        }.first ?? 0
    }

    func deleteOlderThan(projectID: String, cutoff: Date) async throws -> Int {
        let micros = Timestamp.micros(cutoff)
        return try await client.mappedTransaction(logger: logger) { connection in
            try await connection.query(
                "DELETE FROM observations WHERE project_id = \(projectID) AND trace_id IN (SELECT id FROM traces WHERE project_id = \(projectID) AND start_time < \(micros))",
                logger: logger)
            try await connection.query(
                "DELETE FROM scores WHERE project_id = \(projectID) AND trace_id IN (SELECT id FROM traces WHERE project_id = \(projectID) AND start_time < \(micros))",
                logger: logger)
            var deleted = 0
            for try await _ in try await connection.query(
                "DELETE FROM traces WHERE project_id = \(projectID) AND start_time < \(micros) RETURNING id", logger: logger
            ) { deleted += 1 }
            if deleted > 0 {
                // Whole hours before the cutoff go; the hour it cuts through (and its day's user rows) is recomputed.
                let hour = TraceSQL.hour(micros)
                try await connection.query("DELETE FROM trace_rollups WHERE project_id = \(projectID) AND bucket < \(hour)", logger: logger)
                try await connection.query("DELETE FROM rollup_dirty WHERE project_id = \(projectID) AND bucket < \(hour)", logger: logger)
                try await connection.query(
                    """
                    INSERT INTO rollup_dirty (project_id, bucket, marked_at) VALUES (\(projectID), \(hour), \(Timestamp.micros(Date())))
                    ON CONFLICT (project_id, bucket) DO UPDATE SET marked_at = GREATEST(rollup_dirty.marked_at + 1, EXCLUDED.marked_at)
                    """, logger: logger)
            }
            return deleted
        }
    }
}
