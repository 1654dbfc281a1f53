import Foundation
import GRDB
import TernCore
import TernStoreSQL

struct SQLiteMetrics: MetricsRepository {
    let pool: DatabasePool

    static func arguments(_ values: [SQLValue]) -> StatementArguments { StatementArguments(values.map(\.databaseValue)) }

    func aggregateFacts(
        projectID: String, filter: TraceFilter, granularity: MetricsBucket,
        dimensions: [MetricsDimension?]
    ) async throws -> [RollupRow] {
        let (sql, values) = try TraceSQL.facts(filter, projectID: projectID, dialect: .sqlite)
        let (scoreSQL, scoreValues) = try TraceSQL.scoreFacts(filter, projectID: projectID, dialect: .sqlite)
        return try await pool.read { db in
            var scores: [(traceID: String, name: String, value: Double)] = []
            let scoreCursor = try Row.fetchCursor(db, sql: scoreSQL, arguments: Self.arguments(scoreValues))
            while let row = try scoreCursor.next() { scores.append((row[0], row[1], row[2])) }
            let scoresByTrace = TraceSQL.scoresByTrace(scores)
            var aggregator = FactAggregator(granularity: granularity, dimensions: dimensions)
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: Self.arguments(values))
            while let row = try cursor.next() {
                let start: Int64 = row[1]
                let end: Int64? = row[2]
                var fact = TraceFacts(
                    id: row[0], startMicros: start, name: row[3], userID: row[4], tags: storedTags(row[5]), model: row[6],
                    prompt: TraceFacts.promptKey(name: row[7], version: row[8]), deployment: row[9], variant: row[10], task: row[11],
                    language: row[12], domain: row[13], environment: row[14], isError: (row[15] as Int) > 0, inputTokens: row[16],
                    outputTokens: row[17], cost: row[18], latencyMs: end.map { Double($0 - start) / 1000 })
                if let traceScores = scoresByTrace[fact.id] { fact.scores = traceScores }
                aggregator.add(fact)
            }
            return aggregator.rows
        }
    }

    func rollups(projectID: String, dimension: String, from: Int64, to: Int64) async throws -> [RollupRow] {
        try await rollups(projectID: projectID, dimension: dimension, from: from, to: to, values: nil)
    }

    func rollups(projectID: String, dimension: String, from: Int64, to: Int64, values: [String]) async throws -> [RollupRow] {
        values.isEmpty ? [] : try await rollups(projectID: projectID, dimension: dimension, from: from, to: to, values: Optional(values))
    }

    func topRollupValues(projectID: String, dimension: String, from: Int64, to: Int64, limit: Int) async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT value FROM trace_rollups WHERE project_id = ? AND dimension = ? AND bucket >= ? AND bucket < ?
                    GROUP BY value ORDER BY SUM(traces) DESC, value LIMIT ?
                    """, arguments: [projectID, dimension, from, to, limit])
        }
    }

    private func rollups(projectID: String, dimension: String, from: Int64, to: Int64, values: [String]?) async throws -> [RollupRow] {
        var arguments: StatementArguments = [projectID, dimension, from, to]
        var only = ""
        if let values {
            only = " AND value IN (\(Array(repeating: "?", count: values.count).joined(separator: ",")))"
            arguments += StatementArguments(values)
        }
        return try await pool.read { [arguments, only] db in
            var out: [RollupRow] = []
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT bucket, value, traces, errors, input_tokens, output_tokens, cost, latency_sum, latency_hist, scores
                    FROM trace_rollups WHERE project_id = ? AND dimension = ? AND bucket >= ? AND bucket < ?\(only)
                    """, arguments: arguments)
            while let row = try cursor.next() {
                var stats = MetricsAccumulator()
                stats.traces = row[2]
                stats.errors = row[3]
                stats.inputTokens = row[4]
                stats.outputTokens = row[5]
                stats.cost = row[6]
                stats.latencySumMs = row[7]
                stats.latency = LatencyHistogram(encoded: row[8])
                stats.decodeScores(row[9])
                out.append(RollupRow(bucket: row[0], dimension: dimension, value: row[1], stats: stats))
            }
            return out
        }
    }

    func dirtyBuckets(limit: Int) async throws -> [DirtyBucket] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT project_id, bucket, marked_at FROM rollup_dirty ORDER BY bucket, project_id LIMIT ?",
                arguments: [limit]
            ).map { DirtyBucket(projectID: $0[0], bucket: $0[1], markedAt: $0[2]) }
        }
    }

    func replaceRollups(projectID: String, from: Int64, to: Int64, dimensions: [String], rows: [RollupRow], clearing: DirtyBucket?) async throws {
        try await pool.write { db in
            let placeholders = Array(repeating: "?", count: dimensions.count).joined(separator: ",")
            var arguments: [(any DatabaseValueConvertible)?] = [projectID, from, to]
            arguments += dimensions.map { $0 as (any DatabaseValueConvertible)? }
            try db.execute(
                sql: "DELETE FROM trace_rollups WHERE project_id = ? AND bucket >= ? AND bucket < ? AND dimension IN (\(placeholders))",
                arguments: StatementArguments(arguments))
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO trace_rollups (project_id, dimension, bucket, value, traces, errors, input_tokens, output_tokens, cost,
                                               latency_sum, latency_hist, scores)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for row in rows {
                let s = row.stats
                try insert.execute(arguments: [
                    projectID, row.dimension, row.bucket, row.value, s.traces, s.errors, s.inputTokens, s.outputTokens, s.cost,
                    s.latencySumMs, s.latency.encoded, s.encodedScores,
                ])
            }
            if let mark = clearing {
                try db.execute(
                    sql: "DELETE FROM rollup_dirty WHERE project_id = ? AND bucket = ? AND marked_at = ?",
                    arguments: [mark.projectID, mark.bucket, mark.markedAt])
            }
        }
    }

    func pendingLanguages(limit: Int) async throws -> [PendingLanguage] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT project_id, id, substr(input, 1, 2000) FROM traces
                    WHERE language IS NULL AND language_checked = 0 AND input IS NOT NULL LIMIT ?
                    """, arguments: [limit]
            ).map { PendingLanguage(projectID: $0[0], traceID: $0[1], input: $0[2]) }
        }
    }

    func setDetectedLanguages(_ results: [(PendingLanguage, String?)]) async throws {
        guard !results.isEmpty else { return }
        let now = Timestamp.micros(Date())
        try await pool.write { db in
            let update = try db.cachedStatement(
                sql: """
                    UPDATE traces SET language = COALESCE(language, ?), language_checked = 1 WHERE project_id = ? AND id = ?
                    """)
            let mark = try db.cachedStatement(
                sql: """
                    INSERT INTO rollup_dirty (project_id, bucket, marked_at)
                    SELECT project_id, \(TraceSQL.hourOfStart), ? FROM traces WHERE project_id = ? AND id = ?
                    ON CONFLICT (project_id, bucket) DO UPDATE SET marked_at = MAX(rollup_dirty.marked_at + 1, excluded.marked_at)
                    """)
            for (pending, language) in results {
                try update.execute(arguments: [language, pending.projectID, pending.traceID])
                if language != nil { try mark.execute(arguments: [now, pending.projectID, pending.traceID]) }
            }
        }
    }

    func refreshPlannerStatistics() async throws {
        try await pool.writeWithoutTransaction { db in
            // Sampled: a few milliseconds even on millions of rows.
            try db.execute(sql: "PRAGMA analysis_limit = 1000; ANALYZE;")
        }
    }
}
