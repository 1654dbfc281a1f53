import Foundation
import TernCLI
import TernCore
import TernEval
import TernTestSupport
import Testing

@Suite("CLI: eval run history, baselines by run id, judge prompts from a server")
struct EvalHistoryCLITests {
    /// The run id a `tern eval` run printed ("Run eval-... kept in").
    func runID(_ output: String) throws -> String {
        let match = try #require(output.firstMatch(of: /Run (eval-[0-9a-f-]+) kept in/), "\(output)")
        return String(match.1)
    }

    @Test("every run is kept; --baseline latest and by id prefix fail on regressions with exit 100; list and show read the history")
    func localHistory() async throws {
        try await withStubAndFolder { stub, path in
            let arguments = try writeTwoTestConfig(path("tern-eval.yaml"), model: "echo-h") + ["--runs-dir", path("evals")]
            let environment = ["OPENAI_BASE_URL": stub.baseURL, "OPENAI_API_KEY": "sk"]

            let noBaseline = await #expect(throws: ConfigError.self) { _ = try await ternEval(arguments + ["--baseline", "latest"], environment: environment) }
            #expect(
                noBaseline?.message.contains("latest: no run of \(path("tern-eval.yaml")) is stored in \(path("evals")) yet") == true,
                "\(noBaseline?.message ?? "")")
            #expect(stub.requests.isEmpty, "the baseline is resolved before any call")

            let first = try await ternEval(arguments, environment: environment)
            #expect(first.code == 0, "\(first.output)")
            let firstID = try runID(first.output)
            let stored = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path("evals/\(firstID).json"))))
            #expect(stored["evalId"]?.string == firstID && stored["results"]?["stats"]?["successes"] == 2)

            // The model now answers something else to the first call: `first` regresses against the latest run.
            stub.script(model: "echo-h", [.reply(text: "something else")])
            let second = try await ternEval(arguments + ["--baseline", "latest", "--pass-rate", "50"], environment: environment)
            #expect(second.code == 100, "\(second.output)")
            #expect(second.output.contains("Baseline: run \(firstID) of "), "\(second.output)")
            #expect(second.output.contains("2 test x column pairs compared, 1 regressed"))
            #expect(second.output.contains("REGRESSION first [openai:chat:echo-h]: FAIL: assert[0] (icontains)"), "\(second.output)")
            #expect(second.output.contains("FAILED: 1 regression against the baseline"))
            let secondID = try runID(second.output)
            #expect(secondID != firstID)

            // By a prefix of the first id: all pass again; against the second run (latest), nothing regressed either.
            let third = try await ternEval(arguments + ["--baseline", String(firstID.prefix(22)), "--no-write"], environment: environment)
            #expect(third.code == 0 && third.output.contains("Baseline: run \(firstID)") && !third.output.contains("kept in"), "\(third.output)")
            let unknown = await #expect(throws: ConfigError.self) { _ = try await ternEval(arguments + ["--baseline", "eval-ffff"], environment: environment) }
            #expect(unknown?.message.contains("no run eval-ffff is stored in \(path("evals"))") == true, "\(unknown?.message ?? "")")

            let list = try await ternEval(["list", "--runs-dir", path("evals")], environment: [:])
            let rows = list.output.split(separator: "\n").map(String.init)
            #expect(rows.count == 3 && rows[0].hasPrefix("ID") && rows[0].contains("PASS RATE"), "the --no-write run is not kept: \(list.output)")
            #expect(rows[1].hasPrefix(secondID) && rows[1].contains("50.00%") && rows[2].hasPrefix(firstID) && rows[2].contains("100.00%"), "\(list.output)")

            let show = try await ternEval(["show", String(secondID.dropFirst("eval-".count).prefix(20)), "--runs-dir", path("evals")], environment: [:])
            #expect(show.output.hasPrefix("Run \(secondID), "), "\(show.output)")
            let firstRow = try #require(show.output.split(separator: "\n").first { $0.hasPrefix("first") })
            #expect(firstRow.contains("FAIL: assert[0] (icontains)"), "\(show.output)")
            #expect(show.output.contains("Successes: 1\nFailures: 1\nErrors: 0\nPass rate: 50.00%"))
            #expect(show.output.contains("Results: \(path("evals/\(secondID).json"))"))
            let empty = try await ternEval(["list", "--runs-dir", path("nothing")], environment: [:])
            #expect(empty.output.hasPrefix("No runs in"))
        }
    }

    @Test("--baseline ID with --server: a stored experiment of the server; a dataset item that passed there and fails now is a regression")
    func serverExperimentBaseline() async throws {
        try await withStubAndFolder { stub, path in
            try await withTernServer(stub: stub, models: echoBotModel) { store, projectID, port, key in
                let dataset = try await seedQADataset(store, projectID: projectID, config: path("tern-eval.yaml"))
                // The nightly experiment on the server: both items passed with prompt qa@1 on bot.
                let run = ExperimentRun(
                    id: TernID.makeTimeOrdered(), projectID: projectID, name: "nightly", datasetID: dataset.id, datasetName: "qa",
                    datasetVersion: 1, prompts: ["qa@1"], models: ["bot"], repeats: 1, assertions: [], options: [:],
                    status: .completed, plannedCells: 2, createdAt: Date(), createdBy: "test")
                _ = try await store.experiments.create(run)
                try await store.experiments.addCells(
                    projectID: projectID, experimentID: run.id,
                    ["a", "b"].map {
                        ExperimentCell(
                            itemID: $0, promptName: "qa", promptVersion: 1, model: "bot", repetition: 0, output: "ok", passed: true, createdAt: Date())
                    }, heartbeat: Date())
                let server = "http://127.0.0.1:\(port)"
                let arguments = ["-c", path("tern-eval.yaml"), "--server", server, "--no-cache", "--pass-rate", "0"]
                let result = try await ternEval(arguments + ["--baseline", run.id], environment: ["TERN_API_KEY": key])
                #expect(result.code == 100, "\(result.output)")
                #expect(
                    result.output.contains("Baseline: experiment \(run.id) \"nightly\" on \(server), 2 test x column pairs compared, 1 regressed"),
                    "\(result.output)")
                #expect(result.output.contains("REGRESSION b [bot]: FAIL: assert[0] (equals)"), "\(result.output)")

                let unknown = await #expect(throws: ConfigError.self) {
                    _ = try await ternEval(arguments + ["--baseline", "no-such-run"], environment: ["TERN_API_KEY": key])
                }
                #expect(unknown?.message.contains("no-such-run is neither a file nor a stored run") == true, "\(unknown?.message ?? "")")
                #expect(unknown?.message.contains("or an experiment id of \(server)") == true)
            }
        }
    }

    @Test("--server: model-graded assertions use the server's tern-judge-* prompts labelled production, else the built-in text")
    func judgePromptsFromServer() async throws {
        try await withStubAndFolder { stub, path in
            stub.answer(model: "gpt-4o-mini") { body in
                let shown = body["messages"]?.array?.compactMap { $0["content"]?.string }.joined(separator: "\n") ?? ""
                if shown.contains("HOUSE RUBRIC v1") { return #"{"reason": "graded by the house rubric", "pass": true, "score": 1}"# }
                return stubJudge(body)
            }
            try await withTernServer(stub: stub, models: echoBotModel) { store, projectID, port, key in
                func rubric(_ text: String) -> PromptVersion {
                    PromptVersion(
                        projectID: projectID, name: JudgePrompts.llmRubric, kind: .chat,
                        messages: [PromptMessage(role: "user", content: text + "\n<output>{{output}}</output>\n<rubric>{{rubric}}</rubric>")],
                        variables: ["output", "rubric"], author: "web", createdAt: Date())
                }
                _ = try await store.prompts.push(rubric("HOUSE RUBRIC v1"), labels: ["production"])
                _ = try await store.prompts.push(rubric("HOUSE RUBRIC v2, a draft"), labels: [])
                try """
                prompts: ['{{q}}']
                providers: [openai:chat:echo-direct]
                tests:
                  - vars: {q: Paris}
                    assert:
                      - {type: llm-rubric, value: names a city}
                      - {type: factuality, value: Paris is the capital of France}
                """.write(toFile: path("tern-eval.yaml"), atomically: true, encoding: .utf8)
                let server = "http://127.0.0.1:\(port)"
                let environment = ["TERN_API_KEY": key, "OPENAI_BASE_URL": stub.baseURL, "OPENAI_API_KEY": "sk"]
                let arguments = ["-c", path("tern-eval.yaml"), "--no-cache", "--grader", "openai:chat:gpt-4o-mini", "-o", path("r.json")]
                let result = try await ternEval(arguments + ["--server", server], environment: environment)
                #expect(result.code == 0, "\(result.output)")
                #expect(result.output.contains("Judge prompts from \(server) (production): tern-judge-llm-rubric@1"), "\(result.output)")
                let judged = stub.requests(model: "gpt-4o-mini").map { $0.body["messages"]?.jsonString() ?? "" }
                #expect(
                    judged.count == 2 && judged.filter { $0.contains("HOUSE RUBRIC v1") }.count == 1 && !judged.contains { $0.contains("v2, a draft") },
                    "llm-rubric took the production version; factuality, which the server has none of, the built-in text: \(judged)")
                let json = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path("r.json"))))
                #expect(json["tern"]?["judgePrompts"] == ["tern-judge-llm-rubric": "tern-judge-llm-rubric@1"])
                #expect(json["results"]?["results"]?[0]?["gradingResult"]?["componentResults"]?[0]?["reason"] == "graded by the house rubric")

                // Without --server the built-in prompt grades.
                let local = try await ternEval(arguments, environment: environment)
                #expect(local.code == 0 && !local.output.contains("Judge prompts from"), "\(local.output)")
                #expect(
                    stub.requests(model: "gpt-4o-mini").count == 4
                        && stub.requests(model: "gpt-4o-mini").suffix(2).allSatisfy {
                            !($0.body["messages"]?.jsonString() ?? "").contains("HOUSE RUBRIC")
                        })
            }
        }
    }
}
