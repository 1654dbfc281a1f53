/// Runs `operation`, throwing a `timeout` `TernError` if it has not finished within `duration`
/// (the operation is cancelled).
public func withTimeout<T: Sendable>(
    _ duration: Duration, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: duration)
            throw TernError(.timeout, code: "timeout", message: "timed out after \(duration)")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
