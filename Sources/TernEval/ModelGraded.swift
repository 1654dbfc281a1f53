public import TernCore
import Foundation

// The model-graded evaluators: a judge model (or an embedding model) grades the output.
// promptfoo's reference: https://promptfoo.dev/docs/configuration/expected-outputs/model-graded/
//
// | type                  | value                 | score                                  | passes when (default threshold)     |
// |-----------------------|-----------------------|----------------------------------------|-------------------------------------|
// | llm-rubric            | rubric                | the judge's 0-1 score                  | the judge says pass (and ≥ threshold) |
// | g-eval                | criteria (or a list)  | judge's 0-10 / 10, averaged            | score ≥ threshold (0.7)             |
// | factuality            | reference answer      | per category A-E (config)              | category score > 0 (or ≥ threshold) |
// | model-graded-closedqa | criterion             | 1 (Y) or 0 (N)                         | the judge answers Y                 |
// | answer-relevance      | -                     | mean cosine(query, generated questions) | score ≥ threshold (0.7)            |
// | context-faithfulness  | -                     | share of statements the context supports | score ≥ threshold (0.7)          |
// | similar               | reference text(s)     | best cosine(output, reference)          | score ≥ threshold (0.75)           |
// | select-best           | criteria              | 1 for the row's best output, else 0     | the output is the best (row type)  |
//
// Judges are resolved through a `GraderProvider` (the assertion's `provider`, the judge prompt's
// `config.model`, or the default grader); judge requests are sent at temperature 0 unless the
// provider config or judge prompt says otherwise; the judge's answer is parsed leniently; usage is
// recorded on the result (`gradingTokens`, `gradingCost`, `gradingTraceIDs`).

/// Every model-graded evaluator, sharing one judge context.
public enum ModelGradedEvaluators {
    public static func all(_ context: JudgeContext) -> [any Evaluator] {
        [
            LLMRubricEvaluator(context), GEvalEvaluator(context), FactualityEvaluator(context), ClosedQAEvaluator(context),
            AnswerRelevanceEvaluator(context), ContextFaithfulnessEvaluator(context), SimilarEvaluator(context),
        ]
    }

    /// The row evaluators (types comparing a test row's outputs).
    public static func rowEvaluators(_ context: JudgeContext) -> [any MultiOutputEvaluator] {
        [SelectBestEvaluator(context)]
    }
}

extension EvaluatorRegistry {
    /// Registers every model-graded evaluator (and `select-best`), judged through `context`.
    public mutating func registerModelGraded(_ context: JudgeContext) {
        for evaluator in ModelGradedEvaluators.all(context) { register(evaluator) }
        for evaluator in ModelGradedEvaluators.rowEvaluators(context) { register(evaluator) }
    }

    /// Registers every model-graded evaluator with `graders` and `prompts`.
    public mutating func registerModelGraded(graders: any GraderProvider, prompts: JudgePrompts = JudgePrompts()) {
        registerModelGraded(JudgeContext(graders: graders, prompts: prompts))
    }
}

/// Reading the inputs model-graded types share.
enum GradedInputs {
    /// `threshold`, or `fallback`; a non-finite threshold is an error.
    static func threshold(_ spec: AssertionSpec, default fallback: Double?) throws -> Double? {
        guard let threshold = spec.threshold else { return fallback }
        guard threshold.isFinite else { throw EvaluationError("`threshold` must be a finite number") }
        return threshold
    }

    /// The request the output answers, for judges that show it: the rendered prompt, else the
    /// `query` variable, else empty.
    ///
    /// Deviation: promptfoo requires a prompt for g-eval, factuality and model-graded-closedqa;
    /// Tern grades without one (a cached or imported output may have none).
    static func request(_ input: EvaluationCase) -> String {
        input.prompt ?? input.vars["query"].map(EvaluationTemplate.text(of:)) ?? ""
    }

    /// The variable named by `config[key]` (default `fallback`) as text: strings as they are, a
    /// list of strings joined by blank lines, anything else as JSON.
    static func variable(
        _ spec: AssertionSpec, _ input: EvaluationCase, configKey: String, default fallback: String,
        what: String
    ) throws -> String {
        let name: String
        if let configured = spec.config?[configKey] {
            guard let text = configured.string, !text.isEmpty else { throw EvaluationError("`config.\(configKey)` must be a variable name") }
            name = text
        } else {
            name = fallback
        }
        guard let value = input.vars[name], value != .null else {
            throw EvaluationError(
                "\(spec.baseType) needs \(what) in the test's `\(name)` variable"
                    + (spec.config?[configKey] == nil ? " (or `config.\(configKey)` naming another variable)" : ""))
        }
        if let items = value.array, items.allSatisfy({ $0.string != nil }) {
            return items.compactMap(\.string).joined(separator: "\n\n")
        }
        return EvaluationTemplate.text(of: value)
    }

    /// A list `value` as its strings, else the one text `single` reads.
    static func texts(_ spec: AssertionSpec, single: () throws -> String) throws -> [String] {
        if case .array = spec.value { return try SpecValues.list(spec) }
        return [try single()]
    }

    /// The value as rubric text: a string, or an object or list as JSON (promptfoo allows objects).
    static func rubric(_ spec: AssertionSpec) throws -> String {
        guard let value = spec.value, value != .null else {
            throw EvaluationError("`value` is missing; \(spec.baseType) needs the rubric to grade by")
        }
        let text = EvaluationTemplate.text(of: value)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw EvaluationError("`value` (the rubric) is empty") }
        return text
    }

    static func format(_ number: Double) -> String { String(format: "%.2f", number) }
}

// MARK: - llm-rubric

/// `llm-rubric`: the judge grades the output by the rubric in `value` and answers JSON
/// `{reason, pass, score}` (score 0-1). Without a threshold the judge's `pass` decides; with one,
/// the judge must pass it and the score must reach the threshold. Judge prompt
/// `tern-judge-llm-rubric` (variables `output`, `rubric` and the test's vars). With a
/// `rubricPrompt` that holds the whole rubric, `value` may be left out (`{{rubric}}` is then empty).
///
/// Deviation: when the judge omits `pass`, promptfoo counts it as passing whatever the score;
/// Tern passes when the score reaches the threshold, or 0.5 without one. An answer with neither
/// `pass` nor `score` is an error.
public struct LLMRubricEvaluator: Evaluator {
    public static let types = ["llm-rubric"]
    static let step = JudgeStep(key: "grade", name: JudgePrompts.llmRubric)
    public let context: JudgeContext

    public init(_ context: JudgeContext) { self.context = context }

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        // As in promptfoo, a `rubricPrompt` may hold the whole rubric; `value` is then optional.
        let rubric = spec.value == nil && spec.rubricPrompt != nil ? "" : try GradedInputs.rubric(spec)
        let threshold = try GradedInputs.threshold(spec, default: nil)
        return try await JudgeSession.run(context, spec) { session in
            let answer = try await session.ask(Self.step, ["output": .string(input.output), "rubric": .string(rubric)], vars: input.vars)
            let judged = try Self.verdict(in: answer)
            let score = judged.score ?? ((judged.pass ?? false) ? 1 : 0)
            var pass = judged.pass ?? (score >= (threshold ?? 0.5) - 1e-9)
            var reason = judged.reason ?? (pass ? "The judge passed the output" : "The judge failed the output")
            if let threshold, score < threshold - 1e-9 {
                if pass { reason += " (score \(GradedInputs.format(score)) < threshold \(GradedInputs.format(threshold)))" }
                pass = false
            }
            return .graded(spec, score: score, pass: pass, reason: reason, value: score)
        }
    }

    /// The judge's pass, score and reason: from a JSON object with `pass` (alias `verdict`,
    /// `result`, `passed`) or `score`, and `reason` (alias `reasoning`, `explanation`); or else
    /// from a PASS/FAIL line and a score line of a text answer (`JudgeAnswers.plainVerdict`).
    static func verdict(in answer: String) throws -> JudgeAnswers.PlainVerdict {
        let passKeys = ["pass", "verdict", "result", "passed"]
        guard let object = JudgeAnswers.object(in: answer, withAnyOf: passKeys + ["score"]) else {
            if let plain = JudgeAnswers.plainVerdict(in: answer) { return plain }
            throw EvaluationError(
                "the judge's answer has no JSON object with `pass` or `score`, nor a PASS/FAIL or score line: \(JudgeAnswers.excerpt(answer))")
        }
        let passKey = passKeys.first { object[$0] != nil }
        let pass = try passKey.map { key in
            let value = object[key] ?? .null
            guard let flag = JudgeAnswers.bool(value) else {
                throw EvaluationError("the judge's `\(key)` is \(EvaluationTemplate.text(of: value)), not a boolean")
            }
            return flag
        }
        let score = try object["score"].map { value in
            guard let number = JudgeAnswers.number(value) else {
                throw EvaluationError("the judge's `score` is \(EvaluationTemplate.text(of: value)), not a number")
            }
            return number
        }
        let reason = ["reason", "reasoning", "explanation"].lazy.compactMap { JudgeAnswers.text(object[$0]) }.first
        return JudgeAnswers.PlainVerdict(pass: pass, score: score, reason: reason)
    }
}

// MARK: - g-eval

/// `g-eval` (G-Eval, Liu et al. 2023): for the criteria in `value` the judge first writes
/// evaluation steps (`tern-judge-g-eval-steps`, answer `{"steps": [...]}`), then follows them to
/// score the output from 0 to 10 (`tern-judge-g-eval`, answer `{"reason", "score"}`); the score is
/// divided by 10. A list of criteria grades each separately and averages. Passes when the score
/// reaches `threshold` (default 0.7). Variables: `criteria`; then `criteria`, `steps` (joined by
/// "\n- "), `maxScore` (10), `input` (the prompt) and `output`.
///
/// Deviation: the G-Eval paper weights scores by token probabilities; like promptfoo, Tern takes
/// the judge's single answer. A score outside 0-10 is an error.
public struct GEvalEvaluator: Evaluator {
    public static let types = ["g-eval"]
    static let steps = [JudgeStep(key: "steps", name: JudgePrompts.gEvalSteps), JudgeStep(key: "evaluate", name: JudgePrompts.gEval)]
    static let maxScore = 10.0
    public let context: JudgeContext

    public init(_ context: JudgeContext) { self.context = context }

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let criteria = try GradedInputs.texts(spec) { try SpecValues.requiredText(spec, what: "the criteria (a string or a list of strings)") }
        let threshold = try GradedInputs.threshold(spec, default: 0.7) ?? 0.7
        return try await JudgeSession.run(context, spec) { session in
            let stepsPrompt = try context.prompts.prompt(Self.steps[0], of: Self.steps, spec: spec, plainStep: "evaluate")
            let evaluatePrompt = try context.prompts.prompt(Self.steps[1], of: Self.steps, spec: spec, plainStep: "evaluate")
            var scores: [Double] = []
            var reasons: [String] = []
            for criterion in criteria {
                let stepsAnswer = try await session.ask(stepsPrompt, ["criteria": .string(criterion)], vars: input.vars)
                guard let steps = JudgeAnswers.list(in: stepsAnswer, key: "steps"), !steps.isEmpty else {
                    throw EvaluationError("the judge proposed no evaluation steps: \(JudgeAnswers.excerpt(stepsAnswer))")
                }
                let answer = try await session.ask(
                    evaluatePrompt,
                    [
                        "criteria": .string(criterion), "steps": .string(steps.joined(separator: "\n- ")),
                        "maxScore": .string(EvaluationTemplate.numberText(Self.maxScore)),
                        "input": .string(GradedInputs.request(input)), "output": .string(input.output),
                    ], vars: input.vars)
                if let object = JudgeAnswers.object(in: answer, withAnyOf: ["score"]), let raw = JudgeAnswers.number(object["score"]) {
                    guard (0...Self.maxScore).contains(raw) else {
                        throw EvaluationError("the judge's score \(raw.shortText) is outside 0-\(Self.maxScore.shortText)")
                    }
                    scores.append(raw / Self.maxScore)
                    reasons.append(JudgeAnswers.text(object["reason"]) ?? "no reason given")
                } else if let plain = JudgeAnswers.plainVerdict(in: answer, bareScale: Self.maxScore), let score = plain.score {
                    scores.append(score)
                    reasons.append(plain.reason ?? "no reason given")
                } else {
                    throw EvaluationError("the judge's answer has no JSON object with a numeric `score`, nor a score line: \(JudgeAnswers.excerpt(answer))")
                }
            }
            let score = scores.reduce(0, +) / Double(scores.count)
            let pass = score >= threshold - 1e-9
            var reason = "Score \(GradedInputs.format(score)) \(pass ? "≥" : "<") threshold \(GradedInputs.format(threshold)): "
            if criteria.count == 1 {
                reason += reasons[0]
            } else {
                reason += zip(criteria, zip(scores, reasons)).map { "\(SpecValues.quoted($0, limit: 80)) \(GradedInputs.format($1.0)): \($1.1)" }
                    .joined(separator: "; ")
            }
            return .graded(spec, score: score, pass: pass, reason: reason, value: score)
        }
    }
}

// MARK: - factuality

/// `factuality`: the judge compares the output with the reference answer in `value` (or the test's
/// expected output) and picks a category (OpenAI evals' fact checker): (A) subset, (B) superset,
/// (C) same details, (D) disagreement, (E) differences that do not matter. Answer
/// `{"category", "reason"}`; `(A)`-style text answers are accepted too. Scores by category default
/// to 1, 1, 1, 0, 1 and are set with `config` keys `subset`, `superset`, `agree`, `disagree`,
/// `differButFactual` (directly or under `config.factuality`, promptfoo's `options.factuality`).
/// Passes when the category's score is above 0, or with a threshold when it reaches it.
/// Judge prompt `tern-judge-factuality` (variables `input` (the prompt), `ideal`, `completion`,
/// and the aliases `rubric` = ideal and `output` = completion).
public struct FactualityEvaluator: Evaluator {
    public static let types = ["factuality", "model-graded-factuality"]
    static let step = JudgeStep(key: "grade", name: JudgePrompts.factuality)
    static let categories: [(letter: String, key: String, description: String, defaultScore: Double)] = [
        ("A", "subset", "the output is a subset of the reference and consistent with it", 1),
        ("B", "superset", "the output is a superset of the reference and consistent with it", 1),
        ("C", "agree", "the output has the same details as the reference", 1),
        ("D", "disagree", "the output and the reference disagree", 0),
        ("E", "differButFactual", "the answers differ, but not in ways that matter for factuality", 1),
    ]
    public let context: JudgeContext

    public init(_ context: JudgeContext) { self.context = context }

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let reference = try SpecValues.referenceText(spec, input)
        let scores = try Self.categoryScores(spec)
        let threshold = try GradedInputs.threshold(spec, default: nil)
        return try await JudgeSession.run(context, spec) { session in
            let answer = try await session.ask(
                Self.step,
                [
                    "input": .string(GradedInputs.request(input)), "ideal": .string(reference), "completion": .string(input.output),
                    "rubric": .string(reference), "output": .string(input.output),
                ], vars: input.vars)
            let (letter, judgeReason) = try Self.category(in: answer)
            guard let index = Self.categories.firstIndex(where: { $0.letter == letter }) else {
                throw EvaluationError("the judge's category \(letter) is not one of A-E")
            }
            let category = Self.categories[index]
            let score = scores[index]
            let pass = threshold.map { score >= $0 - 1e-9 } ?? (score > 0)
            let reason = "(\(letter)) \(category.description)" + (judgeReason.map { ": \($0)" } ?? "")
            return .graded(spec, score: score, pass: pass, reason: reason)
        }
    }

    static func categoryScores(_ spec: AssertionSpec) throws -> [Double] {
        let options = spec.config?["factuality"] ?? spec.config
        return try categories.map { category in
            guard let value = options?[category.key] else { return category.defaultScore }
            guard let score = value.double, (0...1).contains(score) else {
                throw EvaluationError("`config.\(category.key)` must be a number from 0 to 1")
            }
            return score
        }
    }

    /// The category letter and the judge's reason, from JSON `{"category", "reason"}`, or from text
    /// such as `(B) ...`, `Category: B` or a lone letter.
    static func category(in answer: String) throws -> (String, String?) {
        if let object = JudgeAnswers.object(in: answer, withAnyOf: ["category"]) {
            let raw = JudgeAnswers.text(object["category"]) ?? ""
            guard let letter = letter(raw) else {
                throw EvaluationError("the judge's category \(SpecValues.quoted(raw)) is not one of A-E")
            }
            return (letter, JudgeAnswers.text(object["reason"]))
        }
        let trimmed = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        var searchStart = trimmed.startIndex
        while let open = trimmed.range(of: "(", range: searchStart..<trimmed.endIndex),
            let close = trimmed.range(of: ")", range: open.upperBound..<trimmed.endIndex)
        {
            if let letter = letter(String(trimmed[open.upperBound..<close.lowerBound])) {
                let rest = trimmed[close.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
                return (letter, rest.isEmpty ? nil : rest)
            }
            searchStart = open.upperBound
        }
        for line in JudgeAnswers.lines(trimmed).reversed() {
            let candidate = line.split(separator: ":").last.map(String.init) ?? line
            if let letter = letter(candidate) { return (letter, trimmed == line ? nil : trimmed) }
        }
        throw EvaluationError("the judge's answer names no category A-E: \(JudgeAnswers.excerpt(answer))")
    }

    /// `A`, `(a)`, `B)` or `C.` as a category letter.
    private static func letter(_ text: String) -> String? {
        let core = text.trimmingCharacters(in: CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: "()[].*\"'`")))
        let upper = core.uppercased()
        return ["A", "B", "C", "D", "E"].contains(upper) ? upper : nil
    }
}

// MARK: - model-graded-closedqa

/// `model-graded-closedqa`: the judge decides whether the output meets the criterion in `value`
/// (OpenAI evals' closed QA), reasoning first and ending with `Y` or `N` on a line of its own.
/// Score 1 for Y, 0 for N. Judge prompt `tern-judge-model-graded-closedqa` (variables `input`
/// (the prompt), `criteria`, `completion`, and the aliases `rubric` = criteria and `output`).
///
/// Deviation: an answer that ends with neither Y nor N is an error (promptfoo fails it).
public struct ClosedQAEvaluator: Evaluator {
    public static let types = ["model-graded-closedqa"]
    static let step = JudgeStep(key: "grade", name: JudgePrompts.closedQA)
    public let context: JudgeContext

    public init(_ context: JudgeContext) { self.context = context }

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let criterion = try SpecValues.requiredText(spec, what: "the criterion")
        return try await JudgeSession.run(context, spec) { session in
            let answer = try await session.ask(
                Self.step,
                [
                    "input": .string(GradedInputs.request(input)), "criteria": .string(criterion), "completion": .string(input.output),
                    "rubric": .string(criterion), "output": .string(input.output),
                ], vars: input.vars)
            var lines = answer.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard let last = lines.popLast(), let verdict = Self.verdict(last) else {
                throw EvaluationError("the judge's answer does not end with Y or N: \(JudgeAnswers.excerpt(answer))")
            }
            // The prompt asks for the letter twice at times; drop a repeated verdict line from the reasoning.
            if let previous = lines.last, Self.verdict(previous) == verdict { lines.removeLast() }
            let reasoning = lines.joined(separator: "\n")
            let reason = (verdict ? "Meets the criterion" : "Does not meet the criterion") + (reasoning.isEmpty ? "" : ": \(reasoning)")
            return .check(spec, pass: verdict, reason: reason)
        }
    }

    /// `Y`, `N`, `Yes`, `**N**`, `Answer: Y` as a verdict.
    static func verdict(_ line: String) -> Bool? {
        let token = (line.split(separator: ":").last.map(String.init) ?? line)
            .trimmingCharacters(in: CharacterSet.whitespaces.union(CharacterSet(charactersIn: "*\"'`.()[]"))).uppercased()
        switch token {
        case "Y", "YES": return true
        case "N", "NO": return false
        default: return nil
        }
    }
}

// MARK: - answer-relevance

/// `answer-relevance` (RAGAS answer relevancy): the judge writes questions that the output answers
/// (`tern-judge-answer-relevance`, variables `answer` (alias `output`) and `count`, answer
/// `{"questions": [...]}`); the score is the mean cosine similarity between the query and each
/// question, by an embedding model. The query is the test's `query` variable (or `config.queryVar`),
/// else the prompt. Passes when the score reaches `threshold` (default 0.7). `config.questions`:
/// how many questions (default 3). `provider: {text, embedding}` names each model; a plain id
/// names the judge.
///
/// Deviation: promptfoo asks the judge three times for one question each; Tern asks once for
/// `config.questions` questions (at temperature 0 repeated calls would repeat themselves).
public struct AnswerRelevanceEvaluator: Evaluator {
    public static let types = ["answer-relevance"]
    static let step = JudgeStep(key: "generate", name: JudgePrompts.answerRelevance)
    public let context: JudgeContext

    public init(_ context: JudgeContext) { self.context = context }

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let query: String
        if spec.config?["queryVar"] != nil || input.vars["query"] != nil || input.prompt == nil {
            query = try GradedInputs.variable(spec, input, configKey: "queryVar", default: "query", what: "the user's query (or a prompt)")
        } else {
            query = input.prompt ?? ""
        }
        let count = spec.config?["questions"]?.int ?? 3
        guard (1...10).contains(count) else { throw EvaluationError("`config.questions` must be a whole number from 1 to 10") }
        let threshold = try GradedInputs.threshold(spec, default: 0.7) ?? 0.7
        let embedder = try GraderReference.embedder(spec, primary: .text, context.graders)
        return try await JudgeSession.run(context, spec) { session in
            let answer = try await session.ask(
                Self.step,
                [
                    "answer": .string(input.output), "output": .string(input.output), "count": .number(Double(count)),
                ], vars: input.vars)
            guard let questions = JudgeAnswers.list(in: answer, key: "questions")?.prefix(count), !questions.isEmpty else {
                throw EvaluationError("the judge wrote no questions: \(JudgeAnswers.excerpt(answer))")
            }
            let (similarities, usage) = try await Similarity.cosines(of: query, to: Array(questions), embedder)
            session.record(usage)
            let score = similarities.reduce(0, +) / Double(similarities.count)
            let pass = score >= threshold - 1e-9
            let listed = zip(questions, similarities).map { "\(SpecValues.quoted($0, limit: 120)) \(GradedInputs.format($1))" }
            let reason =
                "Relevance \(GradedInputs.format(score)) \(pass ? "≥" : "<") threshold \(GradedInputs.format(threshold)); "
                + "questions the output answers: " + listed.joined(separator: ", ")
            return .graded(spec, score: score, pass: pass, reason: reason, value: score)
        }
    }
}

// MARK: - context-faithfulness

/// `context-faithfulness` (RAGAS faithfulness): the judge breaks the output into standalone
/// statements (`tern-judge-context-faithfulness-statements`, variables `question` (alias `query`)
/// and `answer` (alias `output`), answer `{"statements": [...]}`), then gives each a verdict
/// against the context (`tern-judge-context-faithfulness-verdicts`, variables `context` and
/// `statements` (numbered lines), answer `{"verdicts": [{"statement", "reason", "verdict"}]}`).
/// The score is the share of statements supported; an output that claims nothing scores 1.
/// Needs the test's `query` and `context` variables (`config.queryVar`, `config.contextVar` name
/// others; a list of strings as context is joined by blank lines). Passes when the score reaches
/// `threshold`.
///
/// Deviations: the default threshold is 0.7 (promptfoo's is 0, which always passes); the context
/// comes from vars only (promptfoo's `contextTransform` is not supported).
public struct ContextFaithfulnessEvaluator: Evaluator {
    public static let types = ["context-faithfulness"]
    static let steps = [
        JudgeStep(key: "statements", name: JudgePrompts.faithfulnessStatements),
        JudgeStep(key: "verdicts", name: JudgePrompts.faithfulnessVerdicts),
    ]
    public let context: JudgeContext

    public init(_ context: JudgeContext) { self.context = context }

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let query = try GradedInputs.variable(spec, input, configKey: "queryVar", default: "query", what: "the user's question")
        let documents = try GradedInputs.variable(spec, input, configKey: "contextVar", default: "context", what: "the retrieved context")
        let threshold = try GradedInputs.threshold(spec, default: 0.7) ?? 0.7
        return try await JudgeSession.run(context, spec) { session in
            let statementsPrompt = try context.prompts.prompt(Self.steps[0], of: Self.steps, spec: spec, positional: true)
            let verdictsPrompt = try context.prompts.prompt(Self.steps[1], of: Self.steps, spec: spec, positional: true)
            let answer = try await session.ask(
                statementsPrompt,
                [
                    "question": .string(query), "query": .string(query), "answer": .string(input.output), "output": .string(input.output),
                ], vars: input.vars)
            guard let statements = JudgeAnswers.list(in: answer, key: "statements") else {
                throw EvaluationError("the judge's statements are not a list: \(JudgeAnswers.excerpt(answer))")
            }
            guard !statements.isEmpty else {
                return .graded(spec, score: 1, pass: 1 >= threshold - 1e-9, reason: "The output makes no claims to check against the context")
            }
            let numbered = statements.enumerated().map { "\($0 + 1). \($1)" }.joined(separator: "\n")
            let verdictAnswer = try await session.ask(
                verdictsPrompt, ["context": .string(documents), "statements": .string(numbered)],
                vars: input.vars)
            let verdicts = try Self.verdicts(in: verdictAnswer)
            let counted = verdicts.prefix(statements.count)
            let supported = counted.filter(\.supported).count
            let score = Double(supported) / Double(statements.count)
            let pass = score >= threshold - 1e-9
            var reason =
                "Faithfulness \(GradedInputs.format(score)) \(pass ? "≥" : "<") threshold \(GradedInputs.format(threshold)): "
                + "\(supported) of \(statements.count) statements supported by the context"
            if verdicts.count != statements.count {
                reason += " (the judge gave \(verdicts.count) verdicts for \(statements.count) statements; missing ones count as unsupported)"
            }
            let unsupported = zip(statements, counted).filter { !$1.supported }
                .map { "\(SpecValues.quoted($0, limit: 120))" + ($1.reason.map { " (\($0))" } ?? "") }
            if !unsupported.isEmpty { reason += "; unsupported: " + unsupported.joined(separator: "; ") }
            return .graded(spec, score: score, pass: pass, reason: reason, value: score)
        }
    }

    /// Verdicts from `{"verdicts": [{"verdict": "yes", "reason": ...}]}` (or a list of yes/no
    /// strings), else from `Verdict: yes` lines.
    static func verdicts(in answer: String) throws -> [(supported: Bool, reason: String?)] {
        if let object = JudgeAnswers.object(in: answer, withAnyOf: ["verdicts"]) {
            guard let items = object["verdicts"]?.array else {
                throw EvaluationError("the judge's `verdicts` is not a list: \(JudgeAnswers.excerpt(answer))")
            }
            return try items.enumerated().map { index, item in
                let flag = item.object != nil ? item["verdict"] ?? item["supported"] : item
                guard let supported = JudgeAnswers.bool(flag) else {
                    throw EvaluationError("the judge's verdict \(index + 1) is not yes or no: \(EvaluationTemplate.text(of: item))")
                }
                return (supported, JudgeAnswers.text(item["reason"]))
            }
        }
        let found: [(Bool, String?)] = JudgeAnswers.lines(answer).compactMap { line in
            guard let range = line.range(of: "verdict:", options: .caseInsensitive) else { return nil }
            let word = line[range.upperBound...].trimmingCharacters(in: CharacterSet.whitespaces.union(.punctuationCharacters))
            return JudgeAnswers.bool(.string(String(word.prefix { $0.isLetter }))).map { ($0, nil) }
        }
        guard !found.isEmpty else { throw EvaluationError("the judge's answer has no verdicts: \(JudgeAnswers.excerpt(answer))") }
        return found
    }
}

// MARK: - similar

/// `similar`: cosine similarity between the output and the reference in `value` (a string, or a
/// list: the closest counts; no value: the test's expected output), by an embedding model (the
/// assertion's `provider`, else the default embedder). Passes when the similarity reaches
/// `threshold` (default 0.75); the score is the similarity. `not-similar` passes when the output
/// is below the threshold for every reference.
public struct SimilarEvaluator: Evaluator {
    public static let types = ["similar", "similar:cosine"]
    public let context: JudgeContext

    public init(_ context: JudgeContext) { self.context = context }

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let references = try GradedInputs.texts(spec) { try SpecValues.referenceText(spec, input) }
        let threshold = try GradedInputs.threshold(spec, default: 0.75) ?? 0.75
        let embedder = try GraderReference.embedder(spec, primary: .embedding, context.graders)
        let (similarities, usage) = try await Similarity.cosines(of: input.output, to: references, embedder)
        let best = similarities.indices.max { similarities[$0] < similarities[$1] } ?? 0
        let similarity = similarities[best]
        let pass = similarity >= threshold - 1e-9
        var reason = "Similarity \(GradedInputs.format(similarity)) \(pass ? "≥" : "<") threshold \(GradedInputs.format(threshold))"
        if references.count > 1 { reason += " (closest: reference \(best + 1) of \(references.count))" }
        var result = AssertionResult.graded(spec, score: similarity, pass: pass, reason: reason, value: similarity)
        if let usage { result.addGrading(tokens: EvaluationTokenCounts(input: usage.inputTokens, output: 0), cost: usage.cost, traceIDs: usage.traceIDs) }
        return result
    }
}

enum Similarity {
    /// Cosine similarities of `text` to each of `others`, embedded in one call, and the call's
    /// usage when the embedder reports it (`MeteredEmbedder`).
    static func cosines(of text: String, to others: [String], _ embedder: any Embedder) async throws -> ([Double], EmbeddingUsage?) {
        let vectors: [[Float]]
        var usage: EmbeddingUsage?
        do {
            if let metered = embedder as? any MeteredEmbedder {
                (vectors, usage) = try await metered.embedMetered([text] + others)
            } else {
                vectors = try await embedder.embed([text] + others)
            }
        } catch let error as EvaluationError {
            throw error
        } catch {
            throw EvaluationError("the embedding model \(embedder.modelName) failed: \(error)")
        }
        guard vectors.count == others.count + 1 else {
            throw EvaluationError("the embedding model \(embedder.modelName) returned \(vectors.count) vectors for \(others.count + 1) texts")
        }
        guard vectors.allSatisfy({ $0.count == vectors[0].count && !$0.isEmpty }) else {
            throw EvaluationError("the embedding model \(embedder.modelName) returned vectors of different lengths")
        }
        return (vectors.dropFirst().map { VectorMath.cosine(vectors[0], $0) }, usage)
    }
}

// MARK: - select-best

/// `select-best` (a row type): the judge compares the outputs of a test row by the criteria in
/// `value`; the best scores 1 and passes, the others 0 and fail. Judge prompt
/// `tern-judge-select-best` (variables `criteria` and `outputs`: the outputs as
/// `<text index="0">...</text>` blocks), answer `{"reason", "best": index}` (a bare index is
/// accepted). `config.mode`: `listwise` (default; one call with every output) or `pairwise` (a
/// knockout: the current best against each next output, n-1 calls of two outputs, indexes 0 and 1).
/// The judge usage is recorded on the row's first output (trace ids on every output).
///
/// Deviation: promptfoo's prompt loops over `outputs` with Nunjucks; Tern's templates have no
/// loops, so `outputs` is given pre-formatted. promptfoo reads the first digit of the answer
/// (indexes above 9 cannot be chosen); Tern reads `best` or the first whole number.
public struct SelectBestEvaluator: MultiOutputEvaluator {
    public static let types = ["select-best"]
    static let step = JudgeStep(key: "select", name: JudgePrompts.selectBest)
    public let context: JudgeContext

    public init(_ context: JudgeContext) { self.context = context }

    public func evaluate(_ spec: AssertionSpec, _ inputs: [EvaluationCase]) async throws -> [AssertionResult] {
        let criteria = try SpecValues.requiredText(spec, what: "the criteria to select the best output by")
        let mode = spec.config?["mode"]?.string ?? "listwise"
        guard mode == "listwise" || mode == "pairwise" else {
            throw EvaluationError("`config.mode` must be listwise or pairwise, got \(mode)")
        }
        let vars = inputs.first?.vars ?? [:]
        var session = try JudgeSession(context, spec)
        var results: [AssertionResult]
        do {
            let prompt = try context.prompts.prompt(Self.step, of: [Self.step], spec: spec)
            func pick(_ candidates: [Int]) async throws -> (Int, String?) {
                let blocks = candidates.enumerated().map { "<text index=\"\($0)\">\n\(inputs[$1].output)\n</text>" }
                let answer = try await session.ask(
                    prompt, ["criteria": .string(criteria), "outputs": .string(blocks.joined(separator: "\n\n"))],
                    vars: vars)
                let (index, reason) = try Self.choice(in: answer)
                guard candidates.indices.contains(index) else {
                    throw EvaluationError("the judge chose text \(index), but there are \(candidates.count) (0-\(candidates.count - 1))")
                }
                return (candidates[index], reason)
            }
            var best: Int
            var why: String?
            if mode == "listwise" {
                (best, why) = try await pick(Array(inputs.indices))
            } else {
                best = 0
                for challenger in inputs.indices.dropFirst() { (best, why) = try await pick([best, challenger]) }
            }
            results = inputs.indices.map { index in
                index == best
                    ? .check(spec, pass: true, reason: "Selected as the best of \(inputs.count) outputs" + (why.map { ": \($0)" } ?? ""))
                    : .check(spec, pass: false, reason: "Not selected: output \(best + 1) of \(inputs.count) was preferred" + (why.map { ": \($0)" } ?? ""))
            }
        } catch let error as EvaluationError {
            results = inputs.map { _ in .error(spec, error.message) }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            results = inputs.map { _ in .error(spec, "the judge call failed: \(error)") }
        }
        results[0] = session.finish(results[0])
        for index in results.indices.dropFirst() { results[index].gradingTraceIDs = session.traceIDs }
        return results
    }

    /// The chosen index from `{"best": n}` (or `index`, `winner`, `choice`), else the first whole number.
    static func choice(in answer: String) throws -> (Int, String?) {
        let keys = ["best", "index", "winner", "choice"]
        if let object = JudgeAnswers.object(in: answer, withAnyOf: keys) {
            let raw = keys.lazy.compactMap { object[$0] }.first
            guard let number = JudgeAnswers.number(raw), number == number.rounded(), let index = Int(exactly: number) else {
                throw EvaluationError("the judge's choice \(raw.map(EvaluationTemplate.text(of:)) ?? "") is not an index")
            }
            return (index, JudgeAnswers.text(object["reason"]))
        }
        guard let index = JudgeAnswers.firstInteger(in: answer) else {
            throw EvaluationError("the judge's answer names no output index: \(JudgeAnswers.excerpt(answer))")
        }
        return (index, nil)
    }
}
