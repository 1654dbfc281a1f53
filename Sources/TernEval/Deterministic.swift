public import TernCore

// The deterministic evaluators, and a registry holding them all.
// promptfoo's reference: https://promptfoo.dev/docs/configuration/expected-outputs/deterministic/
//
// | type                        | passes when                                   | evaluator                  |
// |-----------------------------|-----------------------------------------------|----------------------------|
// | equals                      | output equals value (JSON-equal for objects)   | EqualsEvaluator            |
// | contains, icontains         | output contains value                         | ContainsEvaluator          |
// | contains-any, icontains-any | output contains one of the values             | ContainsEvaluator          |
// | contains-all, icontains-all | output contains all the values                | ContainsEvaluator          |
// | starts-with                 | output starts with value                      | StartsWithEvaluator        |
// | regex                       | the pattern matches somewhere in the output   | RegexEvaluator             |
// | is-json                     | output is JSON (conforming to a schema)       | IsJSONEvaluator            |
// | contains-json               | output contains JSON (conforming to a schema) | ContainsJSONEvaluator      |
// | is-valid-openai-tools-call  | tool calls match the tools' schemas           | OpenAIToolsCallEvaluator   |
// | levenshtein                 | edit distance ≤ threshold (default 5)         | LevenshteinEvaluator       |
// | rouge-n                     | ROUGE-1 F1 ≥ threshold (default 0.75)         | RougeEvaluator             |
// | bleu                        | BLEU ≥ threshold (default 0.5)                | BleuEvaluator              |
// | latency                     | latency ms ≤ threshold                        | LatencyEvaluator           |
// | cost                        | cost ≤ threshold                              | CostEvaluator              |
//
// Every type also exists with a `not-` prefix; `assert-set` is handled by the registry.

/// The deterministic evaluators, one of each.
public enum DeterministicEvaluators {
    public static let all: [any Evaluator] = [
        EqualsEvaluator(), ContainsEvaluator(), StartsWithEvaluator(), RegexEvaluator(),
        IsJSONEvaluator(), ContainsJSONEvaluator(), OpenAIToolsCallEvaluator(),
        LevenshteinEvaluator(), RougeEvaluator(), BleuEvaluator(),
        LatencyEvaluator(), CostEvaluator(),
    ]
}

extension EvaluatorRegistry {
    /// A registry with every deterministic evaluator registered.
    public static func deterministic(maxConcurrency: Int = 3) -> EvaluatorRegistry {
        var registry = EvaluatorRegistry(maxConcurrency: maxConcurrency)
        registry.registerDeterministic()
        return registry
    }

    /// Registers every deterministic evaluator.
    public mutating func registerDeterministic() {
        for evaluator in DeterministicEvaluators.all { register(evaluator) }
    }
}

/// `latency`: the call took at most `threshold` milliseconds. Without a threshold, and with a
/// `metric`, the latency is only recorded under that metric (the result is `metricOnly`; promptfoo
/// suggests `weight: 0` for these). An unknown latency (a cached result) is an error.
///
/// Deviation: promptfoo puts the raw latency in `score`; Tern keeps scores in 0...1 and puts the
/// latency in the result's `value`, which the metric records.
public struct LatencyEvaluator: Evaluator {
    public static let types = ["latency"]

    public init() {}

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        guard let latency = input.latencyMs, latency.isFinite, latency >= 0 else {
            throw EvaluationError("no latency was recorded for this output (a cached result?); rerun without the cache")
        }
        return try PerformanceCheck.check(spec, measured: latency, name: "Latency", unit: "ms")
    }
}

/// `cost`: the call cost at most `threshold` (USD). Without a threshold, and with a `metric`, the
/// cost is only recorded under that metric. A missing, negative or non-finite cost is an error.
public struct CostEvaluator: Evaluator {
    public static let types = ["cost"]

    public init() {}

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        guard let cost = input.cost else {
            throw EvaluationError("the provider reported no cost for this output")
        }
        guard cost.isFinite, cost >= 0 else {
            throw EvaluationError("the reported cost \(cost) is not a finite number ≥ 0")
        }
        return try PerformanceCheck.check(spec, measured: cost, name: "Cost", unit: "")
    }
}

enum PerformanceCheck {
    static func check(_ spec: AssertionSpec, measured: Double, name: String, unit: String) throws -> AssertionResult {
        let shown = "\(measured.shortText)\(unit)"
        guard let threshold = spec.threshold else {
            if spec.isNegated { throw EvaluationError("\(spec.type) needs a threshold") }
            guard let metric = spec.metric, !metric.isEmpty else {
                throw EvaluationError("needs a `threshold`, or a `metric` to record the \(name.lowercased()) under")
            }
            var result = AssertionResult.check(spec, pass: true, reason: "\(name) \(shown) recorded as metric \(metric)", value: measured)
            result.metricOnly = true
            return result
        }
        guard threshold.isFinite else { throw EvaluationError("`threshold` must be a finite number") }
        let pass = measured <= threshold
        return .check(
            spec, pass: pass,
            reason: pass
                ? "\(name) \(shown) is within threshold \(threshold.shortText)\(unit)"
                : "\(name) \(shown) is greater than threshold \(threshold.shortText)\(unit)",
            value: measured)
    }
}
