import Foundation
import GRDB
import TernCore
import TernStoreSQL

/// Watchers and their job queue; the SQL is shared with PostgreSQL (`WatcherSQL`).
struct SQLiteWatchers: WatcherRepository, SQLiteNamedRepository {
    let pool: DatabasePool
    let scores: SQLiteScores

    typealias Reader = SQLiteExperiments.Reader

    static func execute(_ db: Database, _ statement: WatcherSQL.Statement) throws { try SQLiteExperiments.execute(db, statement) }

    static func fetch<T>(_ db: Database, _ statement: WatcherSQL.Statement, _ map: (any WatcherSQL.Reader) throws -> T) throws -> [T] {
        try SQLiteExperiments.fetch(db, statement, map)
    }

    var records: SQLiteNamedRecords<Watcher> { SQLiteNamedRecords(pool: pool, records: WatcherSQL.records, read: WatcherSQL.watcher) }

    func create(_ watcher: Watcher) async throws -> Watcher {
        try await records.create(WatcherSQL.insert(watcher, .sqlite), name: watcher.name)
        return watcher
    }

    func update(_ watcher: Watcher) async throws -> Watcher {
        try await records.update(WatcherSQL.update(watcher, .sqlite), id: watcher.id, name: watcher.name)
        return watcher
    }

    func finishedTraces(
        projectID: String, filter: TraceFilter, after: Date, afterID: String?, until: Date, idleBefore: Date?, limit: Int
    ) async throws -> [WatchCandidate] {
        let statement = try WatcherSQL.finishedTraces(
            projectID: projectID, filter: filter, after: after, afterID: afterID, until: until, idleBefore: idleBefore, limit: limit, .sqlite)
        return try await pool.read { db in try Self.fetch(db, statement, WatcherSQL.candidate) }
    }

    func cursors(projectID: String, watcherID: String) async throws -> (ended: Date?, idle: Date?) {
        try await pool.read { db in
            try Self.fetch(db, WatcherSQL.cursors(projectID: projectID, watcherID: watcherID, .sqlite)) { row in
                (try row.int("cursor_ended").map(Timestamp.date), try row.int("cursor_idle").map(Timestamp.date))
            }.first ?? (nil, nil)
        }
    }

    func setCursors(projectID: String, watcherID: String, ended: Date?, idle: Date?) async throws {
        try await pool.write { db in
            try Self.execute(db, WatcherSQL.setCursors(projectID: projectID, watcherID: watcherID, ended: ended, idle: idle, .sqlite))
        }
    }

    func enqueue(_ jobs: [WatcherJob]) async throws -> Int {
        guard !jobs.isEmpty else { return 0 }
        return try await pool.write { db in
            var added = 0
            for job in jobs {
                try Self.execute(db, WatcherSQL.enqueue(job, .sqlite))
                added += db.changesCount
            }
            return added
        }
    }

    func claim(limit: Int, now: Date, leaseUntil: Date) async throws -> [WatcherJob] {
        try await pool.write { db in
            let ids = try Self.fetch(db, WatcherSQL.due(limit: limit, now: now, .sqlite)) { try $0.text("id") ?? "" }
            return try ids.flatMap { id in try Self.fetch(db, WatcherSQL.take(id: id, now: now, leaseUntil: leaseUntil, .sqlite), WatcherSQL.job) }
        }
    }

    func complete(_ job: WatcherJob, score: Score?, cost: Double?, judgeTraceID: String?, at: Date) async throws -> Bool {
        // The score first, under an id made from the job's: a worker that dies before marking the job done
        // leaves it to be taken again, and the second attempt's score is the same row.
        if let score { try await scores.insert([score]) }
        return try await pool.write { db in
            try Self.execute(
                db, WatcherSQL.finish(job, status: .done, scoreID: score?.id, cost: cost, judgeTraceID: judgeTraceID, error: nil, at: at, .sqlite))
            return db.changesCount > 0
        }
    }

    func complete(_ completions: [WatcherCompletion], at: Date) async throws -> Int {
        guard !completions.isEmpty else { return 0 }
        let scores = completions.compactMap(\.score)
        if !scores.isEmpty { try await self.scores.insert(scores) }
        return try await pool.write { db in
            var done = 0
            for c in completions {
                try Self.execute(
                    db,
                    WatcherSQL.finish(c.job, status: .done, scoreID: c.score?.id, cost: c.cost, judgeTraceID: c.judgeTraceID, error: nil, at: at, .sqlite))
                done += db.changesCount
            }
            return done
        }
    }

    func fail(_ job: WatcherJob, error: String, retryAt: Date?, cost: Double?, at: Date) async throws {
        try await pool.write { db in
            if let retryAt {
                try Self.execute(db, WatcherSQL.retry(job, error: error, notBefore: retryAt, cost: cost, countAttempt: true, .sqlite))
            } else {
                try Self.execute(
                    db, WatcherSQL.finish(job, status: .failed, scoreID: nil, cost: cost, judgeTraceID: nil, error: error, at: at, .sqlite))
            }
        }
    }

    func postpone(_ job: WatcherJob, reason: String, until notBefore: Date) async throws {
        try await pool.write { db in
            try Self.execute(db, WatcherSQL.retry(job, error: reason, notBefore: notBefore, cost: nil, countAttempt: false, .sqlite))
        }
    }

    func jobs(projectID: String, watcherID: String, status: WatcherJobStatus?, limit: Int) async throws -> [WatcherJob] {
        try await pool.read { db in
            try Self.fetch(db, WatcherSQL.jobs(projectID: projectID, watcherID: watcherID, status: status, limit: limit, .sqlite), WatcherSQL.job)
        }
    }

    func stats(projectID: String?, now: Date) async throws -> [WatcherQueueStats] {
        let day = Calendar.utc.startOfDay(for: now)
        return try await pool.read { db in try Self.fetch(db, WatcherSQL.stats(projectID: projectID, dayStart: day, .sqlite), WatcherSQL.stat) }
    }

    func pruneJobs(finishedBefore cutoff: Date) async throws -> Int {
        try await pool.write { db in
            try Self.execute(db, WatcherSQL.prune(finishedBefore: cutoff, .sqlite))
            return db.changesCount
        }
    }

    // MARK: Backfills

    func startedTraces(projectID: String, filter: TraceFilter, afterTime: Date?, afterID: String?, limit: Int) async throws -> [WatchCandidate] {
        let statement = try WatcherSQL.startedTraces(projectID: projectID, filter: filter, afterTime: afterTime, afterID: afterID, limit: limit, .sqlite)
        return try await pool.read { db in try Self.fetch(db, statement, WatcherSQL.candidate) }
    }

    func createBackfill(_ backfill: WatcherBackfill) async throws {
        try await pool.write { db in try Self.execute(db, WatcherSQL.insert(backfill, .sqlite)) }
    }

    func backfills(projectID: String, watcherID: String) async throws -> [WatcherBackfill] {
        try await pool.read { db in
            try Self.fetch(db, WatcherSQL.backfills(projectID: projectID, watcherID: watcherID, runningOnly: false, .sqlite), WatcherSQL.backfill)
        }
    }

    func runningBackfills() async throws -> [WatcherBackfill] {
        try await pool.read { db in
            try Self.fetch(db, WatcherSQL.backfills(projectID: nil, watcherID: nil, runningOnly: true, .sqlite), WatcherSQL.backfill)
        }
    }

    func saveBackfill(_ backfill: WatcherBackfill) async throws {
        try await pool.write { db in try Self.execute(db, WatcherSQL.save(backfill, .sqlite)) }
    }
}
