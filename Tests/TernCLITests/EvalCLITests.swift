import ArgumentParser
import Foundation
import Synchronization
#if canImport(FoundationXML)
    import FoundationXML
#endif
@testable import TernCLI
import TernCore
import TernServer
import TernTestSupport
import Testing

/// Runs `tern eval <arguments>` in process with `environment` as its environment; returns what it
/// printed and its exit code (0 when it returned normally). Runs keep no history (`--no-write`)
/// unless the arguments name a `--runs-dir`.
func ternEval(_ arguments: [String], environment: [String: String]) async throws -> (output: String, code: Int32) {
    let output = CLIOutput.capture()
    var arguments = arguments
    if !["list", "show"].contains(arguments.first ?? ""), !arguments.contains("--runs-dir"), !arguments.contains("--no-write") {
        arguments.append("--no-write")
    }
    var command = try TernCommand.parseAsRoot(["eval"] + arguments)
    do {
        try await CLIEnvironment.$current.withValue(environment) {
            try await CLIOutput.$current.withValue(output) {
                guard var asyncCommand = command as? any AsyncParsableCommand else { return try command.run() }
                try await asyncCommand.run()
            }
        }
        return (output.text, 0)
    } catch let exit as ExitCode {
        return (output.text, exit.rawValue)
    }
}

/// Runs `body` with a stub upstream and a scratch folder (`path` names a file in it); both go away after.
func withStubAndFolder(_ body: (StubUpstream, @escaping @Sendable (String) -> String) async throws -> Void) async throws {
    let stub = try await StubUpstream.start()
    let dir = try TempDirectory.make()
    defer { TempDirectory.remove(dir) }
    do {
        try await body(stub) { (dir as NSString).appendingPathComponent($0) }
    } catch {
        await stub.stop()
        throw error
    }
    await stub.stop()
}

/// Runs `body` against a real Tern server (SQLite store, in process, on a free port) whose gateway
/// serves `models` (YAML under `models:`) through the provider `upstream`, the stub (key `sk-upstream`).
/// `body` gets the store, the default project's id, the port and an API key of the project.
func withTernServer(
    stub: StubUpstream, models: String,
    _ body: @escaping @Sendable (any TernStore, String, Int, String) async throws -> Void
) async throws {
    try await withTestStore(.sqlite) { test in
        let store = test.store
        _ = try await Bootstrap.prepare(store, logger: .quiet)
        let project = try #require(try await store.projects.get(slug: "default"))
        let (key, _) = try await KeyIssuer.issue(store: store, projectID: project.id, name: "ci", role: .member, createdBy: "test")
        var config = TernConfig()
        config.dataDir = test.directory
        let indented = models.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
        try config.apply(
            yaml: """
                providers:
                  upstream: {type: openai, base_url: "\(stub.baseURL)", api_key_env: STUB_KEY}
                models:
                \(indented)
                """)
        let server = try await BackgroundServer.tern(store: store, config: config, environment: ["STUB_KEY": "sk-upstream"])
        try await withCleanup {
            try await body(store, project.id, server.port, key)
        } cleanup: {
            await server.stop()
        }
    }
}

/// A config of two tests whose answers contain their variable when `model` echoes the prompt; returns
/// the arguments that run it one call at a time without the cache.
func writeTwoTestConfig(_ file: String, model: String) throws -> [String] {
    try """
    prompts: ['Answer: {{q}}']
    providers: [openai:chat:\(model)]
    tests:
      - {description: first, vars: {q: one}, assert: [{type: icontains, value: one}]}
      - {description: second, vars: {q: two}, assert: [{type: icontains, value: two}]}
    """.write(toFile: file, atomically: true, encoding: .utf8)
    return ["-c", file, "--no-cache", "--max-concurrency", "1"]
}

/// A gateway model `bot` served by the stub's echoing model `echo-gateway`.
let echoBotModel = """
    bot:
      deployments:
        - {name: echo, provider: upstream, model: echo-gateway}
    """

/// Dataset `qa` on the server: item `a` (golden) expects what the echoing `bot` answers, `b` does not;
/// and a config at `file` running it through `bot` with `equals` (plus `extra` lines).
func seedQADataset(_ store: any TernStore, projectID: String, config file: String, extra: String = "") async throws -> Dataset {
    let dataset = try await store.datasets.create(projectID: projectID, name: "qa", description: nil)
    _ = try await store.datasets.apply(
        projectID: projectID, dataset: "qa",
        upserts: [
            DatasetItem(id: "a", input: ["question": "alpha"], expectedOutput: "alpha", golden: true),
            DatasetItem(id: "b", input: ["question": "beta"], expectedOutput: "gamma"),
        ], removals: [], author: "test", message: nil)
    try """
    prompts: ['{{question}}']
    providers: [bot]
    dataset: qa@1
    defaultTest:
      assert: [{type: equals}]

    """.appending(extra).write(toFile: file, atomically: true, encoding: .utf8)
    return dataset
}

let promptfooFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/promptfoo/promptfooconfig.yaml").path

@Suite("CLI: eval")
struct EvalCLITests {
    @Test("a promptfoo config with CSV tests runs as it is against OPENAI_BASE_URL; outputs parse back; the cache serves reruns; exit codes")
    func promptfooConfig() async throws {
        try await withStubAndFolder { stub, path in
            let environment = ["OPENAI_BASE_URL": stub.baseURL, "OPENAI_API_KEY": "sk-test"]
            let cache = ["--cache-dir", path("cache")]
            let first = try await ternEval(
                [
                    "--from-promptfoo", promptfooFixture, "-o", path("r.json"), "-o", path("r.xml"), "-o", path("out/r.csv"),
                    "-o", path("r.html"),
                ] + cache, environment: environment)
            // 4 tests x 2 prompts x 2 providers. The echo model passes everything but the text prompt's
            // `equals: Hello`; gpt-4o-mini answers "Hello from gpt-4o-mini" and fails everything.
            #expect(first.code == 100, "\(first.output)")
            #expect(first.output.contains("Successes: 7\nFailures: 9\nErrors: 0\nPass rate: 43.75%"), "\(first.output)")
            #expect(first.output.contains("FAILED: pass rate 43.75% is below the required 100%"))
            let lines = first.output.split(separator: "\n")
            #expect(lines[0].contains("TEST") && lines[0].contains("chat | echo") && lines[0].contains("openai:chat:gpt-4o-mini"))
            let greeting = try #require(lines.first { $0.hasPrefix("greeting") })
            #expect(greeting.contains("FAIL: assert[1] (equals)") && greeting.contains("PASS"), "\(greeting)")
            #expect(lines.contains { $0.hasPrefix("★ order status") }, "golden tests are starred")

            let requests = stub.requests
            #expect(requests.count == 16 && requests.allSatisfy { $0.path == "/v1/chat/completions" && $0.authorization == "Bearer sk-test" })
            let echo = stub.requests(model: "echo-support")
            #expect(echo.count == 8 && echo.allSatisfy { $0.body["temperature"] == 0.2 && $0.body["max_tokens"] == 256 })
            #expect(echo.contains { $0.body["messages"]?[0]?["content"] == "You work for Acme. Be brief." }, "defaultTest vars fill the chat prompt")
            #expect(stub.requests(model: "gpt-4o-mini").allSatisfy { $0.body["temperature"] == nil })

            // The files.
            let json = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path("r.json"))))
            #expect(json["results"]?["stats"]?["successes"] == 7 && json["results"]?["stats"]?["failures"] == 9)
            #expect(json["results"]?["results"]?.array?.count == 16 && json["config"]?["description"] == "Support bot answers")
            let xml = try String(contentsOfFile: path("r.xml"), encoding: .utf8)
            #if canImport(FoundationXML) || os(macOS)
                let document = try XMLDocument(xmlString: xml)
                #expect(try document.nodes(forXPath: "/testsuites/testsuite").count == 4)
                #expect(try document.nodes(forXPath: "//testcase").count == 16 && document.nodes(forXPath: "//failure").count == 9)
            #endif
            #expect(xml.hasPrefix("<?xml") && xml.contains("<testsuite name=\"chat | echo\" tests=\"4\" failures=\"0\""))
            let rows = try CSV.parse(String(contentsOfFile: path("out/r.csv"), encoding: .utf8))
            #expect(rows.count == 17 && rows[0].contains("question") && rows[0].contains("latency"))
            let html = try String(contentsOfFile: path("r.html"), encoding: .utf8)
            #expect(html.hasPrefix("<!doctype html>") && html.contains("<svg") && html.contains("Pass rate per column") && !html.contains("<script"))
            #expect(!html.contains("src=\"http") && !html.contains("href=\"http"), "no external assets")

            // A rerun is served from the cache; --pass-rate 40 passes; --require-golden fails on the golden test.
            let rerun = try await ternEval(["--from-promptfoo", promptfooFixture, "--pass-rate", "40"] + cache, environment: environment)
            #expect(rerun.code == 0, "\(rerun.output)")
            #expect(rerun.output.contains("16 of 16 answers from the cache") && stub.requests.count == 16)
            let golden = try await ternEval(["--from-promptfoo", promptfooFixture, "--pass-rate", "40", "--require-golden"] + cache, environment: environment)
            #expect(golden.code == 1 && golden.output.contains("2 golden results do not pass"), "\(golden.output)")
            let filtered = try await ternEval(["--from-promptfoo", promptfooFixture, "--filter-pattern", "^(refunds|json)$"] + cache, environment: environment)
            #expect(filtered.code == 100 && filtered.output.contains("Successes: 4\nFailures: 4"), "\(filtered.output)")
        }
    }

    @Test("Anthropic through ANTHROPIC_BASE_URL, a logical model through --server, and HTML that escapes what models and tests say")
    func anthropicServerAndEscaping() async throws {
        try await withStubAndFolder { stub, path in
            try """
            prompts: ['{{q}}']
            providers:
              - anthropic:messages:echo-claude
              - support-bot
              - openai:completion:echo-text
              - echo
            tests:
              - description: <b>bold</b> test
                vars: {q: '<script>alert("x")</script> & more'}
                assert: [{type: contains, value: '<script>'}]
            """.write(toFile: path("tern-eval.yaml"), atomically: true, encoding: .utf8)
            let root = String(stub.baseURL.dropLast(3))
            let environment = [
                "ANTHROPIC_BASE_URL": root, "ANTHROPIC_API_KEY": "ak-test", "TERN_API_KEY": "tk-test", "OPENAI_BASE_URL": stub.baseURL,
                "OPENAI_API_KEY": "sk",
            ]
            let result = try await ternEval(["-c", path("tern-eval.yaml"), "--server", root, "--no-cache", "-o", path("r.html")], environment: environment)
            #expect(result.code == 100, "support-bot answers 'Hello from support-bot': \(result.output)")
            let claude = try #require(stub.requests(model: "echo-claude").first)
            #expect(claude.path == "/v1/messages" && claude.apiKey == "ak-test" && claude.body["max_tokens"] == 1024)
            let gateway = try #require(stub.requests(model: "support-bot").first)
            #expect(gateway.path == "/v1/chat/completions" && gateway.authorization == "Bearer tk-test")
            let completion = try #require(stub.requests(model: "echo-text").first)
            #expect(completion.path == "/v1/completions" && completion.body["prompt"] == #"<script>alert("x")</script> & more"#)
            #expect(stub.requests.count == 3, "echo makes no call")
            #expect(result.output.contains("Successes: 3\nFailures: 1"), "\(result.output)")
            let html = try String(contentsOfFile: path("r.html"), encoding: .utf8)
            #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more") && !html.contains("<script"))
            #expect(html.contains("&lt;b&gt;bold&lt;/b&gt; test") && !html.contains("<b>bold"))
        }
    }

    @Test("exit 1: a provider error, a missing key, an unknown assertion type, a baseline that names nothing")
    func errors() async throws {
        try await withStubAndFolder { stub, path in
            let config = path("tern-eval.yaml")
            func write(_ assertion: String) throws {
                try "prompts: ['{{q}}']\nproviders: [openai:chat:broken]\ntests:\n  - vars: {q: hi}\n    assert: [{type: \(assertion), value: hi}]\n"
                    .write(toFile: config, atomically: true, encoding: .utf8)
            }
            try write("contains")
            stub.script(model: "broken", [.status(400, message: "no such model")])
            let environment = ["OPENAI_BASE_URL": stub.baseURL, "OPENAI_API_KEY": "sk"]
            let failed = try await ternEval(["-c", config, "--no-cache"], environment: environment)
            #expect(failed.code == 1 && failed.output.contains("ERROR: ") && failed.output.contains("no such model"), "\(failed.output)")
            #expect(failed.output.contains("FAILED: 1 of 1 calls ended in errors"))

            let noKey = await #expect(throws: ConfigError.self) { _ = try await ternEval(["-c", config], environment: ["OPENAI_BASE_URL": stub.baseURL]) }
            #expect(noKey?.message.contains("OPENAI_API_KEY is not set") == true)
            #expect(TernCommand.exitCode(for: noKey!).rawValue == 1)
            try write("contians")
            let typo = await #expect(throws: ConfigError.self) { _ = try await ternEval(["-c", config], environment: environment) }
            #expect(
                typo?.description.contains("tern-eval.yaml:5: tests[0].assert[0]: unknown assertion type \"contians\"") == true, "\(typo?.description ?? "")")
            try write("contains")
            let baseline = await #expect(throws: ConfigError.self) { _ = try await ternEval(["-c", config, "--baseline", "run-42"], environment: environment) }
            #expect(baseline?.message.contains("run-42 is neither a file nor a stored run") == true, "\(baseline?.message ?? "")")
            #expect(baseline?.message.contains("experiment ids of a Tern server need --server URL") == true)
            #expect(stub.requests.count == 1, "configuration errors stop before any call")

            // Nothing listens at the provider's URL: the run fails at once naming it, not after every cell's retries.
            let refused = await #expect(throws: TernError.self) {
                _ = try await ternEval(["-c", config, "--no-cache"], environment: ["OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk"])
            }
            #expect(
                refused?.message == "cannot reach provider openai:chat:broken at http://127.0.0.1:9/v1: connection refused", "\(String(describing: refused))")
            #expect(TernCommand.exitCode(for: refused!).rawValue == 1)
        }
    }

    @Test("without a terminal, progress comes as a line at each interval while the run goes on, and stops with it")
    func progressLines() async throws {
        let progress = EvalProgress()
        let lines = Mutex<[String]>([])
        let second = Awaited<Void>("two progress lines")
        progress.count(3, 8)
        progress.startLines(every: .milliseconds(20)) { line in
            let count = lines.withLock {
                $0.append(line); return $0.count
            }
            if count == 2 { second.fulfil(()) }
        }
        try await second.value()
        progress.stopLines()
        let shown = lines.withLock { $0 }
        #expect(shown[0].hasPrefix("eval: 3/8 cells done (37%), "), "\(shown)")
    }

    @Test("--baseline: a test that passed in the earlier run's JSON and fails now fails the run with exit 100")
    func baselineRegression() async throws {
        try await withStubAndFolder { stub, path in
            let arguments = try writeTwoTestConfig(path("tern-eval.yaml"), model: "echo-b")
            let environment = ["OPENAI_BASE_URL": stub.baseURL, "OPENAI_API_KEY": "sk"]
            let before = try await ternEval(arguments + ["-o", path("base.json")], environment: environment)
            #expect(before.code == 0, "\(before.output)")
            stub.script(model: "echo-b", [.reply(text: "something else")])
            let after = try await ternEval(arguments + ["--baseline", path("base.json"), "--pass-rate", "50"], environment: environment)
            #expect(after.code == 100, "\(after.output)")
            #expect(after.output.contains("Baseline: \(path("base.json")), 2 test x column pairs compared, 1 regressed"))
            #expect(after.output.contains("REGRESSION first [openai:chat:echo-b]: FAIL: assert[0] (icontains)"), "\(after.output)")
            #expect(after.output.contains("FAILED: 1 regression against the baseline"))
            let same = try await ternEval(arguments + ["--baseline", path("base.json")], environment: environment)
            #expect(same.code == 0, "\(same.output)")
        }
    }

    @Test("--server: dataset items from a real Tern server's API, a logical model through its gateway to the stub, golden items required")
    func ternServer() async throws {
        try await withStubAndFolder { stub, path in
            try await withTernServer(stub: stub, models: echoBotModel) { store, projectID, port, key in
                _ = try await seedQADataset(store, projectID: projectID, config: path("tern-eval.yaml"), extra: "golden: require-all\n")
                let arguments = ["-c", path("tern-eval.yaml"), "--server", "http://127.0.0.1:\(port)", "--no-cache", "-o", path("r.json")]
                let result = try await ternEval(arguments + ["--pass-rate", "50"], environment: ["TERN_API_KEY": key])
                #expect(result.code == 0, "the golden item passes; the other fails its expected output: \(result.output)")
                #expect(result.output.contains("Successes: 1\nFailures: 1") && result.output.contains("Golden failures: 0"), "\(result.output)")
                #expect(result.output.contains("★ a") && result.output.contains("FAIL: assert[0] (equals)"))
                let upstream = stub.requests(model: "echo-gateway")
                #expect(upstream.count == 2 && upstream.allSatisfy { $0.authorization == "Bearer sk-upstream" }, "the gateway called the stub")
                let json = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path("r.json"))))
                let traces = (json["results"]?["results"]?.array ?? []).compactMap { $0["tern"]?["traceId"]?.string }
                #expect(traces.count == 2 && Set(traces).count == 2, "each call carries its own trace id")
                #expect(json["results"]?["results"]?[0]?["tern"]?["testKey"] == "item:a")
            }
        }
    }
}
