#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
public import Foundation

/// A child process started with `posix_spawn`, its standard output and error collected through one pipe.
///
/// Tern does not use Foundation's `Process` to start programs: on Linux its `run()` reads past the end
/// of `readdir` records while it lists `/proc/self/fd` and crashes now and then (swift-corelibs-foundation
/// pull request 5472, present in Swift 6.3.1). Here the child closes every descriptor above 2 with
/// `posix_spawn_file_actions_addclosefrom_np`, so nothing is listed.
public final class ChildProcess: @unchecked Sendable {
    public enum Output: Sendable {
        /// Standard output and error go to one pipe the caller reads through `waitForExit`.
        case collect
        /// Both go to /dev/null.
        case discard
    }

    public let pid: Int32
    private let outputFD: Int32
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `arguments[0]` (looked up on PATH when it has no slash) with the rest as its arguments.
    /// `environment` nil keeps this process's environment; `directory` nil keeps its working directory.
    /// Standard input is /dev/null. The child starts with default signal handlers and no blocked signals.
    public init(_ arguments: [String], environment: [String: String]? = nil, directory: String? = nil, output: Output = .collect) throws {
        guard let program = arguments.first, !program.isEmpty else { throw TernError.invalid(nil, "no program to run") }
        guard let closeFrom = Self.addCloseFrom, let changeDirectory = Self.addChangeDirectory else {
            throw TernError.internalError("cannot run \(program): this C library lacks posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later has it)")
        }
        var fds: [Int32] = [-1, -1]
        if output == .collect {
            guard pipe(&fds) == 0 else { throw Self.failure("pipe", errno, program) }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if output == .collect {
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
            posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        _ = closeFrom(&actions, 3)
        if let directory { _ = changeDirectory(&actions, directory) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let environmentStrings = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = environmentStrings.map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }

        var child: pid_t = 0
        let result =
            program.contains("/")
            ? posix_spawn(&child, program, &actions, &attributes, argv, envp)
            : posix_spawnp(&child, program, &actions, &attributes, argv, envp)
        if output == .collect { close(fds[1]) }
        guard result == 0 else {
            if output == .collect { close(fds[0]) }
            throw Self.failure("posix_spawn", result, program)
        }
        pid = child
        outputFD = fds[0]
    }

    // GNU extensions the Glibc module does not import (it is not built with _GNU_SOURCE), found at run time.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias AddChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addCloseFrom: AddCloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    private static let addChangeDirectory: AddChangeDirectory? = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<Function>(_ name: String) -> Function? {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(address, to: Function.self)
    }

    private static func failure(_ call: String, _ code: Int32, _ program: String) -> TernError {
        TernError.internalError("cannot run \(program): \(call) failed: \(String(cString: strerror(code)))")
    }

    /// Reads the output to its end (calling `onOutput` with each chunk as it arrives), then reaps the
    /// child. Blocking reads and `waitpid` run on a thread of their own, never on a Swift concurrency
    /// thread. Returns the exit code, or the signal number for a child killed by a signal (as
    /// Foundation's `terminationStatus` does), with everything the child printed. Call once.
    public func waitForExit(onOutput: (@Sendable (Data) -> Void)? = nil) async -> (status: Int32, output: Data) {
        await withCheckedContinuation { continuation in
            Thread { [self] in continuation.resume(returning: waitUntilExit(onOutput: onOutput)) }.start()
        }
    }

    /// `waitForExit` blocking the calling thread (for synchronous callers outside Swift concurrency).
    public func waitUntilExit(onOutput: (@Sendable (Data) -> Void)? = nil) -> (status: Int32, output: Data) {
        var collected = Data()
        if outputFD >= 0 {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(outputFD, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                let chunk = Data(buffer[0..<count])
                collected.append(chunk)
                onOutput?(chunk)
            }
            close(outputFD)
        }
        // Wait without reaping, then reap under the lock, so `signal` never reaches a reused pid.
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        lock.lock()
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let code = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : raw & 0x7f
        status = code
        lock.unlock()
        return (code, collected)
    }

    /// True until the child has been reaped.
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return status == nil
    }

    /// Sends a signal, unless the child has been reaped already (its pid may belong to another process then).
    public func signal(_ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if status == nil { kill(pid, signal) }
    }

    /// Runs a program to completion; returns its exit status and its output (stdout and stderr together).
    public static func run(
        _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil
    ) async throws -> (
        status: Int32, output: String
    ) {
        let child = try ChildProcess(arguments, environment: environment, directory: directory)
        let (status, output) = await child.waitForExit()
        return (status, String(decoding: output, as: UTF8.self))
    }
}
