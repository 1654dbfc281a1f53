import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import Synchronization
import TernCore
@testable import TernEval
import Testing

@Suite("tern eval run and reports")
struct EvalRunTests {
    static let yaml = """
        description: Run <test> & "reports"
        prompts:
          - label: plain
            raw: 'Say {{word}} about {{item.name}}'
          - - role: system
              content: Be brief.
            - role: user
              content: '{{word}}'
        providers:
          - id: openai:chat:a
            config: {temperature: 0.3, max_tokens: 50, seed: 1}
          - id: openai:chat:b
            label: bee
        defaultTest:
          vars: {item: {name: <b>widget</b>}}
        tests:
          - description: passes
            vars: {word: hello}
            assert: [{type: starts-with, value: 'ok'}]
            metadata: {golden: true}
          - description: fails
            vars: {word: fail}
            assert: [{type: contains, value: ok}]
            options: {prefix: 'PRE ', suffix: ' SUF'}
          - description: errors
            vars: {word: broken}
          - vars: {word: hello}
            assert: [{type: regex, value: '(unclosed'}]
        """

    static func run(repeatCount: Int = 1) async throws -> (EvalOutcome, ScriptedModel, EvalConfig) {
        let config = try EvalConfig.parse(yaml: yaml, source: "run.yaml", directory: FileManager.default.temporaryDirectory, flavor: .tern)
        let model = ScriptedModel()
        let clients = [EvalProviderClient(client: model, identity: "a"), EvalProviderClient(client: model, identity: "b")]
        try config.validate(tests: config.tests, registry: EvalEvaluators.registry())
        let seen = Mutex(0)
        let outcome = try await EvalRunner.run(
            config: config, tests: config.tests, clients: clients, registry: EvalEvaluators.registry(),
            options: EvalRunOptions(maxConcurrency: 3, repeatCount: repeatCount, backoff: .milliseconds(1))
        ) { done, total in
            seen.withLock { $0 = max($0, done) }
            #expect(total == 16 * repeatCount)
        }
        #expect(seen.withLock { $0 } == 16 * repeatCount)
        return (outcome, model, config)
    }

    @Test("prompts x providers x tests: statuses, reasons, provider settings, prefixes and dotted variables")
    func matrix() async throws {
        let (outcome, model, _) = try await Self.run()
        #expect(outcome.prompts[1].label == "{{word}}", "an unlabelled chat prompt shows its last message")
        #expect(outcome.columns.map(\.label) == ["plain | openai:chat:a", "plain | bee", "{{word}} | openai:chat:a", "{{word}} | bee"])
        #expect(outcome.columns[1].key == "plain | bee" && outcome.columns[2].key == "prompts[1] | openai:chat:a")
        #expect(outcome.cells.count == 16)
        for column in 0..<4 {
            #expect(outcome.status(test: 0, column: column) == .pass)
            #expect(outcome.status(test: 1, column: column) == .fail)
            #expect(outcome.status(test: 2, column: column) == .error)
            #expect(outcome.status(test: 3, column: column) == .error, "a regex that does not compile is an error")
        }
        #expect(outcome.stats.passed == 4 && outcome.stats.failed == 4 && outcome.stats.errors == 8 && outcome.stats.cells == 16)
        #expect(outcome.stats.inputTokens == 7 * 12 && outcome.stats.cost == 0.5 * 12, "errored calls cost nothing")
        let failing = try #require(outcome.cells.first { $0.test == 1 })
        #expect(failing.reason.contains("contains") && failing.output == "nope")
        #expect(failing.prompt == "PRE Say fail about <b>widget</b> SUF")
        #expect(outcome.cells.first { $0.test == 2 }?.reason.contains("400 bad request") == true)
        let requests = model.requests.withLock { $0 }
        let plain = try #require(requests.first { $0.model == "a" && $0.messages.count == 1 && $0.messages[0].content.contains("hello") })
        #expect(
            plain.messages[0].content == "Say hello about <b>widget</b>" && plain.temperature == 0.3 && plain.maxTokens == 50 && plain.parameters == ["seed": 1]
        )
        #expect(
            requests.contains { $0.model == "b" && $0.messages.count == 2 && $0.messages[1].content == "PRE fail SUF" },
            "chat prompts take the prefix on the user message")
        #expect(outcome.tests[0].golden && outcome.stats.goldenFailed == 0)
        #expect(outcome.tests[0].key == "passes" && outcome.tests[3].key.hasPrefix("vars:"))
    }

    @Test("the table, summary, JSON, JUnit XML and CSV outputs")
    func reports() async throws {
        let (outcome, _, config) = try await Self.run(repeatCount: 2)
        let table = EvalReport.matrix(outcome)
        #expect(table.count == 5)
        #expect(table[1].hasPrefix("★ passes") && table[1].contains("PASS 2/2"))
        #expect(table[2].contains("FAIL 0/2: assert[0] (contains)"))
        #expect(table[3].contains("ERROR 0/2: 400 bad request"))
        // Headers keep the provider whole and number the prompts, so columns stay apart however long the prompt.
        let headerRow = table[0]
        for index in outcome.columns.indices {
            let column = outcome.columns[index]
            let provider = outcome.providers[column.provider]
            #expect(headerRow.contains(provider.label ?? provider.id), "\(headerRow)")
            if outcome.prompts.count > 1 { #expect(headerRow.contains("p\(column.prompt + 1) ")) }
        }
        #expect(Set(outcome.columns.indices.map { EvalReport.columnHeader(outcome, $0, width: 20) }).count == outcome.columns.count, "unique even when narrow")
        // Every failing cell's whole reason, wrapped to the width asked for.
        let failures = EvalReport.failures(outcome, width: 60)
        #expect(failures.first == "Failures and errors (24):")
        #expect(failures.dropFirst().allSatisfy { $0.count <= 60 }, "\(failures)")
        #expect(failures.contains { $0.hasPrefix("ERROR ") } && failures.contains { $0.hasPrefix("FAIL ") })
        #expect(EvalReport.widths(terminalColumns: 200, cellCount: 2) == (cell: 60, test: 32))
        #expect(EvalReport.widths(terminalColumns: 80, cellCount: 3) == (cell: 18, test: 20))
        let summary = EvalReport.summary(outcome)
        #expect(summary.contains("Successes: 8") && summary.contains("Failures: 8") && summary.contains("Errors: 16") && summary.contains("Pass rate: 25.00%"))
        #expect(summary.contains { $0.hasPrefix("Tokens: 240 (prompt 168, completion 72)") } && summary.contains("Cost: $12.000000"))

        // JSON: promptfoo's shape, decodable, with keys for baselines.
        let text = EvalReport.jsonText(EvalReport.json(outcome, config: config.raw))
        let json = try JSONValue.parse(Data(text.utf8))
        #expect(json["results"]?["version"] == 3 && json["results"]?["stats"]?["successes"] == 8 && json["results"]?["stats"]?["errors"] == 16)
        let results = try #require(json["results"]?["results"]?.array)
        #expect(results.count == 32)
        #expect(results[0]["success"] == true && results[0]["gradingResult"]?["pass"] == true && results[0]["tern"]?["testKey"] == "passes")
        #expect(json["config"]?["description"] == "Run <test> & \"reports\"")
        #expect(json["results"]?["prompts"]?.array?.count == 4)
        // Written one result at a time: the same document, pretty-printed the same way.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tern-eval-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try EvalReport.writeJSON(outcome, config: config.raw, to: file.path)
        let written = try String(contentsOf: file, encoding: .utf8)
        let withoutID = { (text: String) in text.split(separator: "\n").filter { !$0.contains("\"evalId\"") } }
        #expect(withoutID(written) == withoutID(text), "the streamed JSON differs from the document")

        // JUnit XML: one suite per column, one case per test and repetition, failures and errors.
        let xml = EvalReport.junit(outcome)
        #if canImport(FoundationXML) || os(macOS)
            let document = try XMLDocument(xmlString: xml)
            let suites = try document.nodes(forXPath: "/testsuites/testsuite")
            #expect(suites.count == 4)
            #expect(try document.nodes(forXPath: "//testcase").count == 32)
            #expect(try document.nodes(forXPath: "//testcase/failure").count == 8)
            #expect(try document.nodes(forXPath: "//testcase/error").count == 16)
            #expect(document.rootElement()?.attribute(forName: "name")?.stringValue == "Run <test> & \"reports\"")
        #endif
        #expect(xml.contains("<testsuites name=\"Run &lt;test&gt; &amp; &quot;reports&quot;\" tests=\"32\" failures=\"8\" errors=\"16\""))
        #expect(EvalReport.xmlEscape("a\u{1}b\u{FFFE}<") == "ab&lt;", "characters XML forbids are dropped")

        // CSV: one row per call with the variables as columns.
        let rows = try CSV.parse(EvalReport.csv(outcome))
        #expect(rows.count == 33)
        let header = rows[0]
        #expect(header.starts(with: ["item", "word", "test", "description", "prompt", "provider", "repetition", "pass", "status"]))
        let first = Dictionary(uniqueKeysWithValues: zip(header, rows[1]))
        #expect(first["word"] == "hello" && first["pass"] == "true" && first["provider"] == "openai:chat:a" && first["item"] == #"{"name":"<b>widget</b>"}"#)
    }

    @Test("exit codes: 0 at the pass rate, 100 below it or on a regression, 1 on errors and required golden failures")
    func verdicts() async throws {
        let (outcome, _, _) = try await Self.run()
        #expect(EvalVerdict.judge(outcome, passRate: 25, requireGolden: false, regressions: []).exitCode == 1, "errors are exit 1 whatever the pass rate")
        var clean = outcome
        clean.cells.removeAll { $0.status == .error }
        clean.stats = EvalOutcome.summary(clean.cells, golden: [0])
        #expect(clean.stats.passRate == 0.5)
        #expect(EvalVerdict.judge(clean, passRate: 50, requireGolden: false, regressions: []) == EvalVerdict(exitCode: 0, messages: []))
        let below = EvalVerdict.judge(clean, passRate: 50.01, requireGolden: false, regressions: [])
        #expect(below.exitCode == 100 && below.messages == ["pass rate 50.00% is below the required 50.01%"])
        let regression = EvalRegression(testKey: "fails", test: "fails", column: "c", now: .fail, reason: "r")
        #expect(EvalVerdict.judge(clean, passRate: 0, requireGolden: false, regressions: [regression]).exitCode == 100)
        var goldenFails = clean
        goldenFails.cells = goldenFails.cells.map { cell in
            var cell = cell
            if cell.test == 0, cell.column == 1 { cell.status = .fail }
            return cell
        }
        goldenFails.stats = EvalOutcome.summary(goldenFails.cells, golden: [0])
        #expect(EvalVerdict.judge(goldenFails, passRate: 0, requireGolden: false, regressions: []).exitCode == 0)
        let golden = EvalVerdict.judge(goldenFails, passRate: 0, requireGolden: true, regressions: [])
        #expect(golden.exitCode == 1 && golden.messages.first?.contains("1 golden result does not pass") == true)
    }

    @Test("baselines: a JSON output read back; a pass that now fails is a regression, new tests are not compared")
    func baseline() async throws {
        let (outcome, _, config) = try await Self.run()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tern-baseline-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try EvalReport.jsonText(EvalReport.json(outcome, config: config.raw)).write(to: file, atomically: true, encoding: .utf8)
        let baseline = try await EvalBaseline.resolve(file.path, histories: [], hint: "give a file")
        #expect(baseline.regressions(in: outcome).isEmpty)
        #expect(baseline.comparedPairs(in: outcome) == 16)
        var worse = outcome
        worse.cells = worse.cells.map { cell in
            var cell = cell
            if cell.test == 0, cell.column == 2 { cell.status = .fail; cell.reason = "now broken" }
            return cell
        }
        worse.tests.append(EvalOutcome.Test(key: "new", description: "new", vars: [:], golden: false, assertions: [], threshold: nil))
        worse.cells.append(
            EvalOutcome.Cell(
                test: 4, column: 0, repetition: 0, status: .fail, score: 0, reason: "x", output: nil, prompt: nil, latencyMs: nil,
                inputTokens: 0, outputTokens: 0, cost: nil, cached: false, attempts: 1, traceID: nil, grading: nil))
        let regressions = baseline.regressions(in: worse)
        #expect(regressions == [EvalRegression(testKey: "passes", test: "passes", column: worse.columns[2].label, now: .fail, reason: "now broken")])
        let missing = await #expect(throws: ConfigError.self) { _ = try await EvalBaseline.resolve("run-123", histories: [], hint: "give a file") }
        #expect(missing?.message == "run-123 is neither a file nor a stored run: give a file")
        try #"{"results": {"results": [{"success": true}]}}"#.write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try EvalBaseline.load(path: file.path) }
    }
}
