import Foundation

// What an evaluation answers, as experiments store it (the evaluators themselves, their contract and
// registry live in TernEval).

/// Token counts of the call that produced the output under evaluation.
public struct EvaluationTokenCounts: Sendable, Codable, Equatable, Hashable {
    public var input: Int
    public var output: Int

    public init(input: Int, output: Int) {
        self.input = input
        self.output = output
    }
}

// MARK: - Result

/// The outcome of one assertion, of an `assert-set`, or of a whole test.
public struct AssertionResult: Sendable, Codable, Equatable {
    /// The assertion type as written (`not-contains`, `assert-set`), or `test` for a test's result.
    public var type: String
    public var pass: Bool
    /// 0...1; binary assertions score 1 or 0, graded ones (BLEU, ROUGE, judges) anything between.
    public var score: Double
    /// Why: the facts checked, the error, or how the aggregate was reached.
    public var reason: String
    public var metric: String?
    public var weight: Double
    /// The raw measurement behind the score, when there is one: an edit distance, a BLEU or ROUGE
    /// score, a latency in ms, a cost in USD.
    public var value: Double?
    /// The assertion could not be evaluated (a bad spec, missing data, an evaluator failure); such a
    /// result never passes. promptfoo reports these as `[ERROR]` rather than `[FAIL]`.
    public var isError: Bool
    /// Recorded for its metric only (`latency` or `cost` without a threshold): it passes, and counts
    /// in no score; its metric records `value`.
    public var metricOnly: Bool
    /// Weighted averages of the scores recorded under each metric (on sets and tests).
    public var namedScores: [String: Double]
    /// The assertions' results of a set or test, in config order.
    public var components: [AssertionResult]
    /// Tokens of the judge calls made to grade (model-graded types); on sets and tests, the sum over
    /// their components. Nil when no judge was called.
    public var gradingTokens: EvaluationTokenCounts?
    /// Cost in USD of the judge calls (summed like `gradingTokens`); nil when no judge call reported one.
    public var gradingCost: Double?
    /// Trace ids of the judge calls, in call order (on sets and tests, of all their components).
    public var gradingTraceIDs: [String]

    public init(
        type: String, pass: Bool, score: Double, reason: String, metric: String? = nil, weight: Double = 1,
        value: Double? = nil, isError: Bool = false, metricOnly: Bool = false,
        namedScores: [String: Double] = [:], components: [AssertionResult] = [],
        gradingTokens: EvaluationTokenCounts? = nil, gradingCost: Double? = nil, gradingTraceIDs: [String] = []
    ) {
        self.type = type
        self.pass = pass
        self.score = score
        self.reason = reason
        self.metric = metric
        self.weight = weight
        self.value = value
        self.isError = isError
        self.metricOnly = metricOnly
        self.namedScores = namedScores
        self.components = components
        self.gradingTokens = gradingTokens
        self.gradingCost = gradingCost
        self.gradingTraceIDs = gradingTraceIDs
    }

    /// Adds one judge call's usage (or another result's grading totals) to this result's.
    public mutating func addGrading(tokens: EvaluationTokenCounts?, cost: Double?, traceIDs: [String]) {
        if let tokens {
            let sum = gradingTokens ?? EvaluationTokenCounts(input: 0, output: 0)
            gradingTokens = EvaluationTokenCounts(input: sum.input + tokens.input, output: sum.output + tokens.output)
        }
        if let cost { gradingCost = (gradingCost ?? 0) + cost }
        gradingTraceIDs += traceIDs
    }

    /// The `not-` form of this result: pass inverted and score `1 - score` (promptfoo's rule for
    /// every type, graded ones included). Errors and metric-only results are returned unchanged.
    public func negated() -> AssertionResult {
        guard !isError, !metricOnly else { return self }
        var copy = self
        copy.pass.toggle()
        copy.score = 1 - score
        return copy
    }

    enum CodingKeys: String, CodingKey {
        case type, pass, score, reason, metric, weight, value, isError, metricOnly, namedScores, components
        case gradingTokens, gradingCost, gradingTraceIDs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        pass = try container.decode(Bool.self, forKey: .pass)
        score = try container.decode(Double.self, forKey: .score)
        reason = try container.decodeIfPresent(String.self, forKey: .reason) ?? ""
        metric = try container.decodeIfPresent(String.self, forKey: .metric)
        weight = try container.decodeIfPresent(Double.self, forKey: .weight) ?? 1
        value = try container.decodeIfPresent(Double.self, forKey: .value)
        isError = try container.decodeIfPresent(Bool.self, forKey: .isError) ?? false
        metricOnly = try container.decodeIfPresent(Bool.self, forKey: .metricOnly) ?? false
        namedScores = try container.decodeIfPresent([String: Double].self, forKey: .namedScores) ?? [:]
        components = try container.decodeIfPresent([AssertionResult].self, forKey: .components) ?? []
        gradingTokens = try container.decodeIfPresent(EvaluationTokenCounts.self, forKey: .gradingTokens)
        gradingCost = try container.decodeIfPresent(Double.self, forKey: .gradingCost)
        gradingTraceIDs = try container.decodeIfPresent([String].self, forKey: .gradingTraceIDs) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(pass, forKey: .pass)
        try container.encode(score, forKey: .score)
        try container.encode(reason, forKey: .reason)
        try container.encodeIfPresent(metric, forKey: .metric)
        try container.encode(weight, forKey: .weight)
        try container.encodeIfPresent(value, forKey: .value)
        if isError { try container.encode(isError, forKey: .isError) }
        if metricOnly { try container.encode(metricOnly, forKey: .metricOnly) }
        if !namedScores.isEmpty { try container.encode(namedScores, forKey: .namedScores) }
        if !components.isEmpty { try container.encode(components, forKey: .components) }
        try container.encodeIfPresent(gradingTokens, forKey: .gradingTokens)
        try container.encodeIfPresent(gradingCost, forKey: .gradingCost)
        if !gradingTraceIDs.isEmpty { try container.encode(gradingTraceIDs, forKey: .gradingTraceIDs) }
    }
}
