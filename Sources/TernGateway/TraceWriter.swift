import Foundation
public import Logging
import Synchronization
public import TernCore

/// Traces leave the request path through a bounded in-memory queue drained by one batch writer
/// (transactions of up to `batchSize` traces). A request never waits for the database.
///
/// With a `TraceJournal`, each trace is appended to a local file before it is queued (the gateway's
/// response completes after that), so an acknowledged call's trace survives a kill, and one the store
/// cannot take now (disk full, read-only, unreachable) stays on disk and is replayed until it can.
///
/// A trace the store refuses that no journal holds (no journal, or the journal's disk failed too) waits in
/// a bounded retry buffer in memory and is written with the journal's files once the store takes writes.
///
/// When the queue is at its bound, a trace the journal took is kept there only ("spilled") and read back
/// from disk: memory stays bounded under saturation and nothing is dropped while the journal has room.
///
/// Every trace that is not stored is counted by reason (`Stats.lost`): `queue_full` (the queue was at its
/// count or byte bound and no journal took it), `store_failed` (the store refused it, no journal held it and the retry buffer was
/// full), `unreadable` (a journal line that could not be read back). At shutdown the queue is written out.
public final class TraceWriter: Sendable {
    public enum LossReason: String, Sendable, CaseIterable {
        case queueFull = "queue_full"
        case storeFailed = "store_failed"
        case unreadable
    }

    struct Queued {
        var item: TraceBatchItem
        var bytes: Int
        /// Where the journal holds it, or nil.
        var segment: TraceJournal.Position?
    }

    struct State {
        var queue: [Queued] = []
        var queuedBytes = 0
        /// Traces the store refused that no journal holds: retried with the journal's files, bounded by
        /// `capacityBytes` (beyond it they are lost and counted).
        var retry: [Queued] = []
        var retryBytes = 0
        /// Taken from `retry` by a replay that has not finished.
        var retryInFlight = 0
        var enqueued = 0
        var written = 0
        var failed = 0
        var lost: [LossReason: Int] = [:]
        var replayed = 0
        var spilled = 0
        var waiters: [(target: Int, continuation: CheckedContinuation<Void, Never>)] = []
        /// Someone waits in `flush()`: write without waiting for a fuller batch.
        var urgent = false
        var enqueueWaiters: [(target: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    let store: any TernStore
    let logger: Logger
    public let capacity: Int
    /// Bound of the queue in bytes (trace and observation texts), whatever the count.
    public let capacityBytes: Int
    let batchSize: Int
    public let journal: TraceJournal?
    public let health: WriteHealth
    private let state = Mutex(State())
    private let signal: AsyncStream<Void>
    private let signalContinuation: AsyncStream<Void>.Continuation

    /// Above this many queued traces (about 0.3 s of traffic at 5,000 requests/s) inserts stop yielding the
    /// CPU to requests, so memory stays flat under saturation.
    static let yieldingBacklog = 1500

    /// How long the writer lets a batch fill before writing it (TensorZero flushes at 250 ms or 1,000 rows).
    let lingering: Duration
    /// Attempts of one batch before it is given up on (left to the journal's replay when there is one).
    let attempts: Int
    /// Between two replays of journal files while the store refuses them.
    let replayInterval: Duration
    /// How long the writer keeps replaying journal files once asked to stop (the rest waits for the next start).
    let shutdownReplayBudget: Duration
    /// Set by `finish()`: a replay under way gives up the rest to the final, time-boxed one.
    private let stopRequested = Atomic<Bool>(false)

    public init(
        store: any TernStore, capacity: Int, capacityBytes: Int = 64 << 20, batchSize: Int = 1000,
        lingering: Duration = .milliseconds(20), journal: TraceJournal? = nil, health: WriteHealth = WriteHealth(),
        attempts: Int = 5, replayInterval: Duration = .seconds(2), shutdownReplayBudget: Duration = .seconds(5), logger: Logger
    ) {
        self.shutdownReplayBudget = shutdownReplayBudget
        self.store = store
        self.capacity = capacity
        self.capacityBytes = capacityBytes
        self.batchSize = batchSize
        self.lingering = lingering
        self.journal = journal
        self.health = health
        self.attempts = attempts
        self.replayInterval = replayInterval
        self.logger = logger
        (signal, signalContinuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public struct Stats: Sendable, Equatable {
        public var pending: Int
        public var pendingBytes: Int
        public var written: Int
        /// Traces not stored, all reasons together.
        public var dropped: Int { lost.values.reduce(0, +) }
        /// Batches' traces whose write failed (kept by the journal for replay when there is one).
        public var failed: Int
        public var lost: [LossReason: Int]
        /// Traces stored from the journal or the retry buffer after the store refused them once.
        public var replayed: Int
        /// Traces waiting in memory for the store to take writes again.
        public var retrying: Int
        /// Traces the queue had no room for, kept in the journal only and written from it.
        public var spilled: Int
    }

    public var stats: Stats {
        state.withLock {
            Stats(
                pending: $0.queue.count, pendingBytes: $0.queuedBytes, written: $0.written, failed: $0.failed, lost: $0.lost,
                replayed: $0.replayed, retrying: $0.retry.count + $0.retryInFlight, spilled: $0.spilled)
        }
    }

    /// Roughly the memory a queued trace holds: its texts plus what its fields, ids and metadata take
    /// (measured under load: about 5 KiB for a gateway trace with short bodies).
    static func size(_ item: TraceBatchItem) -> Int {
        var bytes = 3072 + (item.trace.input?.utf8.count ?? 0) + (item.trace.output?.utf8.count ?? 0)
        for observation in item.observations {
            bytes += 2048 + (observation.input?.utf8.count ?? 0) + (observation.output?.utf8.count ?? 0)
        }
        return bytes
    }

    /// Journals (when there is a journal) and queues a trace; false when the queue was full and the
    /// trace was dropped (and counted). The journal write happens here, before the caller answers.
    @discardableResult
    public func enqueue(_ item: TraceBatchItem) -> Bool {
        let bytes = Self.size(item)
        let line = journal.flatMap { _ in TraceJournal.encode(item) }
        let (accepted, ready, dropped) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>], Int) in
            guard state.queue.count < capacity, state.queuedBytes + bytes <= capacityBytes || state.queue.isEmpty else {
                if let line, let journal, journal.appendSpilled(line) != nil {
                    state.spilled += 1
                    return (true, [], 0)
                }
                state.lost[.queueFull, default: 0] += 1
                return (false, [], state.lost[.queueFull]!)
            }
            let segment = line.flatMap { journal?.append($0) }
            state.queue.append(Queued(item: item, bytes: bytes, segment: segment))
            state.queuedBytes += bytes
            state.enqueued += 1
            guard !state.enqueueWaiters.isEmpty else { return (true, [], 0) }
            let enqueued = state.enqueued
            let ready = state.enqueueWaiters.filter { $0.target <= enqueued }.map(\.continuation)
            state.enqueueWaiters.removeAll { $0.target <= enqueued }
            return (true, ready, 0)
        }
        for waiter in ready { waiter.resume() }
        if accepted {
            signalContinuation.yield()
        } else if dropped % 1000 == 1 {
            logger.warning(
                "trace queue full: traces are being dropped",
                metadata: [
                    "capacity": .stringConvertible(capacity), "capacity_bytes": .stringConvertible(capacityBytes), "dropped": .stringConvertible(dropped),
                ])
        }
        return accepted
    }

    /// Waits until `count` traces in all have been queued (for tests of work that ends on its own time).
    public func waitUntilEnqueued(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.enqueued >= count { return true }
                state.enqueueWaiters.append((count, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Waits until every trace queued before this call is written (or given up on).
    public func flush() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.written + state.failed >= state.enqueued { return true }
                state.waiters.append((state.enqueued, continuation))
                state.urgent = true
                return false
            }
            if done { continuation.resume() } else { signalContinuation.yield() }
        }
    }

    /// The writer loop: runs until cancelled, then writes what is left. Journal files waiting for replay
    /// (an earlier run's, or batches the store refused) are replayed first and then every
    /// `replayInterval` until they are stored.
    public func run() async {
        await replay()
        let ticker = Task { [signalContinuation, replayInterval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: replayInterval)
                signalContinuation.yield()
            }
        }
        for await _ in signal {
            // Let a batch fill: one transaction per many traces costs far less than one per trace.
            let wait = state.withLock { !$0.urgent && $0.queue.count < batchSize }
            if wait, lingering > .zero { try? await Task.sleep(for: lingering) }
            await drain()
            journal?.rotateForReplay()
            await replay()
            // Memory freed by a burst goes back to the system: when the queue is small again, and at least
            // every minute under load.
            MemoryTrim.releaseIfDue(every: state.withLock({ $0.queue.count }) < batchSize ? .seconds(10) : .seconds(60))
            if Task.isCancelled { break }
        }
        ticker.cancel()
        await drain()
        // The journal is replayed at the next start anyway: at shutdown, only for a few seconds, so that a
        // stop with a long backlog (minutes of spilled traffic) does not outlast the supervisor's patience.
        await replay(journalDeadline: .now + shutdownReplayBudget)
        journal?.closeIfSettled()
    }

    /// Stops the loop started by `run()` once the queue is written out.
    public func finish() {
        stopRequested.store(true, ordering: .relaxed)
        signalContinuation.finish()
    }

    func drain() async {
        while true {
            // Take everything queued at once (O(1) under the lock), then write it in batches.
            let taken = state.withLock { state -> [Queued] in
                let all = state.queue
                state.queue = []
                state.queuedBytes = 0
                return all
            }
            if taken.isEmpty { break }
            var start = 0
            while start < taken.count {
                let batch = Array(taken[start..<min(start + batchSize, taken.count)])
                start += batchSize
                await write(batch)
            }
        }
    }

    /// Writes a batch with a few attempts; true when stored.
    func insert(_ items: [TraceBatchItem]) async -> Bool {
        var attempt = 0
        while true {
            do {
                try await BackgroundPriority.$isBackgroundWrite.withValue(true) { try await store.traces.insert(items) }
                health.recordSuccess()
                return true
            } catch {
                let reason = store.unavailability(of: error)
                if let reason { health.recordFailure(reason) }
                attempt += 1
                if attempt >= attempts {
                    logger.error(
                        "could not write traces",
                        metadata: [
                            "count": .stringConvertible(items.count), "error": "\(error)",
                            "kept": .string(journal == nil ? "no: lost" : "in the journal, replayed when the store takes writes"),
                        ])
                    return false
                }
                logger.warning("trace write failed; retrying", metadata: ["attempt": .stringConvertible(attempt), "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }

    func write(_ batch: [Queued]) async {
        // Yield the CPU to requests unless the queue is backing up (then writing must keep pace).
        let backlog = state.withLock { $0.queue.count }
        BackgroundPriority.set(yieldsToRequests: backlog < min(capacity / 8, Self.yieldingBacklog))
        let ok = await insert(batch.map(\.item))
        journal?.settle(batch.compactMap(\.segment), failed: !ok)
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if ok {
                state.written += batch.count
            } else {
                state.failed += batch.count
                for queued in batch where queued.segment == nil {
                    if state.retryBytes + queued.bytes <= capacityBytes {
                        state.retry.append(queued)
                        state.retryBytes += queued.bytes
                    } else {
                        state.lost[.storeFailed, default: 0] += 1
                    }
                }
            }
            let done = state.written + state.failed
            let ready = state.waiters.filter { $0.target <= done }.map(\.continuation)
            state.waiters.removeAll { $0.target <= done }
            if state.waiters.isEmpty { state.urgent = false }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// Stores the journal files waiting for replay now (at start, before the server listens, so what an
    /// earlier run acknowledged is in the store before anything new is answered; tests await it too).
    public func replayPending() async {
        journal?.rotateForReplay()
        await replay()
    }

    /// One replay at a time (the writer's loop and `replayPending` may ask at once).
    private let replayGate = AsyncGate()

    /// Stores the journal files waiting for replay, oldest first, then the retry buffer; stops at the first
    /// batch the store refuses (the next tick tries again).
    func replay(journalDeadline: ContinuousClock.Instant? = nil) async {
        await replayGate.enter()
        defer { replayGate.leave() }
        guard await replayJournal(deadline: journalDeadline) else { return }
        // Taken out of the buffer while being written, but still counted (items and bytes) against its bound.
        let retry = state.withLock { state -> [Queued] in
            let taken = state.retry
            state.retry = []
            state.retryInFlight = taken.count
            return taken
        }
        defer { state.withLock { $0.retryInFlight = 0 } }
        var start = 0
        while start < retry.count {
            let batch = Array(retry[start..<min(start + batchSize, retry.count)])
            do {
                try await BackgroundPriority.$isBackgroundWrite.withValue(true) { try await store.traces.insert(batch.map(\.item)) }
                health.recordSuccess()
                state.withLock {
                    $0.replayed += batch.count
                    $0.retryInFlight -= batch.count
                    $0.retryBytes -= batch.reduce(0) { $0 + $1.bytes }
                }
                start += batchSize
            } catch {
                if let reason = store.unavailability(of: error) { health.recordFailure(reason) }
                // Put back what is left, in order, ahead of anything refused since (its bytes are still counted).
                let rest = Array(retry[start...])
                state.withLock { state in
                    state.retry = rest + state.retry
                    state.retryInFlight = 0
                }
                return
            }
        }
        if !retry.isEmpty {
            logger.info("traces refused earlier are stored", metadata: ["traces": .stringConvertible(retry.count)])
        }
    }

    /// The journal's files; false when the store refused one (the rest wait).
    /// Past `deadline`, stops between batches and leaves the file for later (its stored lines are stored
    /// again then: trace writes are upserts).
    func replayJournal(deadline: ContinuousClock.Instant? = nil) async -> Bool {
        guard let journal else { return true }
        while let (path, written) = journal.nextReplay() {
            // The file's lines, decoded a batch at a time: a segment's traces are never all in memory at once.
            let lines = TraceJournal.lines(path, skipping: written)
            var stored = 0
            var skipped = 0
            var start = 0
            while start < lines.count {
                let stopping = deadline.map { ContinuousClock.now >= $0 } ?? (stopRequested.load(ordering: .relaxed) || Task.isCancelled)
                if stopping {
                    state.withLock { $0.replayed += stored }
                    return true
                }
                let (batch, unreadable) = TraceJournal.decode(lines[start..<min(start + batchSize, lines.count)])
                start += batchSize
                skipped += unreadable
                // One attempt: the next tick tries again.
                do {
                    try await BackgroundPriority.$isBackgroundWrite.withValue(true) { try await store.traces.insert(batch) }
                    health.recordSuccess()
                    stored += batch.count
                } catch {
                    if let reason = store.unavailability(of: error) { health.recordFailure(reason) }
                    return false
                }
            }
            journal.replayed(path)
            state.withLock { state in
                state.replayed += stored
                if skipped > 0 { state.lost[.unreadable, default: 0] += skipped }
            }
            logger.info("trace journal: replayed into the store", metadata: ["traces": .stringConvertible(stored), "file": .string(path)])
        }
        return true
    }
}

/// A mutual exclusion for async code: `enter` suspends while another task is inside.
final class AsyncGate: Sendable {
    private let state = Mutex<(busy: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func enter() async {
        await withCheckedContinuation { continuation in
            let entered = state.withLock { state -> Bool in
                if state.busy {
                    state.waiters.append(continuation)
                    return false
                }
                state.busy = true
                return true
            }
            if entered { continuation.resume() }
        }
    }

    func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
