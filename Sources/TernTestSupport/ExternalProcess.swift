import TernCore

/// Runs a program to completion and returns its exit status and combined output. The blocking
/// reads and the wait happen on a thread of their own, never on a Swift concurrency thread: tests
/// that run a client against an in-process server must leave those threads to the server.
public func runExternalProcess(_ arguments: [String], environment: [String: String]) async throws -> (status: Int32, output: String) {
    try await ChildProcess.run(arguments, environment: environment)
}

/// Whether `python -c "import <modules>"` succeeds (the optional interop, browser and fuzz runs need it).
public func pythonImports(_ python: String, _ modules: String) -> Bool {
    (try? ChildProcess([python, "-c", "import \(modules)"], output: .discard).waitUntilExit().status) == 0
}
