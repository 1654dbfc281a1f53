import Foundation
import TernCLI
import TernCore
import TernEval
import TernLocal
import TernTestSupport
import Testing

/// A judge on the stub: answers each built-in judge prompt by what it is shown.
@Sendable func stubJudge(_ body: JSONValue) -> String {
    let shown = body["messages"]?.array?.last?["content"]?.string ?? ""
    if shown.hasPrefix("<output>") {
        return shown.contains("refuses")
            ? #"{"reason": "The output answers instead of refusing", "pass": false, "score": 0.1}"#
            : #"{"reason": "The output names the capital", "pass": true, "score": 0.9}"#
    }
    if shown.hasPrefix("Criteria:") {
        if shown.contains("<text index=") { return #"{"reason": "Text 1 has the detail asked for", "best": 1}"# }
        if shown.contains("Evaluation steps:") { return #"{"reason": "Clear and coherent", "score": 8}"# }
        return #"{"steps": ["Read the reply", "Check it is coherent"]}"#
    }
    if shown.hasPrefix("Question:"), shown.contains("Expert answer:") { return #"{"category": "B", "reason": "It adds detail and agrees"}"# }
    if shown.hasPrefix("Task:") { return "The submission says yes.\nY" }
    return "unexpected judge prompt"
}

/// An embedding model with fixed vectors (others: all ones).
struct FixedEmbedder: Embedder {
    var modelName = "fixed-default"
    var vectors: [String: [Float]]
    var dimensions: Int { 3 }

    func embed(_ texts: [String]) async throws -> [[Float]] { texts.map { vectors[$0] ?? [1, 1, 1] } }
}

@Suite("CLI: eval with model-graded assertions")
struct EvalGradingCLITests {
    static let config = """
        description: graded
        prompts:
          - 'Answer briefly: {{question}}'
          - 'Answer in detail: {{question}}'
        providers:
          - openai:chat:echo-answer
        defaultTest:
          options:
            provider: openai:chat:gpt-4o-mini
        tests:
          - description: rubric pass
            vars: {question: What is the capital of France?}
            assert: [{type: llm-rubric, value: names the capital of France}]
          - description: rubric fail
            vars: {question: Tell me a joke}
            assert: [{type: llm-rubric, value: politely refuses}]
          - description: g-eval
            vars: {question: Explain gravity}
            assert: [{type: g-eval, value: a coherent explanation}]
          - description: factuality
            vars: {question: Paris}
            assert: [{type: factuality, value: Paris is the capital of France}]
          - description: closedqa
            vars: {question: Is the sky blue?}
            assert:
              - type: model-graded-closedqa
                value: says yes
                provider: {id: 'openai:chat:closed-judge', config: {temperature: 0.5, apiKeyEnvar: JUDGE_KEY}}
          - description: similar
            vars: {question: hello world}
            assert:
              - {type: similar, value: greeting text, threshold: 0.9, provider: 'openai:embedding:text-embedding-3-small'}
          - description: select-best
            vars: {question: pick one}
            assert: [{type: select-best, value: the more detailed answer}]
        """

    @Test("a promptfoo config: llm-rubric, g-eval, factuality, closedqa, similar and select-best graded on the stub; reasons, grading cost, cache, exit 100")
    func gradedRun() async throws {
        try await withStubAndFolder { stub, path in
            try Self.config.write(toFile: path("promptfooconfig.yaml"), atomically: true, encoding: .utf8)
            stub.answer(model: "gpt-4o-mini", stubJudge)
            stub.answer(model: "closed-judge", stubJudge)
            stub.embeddings(
                model: "text-embedding-3-small",
                [
                    "greeting text": [1, 0, 0], "Answer briefly: hello world": [0.95, 0.31, 0], "Answer in detail: hello world": [0.5, 0.866, 0],
                ])
            let environment = ["OPENAI_BASE_URL": stub.baseURL, "OPENAI_API_KEY": "sk-test", "JUDGE_KEY": "jk-test"]
            let arguments = ["--from-promptfoo", path("promptfooconfig.yaml")]
            let run = try await ternEval(arguments + ["--no-cache", "-o", path("r.json"), "-o", path("r.html")], environment: environment)
            #expect(run.code == 100, "\(run.output)")
            // 7 tests x 2 columns: rubric fail fails twice, similar fails for the detailed answer, select-best for the brief one.
            #expect(run.output.contains("Successes: 10\nFailures: 4\nErrors: 0"), "\(run.output)")
            let lines = run.output.split(separator: "\n").map(String.init)
            let row = { (name: String) in lines.first { $0.hasPrefix(name) } ?? "" }
            #expect(row("rubric pass").components(separatedBy: "PASS").count == 3, "\(row("rubric pass"))")
            #expect(row("rubric fail").contains("FAIL: assert[0] (llm-rubric): The output an"), "\(row("rubric fail"))")
            #expect(row("similar").contains("PASS") && row("similar").contains("FAIL: assert[0] (similar): Similar"), "\(row("similar"))")
            #expect(row("select-best").contains("FAIL") && row("select-best").contains("PASS"), "\(row("select-best"))")

            // Judge calls: 4 llm-rubric, 2 x 2 g-eval, 2 factuality, 1 select-best to gpt-4o-mini (defaultTest.options.provider);
            // 2 closedqa to the assertion's own provider with its config. All at temperature 0 unless configured.
            let judged = stub.requests(model: "gpt-4o-mini")
            #expect(judged.count == 11 && judged.allSatisfy { $0.body["temperature"] == 0 && $0.authorization == "Bearer sk-test" })
            let closed = stub.requests(model: "closed-judge")
            #expect(closed.count == 2 && closed.allSatisfy { $0.body["temperature"] == 0.5 && $0.authorization == "Bearer jk-test" })
            let embedded = stub.requests(model: "text-embedding-3-small")
            #expect(embedded.count == 2 && embedded.allSatisfy { $0.path == "/v1/embeddings" && $0.body["input"]?.array?.count == 2 })
            // 13 judge calls of 10 + 5 tokens and 2 embedding calls of 10; gpt-4o-mini's are priced (11 x $0.0000045),
            // text-embedding-3-small's too (2 x 10 tokens at $0.02 a million), closed-judge's are not.
            #expect(run.output.contains("Grading: 215 tokens (prompt 150, completion 65), cost $0.0000"), "\(run.output)")

            let json = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path("r.json"))))
            let results = json["results"]?["results"]?.array ?? []
            #expect(results.count == 14)
            let reasons = results.compactMap { $0["gradingResult"]?["componentResults"]?[0]?["reason"]?.string }
            #expect(reasons.contains("The output names the capital") && reasons.contains { $0.hasPrefix("(B) ") && $0.hasSuffix("It adds detail and agrees") })
            #expect(reasons.contains { $0.contains("Clear and coherent") } && reasons.contains { $0.contains("Text 1 has the detail asked for") })
            let perResult = results.compactMap { $0["gradingResult"]?["tern"]?["gradingCost"]?.double }.reduce(0, +)
            let total = try #require(json["tern"]?["gradingCost"]?.double)
            #expect(abs(total - (11 * 0.0000045 + 2 * 0.0000002)) < 1e-12 && abs(perResult - total) < 1e-12, "\(total) \(perResult)")
            #expect(json["results"]?["stats"]?["tokenUsage"]?["assertions"]?["total"] == 215)
            let similar = results.compactMap { $0["gradingResult"]?["componentResults"]?[0] }.filter { $0["assertion"]?["type"] == "similar" }
            #expect(
                similar.count == 2
                    && similar.allSatisfy {
                        $0["tokensUsed"]?["prompt"] == 10 && $0["tern"]?["gradingCost"]?.double.map { abs($0 - 0.0000002) < 1e-15 } == true
                    },
                "each similar records its embedding call: \(similar)")
            #expect(try String(contentsOfFile: path("r.html"), encoding: .utf8).contains("<span>Grading cost</span>"))

            // With the cache: a first run fills it (identical judge requests, like g-eval's steps for both
            // columns, may already be served from it), a rerun takes the answers, the judges' and the
            // embeddings from it at no cost.
            let cached = arguments + ["--cache-dir", path("cache")]
            let fill = try await ternEval(cached, environment: environment)
            #expect(fill.code == 100 && fill.output.contains("Successes: 10\nFailures: 4"), "\(fill.output)")
            let judgeCalls = stub.requests(model: "gpt-4o-mini").count + stub.requests(model: "closed-judge").count
            let embeddingCalls = stub.requests(model: "text-embedding-3-small").count
            let rerun = try await ternEval(cached, environment: environment)
            #expect(rerun.code == 100 && rerun.output.contains("Successes: 10\nFailures: 4"), "\(rerun.output)")
            #expect(stub.requests(model: "gpt-4o-mini").count + stub.requests(model: "closed-judge").count == judgeCalls)
            #expect(stub.requests(model: "text-embedding-3-small").count == embeddingCalls && embeddingCalls == 4, "embeddings come from the cache")
            #expect(rerun.output.contains("Grading: 215 tokens (prompt 150, completion 65), cost $0.000000"), "\(rerun.output)")
        }
    }

    @Test("no grader: an error before any call naming --grader and defaultTest.options.provider (exit 1); --grader and the default embedder fill in")
    func graderResolution() async throws {
        try await withStubAndFolder { stub, path in
            let config = path("tern-eval.yaml")
            try """
            prompts: ['{{q}}']
            providers: [openai:chat:echo-x]
            tests:
              - vars: {q: Paris is the capital of France}
                assert:
                  - {type: llm-rubric, value: names the capital of France}
                  - {type: similar, value: Paris is the capital of France}
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let environment = ["OPENAI_BASE_URL": stub.baseURL, "OPENAI_API_KEY": "sk"]
            let missing = await #expect(throws: ConfigError.self) { _ = try await ternEval(["-c", config, "--no-cache"], environment: environment) }
            let message = missing?.description ?? ""
            #expect(message.contains("tern-eval.yaml:6: tests[0].assert[0]: llm-rubric: no grading model is configured"), "\(message)")
            #expect(message.contains("--grader") && message.contains("defaultTest.options.provider"), "\(message)")
            #expect(TernCommand.exitCode(for: missing!).rawValue == 1)

            let noEmbedder = await #expect(throws: ConfigError.self) {
                _ = try await EvalDefaults.$embedding.withValue(nil) {
                    try await ternEval(["-c", config, "--no-cache", "--grader", "openai:chat:gpt-4o-mini"], environment: environment)
                }
            }
            #expect(noEmbedder?.message.contains("similar: no embedding model is configured") == true, "\(noEmbedder?.message ?? "")")
            #expect(noEmbedder?.message.contains("provider: {embedding: openai:embedding:MODEL}") == true)
            let typo = await #expect(throws: ConfigError.self) {
                _ = try await ternEval(["-c", config, "--grader", "openai:embedding:text-embedding-3-small"], environment: environment)
            }
            #expect(
                typo?.description.contains("--grader: \"openai:embedding:text-embedding-3-small\" is an embedding model") == true, "\(typo?.description ?? "")")
            #expect(stub.requests.isEmpty, "configuration errors stop before any call")

            stub.answer(model: "gpt-4o-mini", stubJudge)
            let embedder = FixedEmbedder(vectors: [:])
            let graded = try await EvalDefaults.$embedding.withValue(EvalDefaultEmbedding(modelName: "fixed-default") { embedder }) {
                try await ternEval(["-c", config, "--no-cache", "--grader", "openai:chat:gpt-4o-mini"], environment: environment)
            }
            #expect(graded.code == 0 && graded.output.contains("Successes: 1\nFailures: 0"), "\(graded.output)")
            #expect(stub.requests(model: "gpt-4o-mini").count == 1)
        }
    }

    @Test("a grading provider that is not a model of its kind, and an unknown assertion provider key, fail with the line")
    func graderConfigErrors() async throws {
        try await withStubAndFolder { stub, path in
            let config = path("promptfooconfig.yaml")
            func write(_ assertion: String) throws {
                try "prompts: ['{{q}}']\nproviders: [echo]\ntests:\n  - vars: {q: hi}\n    assert:\n      - \(assertion)\n"
                    .write(toFile: config, atomically: true, encoding: .utf8)
            }
            try write("{type: similar, value: hi, provider: 'openai:chat:gpt-4o'}")
            let chat = await #expect(throws: ConfigError.self) { _ = try await ternEval(["--from-promptfoo", config], environment: [:]) }
            #expect(
                chat?.description.contains("promptfooconfig.yaml:6: tests[0].assert[0].provider: \"openai:chat:gpt-4o\" is not an embedding model") == true,
                "\(chat?.description ?? "")")
            try write("{type: llm-rubric, value: hi, provider: {id: 'openai:chat:gpt-4o', config: {temprature: 0}}}")
            let key = await #expect(throws: ConfigError.self) { _ = try await ternEval(["--from-promptfoo", config], environment: [:]) }
            #expect(key?.description.contains("provider.config.temprature: unknown key") == true, "\(key?.description ?? "")")
            try write("{type: select-best, value: hi, provider: 'openai:chat:j'}")
            let row = await #expect(throws: ConfigError.self) { _ = try await ternEval(["--from-promptfoo", config], environment: [:]) }
            #expect(
                row?.message.contains("select-best compares the outputs of a test through every prompt x provider and needs at least two; this config has 1")
                    == true,
                "\(row?.description ?? "")")
            try write("{type: llm-rubric, value: hi, provider: 'anthropic:messages:claude-sonnet-4-5'}")
            let noKey = await #expect(throws: ConfigError.self) { _ = try await ternEval(["--from-promptfoo", config], environment: [:]) }
            #expect(
                noKey?.message.contains("llm-rubric: anthropic:messages:claude-sonnet-4-5: the API key variable ANTHROPIC_API_KEY is not set") == true,
                "\(noKey?.message ?? "")")
            #expect(stub.requests.isEmpty)
        }
    }

    @Test("--server: a judge and an embedding model that are logical models of a real Tern server's gateway")
    func judgeThroughTernServer() async throws {
        try await withStubAndFolder { stub, path in
            stub.answer(model: "gpt-4o-mini", stubJudge)
            stub.embeddings(model: "emb-upstream", ["hello": [1, 0], "Say hello": [0.8, 0.6]])
            try await withTernServer(
                stub: stub,
                models: """
                    judge:
                      deployments:
                        - {name: mini, provider: upstream, model: gpt-4o-mini}
                    embedder:
                      deployments:
                        - {name: emb, provider: upstream, model: emb-upstream}
                    """
            ) { _, _, port, key in
                try """
                prompts: ['Say {{word}}']
                providers: [openai:chat:echo-direct]
                tests:
                  - vars: {word: hello}
                    assert:
                      - {type: llm-rubric, value: names the capital, provider: judge}
                      - {type: similar, value: hello, threshold: 0.75, provider: 'tern:embedder'}
                """.write(toFile: path("tern-eval.yaml"), atomically: true, encoding: .utf8)
                let environment = ["TERN_API_KEY": key, "OPENAI_BASE_URL": stub.baseURL, "OPENAI_API_KEY": "sk"]
                let result = try await ternEval(
                    ["-c", path("tern-eval.yaml"), "--server", "http://127.0.0.1:\(port)", "--no-cache", "-o", path("r.json")],
                    environment: environment)
                #expect(result.code == 0 && result.output.contains("Successes: 1"), "\(result.output)")
                let judged = try #require(stub.requests(model: "gpt-4o-mini").first)
                #expect(judged.authorization == "Bearer sk-upstream" && judged.body["temperature"] == 0, "the gateway called the stub for the judge")
                let embedded = try #require(stub.requests(model: "emb-upstream").first)
                #expect(embedded.path == "/v1/embeddings" && embedded.authorization == "Bearer sk-upstream")
                #expect(result.output.contains("Grading: 25 tokens (prompt 20, completion 5)"), "judge and embedding tokens: \(result.output)")
                let json = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path("r.json"))))
                #expect(abs((json["tern"]?["gradingCost"]?.double ?? 0) - 0.0000045) < 1e-12, "priced by the deployment's model (emb-upstream has no price)")
                let components = json["results"]?["results"]?[0]?["gradingResult"]?["componentResults"]
                let traces = components?[0]?["tern"]?["gradingTraceIds"]?.array ?? []
                #expect(traces.count == 1, "the judge call carried its own trace id: \(json)")
                #expect(components?[1]?["tern"]?["gradingTraceIds"]?.array?.count == 1, "so did the embedding call")
            }
        }
    }
}

@Suite("CLI: eval with the local embedding model")
struct EvalLocalEmbeddingTests {

    static let config = """
        prompts: ['{{q}}']
        providers: [echo]
        tests:
          - vars: {q: A cat is sitting on a mat.}
            assert: [{type: similar, value: The cat sits on the mat., threshold: 0.7}]
          - vars: {q: Quarterly revenue grew by four percent.}
            assert: [{type: similar, value: The cat sits on the mat., threshold: 0.7}]
        """

    @Test(
        "similar embeds with all-minilm-l6-v2 in process when the config names no embedding model",
        .enabled(if: InstalledModel.enabled, InstalledModel.skipReason))
    func localByDefault() async throws {
        try InstalledModel.requireInstalled()
        try await withStubAndFolder { stub, path in
            let config = path("tern-eval.yaml")
            try Self.config.write(toFile: config, atomically: true, encoding: .utf8)
            let result = try await ternEval(["-c", config, "--no-cache"], environment: [:])
            #expect(result.code == 100, "\(result.output)")
            #expect(result.output.contains("Successes: 1\nFailures: 1"), "\(result.output)")
            #expect(stub.requests.isEmpty, "nothing leaves the process")
        }
    }

    @Test("without the model installed, similar fails before any call with the command that installs it")
    func notInstalled() async throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("tern-no-models-\(UUID().uuidString)")
        try await withStubAndFolder { stub, path in
            let config = path("tern-eval.yaml")
            try Self.config.write(toFile: config, atomically: true, encoding: .utf8)
            let missing = await #expect(throws: ConfigError.self) {
                _ = try await EvalDefaults.$embedding.withValue(
                    EvalDefaultEmbedding(modelName: "all-minilm-l6-v2") {
                        try SharedLocalEmbedder(modelsDirectory: empty)
                    }
                ) {
                    try await ternEval(["-c", config, "--no-cache"], environment: [:])
                }
            }
            #expect(missing?.description.contains("tern models pull all-minilm-l6-v2 --models-dir \(empty.path)") == true, "\(missing?.description ?? "")")
        }
    }
}
