import Foundation
import TernCore
@testable import TernEval
import Testing

@Suite("tern eval run history and baselines by run id")
struct EvalHistoryTests {
    /// A scratch run history; removed after `body`.
    func withStore(_ body: (EvalRunStore, URL) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tern-evals-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await body(EvalRunStore(directory: directory), directory)
    }

    @Test("runs are kept as JSON results plus an index line; list is newest first; latest is per config; ids match by unique prefix")
    func storeAndFind() async throws {
        try await withStore { store, directory in
            let (first, _, config) = try await EvalRunTests.run()
            var second = first
            second.id = "eval-" + TernID.makeTimeOrdered(at: first.startedAt.addingTimeInterval(1))
            var other = first
            other.id = "eval-" + TernID.makeTimeOrdered(at: first.startedAt.addingTimeInterval(2))
            try store.save(first, config: config.raw, configPath: "/project/tern-eval.yaml")
            let saved = try store.save(second, config: config.raw, configPath: "/project/./tern-eval.yaml")
            try store.save(other, config: config.raw, configPath: "/project/other.yaml")
            #expect(saved.config == "/project/tern-eval.yaml" && saved.cells == 16 && saved.passed == 4 && saved.errors == 8)
            #expect(store.list().map(\.id) == [other.id, second.id, first.id])
            let written = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: store.resultsPath(second.id))))
            #expect(written["evalId"]?.string == second.id && written["results"]?["results"]?.array?.count == 16, "the file -o results.json would be")

            var scoped = EvalRunStore(directory: directory, configPath: "/project/tern-eval.yaml")
            #expect(try scoped.find("latest")?.id == second.id, "latest: the newest run of this config, not of another")
            scoped.configPath = nil
            #expect(try scoped.find("latest")?.id == other.id)
            #expect(try store.find(first.id)?.id == first.id)
            #expect(try store.find(String(first.id.dropLast(6)))?.id == first.id, "a unique prefix")
            #expect(try store.find("not-a-local-id") == nil, "other ids are left to other histories")
            let ambiguous = #expect(throws: ConfigError.self) { try store.find("eval-") }
            #expect(ambiguous?.message.contains("matches 3 stored runs") == true)
            let unknown = #expect(throws: ConfigError.self) { try store.find("eval-ffff") }
            #expect(unknown?.message.contains("no run eval-ffff is stored in \(directory.path) (tern eval list shows the stored runs)") == true)
            let none = #expect(throws: ConfigError.self) { try EvalRunStore(directory: directory, configPath: "/elsewhere.yaml").find("latest") }
            #expect(none?.message.contains("latest: no run of /elsewhere.yaml is stored in") == true)

            // A run whose results file was removed is no longer listed; a torn index line is skipped.
            try FileManager.default.removeItem(atPath: store.resultsPath(other.id))
            let handle = try FileHandle(forWritingTo: directory.appendingPathComponent("index.jsonl"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("{\"id\": \"eval-torn\n".utf8))
            try handle.close()
            #expect(store.list().map(\.id) == [second.id, first.id])
        }
    }

    @Test("--baseline latest and by id: a stored run that passed and fails now is a regression; the run reads back for show")
    func baselineFromHistory() async throws {
        try await withStore { store, directory in
            let (outcome, _, config) = try await EvalRunTests.run()
            try store.save(outcome, config: config.raw, configPath: "run.yaml")
            let history = EvalRunStore(directory: directory, configPath: "run.yaml")
            let baseline = try await EvalBaseline.resolve("latest", histories: [history], hint: "")
            #expect(baseline.source.hasPrefix("run \(outcome.id) of "))
            #expect(baseline.comparedPairs(in: outcome) == 16 && baseline.regressions(in: outcome).isEmpty)
            var worse = outcome
            worse.cells = worse.cells.map { cell in
                var cell = cell
                if cell.test == 0, cell.column == 3 { cell.status = .error; cell.reason = "timeout" }
                return cell
            }
            let byID = try await EvalBaseline.resolve(outcome.id, histories: [history], hint: "")
            #expect(
                byID.regressions(in: worse) == [
                    EvalRegression(testKey: "passes", test: "passes", column: outcome.columns[3].label, now: .error, reason: "timeout")
                ])

            // Read back: the same matrix and summary as the run printed.
            let reloaded = try EvalOutcome(resultsJSON: JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: store.resultsPath(outcome.id)))))
            #expect(reloaded.id == outcome.id && reloaded.cells.count == outcome.cells.count)
            #expect(EvalReport.matrix(reloaded) == EvalReport.matrix(outcome))
            #expect(EvalReport.summary(reloaded).dropLast() == EvalReport.summary(outcome).dropLast(), "all but the duration line")
            #expect(throws: ConfigError.self) { try EvalOutcome(resultsJSON: ["results": ["results": []]]) }
        }
    }

    @Test("a server experiment as baseline: items are dataset tests, one prompt and one model match whatever their names, else by name")
    func experimentBaseline() async throws {
        let yaml = """
            prompts: [{label: qa, raw: '{{q}}'}]
            providers: [openai:chat:gpt-4o-mini, {id: 'openai:chat:big', label: large}]
            tests:
              - {vars: {q: a}}
            """
        let config = try EvalConfig.parse(yaml: yaml, source: "x.yaml", directory: FileManager.default.temporaryDirectory, flavor: .tern)
        let items = [DatasetItem(id: "a", input: ["q": "a"]), DatasetItem(id: "b", input: ["q": "b"])]
        var outcome = EvalRunner.outcomeShell(config: config, tests: config.tests(fromDataset: items), started: Date())
        func cell(_ test: Int, _ column: Int, _ status: EvalOutcome.Status) -> EvalOutcome.Cell {
            EvalOutcome.Cell(
                test: test, column: column, repetition: 0, status: status, score: 0, reason: "why \(test)", output: nil, prompt: nil,
                latencyMs: nil, inputTokens: 0, outputTokens: 0, cost: nil, cached: false, attempts: 1, traceID: nil, grading: nil)
        }
        outcome.cells = [cell(0, 0, .fail), cell(0, 1, .pass), cell(1, 0, .pass), cell(1, 1, .fail)]
        #expect(outcome.tests.map(\.key) == ["item:a", "item:b"])

        // Two models: columns match on the provider's model (gpt-4o-mini) or label (large).
        let cells = [
            EvalBaseline.ExperimentCellStatus(itemID: "a", promptName: "support", model: "gpt-4o-mini", status: .pass),
            EvalBaseline.ExperimentCellStatus(itemID: "b", promptName: "support", model: "gpt-4o-mini", status: .pass),
            EvalBaseline.ExperimentCellStatus(itemID: "b", promptName: "support", model: "large", status: .pass),
            EvalBaseline.ExperimentCellStatus(itemID: "b", promptName: "support", model: "large", status: .fail),
        ]
        let both = EvalBaseline.experiment(source: "experiment x", shape: .init(prompts: ["support"], models: ["gpt-4o-mini", "large"]), cells: cells)
        #expect(both.comparedPairs(in: outcome) == 3)
        #expect(
            both.regressions(in: outcome).map { "\($0.testKey) \($0.column)" } == ["item:a openai:chat:gpt-4o-mini"],
            "b on large failed in one repetition of the baseline, so it did not pass there")

        // One model against one provider: matched whatever the names; other models are not compared.
        let single = EvalBaseline.experiment(
            source: "experiment y", shape: .init(prompts: ["support"], models: ["other-model"]),
            cells: [
                EvalBaseline.ExperimentCellStatus(itemID: "a", promptName: "support", model: "other-model", status: .pass)
            ])
        #expect(single.comparedPairs(in: outcome) == 0, "two providers here: other-model names neither")
        var narrow = outcome
        narrow.providers.removeLast()
        narrow.columns.removeLast()
        narrow.cells.removeAll { $0.column == 1 }
        #expect(single.comparedPairs(in: narrow) == 1 && single.regressions(in: narrow).map(\.testKey) == ["item:a"])
    }
}
