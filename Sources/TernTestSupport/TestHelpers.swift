import Foundation
public import TernCore

/// How long a test waits for something it expects (a line of output, an exit, a request) before it
/// fails: a bound on the test, never a way to wait for work. Generous, so a busy machine does not fail it.
public let testWaitLimit: Duration = .seconds(120)

/// Something a test waits for that happens once: a value, or an error. `value(within:)` returns it when
/// it comes, and fails with a clear message when it does not come in time or the test is cancelled
/// (as Swift Testing's `.timeLimit` does): a wait that can never end cannot hang the run.
public final class Awaited<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Value, any Error>?
    private var waiters: [UUID: CheckedContinuation<Value, any Error>] = [:]
    public let what: String

    public init(_ what: String) {
        self.what = what
    }

    /// Delivers the value (the first delivery wins).
    public func fulfil(_ value: Value) { settle(.success(value)) }

    public func fail(_ error: any Error) { settle(.failure(error)) }

    public var isSettled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return result != nil
    }

    private func settle(_ outcome: Result<Value, any Error>) {
        lock.lock()
        guard result == nil else {
            lock.unlock()
            return
        }
        result = outcome
        let ready = waiters.values
        waiters = [:]
        lock.unlock()
        for waiter in ready { waiter.resume(with: outcome) }
    }

    /// The value, or a `timeout` error naming what did not happen.
    public func value(within limit: Duration = testWaitLimit) async throws -> Value {
        try await withThrowingTaskGroup(of: Value.self) { group in
            group.addTask { try await self.wait() }
            group.addTask { [what] in
                try await Task.sleep(for: limit)
                throw TernError(.timeout, code: "test_wait_timeout", message: "waited \(limit) for \(what)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    private func wait() async throws -> Value {
        let id = UUID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                lock.lock()
                if let result {
                    lock.unlock()
                    continuation.resume(with: result)
                } else if Task.isCancelled {
                    // Cancelled before this wait registered: onCancel found nothing to resume.
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters[id] = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            let waiter = waiters.removeValue(forKey: id)
            lock.unlock()
            waiter?.resume(throwing: CancellationError())
        }
    }
}

/// Runs `body`, then `cleanup` whether `body` returned or threw (a `defer` that can await: servers and
/// stubs stop even when a `#require` fails).
public func withCleanup<T>(_ body: () async throws -> T, cleanup: () async -> Void) async throws -> T {
    do {
        let value = try await body()
        await cleanup()
        return value
    } catch {
        await cleanup()
        throw error
    }
}

/// A seeded generator (SplitMix64) for tests that draw numbers: the same draws on every run.
public typealias SeededGenerator = SplitMix64
