import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import TernCore
import TernServer
import TernTestSupport
import Testing

/// Starts the real `tern` executable, as the README does, and talks to it over HTTP.
@Suite("tern serve (real process)", .timeLimit(.minutes(5)))
struct ServeProcessTests {
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["TERN_BINARY"] { return URL(fileURLWithPath: path) }
        // swift test runs `<build dir>/ternPackageTests.xctest`; the executable sits beside it.
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        while !directory.path.isEmpty, directory.path != "/" {
            let candidate = directory.appendingPathComponent("tern")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/tern")
    }

    @Test("first start creates the SQLite file and default project, serves a CLI-made key, and stops on SIGTERM")
    func serveAndStop() async throws {
        let dir = try TempDirectory.make()
        defer { TempDirectory.remove(dir) }
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build the tern executable first: \(Self.binary.path)")

        let server = try RunningProcess(Self.binary, ["serve", "--port", "0", "--data-dir", dir], directory: dir)
        let listening = try await server.waitForLine(containing: "listening on http://")
        let base = try #require(listening.split(separator: " ").last.map(String.init))
        #expect(base.hasPrefix("http://127.0.0.1:"), "binds loopback by default")
        #expect(server.output.contains(#"First start: created project "default""#))
        #expect(server.output.contains("tern users create"))
        // The banner says where the UI, the gateway and ingest are, and how to make the first key.
        _ = try await server.waitForLine(containing: "--instance-admin")
        #expect(server.output.contains("  Web UI    \(base)/ui/"), "\(server.output)")
        #expect(server.output.contains("  Gateway   \(base)/v1 (OpenAI-compatible base URL; models: all-minilm-l6-v2)"))
        #expect(server.output.contains("  Ingest    \(base)/api/v1/ingest and OTLP \(base)/v1/traces"))
        #expect(server.output.contains("No API key yet."))
        #expect(FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("tern.sqlite")))

        let (healthStatus, _) = try await httpGet(base + "/healthz")
        #expect(healthStatus == 200)

        let keyProcess = try RunningProcess(Self.binary, ["keys", "create", "--name", "readme", "--data-dir", dir], directory: dir)
        #expect(try await keyProcess.waitForExit() == 0)
        let key = try #require(keyProcess.output.split(separator: "\n").last.map(String.init))
        #expect(Secrets.looksLikeAPIKey(key))

        let (status, body) = try await httpGet(base + "/api/v1/projects", key: key)
        #expect(status == 200)
        #expect(body.contains(#""slug":"default""#))
        let (unauthorized, _) = try await httpGet(base + "/api/v1/projects")
        #expect(unauthorized == 401)

        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
        #expect(server.output.contains("Tern stopped."))
        #expect(!server.output.contains(key), "the key never reaches the server's output or logs")
    }

    @Test("SIGTERM writes out every queued trace before the process exits")
    func shutdownFlushesTraces() async throws {
        let dir = try TempDirectory.make()
        defer { TempDirectory.remove(dir) }
        let stub = try await StubUpstream.start()
        defer { Task { await stub.stop() } }
        try """
        providers:
          stub: {type: openai, base_url: "\(stub.baseURL)"}
        models:
          bot:
            deployments:
              - {name: only, provider: stub, model: gpt-4o-mini}
        """.write(toFile: (dir as NSString).appendingPathComponent("tern.yaml"), atomically: true, encoding: .utf8)
        // Only serve and migrate create a database: the operator migrates, then makes the key.
        let migrate = try RunningProcess(Self.binary, ["migrate", "--data-dir", dir], directory: dir)
        #expect(try await migrate.waitForExit() == 0, "\(migrate.output)")
        let keyProcess = try RunningProcess(Self.binary, ["keys", "create", "--name", "t", "--data-dir", dir], directory: dir)
        #expect(try await keyProcess.waitForExit() == 0, "\(keyProcess.output)")
        let key = try #require(keyProcess.output.split(separator: "\n").last.map(String.init))
        let server = try RunningProcess(Self.binary, ["serve", "--port", "0", "--data-dir", dir], directory: dir)
        let listening = try await server.waitForLine(containing: "listening on http://")
        let base = try #require(listening.split(separator: " ").last.map(String.init))
        let count = 40
        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<count {
                group.addTask {
                    var request = URLRequest(url: URL(string: base + "/v1/chat/completions")!)
                    request.httpMethod = "POST"
                    request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
                    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                    request.httpBody = Data(#"{"model":"bot","messages":[{"role":"user","content":"hi \#(index)"}]}"#.utf8)
                    let (_, response) = try await URLSession.shared.data(for: request)
                    return (response as? HTTPURLResponse)?.statusCode ?? 0
                }
            }
            for try await status in group { #expect(status == 200) }
        }
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
        var config = TernConfig()
        config.dataDir = dir
        let store = try StoreFactory.open(config, logger: .quiet)
        let project = try #require(try await store.projects.get(slug: "default"))
        #expect(try await store.traces.count(projectID: project.id) == count, "every call's trace reached the database")
        try await store.close()
    }

    @Test("kill -9 under gateway load loses no acknowledged trace: the journal written before each answer is replayed at the next start")
    func killLosesNothingAcknowledged() async throws {
        let dir = try TempDirectory.make()
        defer { TempDirectory.remove(dir) }
        let stub = try await StubUpstream.start()
        defer { Task { await stub.stop() } }
        try """
        providers:
          stub: {type: openai, base_url: "\(stub.baseURL)"}
        models:
          bot:
            deployments:
              - {name: only, provider: stub, model: gpt-4o-mini}
        """.write(toFile: (dir as NSString).appendingPathComponent("tern.yaml"), atomically: true, encoding: .utf8)
        // Only serve and migrate create a database: the operator migrates, then makes the key.
        let migrate = try RunningProcess(Self.binary, ["migrate", "--data-dir", dir], directory: dir)
        #expect(try await migrate.waitForExit() == 0, "\(migrate.output)")
        let keyProcess = try RunningProcess(Self.binary, ["keys", "create", "--name", "t", "--data-dir", dir], directory: dir)
        #expect(try await keyProcess.waitForExit() == 0, "\(keyProcess.output)")
        let key = try #require(keyProcess.output.split(separator: "\n").last.map(String.init))
        let server = try RunningProcess(Self.binary, ["serve", "--port", "0", "--data-dir", dir], directory: dir)
        let listening = try await server.waitForLine(containing: "listening on http://")
        let base = try #require(listening.split(separator: " ").last.map(String.init))

        // 16 clients call without pause; once 400 calls are answered, the server is killed mid-traffic.
        let acknowledged = AcknowledgedTraces()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    var index = 0
                    while !acknowledged.killed {
                        var request = URLRequest(url: URL(string: base + "/v1/chat/completions")!)
                        request.httpMethod = "POST"
                        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
                        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                        request.httpBody = Data(#"{"model":"bot","messages":[{"role":"user","content":"w\#(worker) n\#(index)"}]}"#.utf8)
                        index += 1
                        guard let (_, response) = try? await URLSession.shared.data(for: request),
                            let http = response as? HTTPURLResponse, http.statusCode == 200,
                            let trace = http.value(forHTTPHeaderField: "x-tern-trace-id")
                        else { continue }
                        if acknowledged.add(trace) == 400 {
                            server.signal(SIGKILL)
                            acknowledged.kill()
                        }
                    }
                }
            }
        }
        _ = try await server.waitForExit()
        let ids = acknowledged.ids
        #expect(ids.count >= 400)

        let restarted = try RunningProcess(Self.binary, ["serve", "--port", "0", "--data-dir", dir], directory: dir)
        _ = try await restarted.waitForLine(containing: "listening on http://")
        #expect(restarted.output.contains("trace journal: replaying traces of an earlier run"), "\(restarted.output)")
        restarted.signal(SIGTERM)
        #expect(try await restarted.waitForExit() == 0)
        var config = TernConfig()
        config.dataDir = dir
        let store = try StoreFactory.open(config, logger: .quiet)
        let project = try #require(try await store.projects.get(slug: "default"))
        var missing: [String] = []
        for id in ids where try await store.traces.get(projectID: project.id, id: id) == nil { missing.append(id) }
        #expect(missing.isEmpty, "\(missing.count) of \(ids.count) acknowledged traces were lost")
        try await store.close()
    }

    @Test("an invalid tern.yaml stops start-up with the key path")
    func invalidConfig() async throws {
        let dir = try TempDirectory.make()
        defer { TempDirectory.remove(dir) }
        try "server:\n  port: 99999\n".write(toFile: (dir as NSString).appendingPathComponent("tern.yaml"), atomically: true, encoding: .utf8)
        let process = try RunningProcess(Self.binary, ["serve"], directory: dir)
        #expect(try await process.waitForExit() != 0)
        #expect(process.output.contains("tern.yaml:2: server.port: expected an integer 0-65535, got 99999"))
    }

    func httpGet(_ url: String, key: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}

/// A child process whose combined output is collected, with awaitable lines and exit (each wait bounded
/// by `testWaitLimit`, so a server that never prints its line fails the test instead of hanging it).
final class RunningProcess: @unchecked Sendable {
    private let child: ChildProcess
    private let lock = NSLock()
    private var buffer = ""
    private var lineWaits: [(text: String, awaited: Awaited<String>)] = []
    private let exit = Awaited<Int32>("the process to exit")
    private var hasExited = false

    init(_ executable: URL, _ arguments: [String], directory: String) throws {
        var environment = ProcessInfo.processInfo.environment
        for name in environment.keys where name.hasPrefix("TERN_") && !name.hasPrefix("TERN_TEST") { environment[name] = nil }
        child = try ChildProcess([executable.path] + arguments, environment: environment, directory: directory)
        Task { [child, weak self] in
            let (status, _) = await child.waitForExit { [weak self] data in self?.append(String(decoding: data, as: UTF8.self)) }
            self?.exited(status)
        }
    }

    private func exited(_ status: Int32) {
        lock.lock()
        hasExited = true
        let pending = lineWaits
        lineWaits = []
        let output = buffer
        lock.unlock()
        exit.fulfil(status)
        for (text, awaited) in pending {
            awaited.fail(TernError.internalError("process exited (status \(status)) before printing \"\(text)\": \(output)"))
        }
    }

    var output: String {
        lock.lock()
        defer { lock.unlock() }
        return buffer
    }

    private func append(_ text: String) {
        lock.lock()
        buffer += text
        var ready: [(String, Awaited<String>)] = []
        lineWaits.removeAll { wait in
            if let line = Self.line(containing: wait.text, in: buffer) {
                ready.append((line, wait.awaited))
                return true
            }
            return false
        }
        lock.unlock()
        for (line, awaited) in ready { awaited.fulfil(line) }
    }

    static func line(containing text: String, in buffer: String) -> String? {
        buffer.split(separator: "\n").first { $0.contains(text) }.map(String.init)
    }

    /// Waits for a line of output containing `text` (fails if the process exits first, or after `testWaitLimit`).
    func waitForLine(containing text: String) async throws -> String {
        let awaited = Awaited<String>("a line containing \"\(text)\"")
        register(awaited, for: text)
        return try await awaited.value()
    }

    private func register(_ awaited: Awaited<String>, for text: String) {
        lock.lock()
        defer { lock.unlock() }
        if let line = Self.line(containing: text, in: buffer) {
            awaited.fulfil(line)
        } else if hasExited {
            awaited.fail(TernError.internalError("process exited before printing \"\(text)\": \(buffer)"))
        } else {
            lineWaits.append((text, awaited))
        }
    }

    func waitForExit() async throws -> Int32 {
        try await exit.value()
    }

    func signal(_ signal: Int32) { child.signal(signal) }

    deinit {
        child.signal(SIGTERM)
    }
}

/// Trace ids of answered calls, shared by the load's workers.
final class AcknowledgedTraces: @unchecked Sendable {
    private let lock = NSLock()
    private var traces: [String] = []
    private var stopped = false

    /// Adds an id; returns how many there are now.
    func add(_ id: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        traces.append(id)
        return traces.count
    }

    var ids: [String] {
        lock.lock()
        defer { lock.unlock() }
        return traces
    }

    var killed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    func kill() {
        lock.lock()
        stopped = true
        lock.unlock()
    }
}
