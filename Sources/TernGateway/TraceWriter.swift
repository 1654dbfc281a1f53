public import Logging
import Synchronization
public import TernCore

/// Traces leave the request path through a bounded in-memory queue drained by one batch writer
/// (transactions of up to `batchSize` traces). A full queue drops the newest trace and counts it;
/// a request never waits for the database. At shutdown the queue is written out.
public final class TraceWriter: Sendable {
    struct State {
        var queue: [TraceBatchItem] = []
        var enqueued = 0
        var written = 0
        var dropped = 0
        var failed = 0
        var waiters: [(target: Int, continuation: CheckedContinuation<Void, Never>)] = []
        /// Someone waits in `flush()`: write without waiting for a fuller batch.
        var urgent = false
        var enqueueWaiters: [(target: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    let store: any TernStore
    let logger: Logger
    public let capacity: Int
    let batchSize: Int
    private let state = Mutex(State())
    private let signal: AsyncStream<Void>
    private let signalContinuation: AsyncStream<Void>.Continuation

    /// Above this many queued traces (about 0.3 s of traffic at 5,000 requests/s) inserts stop yielding the
    /// CPU to requests, so memory stays flat under saturation.
    static let yieldingBacklog = 1500

    /// How long the writer lets a batch fill before writing it (TensorZero flushes at 250 ms or 1,000 rows).
    let lingering: Duration

    public init(store: any TernStore, capacity: Int, batchSize: Int = 1000, lingering: Duration = .milliseconds(20), logger: Logger) {
        self.store = store
        self.capacity = capacity
        self.batchSize = batchSize
        self.lingering = lingering
        self.logger = logger
        (signal, signalContinuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public struct Stats: Sendable, Equatable {
        public var pending: Int
        public var written: Int
        public var dropped: Int
        public var failed: Int
    }

    public var stats: Stats {
        state.withLock { Stats(pending: $0.queue.count, written: $0.written, dropped: $0.dropped, failed: $0.failed) }
    }

    /// Queues a trace; false when the queue was full and the trace was dropped (and counted).
    @discardableResult
    public func enqueue(_ item: TraceBatchItem) -> Bool {
        let (accepted, ready) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            guard state.queue.count < capacity else {
                state.dropped += 1
                return (false, [])
            }
            state.queue.append(item)
            state.enqueued += 1
            guard !state.enqueueWaiters.isEmpty else { return (true, []) }
            let enqueued = state.enqueued
            let ready = state.enqueueWaiters.filter { $0.target <= enqueued }.map(\.continuation)
            state.enqueueWaiters.removeAll { $0.target <= enqueued }
            return (true, ready)
        }
        for waiter in ready { waiter.resume() }
        if accepted { signalContinuation.yield() } else if stats.dropped % 1000 == 1 {
            logger.warning("trace queue full: traces are being dropped", metadata: ["capacity": .stringConvertible(capacity)])
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

    /// The writer loop: runs until cancelled, then writes what is left.
    public func run() async {
        for await _ in signal {
            // Let a batch fill: one transaction per many traces costs far less than one per trace.
            let wait = state.withLock { !$0.urgent && $0.queue.count < batchSize }
            if wait, lingering > .zero { try? await Task.sleep(for: lingering) }
            await drain()
            if Task.isCancelled { break }
        }
        await drain()
    }

    /// Stops the loop started by `run()` once the queue is written out.
    public func finish() {
        signalContinuation.finish()
    }

    func drain() async {
        while true {
            // Take everything queued at once (O(1) under the lock), then write it in batches.
            let taken = state.withLock { state -> [TraceBatchItem] in
                let all = state.queue
                state.queue = []
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

    func write(_ batch: [TraceBatchItem]) async {
        // Yield the CPU to requests unless the queue is backing up (then writing must keep pace).
        let backlog = state.withLock { $0.queue.count }
        BackgroundPriority.set(yieldsToRequests: backlog < min(capacity / 8, Self.yieldingBacklog))
        var attempt = 0
        var ok = false
        while true {
            do {
                try await BackgroundPriority.$isBackgroundWrite.withValue(true) { try await store.traces.insert(batch) }
                ok = true
                break
            } catch {
                attempt += 1
                if attempt >= 5 {
                    logger.error("could not write traces; giving up on a batch", metadata: ["count": .stringConvertible(batch.count), "error": "\(error)"])
                    break
                }
                logger.warning("trace write failed; retrying", metadata: ["attempt": .stringConvertible(attempt), "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if ok { state.written += batch.count } else { state.failed += batch.count }
            let done = state.written + state.failed
            let ready = state.waiters.filter { $0.target <= done }.map(\.continuation)
            state.waiters.removeAll { $0.target <= done }
            if state.waiters.isEmpty { state.urgent = false }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }
}
