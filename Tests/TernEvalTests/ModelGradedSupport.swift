import Foundation
import TernCore
import TernEval

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
