import Foundation
import TernCore
import TernEval

/// A judge model that records the requests it receives and answers from a script, one reply per
/// call in order. A call beyond the script fails (so an unexpected extra call shows up as an
/// error result and in `requests.count`). Every answer reports 100 input and 10 output tokens,
/// cost 0.001 and trace id `judge-N` (N counting calls from 1).
actor FakeJudge: ModelClient {
    typealias Reply = @Sendable (CompletionRequest) throws -> String

    struct UnexpectedCall: Error {}

    private var script: [Reply]
    /// Answers every call when set (for judges called concurrently, whose order is not fixed).
    private let router: Reply?
    private(set) var requests: [CompletionRequest] = []

    init(_ answers: String...) {
        script = answers.map { answer in { _ in answer } }
        router = nil
    }

    init(replies: [Reply]) {
        script = replies
        router = nil
    }

    init(answering router: @escaping Reply) {
        script = []
        self.router = router
    }

    func complete(_ request: CompletionRequest) async throws -> CompletionResult {
        requests.append(request)
        let reply: Reply
        if let router {
            reply = router
        } else {
            guard !script.isEmpty else { throw UnexpectedCall() }
            reply = script.removeFirst()
        }
        let output = try reply(request)
        return CompletionResult(output: output, inputTokens: 100, outputTokens: 10, cost: 0.001, latencyMs: 5, traceID: "judge-\(requests.count)")
    }

    /// Every message of request `index`, joined, for checking what the judge was shown.
    func shown(_ index: Int) -> String {
        requests[index].messages.map(\.content).joined(separator: "\n")
    }
}

/// An embedder with fixed vectors by text; a text without one is an error.
struct FakeEmbedder: Embedder {
    struct Unknown: Error, CustomStringConvertible {
        var text: String
        var description: String { "no vector for \"\(text)\"" }
    }

    var modelName = "fake-embedding"
    var vectors: [String: [Float]]
    var dimensions: Int { vectors.values.first?.count ?? 0 }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        try texts.map { text in
            guard let vector = vectors[text] else { throw Unknown(text: text) }
            return vector
        }
    }
}

/// A registry with the deterministic and model-graded evaluators, judged by `judge` (default
/// model `judge-model` unless `defaultModel` says otherwise) and `embedder`; retries without waiting.
func gradingRegistry(
    _ judge: FakeJudge?, embedder: FakeEmbedder? = nil, defaultModel: String? = "judge-model",
    prompts: JudgePrompts = JudgePrompts()
) -> EvaluatorRegistry {
    var registry = EvaluatorRegistry.deterministic()
    let graders = StaticGraderProvider(client: judge, defaultModel: defaultModel, defaultEmbedder: embedder)
    registry.registerModelGraded(JudgeContext(graders: graders, prompts: prompts, retry: JudgeRetryPolicy(retries: 2, backoff: .zero)))
    return registry
}

func graded(
    _ spec: AssertionSpec, _ output: String, judge: FakeJudge?, embedder: FakeEmbedder? = nil, vars: [String: JSONValue] = [:],
    prompt: String? = "What is the capital of France?", expected: String? = nil, prompts: JudgePrompts = JudgePrompts(),
    defaultModel: String? = "judge-model"
) async -> AssertionResult {
    let registry = gradingRegistry(judge, embedder: embedder, defaultModel: defaultModel, prompts: prompts)
    return await registry.evaluate(spec, input: EvaluationCase(output: output, vars: vars, expected: expected, prompt: prompt))
}
