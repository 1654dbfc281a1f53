import TernCore
import TernEval

let registry = EvaluatorRegistry.deterministic()

/// Evaluates one assertion against `output` through the deterministic registry.
func check(
    _ spec: AssertionSpec, _ output: String, vars: [String: JSONValue] = [:], expected: String? = nil,
    latencyMs: Double? = nil, cost: Double? = nil, metadata: [String: JSONValue] = [:]
) async -> AssertionResult {
    await registry.evaluate(
        spec,
        input: EvaluationCase(
            output: output, vars: vars, expected: expected, latencyMs: latencyMs,
            cost: cost, metadata: metadata))
}

/// Shorthand for an assertion.
func spec(
    _ type: String, _ value: JSONValue? = nil, threshold: Double? = nil, weight: Double = 1,
    metric: String? = nil, config: JSONValue? = nil
) -> AssertionSpec {
    AssertionSpec(type: type, value: value, threshold: threshold, weight: weight, metric: metric, config: config)
}

func close(_ lhs: Double, _ rhs: Double, tolerance: Double = 1e-9) -> Bool {
    abs(lhs - rhs) <= tolerance
}
