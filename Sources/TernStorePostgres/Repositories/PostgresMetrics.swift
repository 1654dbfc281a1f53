import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

struct PostgresMetrics: MetricsRepository {
    let client: PostgresClient
    let logger: Logger

    func aggregateFacts(
        projectID: String, filter: TraceFilter, granularity: MetricsBucket,
        dimensions: [MetricsDimension?]
    ) async throws -> [RollupRow] {
        let (scoreSQL, scoreValues) = try TraceSQL.scoreFacts(filter, projectID: projectID, dialect: .postgres)
        var scores: [(traceID: String, name: String, value: Double)] = []
        for try await (trace, name, value) in try await client.mappedQuery(PostgresQuery(sql: scoreSQL, values: scoreValues), logger: logger)
            .decode((String, String, Double).self)
        {
            scores.append((trace, name, value))
        }
        let scoresByTrace = TraceSQL.scoresByTrace(scores)
        var aggregator = FactAggregator(granularity: granularity, dimensions: dimensions)
        let (sql, values) = try TraceSQL.facts(filter, projectID: projectID, dialect: .postgres)
        // Rows stream from the server as they are read: only the groups are kept.
        for try await row in try await client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger) {
            let c = row.makeRandomAccess()
            func text(_ i: Int) throws -> String? { try c[i].decode(String?.self) }
            let start = try c[1].decode(Int64.self)
            let end = try c[2].decode(Int64?.self)
            var fact = TraceFacts(
                id: try text(0) ?? "", startMicros: start, name: try text(3), userID: try text(4), tags: storedTags(try text(5) ?? "[]"),
                model: try text(6), prompt: TraceFacts.promptKey(name: try text(7), version: try c[8].decode(Int?.self)),
                deployment: try text(9), variant: try text(10), task: try text(11), language: try text(12), domain: try text(13),
                environment: try text(14), isError: try c[15].decode(Int.self) > 0, inputTokens: try c[16].decode(Int.self),
                outputTokens: try c[17].decode(Int.self), cost: try c[18].decode(Double?.self),
                latencyMs: end.map { Double($0 - start) / 1000 })
            if let traceScores = scoresByTrace[fact.id] { fact.scores = traceScores }
            aggregator.add(fact)
        }
        return aggregator.rows
    }

    func rollups(projectID: String, dimension: String, from: Int64, to: Int64) async throws -> [RollupRow] {
        try await rollups(
            query: """
                SELECT bucket, value, traces, errors, input_tokens, output_tokens, cost, latency_sum, latency_hist, scores
                FROM trace_rollups WHERE project_id = \(projectID) AND dimension = \(dimension) AND bucket >= \(from) AND bucket < \(to)
                """, dimension: dimension)
    }

    func rollups(projectID: String, dimension: String, from: Int64, to: Int64, values: [String]) async throws -> [RollupRow] {
        guard !values.isEmpty else { return [] }
        return try await rollups(
            query: """
                SELECT bucket, value, traces, errors, input_tokens, output_tokens, cost, latency_sum, latency_hist, scores
                FROM trace_rollups WHERE project_id = \(projectID) AND dimension = \(dimension) AND bucket >= \(from) AND bucket < \(to)
                AND value = ANY(\(values))
                """, dimension: dimension)
    }

    func topRollupValues(projectID: String, dimension: String, from: Int64, to: Int64, limit: Int) async throws -> [String] {
        try await collect(
            client.mappedQuery(
                """
                SELECT value FROM trace_rollups
                WHERE project_id = \(projectID) AND dimension = \(dimension) AND bucket >= \(from) AND bucket < \(to)
                GROUP BY value ORDER BY SUM(traces) DESC, value COLLATE "C" LIMIT \(limit)
                """, logger: logger)
        ) { row in try row.decode(String.self) }
    }

    private func rollups(query: PostgresQuery, dimension: String) async throws -> [RollupRow] {
        try await collect(client.mappedQuery(query, logger: logger)) { row in
            let (bucket, value, traces, errors, input, output, cost, latencySum, histogram, scores) = try row.decode(
                (Int64, String, Int64, Int64, Int64, Int64, Double, Double, String, String).self)
            var stats = MetricsAccumulator()
            stats.traces = Int(traces)
            stats.errors = Int(errors)
            stats.inputTokens = Int(input)
            stats.outputTokens = Int(output)
            stats.cost = cost
            stats.latencySumMs = latencySum
            stats.latency = LatencyHistogram(encoded: histogram)
            stats.decodeScores(scores)
            return RollupRow(bucket: bucket, dimension: dimension, value: value, stats: stats)
        }
    }

    func dirtyBuckets(limit: Int) async throws -> [DirtyBucket] {
        try await collect(
            client.mappedQuery(
                "SELECT project_id, bucket, marked_at FROM rollup_dirty ORDER BY bucket, project_id LIMIT \(limit)", logger: logger)
        ) { row in
            let (project, bucket, marked) = try row.decode((String, Int64, Int64).self)
            return DirtyBucket(projectID: project, bucket: bucket, markedAt: marked)
        }
    }

    func replaceRollups(projectID: String, from: Int64, to: Int64, dimensions: [String], rows: [RollupRow], clearing: DirtyBucket?) async throws {
        try await client.mappedTransaction(logger: logger) { connection in
            // Replicas (or a request and the background job) may recompute the same range at once:
            // serialise them, or the second insert would collide with the first one's rows.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(projectID)), hashtext(\(String(from))))", logger: logger)
            var binder = Binder()
            let list = dimensions.map { binder.add($0) }.joined(separator: ",")
            let sql = """
                DELETE FROM trace_rollups WHERE project_id = \(binder.add(projectID)) AND bucket >= \(binder.add(from))
                AND bucket < \(binder.add(to)) AND dimension IN (\(list))
                """
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binder.bindings), logger: logger)
            for chunk in stride(from: 0, to: rows.count, by: 1000).map({ Array(rows[$0..<min($0 + 1000, rows.count)]) }) {
                var binder = Binder()
                let values = chunk.map { row in
                    let s = row.stats
                    return "("
                        + [
                            binder.add(projectID), binder.add(row.dimension), binder.add(row.bucket), binder.add(row.value), binder.add(Int64(s.traces)),
                            binder.add(Int64(s.errors)), binder.add(Int64(s.inputTokens)), binder.add(Int64(s.outputTokens)), binder.add(s.cost),
                            binder.add(s.latencySumMs), binder.add(s.latency.encoded), binder.add(s.encodedScores),
                        ].joined(separator: ",") + ")"
                }.joined(separator: ",")
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO trace_rollups (project_id, dimension, bucket, value, traces, errors, input_tokens, output_tokens, cost,
                                                       latency_sum, latency_hist, scores) VALUES \(values)
                            """, binds: binder.bindings), logger: logger)
            }
            if let mark = clearing {
                try await connection.query(
                    "DELETE FROM rollup_dirty WHERE project_id = \(mark.projectID) AND bucket = \(mark.bucket) AND marked_at = \(mark.markedAt)",
                    logger: logger)
            }
        }
    }

    func pendingLanguages(limit: Int) async throws -> [PendingLanguage] {
        try await collect(
            client.mappedQuery(
                """
                SELECT project_id, id, substr(input, 1, 2000) FROM traces
                WHERE language IS NULL AND language_checked = 0 AND input IS NOT NULL LIMIT \(limit)
                """, logger: logger)
        ) { row in
            let (project, id, input) = try row.decode((String, String, String).self)
            return PendingLanguage(projectID: project, traceID: id, input: input)
        }
    }

    func setDetectedLanguages(_ results: [(PendingLanguage, String?)]) async throws {
        guard !results.isEmpty else { return }
        let now = Timestamp.micros(Date())
        // One statement per chunk, and the hours marked once at the end in a fixed order: a statement
        // per trace held the hour's rollup_dirty row lock for the whole transaction, and every ingest
        // transaction of that hour waited for it (OTLP traces, which need detection, went 3.5x slower).
        try await client.mappedTransaction(logger: logger) { connection in
            var hours = Set<HourMark>()
            for start in stride(from: 0, to: results.count, by: 5_000) {
                let chunk = results[start..<min(start + 5_000, results.count)]
                let detected = chunk.compactMap { pending, language in language.map { (pending, $0) } }
                if !detected.isEmpty {
                    var binder = Binder()
                    let rows = detected.map { pending, language in
                        "(\(binder.add(pending.projectID))::text, \(binder.add(pending.traceID))::text, \(binder.add(language))::text)"
                    }
                    let updated = try await connection.query(
                        PostgresQuery(
                            unsafeSQL: """
                                UPDATE traces t SET language = COALESCE(t.language, v.language), language_checked = 1
                                FROM (VALUES \(rows.joined(separator: ","))) AS v(project_id, id, language)
                                WHERE t.project_id = v.project_id AND t.id = v.id
                                RETURNING t.project_id, (t.start_time / 3600000000) * 3600000000
                                """, binds: binder.bindings), logger: logger)
                    for try await (project, bucket) in updated.decode((String, Int64).self) { hours.insert(HourMark(projectID: project, bucket: bucket)) }
                }
                // Checked, nothing found: no language, no rollup change.
                let unknown = chunk.filter { $0.1 == nil }
                if !unknown.isEmpty {
                    var binder = Binder()
                    let rows = unknown.map { pending, _ in "(\(binder.add(pending.projectID))::text, \(binder.add(pending.traceID))::text)" }
                    try await connection.query(
                        PostgresQuery(
                            unsafeSQL: """
                                UPDATE traces t SET language_checked = 1 FROM (VALUES \(rows.joined(separator: ","))) AS v(project_id, id)
                                WHERE t.project_id = v.project_id AND t.id = v.id
                                """, binds: binder.bindings), logger: logger)
                }
            }
            guard !hours.isEmpty else { return }
            var binder = Binder()
            // Sorted: concurrent transactions (the ingest's marks too) take the row locks in the same order.
            let rows = hours.sorted { ($0.projectID, $0.bucket) < ($1.projectID, $1.bucket) }
                .map { "(\(binder.add($0.projectID)), \(binder.add($0.bucket)), \(binder.add(now)))" }
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO rollup_dirty (project_id, bucket, marked_at) VALUES \(rows.joined(separator: ","))
                        ON CONFLICT (project_id, bucket) DO UPDATE SET marked_at = GREATEST(rollup_dirty.marked_at + 1, EXCLUDED.marked_at)
                        """, binds: binder.bindings), logger: logger)
        }
    }

    private struct HourMark: Hashable {
        var projectID: String
        var bucket: Int64
    }

    func refreshPlannerStatistics() async throws {
        // PostgreSQL's autovacuum keeps statistics current.
    }
}
