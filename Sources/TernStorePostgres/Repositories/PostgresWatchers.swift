import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

/// Watchers and their job queue; the SQL is shared with SQLite (`WatcherSQL`).
struct PostgresWatchers: WatcherRepository, PostgresNamedRepository {
    let client: PostgresClient
    let logger: Logger
    let scores: PostgresScores
    let experiments: PostgresExperiments

    func rows<T>(_ statement: WatcherSQL.Statement, _ map: (any WatcherSQL.Reader) throws -> T) async throws -> [T] {
        try await PostgresExperiments.rows(client.mappedQuery(PostgresExperiments.query(statement), logger: logger), map)
    }

    func run(_ statement: WatcherSQL.Statement) async throws {
        try await client.mappedQuery(PostgresExperiments.query(statement), logger: logger)
    }

    /// Runs the statement and counts the rows it returns (statements ending in RETURNING).
    func count(_ statement: WatcherSQL.Statement) async throws -> Int {
        try await rows(statement) { _ in 1 }.count
    }

    var records: PostgresNamedRecords<Watcher> {
        PostgresNamedRecords(client: client, logger: logger, records: WatcherSQL.records, read: WatcherSQL.watcher)
    }

    func create(_ watcher: Watcher) async throws -> Watcher {
        try await records.create(WatcherSQL.insert(watcher, .postgres), name: watcher.name)
        return watcher
    }

    func update(_ watcher: Watcher) async throws -> Watcher {
        try await records.update(WatcherSQL.update(watcher, .postgres), id: watcher.id, name: watcher.name)
        return watcher
    }

    func finishedTraces(
        projectID: String, filter: TraceFilter, after: Date, afterID: String?, until: Date, idleBefore: Date?, limit: Int
    ) async throws -> [WatchCandidate] {
        try await rows(
            try WatcherSQL.finishedTraces(
                projectID: projectID, filter: filter, after: after, afterID: afterID, until: until, idleBefore: idleBefore, limit: limit, .postgres),
            WatcherSQL.candidate)
    }

    func cursors(projectID: String, watcherID: String) async throws -> (ended: Date?, idle: Date?) {
        try await rows(WatcherSQL.cursors(projectID: projectID, watcherID: watcherID, .postgres)) { row in
            (try row.int("cursor_ended").map(Timestamp.date), try row.int("cursor_idle").map(Timestamp.date))
        }.first ?? (nil, nil)
    }

    func setCursors(projectID: String, watcherID: String, ended: Date?, idle: Date?) async throws {
        try await run(WatcherSQL.setCursors(projectID: projectID, watcherID: watcherID, ended: ended, idle: idle, .postgres))
    }

    func enqueue(_ jobs: [WatcherJob]) async throws -> Int {
        guard !jobs.isEmpty else { return 0 }
        return try await experiments.transaction { connection in
            var added = 0
            for job in jobs {
                var statement = WatcherSQL.enqueue(job, .postgres)
                statement.sql += " RETURNING id"
                for try await _ in try await connection.query(PostgresExperiments.query(statement), logger: logger) { added += 1 }
            }
            return added
        }
    }

    func claim(limit: Int, now: Date, leaseUntil: Date) async throws -> [WatcherJob] {
        // SKIP LOCKED: replicas claiming at once take different jobs.
        try await experiments.transaction { connection in
            let due = try await PostgresExperiments.rows(
                connection.query(PostgresExperiments.query(WatcherSQL.due(limit: limit, now: now, .postgres)), logger: logger)
            ) { try $0.text("id") ?? "" }
            var taken: [WatcherJob] = []
            for id in due {
                taken += try await PostgresExperiments.rows(
                    connection.query(
                        PostgresExperiments.query(WatcherSQL.take(id: id, now: now, leaseUntil: leaseUntil, .postgres)), logger: logger),
                    WatcherSQL.job)
            }
            return taken
        }
    }

    func complete(_ job: WatcherJob, score: Score?, cost: Double?, judgeTraceID: String?, at: Date) async throws -> Bool {
        if let score { try await scores.insert([score]) }
        var statement = WatcherSQL.finish(job, status: .done, scoreID: score?.id, cost: cost, judgeTraceID: judgeTraceID, error: nil, at: at, .postgres)
        statement.sql += " RETURNING id"
        return try await count(statement) > 0
    }

    func complete(_ completions: [WatcherCompletion], at: Date) async throws -> Int {
        guard !completions.isEmpty else { return 0 }
        let scores = completions.compactMap(\.score)
        if !scores.isEmpty { try await self.scores.insert(scores) }
        return try await experiments.transaction { connection in
            var done = 0
            for c in completions {
                var statement = WatcherSQL.finish(
                    c.job, status: .done, scoreID: c.score?.id, cost: c.cost, judgeTraceID: c.judgeTraceID, error: nil, at: at, .postgres)
                statement.sql += " RETURNING id"
                for try await _ in try await connection.query(PostgresExperiments.query(statement), logger: logger) { done += 1 }
            }
            return done
        }
    }

    func fail(_ job: WatcherJob, error: String, retryAt: Date?, cost: Double?, at: Date) async throws {
        if let retryAt {
            try await run(WatcherSQL.retry(job, error: error, notBefore: retryAt, cost: cost, countAttempt: true, .postgres))
        } else {
            try await run(WatcherSQL.finish(job, status: .failed, scoreID: nil, cost: cost, judgeTraceID: nil, error: error, at: at, .postgres))
        }
    }

    func postpone(_ job: WatcherJob, reason: String, until notBefore: Date) async throws {
        try await run(WatcherSQL.retry(job, error: reason, notBefore: notBefore, cost: nil, countAttempt: false, .postgres))
    }

    func jobs(projectID: String, watcherID: String, status: WatcherJobStatus?, limit: Int) async throws -> [WatcherJob] {
        try await rows(WatcherSQL.jobs(projectID: projectID, watcherID: watcherID, status: status, limit: limit, .postgres), WatcherSQL.job)
    }

    func stats(projectID: String?, now: Date) async throws -> [WatcherQueueStats] {
        try await rows(WatcherSQL.stats(projectID: projectID, dayStart: Calendar.utc.startOfDay(for: now), .postgres), WatcherSQL.stat)
    }

    func pruneJobs(finishedBefore cutoff: Date) async throws -> Int {
        var statement = WatcherSQL.prune(finishedBefore: cutoff, .postgres)
        statement.sql += " RETURNING id"
        return try await count(statement)
    }

    // MARK: Backfills

    func startedTraces(projectID: String, filter: TraceFilter, afterTime: Date?, afterID: String?, limit: Int) async throws -> [WatchCandidate] {
        try await rows(
            try WatcherSQL.startedTraces(projectID: projectID, filter: filter, afterTime: afterTime, afterID: afterID, limit: limit, .postgres),
            WatcherSQL.candidate)
    }

    func createBackfill(_ backfill: WatcherBackfill) async throws {
        try await run(WatcherSQL.insert(backfill, .postgres))
    }

    func backfills(projectID: String, watcherID: String) async throws -> [WatcherBackfill] {
        try await rows(WatcherSQL.backfills(projectID: projectID, watcherID: watcherID, runningOnly: false, .postgres), WatcherSQL.backfill)
    }

    func runningBackfills() async throws -> [WatcherBackfill] {
        try await rows(WatcherSQL.backfills(projectID: nil, watcherID: nil, runningOnly: true, .postgres), WatcherSQL.backfill)
    }

    func saveBackfill(_ backfill: WatcherBackfill) async throws {
        try await run(WatcherSQL.save(backfill, .postgres))
    }
}
