public import Foundation
public import Logging
public import TernCore
import Synchronization

/// What a watcher's evaluation of one trace gave.
public struct WatcherVerdict: Sendable, Equatable {
    /// The score, 0...1 (the weighted mean of the assertions' scores).
    public var score: Double
    public var passed: Bool
    public var reason: String?
    /// The judges' cost in USD and the trace of the last judge call, when a judge was called.
    public var cost: Double?
    public var judgeTraceID: String?

    public init(score: Double, passed: Bool, reason: String? = nil, cost: Double? = nil, judgeTraceID: String? = nil) {
        self.score = score
        self.passed = passed
        self.reason = reason
        self.cost = cost
        self.judgeTraceID = judgeTraceID
    }
}

/// An evaluation that failed: retried (with backoff) unless `final`; `cost` is what it spent anyway.
public struct WatcherEvaluationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var cost: Double?
    public var final: Bool
    public init(_ message: String, cost: Double? = nil, final: Bool = false) {
        self.message = message
        self.cost = cost
        self.final = final
    }
    public var description: String { message }
}

/// What is evaluated: the trace's input and output, or one observation's.
public struct WatchedItem: Sendable {
    public var trace: Trace
    public var observation: Observation?
    public var input: String
    public var output: String

    public init(trace: Trace, observation: Observation?, input: String, output: String) {
        self.trace = trace
        self.observation = observation
        self.input = input
        self.output = output
    }
}

/// Runs watchers: finds finished traces that match (a scan), queues one job per sampled trace and watcher
/// version (persisted: a restart loses none), and works the queue with retries and backoff. Several
/// replicas may work one PostgreSQL queue: jobs are claimed with a lease, scores have ids made from the
/// job's, so a trace gets at most one score per watcher version whatever fails.
public final class WatcherRunner: Sendable {
    public typealias Evaluate = @Sendable (Watcher, WatchedItem) async throws -> WatcherVerdict

    let store: any TernStore
    let evaluate: Evaluate
    let logger: Logger
    /// Jobs evaluated at once (judges are limited by the upstream: this bounds the calls in flight).
    public let concurrency: Int
    /// Attempts before a job ends `failed`.
    public let maxAttempts: Int
    /// How long a claimed job is its worker's; past it another worker takes it.
    public let lease: Duration
    /// Traces written this recently are left for the next scan (a batch may still be committing).
    public let settle: Duration

    public init(
        store: any TernStore, concurrency: Int = 8, maxAttempts: Int = 5, lease: Duration = .seconds(300), settle: Duration = .seconds(2),
        logger: Logger, evaluate: @escaping Evaluate
    ) {
        self.store = store
        self.concurrency = max(1, concurrency)
        self.maxAttempts = max(1, maxAttempts)
        self.lease = lease
        self.settle = settle
        self.logger = logger
        self.evaluate = evaluate
    }

    /// The job id for a key: the same key always gives the same id (and so the same score id).
    public static func jobID(watcherID: String, version: Int, traceID: String, observationID: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var second: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in "\(watcherID)\u{1}\(version)\u{1}\(traceID)\u{1}\(observationID)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            second = (second ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 &+ 0x9e37_79b9
        }
        return "wj_" + String(hash, radix: 36) + String(second, radix: 36)
    }

    // MARK: Scan

    /// Queues the finished, sampled traces of every enabled watcher written since its last scan. Returns the
    /// number of new jobs.
    @discardableResult
    public func scan(now: Date = Date(), batch: Int = 1000) async throws -> Int {
        var added = 0
        for watcher in try await store.watchers.listEnabled() {
            added += try await scan(watcher, now: now, batch: batch)
        }
        return added
    }

    func scan(_ watcher: Watcher, now: Date, batch: Int) async throws -> Int {
        let repository = store.watchers
        let (endedCursor, idleCursor) = try await repository.cursors(projectID: watcher.projectID, watcherID: watcher.id)
        let horizon = now.addingTimeInterval(-Double(settle.components.seconds))
        let idleHorizon = now.addingTimeInterval(-Double(watcher.definition.idleSeconds))
        let filter = watcher.definition.filter.traceFilter
        var added = 0
        // Traces with an end (gateway calls, ingested traces that sent one): at once. Pages go by (time, id):
        // a batch of the trace writer shares one time. The stored cursor means "everything up to it is queued".
        var ended = endedCursor ?? watcher.createdAt
        var page: (Date, String)?
        while true {
            let found = try await repository.finishedTraces(
                projectID: watcher.projectID, filter: filter, after: page?.0 ?? ended, afterID: page?.1, until: horizon, idleBefore: nil,
                limit: batch)
            added += try await enqueue(watcher, found, now: now)
            guard found.count == batch, let last = found.last else { break }
            page = (last.lastSeen, last.traceID)
        }
        ended = max(ended, horizon)
        // Traces without an end: once nothing was written to them for the watcher's idle time.
        var idle = idleCursor ?? watcher.createdAt
        if idleHorizon > idle {
            page = nil
            while true {
                let found = try await repository.finishedTraces(
                    projectID: watcher.projectID, filter: filter, after: page?.0 ?? idle, afterID: page?.1, until: idleHorizon,
                    idleBefore: idleHorizon, limit: batch)
                added += try await enqueue(watcher, found.filter { !$0.ended }, now: now)
                guard found.count == batch, let last = found.last else { break }
                page = (last.lastSeen, last.traceID)
            }
            idle = idleHorizon
        }
        try await repository.setCursors(projectID: watcher.projectID, watcherID: watcher.id, ended: ended, idle: idle)
        return added
    }

    func enqueue(_ watcher: Watcher, _ candidates: [WatchCandidate], now: Date) async throws -> Int {
        let jobs = candidates.filter { watcher.definition.samples(traceID: $0.traceID) }.map { candidate in
            WatcherJob(
                id: Self.jobID(watcherID: watcher.id, version: watcher.version, traceID: candidate.traceID, observationID: ""),
                projectID: watcher.projectID, watcherID: watcher.id, watcherVersion: watcher.version, traceID: candidate.traceID,
                notBefore: now, createdAt: now)
        }
        return try await store.watchers.enqueue(jobs)
    }

    // MARK: Backfills

    /// Pending jobs a watcher may have before its backfills wait: live traffic's jobs queue behind a
    /// backfill's, so a backfill of a million traces is fed in slices, not queued at once.
    public static let backfillQueueDepth = 2_000

    /// Walks the running backfills: up to `budget` traces each per call, queueing the sampled ones (the
    /// queue's key skips traces the version already scored). Returns the number of new jobs.
    @discardableResult
    public func advanceBackfills(now: Date = Date(), batch: Int = 1000, budget: Int = 5000) async throws -> Int {
        let running = try await store.watchers.runningBackfills()
        guard !running.isEmpty else { return 0 }
        var waiting = Dictionary(uniqueKeysWithValues: try await store.watchers.stats(projectID: nil, now: now).map { ($0.watcherID, $0.pending) })
        var added = 0
        for var backfill in running {
            guard let watcher = try await store.watchers.get(projectID: backfill.projectID, id: backfill.watcherID) else { continue }
            if watcher.version != backfill.watcherVersion {
                backfill.status = .cancelled
                backfill.note = "the watcher changed to version \(watcher.version); start a new backfill for it"
                backfill.finishedAt = now
                try await store.watchers.saveBackfill(backfill)
                continue
            }
            var filter = watcher.definition.filter.traceFilter
            filter.from = backfill.from
            filter.to = backfill.to
            let rate = backfill.samplingRate ?? watcher.definition.samplingRate
            var read = 0
            while read < budget, (waiting[watcher.id] ?? 0) < Self.backfillQueueDepth {
                let found = try await store.watchers.startedTraces(
                    projectID: backfill.projectID, filter: filter, afterTime: backfill.cursorTime, afterID: backfill.cursorID, limit: batch)
                let jobs = found.filter { WatcherDefinition.samples(traceID: $0.traceID, rate: rate) }.map { candidate in
                    WatcherJob(
                        id: Self.jobID(watcherID: watcher.id, version: watcher.version, traceID: candidate.traceID, observationID: ""),
                        projectID: watcher.projectID, watcherID: watcher.id, watcherVersion: watcher.version, traceID: candidate.traceID,
                        notBefore: now, createdAt: now, backfillID: backfill.id)
                }
                let new = try await store.watchers.enqueue(jobs)
                backfill.scanned += found.count
                backfill.queued += new
                waiting[watcher.id, default: 0] += new
                added += new
                read += found.count
                if let last = found.last {
                    backfill.cursorTime = last.lastSeen
                    backfill.cursorID = last.traceID
                }
                if found.count < batch {
                    backfill.status = .done
                    backfill.cursorTime = backfill.to
                    backfill.finishedAt = now
                    break
                }
            }
            try await store.watchers.saveBackfill(backfill)
        }
        return added
    }

    // MARK: Work

    /// Claims due jobs (at most `concurrency`) and evaluates them concurrently. Returns how many it took.
    @discardableResult
    public func work(now: Date = Date()) async throws -> Int {
        let leaseUntil = now.addingTimeInterval(Double(lease.components.seconds))
        let jobs = try await store.watchers.claim(limit: concurrency, now: now, leaseUntil: leaseUntil)
        guard !jobs.isEmpty else { return 0 }
        var watchers: [String: Watcher?] = [:]
        for job in jobs where watchers[job.watcherID] == nil {
            watchers[job.watcherID] = .some(try await store.watchers.get(projectID: job.projectID, id: job.watcherID))
        }
        // Today's spending only matters to watchers with a cost cap; the figures group every job, so they are
        // not read on each claim otherwise.
        let capped = watchers.values.contains { $0?.definition.dailyCostCap != nil }
        let costs =
            capped
            ? Dictionary(uniqueKeysWithValues: try await store.watchers.stats(projectID: nil, now: now).map { ($0.watcherID, $0.costToday) })
            : [:]
        // The claim's traces in one read per project.
        var details: [String: [String: TraceDetail]] = [:]
        for (project, group) in Dictionary(grouping: jobs, by: \.projectID) {
            details[project] = try await store.traces.details(projectID: project, ids: group.map(\.traceID))
        }
        // Evaluated concurrently; the scores and the jobs done are written together, in two writes.
        let completions = await withTaskGroup(of: WatcherCompletion?.self) { group in
            for job in jobs {
                let watcher = watchers[job.watcherID] ?? nil
                let spent = costs[job.watcherID] ?? 0
                let detail = details[job.projectID]?[job.traceID]
                group.addTask { await self.run(job, watcher: watcher, detail: detail, spentToday: spent, now: now) }
            }
            var done: [WatcherCompletion] = []
            for await completion in group { if let completion { done.append(completion) } }
            return done
        }
        do {
            try await store.watchers.complete(completions, at: now)
        } catch {
            // Left running: their lease runs out and they are taken again (their scores, if stored, are the same rows).
            logger.warning("watcher results could not be recorded", metadata: ["jobs": .stringConvertible(completions.count), "error": "\(error)"])
        }
        return jobs.count
    }

    /// Evaluates one job; returns its completion (to record with the others) or nil when it was recorded
    /// otherwise (failed, postponed) or could not be.
    func run(_ job: WatcherJob, watcher: Watcher?, detail: TraceDetail?, spentToday: Double, now: Date) async -> WatcherCompletion? {
        let repository = store.watchers
        do {
            guard let watcher else { return nil }  // deleted: its queue went with it
            guard watcher.version == job.watcherVersion else { return WatcherCompletion(job: job, score: nil) }
            if let cap = watcher.definition.dailyCostCap, spentToday >= cap {
                let tomorrow = Calendar.utc.date(byAdding: .day, value: 1, to: Calendar.utc.startOfDay(for: now)) ?? now.addingTimeInterval(86_400)
                try await repository.postpone(
                    job, reason: String(format: "the daily cost cap of $%.4f is reached ($%.4f spent today); waits for the next UTC day", cap, spentToday),
                    until: tomorrow)
                return nil
            }
            guard let detail else {
                try await repository.fail(job, error: "the trace \(job.traceID) is gone (deleted or past retention)", retryAt: nil, cost: nil, at: now)
                return nil
            }
            let item: WatchedItem
            if let name = watcher.definition.observationName {
                guard let observation = detail.observations.last(where: { $0.name == name }) else { return WatcherCompletion(job: job, score: nil) }
                item = WatchedItem(trace: detail.trace, observation: observation, input: observation.input ?? "", output: observation.output ?? "")
            } else {
                item = WatchedItem(trace: detail.trace, observation: nil, input: detail.trace.input ?? "", output: detail.trace.output ?? "")
            }
            let verdict: WatcherVerdict
            do {
                verdict = try await evaluate(watcher, item)
            } catch let error as WatcherEvaluationError {
                try await failed(job, error.message, cost: error.cost, final: error.final, now: now)
                return nil
            } catch {
                try await failed(job, "\(error)", cost: nil, final: false, now: now)
                return nil
            }
            let score = Score(
                id: "wsc_" + job.id.dropFirst(3), projectID: job.projectID, traceID: job.traceID, observationID: item.observation?.id,
                name: watcher.scoreName, dataType: .numeric, numericValue: verdict.score, source: .watcher, comment: verdict.reason,
                author: "\(watcher.name) v\(watcher.version)", createdAt: now)
            return WatcherCompletion(job: job, score: score, cost: verdict.cost, judgeTraceID: verdict.judgeTraceID)
        } catch {
            logger.warning("watcher job could not be recorded", metadata: ["job": .string(job.id), "error": "\(error)"])
            return nil
        }
    }

    func failed(_ job: WatcherJob, _ message: String, cost: Double?, final: Bool, now: Date) async throws {
        let attempts = job.attempts
        if final || attempts >= maxAttempts {
            let suffix = final ? "" : " (after \(attempts) attempts)"
            try await store.watchers.fail(job, error: message + suffix, retryAt: nil, cost: cost, at: now)
        } else {
            // 10 s, 20 s, 40 s ... at most 10 minutes.
            let delay = min(600, 10 * pow(2, Double(max(0, attempts - 1))))
            try await store.watchers.fail(
                job, error: message + " (attempt \(attempts) of \(maxAttempts); next in \(Int(delay)) s)", retryAt: now.addingTimeInterval(delay),
                cost: cost, at: now)
        }
    }

    // MARK: Figures

    /// A watcher's queue as `/metrics` shows it (refreshed by the loop every 15 s).
    public struct Gauge: Sendable, Equatable {
        public var project: String
        public var watcher: String
        public var stats: WatcherQueueStats
    }

    private let gauges = Mutex<[Gauge]>([])
    public var latestGauges: [Gauge] { gauges.withLock { $0 } }

    /// Reads every watcher's queue figures for `/metrics`.
    public func refreshGauges(now: Date = Date()) async throws {
        let stats = Dictionary(uniqueKeysWithValues: try await store.watchers.stats(projectID: nil, now: now).map { ($0.watcherID, $0) })
        var list: [Gauge] = []
        for project in try await store.projects.list() {
            for watcher in try await store.watchers.list(projectID: project.id) {
                list.append(Gauge(project: project.slug, watcher: watcher.name, stats: stats[watcher.id] ?? WatcherQueueStats(watcherID: watcher.id)))
            }
        }
        gauges.withLock { $0 = list }
    }

    // MARK: Loop

    /// Done and failed jobs are kept this long (the API lists them), then deleted; their scores stay.
    public static let jobRetention: TimeInterval = 7 * 86_400

    /// Scans every `scanInterval` and works the queue until cancelled; the scan runs on one replica at a time.
    public func run(scanInterval: Duration = .seconds(2), idle: Duration = .seconds(1)) async {
        var lastScan = ContinuousClock.now - scanInterval
        var lastFigures = ContinuousClock.now - .seconds(15)
        var lastPrune = ContinuousClock.now
        while !Task.isCancelled {
            if ContinuousClock.now - lastFigures >= .seconds(15) {
                lastFigures = .now
                do { try await refreshGauges() } catch { logger.debug("watcher figures failed", metadata: ["error": "\(error)"]) }
            }
            if ContinuousClock.now - lastPrune >= .seconds(3600) {
                lastPrune = .now
                do {
                    try await store.withExclusiveJob("watcher-prune") {
                        try await self.store.watchers.pruneJobs(finishedBefore: Date().addingTimeInterval(-Self.jobRetention))
                    }
                } catch {
                    logger.warning("watcher job pruning failed", metadata: ["error": "\(error)"])
                }
            }
            if ContinuousClock.now - lastScan >= scanInterval {
                lastScan = .now
                do {
                    try await store.withExclusiveJob("watcher-scan") {
                        try await self.scan()
                        try await self.advanceBackfills()
                    }
                } catch {
                    logger.warning("watcher scan failed", metadata: ["error": "\(error)"])
                }
            }
            var took = 0
            do { took = try await work() } catch { logger.warning("watcher queue failed", metadata: ["error": "\(error)"]) }
            if took == 0 { try? await Task.sleep(for: idle) }
        }
    }
}
