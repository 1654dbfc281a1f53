import Foundation
public import TernCore

// The evaluation module's contract: what an evaluator is given, what it is asked to check, what it
// answers, and how a test's assertions combine into one result. Every evaluator (deterministic,
// model-graded, similarity, fairness, robustness, guards) implements `Evaluator` and is found by
// assertion type in an `EvaluatorRegistry`.
//
// Names and semantics follow promptfoo so its configs port over: assertion fields `type`, `value`,
// `threshold`, `weight`, `metric`, `provider`, `rubricPrompt`, `config`; `not-` negates any type;
// `assert-set` groups assertions under its own threshold, weight and metric; a test's score is the
// weighted average of its assertion scores; with a threshold a test (or set) passes when that score
// reaches it, otherwise when every assertion passes. Deviations from promptfoo are marked
// "Deviation:" below.

// MARK: - Input

/// One output of a model for one test case, with what is known about the call that produced it.
public struct EvaluationCase: Sendable, Equatable {
    /// The model's output as text (JSON outputs such as tool calls are given as their JSON text).
    public var output: String
    /// The test case's variables; assertion values may reference them as `{{ name }}`.
    public var vars: [String: JSONValue]
    /// The expected output, when the test case has one (promptfoo's `__expected` column).
    public var expected: String?
    /// The rendered prompt sent to the model.
    public var prompt: String?
    /// Wall time of the call in milliseconds; nil when unknown (a cached result, for instance).
    public var latencyMs: Double?
    /// Cost of the call in USD; nil when the provider reported none.
    public var cost: Double?
    public var tokens: EvaluationTokenCounts?
    /// Free-form facts about the call (provider id, finish reason, the `tools` offered...).
    public var metadata: [String: JSONValue]

    public init(
        output: String, vars: [String: JSONValue] = [:], expected: String? = nil, prompt: String? = nil,
        latencyMs: Double? = nil, cost: Double? = nil, tokens: EvaluationTokenCounts? = nil,
        metadata: [String: JSONValue] = [:]
    ) {
        self.output = output
        self.vars = vars
        self.expected = expected
        self.prompt = prompt
        self.latencyMs = latencyMs
        self.cost = cost
        self.tokens = tokens
        self.metadata = metadata
    }
}

// MARK: - Assertion

/// One assertion of a test, as written in a promptfoo-style config (`assert:` entries).
public struct AssertionSpec: Sendable, Codable, Equatable {
    /// The assertion type, such as `contains`, `not-regex` or `assert-set`.
    public var type: String
    /// The expected value, a reference text, a list, a JSON schema... depending on the type.
    /// Strings (and strings directly inside an array) may reference variables as `{{ name }}`.
    public var value: JSONValue?
    /// A type-specific threshold (a minimum score, a maximum distance, a maximum latency...);
    /// on `assert-set`, the share of the set's weighted score needed to pass.
    public var threshold: Double?
    /// Weight in the weighted average of the test's score (default 1). Weight 0 makes the assertion
    /// a metric only: it is recorded but cannot fail the test and does not count in its score.
    public var weight: Double
    /// A named metric the assertion's score is recorded under (may reference variables).
    public var metric: String?
    /// The grading provider for model-graded types: an id string, or an object with `id` and `config`.
    public var provider: JSONValue?
    /// A custom grading prompt for model-graded types: a string or a list of chat messages.
    public var rubricPrompt: JSONValue?
    /// Type-specific options.
    public var config: JSONValue?
    /// The grouped assertions of an `assert-set` (the `assert` key in configs).
    public var assertions: [AssertionSpec]?

    public init(
        type: String, value: JSONValue? = nil, threshold: Double? = nil, weight: Double = 1,
        metric: String? = nil, provider: JSONValue? = nil, rubricPrompt: JSONValue? = nil,
        config: JSONValue? = nil, assertions: [AssertionSpec]? = nil
    ) {
        self.type = type
        self.value = value
        self.threshold = threshold
        self.weight = weight
        self.metric = metric
        self.provider = provider
        self.rubricPrompt = rubricPrompt
        self.config = config
        self.assertions = assertions
    }

    /// An `assert-set` grouping `assertions`.
    public static func set(
        _ assertions: [AssertionSpec], threshold: Double? = nil, weight: Double = 1,
        metric: String? = nil
    ) -> AssertionSpec {
        AssertionSpec(type: "assert-set", threshold: threshold, weight: weight, metric: metric, assertions: assertions)
    }

    /// True for `not-` types: the result of the base type is inverted.
    public var isNegated: Bool { type.hasPrefix("not-") }

    /// The type without its `not-` prefix.
    public var baseType: String { isNegated ? String(type.dropFirst(4)) : type }

    /// The grading provider's id: the string itself, or the `id` of a provider object.
    public var providerID: String? { provider?.string ?? provider?["id"]?.string }

    enum CodingKeys: String, CodingKey {
        case type, value, threshold, weight, metric, provider, rubricPrompt, config
        case assertions = "assert"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        value = try container.decodeIfPresent(JSONValue.self, forKey: .value)
        threshold = try container.decodeIfPresent(Double.self, forKey: .threshold)
        weight = try container.decodeIfPresent(Double.self, forKey: .weight) ?? 1
        metric = try container.decodeIfPresent(String.self, forKey: .metric)
        provider = try container.decodeIfPresent(JSONValue.self, forKey: .provider)
        rubricPrompt = try container.decodeIfPresent(JSONValue.self, forKey: .rubricPrompt)
        config = try container.decodeIfPresent(JSONValue.self, forKey: .config)
        assertions = try container.decodeIfPresent([AssertionSpec].self, forKey: .assertions)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encodeIfPresent(value, forKey: .value)
        try container.encodeIfPresent(threshold, forKey: .threshold)
        if weight != 1 { try container.encode(weight, forKey: .weight) }
        try container.encodeIfPresent(metric, forKey: .metric)
        try container.encodeIfPresent(provider, forKey: .provider)
        try container.encodeIfPresent(rubricPrompt, forKey: .rubricPrompt)
        try container.encodeIfPresent(config, forKey: .config)
        try container.encodeIfPresent(assertions, forKey: .assertions)
    }
}

/// Thrown by an evaluator when an assertion cannot be evaluated: a bad spec (missing or mistyped
/// value, a regex that does not compile, an invalid schema) or missing data (no latency recorded).
/// The registry turns it into a failing result marked `isError`; it never crashes a run.
public struct EvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

// MARK: - Evaluator

/// Checks outputs for one or more assertion types.
public protocol Evaluator: Sendable {
    /// The base type names it handles (without `not-`; the registry negates results itself).
    static var types: [String] { get }

    /// Evaluates `spec` against `input`. `spec.value` has its `{{ var }}` references already
    /// rendered; `spec.type` keeps any `not-` prefix, for evaluators that must refuse negation, but
    /// the result returned is the un-negated one: the registry applies `not-`, a weight of 0 and
    /// the spec's metric. Throw `EvaluationError` for a bad spec or missing data.
    func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult
}

/// Checks all the outputs of one test row at once, for assertion types that compare outputs with
/// each other (`select-best`). A test row is one test case run through every prompt and provider
/// of a run; its outputs are the row's cells, in the run's order.
///
/// Runners call `EvaluatorRegistry.evaluateRow(specs:threshold:inputs:)` once per row when the
/// row's assertions include such a type (`EvaluatorRegistry.needsRow(_:)`); it evaluates the
/// ordinary assertions of each output as `evaluate(specs:threshold:input:)` does, this type once
/// for the whole row, and combines them into one test result per output. Evaluated one output at a
/// time these types are errors. They must be listed at the top level of a test's assertions (not
/// inside an `assert-set`).
public protocol MultiOutputEvaluator: Sendable {
    /// The base type names it handles (without `not-`; the registry negates results itself).
    static var types: [String] { get }

    /// Evaluates `spec` against every output of a row (at least two), returning one result per
    /// input, in order. `spec.value` has its `{{ var }}` references rendered with the row's vars.
    /// The row's judge usage (`gradingTokens`, `gradingCost`) must be recorded on one result only,
    /// so sums over a run count each call once; trace ids may be recorded on every result.
    func evaluate(_ spec: AssertionSpec, _ inputs: [EvaluationCase]) async throws -> [AssertionResult]
}

// MARK: - Templates

/// promptfoo renders assertion values with Nunjucks against the test's vars. Tern supports plain
/// substitution: `{{ name }}`, `{{ name.field }}` and `{{ list.0 }}`.
///
/// Deviation: no filters, tags or expressions; a `{{ ... }}` holding anything but a variable path
/// is left as written. As in Nunjucks an unknown variable renders as the empty string. Objects and
/// arrays render as compact JSON (Nunjucks would print `[object Object]`).
public enum EvaluationTemplate {
    /// Renders `{{ var }}` references in `template`.
    public static func render(_ template: String, vars: [String: JSONValue]) -> String {
        guard template.contains("{{") else { return template }
        var out = ""
        var rest = template[...]
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let inner = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if let path = variablePath(inner) {
                out += lookup(path, in: vars).map(text(of:)) ?? ""
            } else {
                out += rest[open.lowerBound..<close.upperBound]
            }
            rest = rest[close.upperBound...]
        }
        out += rest
        return out
    }

    /// Renders a spec value as promptfoo does: a string, and the strings directly inside an array.
    public static func render(_ value: JSONValue, vars: [String: JSONValue]) -> JSONValue {
        switch value {
        case .string(let text): return .string(render(text, vars: vars))
        case .array(let items):
            return .array(
                items.map { item in
                    if case .string(let text) = item { return .string(render(text, vars: vars)) }
                    return item
                })
        default: return value
        }
    }

    /// A value as text the way JavaScript's `String(value)` prints scalars: integral numbers without
    /// a fraction, booleans as `true`/`false`, `null` as `null`; objects and arrays as compact JSON.
    public static func text(of value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .number(let number): return numberText(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        case .array, .object: return value.jsonString()
        }
    }

    /// A number printed as JavaScript prints it for common values (`3`, `0.5`, `-2`).
    public static func numberText(_ number: Double) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number > 0 ? "Infinity" : "-Infinity" }
        if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return "\(number)"
    }

    private static func variablePath(_ text: String) -> [String]? {
        guard !text.isEmpty else { return nil }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        for (index, part) in parts.enumerated() {
            guard let first = part.first else { return nil }
            let isName =
                (first.isLetter || first == "_" || first == "$")
                && part.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "$" }
            let isIndex = index > 0 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber)
            guard isName || isIndex else { return nil }
        }
        return parts.map(String.init)
    }

    private static func lookup(_ path: [String], in vars: [String: JSONValue]) -> JSONValue? {
        guard let first = path.first, var current = vars[first] else { return nil }
        for key in path.dropFirst() {
            if let index = Int(key), case .array = current {
                guard let next = current[index] else { return nil }
                current = next
            } else {
                guard let next = current[key] else { return nil }
                current = next
            }
        }
        return current
    }
}

// MARK: - Registry

/// Finds evaluators by assertion type and combines a test's assertions into its result.
public struct EvaluatorRegistry: Sendable {
    private var evaluators: [String: any Evaluator] = [:]
    private var rowEvaluators: [String: any MultiOutputEvaluator] = [:]
    /// How many assertions of one test (or set) run at once (promptfoo's default is 3).
    public var maxConcurrency: Int

    public init(maxConcurrency: Int = 3) {
        self.maxConcurrency = maxConcurrency
    }

    /// Registers `evaluator` for each of its types, replacing any earlier evaluator of that type.
    /// `assert-set` is handled by the registry itself and cannot be registered.
    public mutating func register(_ evaluator: any Evaluator) {
        for type in Swift.type(of: evaluator).types where type != "assert-set" {
            evaluators[type] = evaluator
            rowEvaluators[type] = nil
        }
    }

    /// Registers a row evaluator for each of its types, replacing any earlier evaluator of that type.
    public mutating func register(_ evaluator: any MultiOutputEvaluator) {
        for type in Swift.type(of: evaluator).types where type != "assert-set" {
            rowEvaluators[type] = evaluator
            evaluators[type] = nil
        }
    }

    /// The evaluator for a type, `not-` prefix allowed.
    public func evaluator(for type: String) -> (any Evaluator)? {
        evaluators[Self.baseType(type)]
    }

    /// The row evaluator for a type, `not-` prefix allowed.
    public func rowEvaluator(for type: String) -> (any MultiOutputEvaluator)? {
        rowEvaluators[Self.baseType(type)]
    }

    /// True when `specs` list a type that compares a row's outputs, so the runner must evaluate the
    /// row's outputs together with `evaluateRow`.
    public func needsRow(_ specs: [AssertionSpec]) -> Bool {
        specs.contains { rowEvaluator(for: $0.type) != nil }
    }

    /// The registered base types, sorted, plus `assert-set`.
    public var knownTypes: [String] { (Array(evaluators.keys) + Array(rowEvaluators.keys) + ["assert-set"]).sorted() }

    private static func baseType(_ type: String) -> String {
        type.hasPrefix("not-") ? String(type.dropFirst(4)) : type
    }

    /// Evaluates a test's assertions and combines them into the test's result (type `test`).
    ///
    /// The score is the weighted average of the assertion scores (weight-0 and metric-only
    /// assertions excluded; 0 when no weight remains). With a `threshold` the test passes when that
    /// score reaches it, whatever individual assertions did; without one every assertion must pass.
    /// An assertion that could not be evaluated makes the test an error, as an exception does in
    /// promptfoo. No assertions at all passes with score 1.
    public func evaluate(specs: [AssertionSpec], threshold: Double? = nil, input: EvaluationCase) async -> AssertionResult {
        let results = await evaluateAll(specs, input: input)
        var result = Self.combine(results, threshold: threshold)
        result.type = "test"
        return result
    }

    /// Evaluates one assertion (an `assert-set` included): renders its value, applies `not-`, a
    /// weight of 0 (always passes) and its metric. Never throws: problems become error results.
    public func evaluate(_ spec: AssertionSpec, input: EvaluationCase) async -> AssertionResult {
        Self.finish(await evaluateUnchecked(spec, input: input), spec, vars: input.vars)
    }

    /// Evaluates a test row: the outputs of one test case through every prompt and provider, in
    /// the run's order. Returns one test result (type `test`) per input, as
    /// `evaluate(specs:threshold:input:)` would, except that row types (`select-best`) are
    /// evaluated once over all the inputs and their per-output results take their place among each
    /// output's assertions (config order is kept). Without row types it is the same as evaluating
    /// each input alone. Inputs are evaluated one after another; each one's assertions run with
    /// `maxConcurrency` as usual.
    public func evaluateRow(specs: [AssertionSpec], threshold: Double? = nil, inputs: [EvaluationCase]) async -> [AssertionResult] {
        var rowResults: [Int: [AssertionResult]] = [:]
        for (index, spec) in specs.enumerated() {
            guard let evaluator = rowEvaluator(for: spec.type) else { continue }
            rowResults[index] = await evaluateRowSpec(spec, evaluator, inputs: inputs)
        }
        let ordinary = specs.indices.filter { rowResults[$0] == nil }.map { specs[$0] }
        var tests: [AssertionResult] = []
        for (position, input) in inputs.enumerated() {
            var own = await evaluateAll(ordinary, input: input).makeIterator()
            let results = specs.indices.map { rowResults[$0]?[position] ?? own.next()! }
            var test = Self.combine(results, threshold: threshold)
            test.type = "test"
            tests.append(test)
        }
        return tests
    }

    private func evaluateRowSpec(_ spec: AssertionSpec, _ evaluator: any MultiOutputEvaluator, inputs: [EvaluationCase]) async -> [AssertionResult] {
        let vars = inputs.first?.vars ?? [:]
        func errors(_ message: String) -> [AssertionResult] {
            inputs.map { Self.finish(.error(spec, message), spec, vars: $0.vars) }
        }
        guard spec.weight.isFinite, spec.weight >= 0 else { return errors("weight must be a number ≥ 0, got \(spec.weight)") }
        guard inputs.count >= 2 else {
            return errors("\(spec.baseType) compares the outputs of a test row and needs at least two; this row has \(inputs.count)")
        }
        var rendered = spec
        rendered.value = spec.value.map { EvaluationTemplate.render($0, vars: vars) }
        let results: [AssertionResult]
        do {
            results = try await evaluator.evaluate(rendered, inputs)
        } catch let error as EvaluationError {
            return errors(error.message)
        } catch {
            return errors("evaluator failed: \(error)")
        }
        guard results.count == inputs.count else {
            return errors("evaluator failed: \(results.count) results for \(inputs.count) outputs")
        }
        return zip(results, inputs).map { Self.finish(Self.applyNegation($0, spec), spec, vars: $1.vars) }
    }

    /// Applies the spec's type, weight (0 always passes), rendered metric and the 0...1 score range.
    private static func finish(_ evaluated: AssertionResult, _ spec: AssertionSpec, vars: [String: JSONValue]) -> AssertionResult {
        var result = evaluated
        result.type = spec.type
        result.weight = spec.weight
        result.metric = spec.metric.map { EvaluationTemplate.render($0, vars: vars) }
        if !result.score.isFinite { result.score = 0 }
        result.score = min(1, max(0, result.score))
        if spec.weight == 0, !result.isError { result.pass = true }
        return result
    }

    /// The `not-` form of an evaluator's result for a `not-` spec (the result itself otherwise).
    private static func applyNegation(_ result: AssertionResult, _ spec: AssertionSpec) -> AssertionResult {
        guard spec.isNegated else { return result }
        if result.metricOnly {
            return .error(spec, "needs a threshold: a recorded-only measurement cannot be negated")
        }
        return result.negated()
    }

    private func evaluateUnchecked(_ spec: AssertionSpec, input: EvaluationCase) async -> AssertionResult {
        guard spec.weight.isFinite, spec.weight >= 0 else {
            return .error(spec, "weight must be a number ≥ 0, got \(spec.weight)")
        }
        if spec.type == "assert-set" {
            guard let children = spec.assertions, !children.isEmpty else {
                return .error(spec, "`assert` must list at least one assertion")
            }
            let results = await evaluateAll(children, input: input)
            return Self.combine(results, threshold: spec.threshold)
        }
        if spec.baseType == "assert-set" {
            return .error(spec, "assert-set cannot be negated; negate its assertions instead")
        }
        if rowEvaluator(for: spec.type) != nil {
            return .error(
                spec,
                "\(spec.baseType) compares all the outputs of a test row: list it at the top level of the test's "
                    + "assertions (not in an assert-set), and the runner evaluates it once per row (evaluateRow)")
        }
        guard let evaluator = evaluator(for: spec.type) else {
            let known = knownTypes
            var message = "Unknown assertion type \"\(spec.type)\"."
            if let suggestion = Self.closest(to: spec.baseType, in: known) { message += " Did you mean \"\(suggestion)\"?" }
            message += " Known types (all but assert-set also with a not- prefix): \(known.joined(separator: ", "))"
            return .error(spec, message)
        }
        var rendered = spec
        rendered.value = spec.value.map { EvaluationTemplate.render($0, vars: input.vars) }
        let result: AssertionResult
        do {
            result = try await evaluator.evaluate(rendered, input)
        } catch let error as EvaluationError {
            return .error(spec, error.message)
        } catch {
            return .error(spec, "evaluator failed: \(error)")
        }
        return Self.applyNegation(result, spec)
    }

    /// Evaluates `specs` with at most `maxConcurrency` at once, keeping config order.
    private func evaluateAll(_ specs: [AssertionSpec], input: EvaluationCase) async -> [AssertionResult] {
        let limit = max(1, maxConcurrency)
        guard specs.count > 1, limit > 1 else {
            var results: [AssertionResult] = []
            for spec in specs { results.append(await evaluate(spec, input: input)) }
            return results
        }
        return await withTaskGroup(of: (Int, AssertionResult).self) { group in
            var results = [AssertionResult?](repeating: nil, count: specs.count)
            var next = 0
            while next < min(limit, specs.count) {
                let index = next
                group.addTask { (index, await self.evaluate(specs[index], input: input)) }
                next += 1
            }
            while let (index, result) = await group.next() {
                results[index] = result
                if next < specs.count {
                    let index = next
                    group.addTask { (index, await self.evaluate(specs[index], input: input)) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }

    /// Combines results into a set's or test's result (promptfoo's `AssertionsResult`).
    ///
    /// Deviation: promptfoo reports the last failure it saw (in completion order); Tern reports the
    /// first in config order, prefixed with where it is (`assert[2] (regex): ...`, nested for sets:
    /// `assert[0] (assert-set): assert[1] (contains): ...`). A threshold is
    /// compared with a tolerance of 1e-9 so weighted averages like 0.1 + 0.2 reach 0.3.
    static func combine(_ results: [AssertionResult], threshold: Double?) -> AssertionResult {
        guard !results.isEmpty else {
            return AssertionResult(type: "assert-set", pass: true, score: 1, reason: "No assertions")
        }
        var totalScore = 0.0
        var totalWeight = 0.0
        var metricSums: [String: Double] = [:]
        var metricWeights: [String: Double] = [:]
        var firstFailure: String?
        var firstError: String?
        var components: [AssertionResult] = []
        var grading = AssertionResult(type: "assert-set", pass: true, score: 1, reason: "")
        for (index, result) in results.enumerated() {
            grading.addGrading(tokens: result.gradingTokens, cost: result.gradingCost, traceIDs: result.gradingTraceIDs)
            if !result.metricOnly {
                totalScore += result.score * result.weight
                totalWeight += result.weight
            }
            // A weight-0 assertion is a metric only: it still records its metric, at weight 1.
            let metricWeight = result.weight > 0 && !result.metricOnly ? result.weight : 1
            if let metric = result.metric, !metric.isEmpty {
                let measured = result.metricOnly ? (result.value ?? result.score) : result.score
                metricSums[metric, default: 0] += measured * metricWeight
                metricWeights[metric, default: 0] += metricWeight
            }
            for (metric, score) in result.namedScores where metric != result.metric {
                metricSums[metric, default: 0] += score * metricWeight
                metricWeights[metric, default: 0] += metricWeight
            }
            let located = "assert[\(index)] (\(result.type)): \(result.reason)"
            if result.isError, firstError == nil { firstError = located }
            if !result.pass, firstFailure == nil { firstFailure = located }
            components.append(result)
        }
        let score = totalWeight > 0 ? totalScore / totalWeight : 0
        var pass: Bool
        var reason: String
        if let threshold, threshold.isFinite {
            pass = score >= threshold - 1e-9
            reason = "Aggregate score \(format(score)) \(pass ? "≥" : "<") \(format(threshold)) threshold"
            if let firstFailure { reason += "; first failure: \(firstFailure)" }
        } else {
            pass = firstFailure == nil
            reason = firstFailure ?? "All assertions passed"
        }
        var isError = false
        if let firstError {
            pass = false
            isError = true
            reason = firstError
        }
        var namedScores: [String: Double] = [:]
        for (metric, sum) in metricSums {
            let weight = metricWeights[metric] ?? 0
            namedScores[metric] = weight > 0 ? sum / weight : 0
        }
        return AssertionResult(
            type: "assert-set", pass: pass, score: score, reason: reason, isError: isError,
            namedScores: namedScores, components: components, gradingTokens: grading.gradingTokens,
            gradingCost: grading.gradingCost, gradingTraceIDs: grading.gradingTraceIDs)
    }

    /// The known type within edit distance 2 of `type`, if any (for typos such as `contians`).
    private static func closest(to type: String, in known: [String]) -> String? {
        func distance(_ lhs: [Character], _ rhs: [Character]) -> Int {
            guard !lhs.isEmpty, !rhs.isEmpty else { return max(lhs.count, rhs.count) }
            var previous = Array(0...rhs.count)
            for i in 1...lhs.count {
                var current = [i] + [Int](repeating: 0, count: rhs.count)
                for j in 1...rhs.count {
                    current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (lhs[i - 1] == rhs[j - 1] ? 0 : 1))
                }
                previous = current
            }
            return previous[rhs.count]
        }
        let target = Array(type)
        let best = known.map { ($0, distance(target, Array($0))) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= 2 else { return nil }
        return best.0
    }

    private static func format(_ number: Double) -> String {
        String(format: "%.2f", number)
    }
}

extension AssertionResult {
    /// A pass/fail result scoring 1 or 0.
    public static func check(_ spec: AssertionSpec, pass: Bool, reason: String, value: Double? = nil) -> AssertionResult {
        AssertionResult(
            type: spec.type, pass: pass, score: pass ? 1 : 0, reason: reason, metric: spec.metric,
            weight: spec.weight, value: value)
    }

    /// A graded result.
    public static func graded(
        _ spec: AssertionSpec, score: Double, pass: Bool, reason: String,
        value: Double? = nil
    ) -> AssertionResult {
        AssertionResult(
            type: spec.type, pass: pass, score: score, reason: reason, metric: spec.metric,
            weight: spec.weight, value: value)
    }

    /// A result for an assertion that could not be evaluated.
    public static func error(_ spec: AssertionSpec, _ message: String) -> AssertionResult {
        AssertionResult(
            type: spec.type, pass: false, score: 0, reason: message, metric: spec.metric,
            weight: spec.weight, isError: true)
    }
}
