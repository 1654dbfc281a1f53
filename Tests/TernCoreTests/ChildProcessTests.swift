import Foundation
import TernCore
import Testing

@Suite("ChildProcess: programs started with posix_spawn")
struct ChildProcessTests {
    @Test("exit status, standard output and error together, environment and working directory reach the child")
    func statusOutputEnvironmentDirectory() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, output) = try await ChildProcess.run(
            ["/bin/sh", "-c", "echo out-$GREETING; echo err >&2; pwd; exit 7"],
            environment: ["GREETING": "hello", "PATH": "/usr/bin:/bin"], directory: directory)
        #expect(status == 7)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.contains("out-hello"))
        #expect(lines.contains("err"))
        #expect(lines.contains(URL(fileURLWithPath: directory).resolvingSymlinksInPath().path) || lines.contains(directory))
    }

    @Test("the child inherits no descriptor above 2 (nothing lists /proc/self/fd, whose listing crashed Foundation's Process)")
    func noInheritedDescriptors() async throws {
        // Descriptors this process holds open without close-on-exec must not reach the child.
        let leaky = open("/dev/null", O_RDONLY)
        defer { close(leaky) }
        #expect(leaky > 2)
        let (status, output) = try await ChildProcess.run(["/bin/sh", "-c", "ls /proc/$$/fd"])
        #expect(status == 0)
        let descriptors = output.split(separator: "\n").compactMap { Int($0) }.sorted()
        #expect(descriptors.contains(0) && descriptors.contains(1) && descriptors.contains(2))
        #expect(!descriptors.contains(Int(leaky)), "\(descriptors)")
        // The shell may hold one descriptor of its own (for `ls` output it reads nothing, so none at all is expected).
        #expect(descriptors.filter { $0 > 2 }.count <= 1, "\(descriptors)")
    }

    @Test("a child killed by a signal reports the signal number; signal after exit reaches nobody")
    func signals() async throws {
        let child = try ChildProcess(["sleep", "30"])
        #expect(child.isRunning)
        child.signal(SIGTERM)
        let (status, _) = await child.waitForExit()
        #expect(status == SIGTERM)
        #expect(!child.isRunning)
        child.signal(SIGKILL)  // reaped: must not send anything (a reused pid would get it)
        #expect(!child.isRunning)
    }

    @Test("output arrives chunk by chunk while the child runs")
    func streamedOutput() async throws {
        let child = try ChildProcess(["/bin/sh", "-c", "echo first; exec sleep 30"])
        let seen = Chunks()
        let (status, output) = await child.waitForExit { chunk in
            seen.add(chunk)
            if String(decoding: chunk, as: UTF8.self).contains("first") { child.signal(SIGKILL) }
        }
        // Killed on seeing "first": had output come only at exit, the child would have slept 30 s and exited 0.
        #expect(status == SIGKILL)
        #expect(String(decoding: output, as: UTF8.self) == "first\n")
        #expect(seen.count >= 1)
    }

    @Test("a program that does not exist is an error naming it")
    func missingProgram() async throws {
        let error = await #expect(throws: TernError.self) { try await ChildProcess.run(["no-such-program-\(UUID().uuidString.prefix(8))"]) }
        #expect(error?.message.contains("no-such-program") == true)
    }
}

private final class Chunks: @unchecked Sendable {
    private let lock = NSLock()
    private var chunks: [Data] = []
    func add(_ chunk: Data) {
        lock.lock()
        chunks.append(chunk)
        lock.unlock()
    }
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return chunks.count
    }
}
