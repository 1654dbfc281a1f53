public import Foundation

/// Runs a program to completion and returns its exit status and combined output. The blocking
/// reads and the wait happen on a Dispatch thread, never on a Swift concurrency thread: tests
/// that run a client against an in-process server must leave those threads to the server.
public func runExternalProcess(_ arguments: [String], environment: [String: String]) async throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try ProcessLaunch.run(process)
    return await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            let data = (try? pipe.fileHandleForReading.readToEnd()) ?? Data()
            process.waitUntilExit()
            continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
        }
    }
}

/// Starts child processes one at a time: Foundation's `Process.run()` on Linux is not safe to call from
/// several threads at once (a CI run crashed in its memcpy while parallel tests started processes).
public enum ProcessLaunch {
    private static let lock = NSLock()

    public static func run(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }
}
