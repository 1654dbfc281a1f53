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
    }

    let store: any TernStore
    let logger: Logger
    public let capacity: Int
    let batchSize: Int
    private let state = Mutex(State())
    private let signal: AsyncStream<Void>
    private let signalContinuation: AsyncStream<Void>.Continuation

    public init(store: any TernStore, capacity: Int, batchSize: Int = 1000, logger: Logger) {
        self.store = store
        self.capacity = capacity
        self.batchSize = batchSize
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
        let accepted = state.withLock { state -> Bool in
            guard state.queue.count < capacity else {
                state.dropped += 1
                return false
            }
            state.queue.append(item)
            state.enqueued += 1
            return true
        }
        if accepted { signalContinuation.yield() } else if stats.dropped % 1000 == 1 {
            logger.warning("trace queue full: traces are being dropped", metadata: ["capacity": .stringConvertible(capacity)])
        }
        return accepted
    }

    /// Waits until every trace queued before this call is written (or given up on).
    public func flush() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.written + state.failed >= state.enqueued { return true }
                state.waiters.append((state.enqueued, continuation))
                return false
            }
            if done { continuation.resume() } else { signalContinuation.yield() }
        }
    }

    /// The writer loop: runs until cancelled, then writes what is left.
    public func run() async {
        for await _ in signal {
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
            let batch = state.withLock { state -> [TraceBatchItem] in
                let count = min(batchSize, state.queue.count)
                let batch = Array(state.queue.prefix(count))
                state.queue.removeFirst(count)
                return batch
            }
            if batch.isEmpty { break }
            var attempt = 0
            var ok = false
            while true {
                do {
                    try await store.traces.insert(batch)
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
                return ready
            }
            for continuation in ready { continuation.resume() }
        }
    }
}
