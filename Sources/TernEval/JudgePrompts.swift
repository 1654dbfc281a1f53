public import Foundation
public import TernCore

// The judge prompts of the model-graded assertions: Tern's own wording of each judge's task (the
// semantics follow promptfoo's graders; the text is not promptfoo's), published as prompt versions
// under stable names so the server can seed them into a project's prompt registry and users can
// edit and version them like any prompt. Variables use the names promptfoo's graders give them, so
// promptfoo `rubricPrompt`s port over.

/// A judge prompt ready to render, and where it came from (named in errors).
public struct JudgePrompt: Sendable, Equatable {
    public var version: PromptVersion
    /// `tern-judge-llm-rubric (built-in)`, `tern-judge-llm-rubric v3`, or `rubricPrompt`.
    public var label: String

    public init(version: PromptVersion, label: String) {
        self.version = version
        self.label = label
    }

    /// The messages to send: `variables` (the judge's) and `vars` (the test's) filled in, the
    /// judge's taking precedence. `{{ name.field }}` paths work; objects and arrays render as
    /// JSON. A placeholder naming neither is an error (a typo would otherwise send an empty value).
    func render(_ variables: [String: JSONValue], vars: [String: JSONValue]) throws -> [PromptMessage] {
        var values = vars
        for (name, value) in variables { values[name] = value }
        for template in version.templates {
            for name in PromptTemplate.variables(in: template) {
                let root = String(name.prefix { $0 != "." })
                guard values[root] == nil else { continue }
                throw EvaluationError(
                    "judge prompt \(label) uses {{\(name)}}, which is neither a judge variable ("
                        + variables.keys.sorted().joined(separator: ", ") + ") nor a variable of the test")
            }
        }
        switch version.kind {
        case .text:
            return [PromptMessage(role: "user", content: EvaluationTemplate.render(version.text ?? "", vars: values))]
        case .chat:
            return version.messages.map { PromptMessage(role: $0.role, content: EvaluationTemplate.render($0.content, vars: values)) }
        }
    }
}

/// The judge prompts in use: the built-in defaults, replaced by name with `overrides` (for
/// example the versions labelled `production` in a project's prompt registry).
public struct JudgePrompts: Sendable {
    // Stable names (they pass `Validate.promptName`).
    public static let llmRubric = "tern-judge-llm-rubric"
    public static let gEvalSteps = "tern-judge-g-eval-steps"
    public static let gEval = "tern-judge-g-eval"
    public static let factuality = "tern-judge-factuality"
    public static let closedQA = "tern-judge-model-graded-closedqa"
    public static let answerRelevance = "tern-judge-answer-relevance"
    public static let faithfulnessStatements = "tern-judge-context-faithfulness-statements"
    public static let faithfulnessVerdicts = "tern-judge-context-faithfulness-verdicts"
    public static let selectBest = "tern-judge-select-best"

    /// Every judge prompt name, in the order the docs list them.
    public static let names = [
        llmRubric, gEvalSteps, gEval, factuality, closedQA, answerRelevance, faithfulnessStatements, faithfulnessVerdicts, selectBest,
    ]

    /// Versions by prompt name that replace the built-in ones.
    public var overrides: [String: PromptVersion]

    public init(overrides: [String: PromptVersion] = [:]) {
        self.overrides = overrides
    }

    /// The prompt used for `name`: the override, else the built-in default; nil for unknown names.
    public func prompt(named name: String) -> JudgePrompt? {
        if let version = overrides[name] { return JudgePrompt(version: version, label: "\(name) v\(version.version)") }
        return Self.defaultVersion(named: name).map { JudgePrompt(version: $0, label: "\(name) (built-in)") }
    }

    /// The built-in version of a judge prompt, ready to push to a prompt registry (version 0: the
    /// registry numbers it).
    public static func defaultVersion(
        named name: String, projectID: String = "", author: String = "tern",
        createdAt: Date = Date(timeIntervalSince1970: 0)
    ) -> PromptVersion? {
        guard let messages = defaultMessages[name] else { return nil }
        return chatVersion(
            name: name, messages: messages, projectID: projectID, author: author, createdAt: createdAt,
            commitMessage: "Built-in judge prompt")
    }

    /// Every built-in judge prompt, for seeding a project's prompt registry.
    public static func defaultVersions(
        projectID: String = "", author: String = "tern",
        createdAt: Date = Date(timeIntervalSince1970: 0)
    ) -> [PromptVersion] {
        names.compactMap { defaultVersion(named: $0, projectID: projectID, author: author, createdAt: createdAt) }
    }

    static func chatVersion(
        name: String, messages: [PromptMessage], projectID: String = "", author: String = "tern",
        createdAt: Date = Date(timeIntervalSince1970: 0), commitMessage: String? = nil
    ) -> PromptVersion {
        var variables: [String] = []
        for message in messages {
            for variable in PromptTemplate.variables(in: message.content) where !variables.contains(variable) { variables.append(variable) }
        }
        return PromptVersion(
            projectID: projectID, name: name, kind: .chat, messages: messages, variables: variables,
            config: PromptModelConfig(temperature: 0), commitMessage: commitMessage, author: author, createdAt: createdAt)
    }

    /// The prompt for one step of a judge: the assertion's `rubricPrompt` when it gives one for the
    /// step, else `prompt(named:)`.
    ///
    /// `rubricPrompt` forms (as promptfoo): a string (a text prompt, or the JSON text of a message
    /// list), a list of `{role, content}` messages, or for judges with several steps an object
    /// keyed by step (`g-eval`: `steps`, `evaluate`; `context-faithfulness`: `statements`,
    /// `verdicts`). A plain string or message list replaces the judge's `plainStep`. With
    /// `positional`, a list of one or two strings or messages gives the steps in order, each item
    /// one prompt (promptfoo's form for `context-faithfulness`).
    func prompt(
        _ step: JudgeStep, of steps: [JudgeStep], spec: AssertionSpec, plainStep: String? = nil,
        positional: Bool = false
    ) throws -> JudgePrompt {
        if let override = try Self.rubricOverride(
            spec.rubricPrompt, type: spec.baseType, step: step, steps: steps,
            plainStep: plainStep ?? steps[0].key, positional: positional)
        {
            return try Self.parseOverride(override.value, label: override.label)
        }
        guard let prompt = prompt(named: step.name) else { throw EvaluationError("unknown judge prompt \(step.name)") }
        return prompt
    }

    private static func rubricOverride(
        _ rubricPrompt: JSONValue?, type: String, step: JudgeStep, steps: [JudgeStep], plainStep: String,
        positional: Bool
    ) throws -> (value: JSONValue, label: String)? {
        guard let rubricPrompt, rubricPrompt != .null else { return nil }
        if case .object(let object) = rubricPrompt, object["role"] == nil, object["content"] == nil {
            let keys = steps.map(\.key)
            guard steps.count > 1 else {
                throw EvaluationError("`rubricPrompt` must be a string or a list of messages, got an object")
            }
            if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
                throw EvaluationError("`rubricPrompt.\(unknown)` is not a step of \(type); expected \(keys.joined(separator: ", "))")
            }
            return object[step.key].map { ($0, "rubricPrompt.\(step.key)") }
        }
        if positional, case .array(let items) = rubricPrompt {
            guard (1...steps.count).contains(items.count) else {
                throw EvaluationError(
                    "`rubricPrompt` must list 1 to \(steps.count) prompts, one a step ("
                        + steps.map(\.key).joined(separator: ", ") + "), got \(items.count)")
            }
            guard let index = steps.firstIndex(where: { $0.key == step.key }), index < items.count else { return nil }
            return (items[index], "rubricPrompt[\(index)]")
        }
        return step.key == plainStep ? (rubricPrompt, "rubricPrompt") : nil
    }

    /// A `rubricPrompt` as a prompt version: a string is a text prompt unless it is the JSON text of
    /// a message list; a list of messages, or one message, is a chat prompt.
    static func parseOverride(_ value: JSONValue, label: String) throws -> JudgePrompt {
        var messagesValue: JSONValue?
        switch value {
        case .string(let text):
            if text.hasPrefix("file://") {
                throw EvaluationError("`\(label)` given as \(text): file references must be resolved when the config is loaded")
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.hasPrefix("["), let parsed = try? JSONValue.parse(Data(trimmed.utf8)), parsed.array != nil {
                messagesValue = parsed
            } else {
                guard !trimmed.isEmpty else { throw EvaluationError("`\(label)` is empty") }
                let version = PromptVersion(
                    projectID: "", name: "rubricPrompt", kind: .text, text: text,
                    variables: PromptTemplate.variables(in: text), author: "", createdAt: Date(timeIntervalSince1970: 0))
                return JudgePrompt(version: version, label: label)
            }
        case .array: messagesValue = value
        case .object: messagesValue = .array([value])
        default: throw EvaluationError("`\(label)` must be a string or a list of messages, got \(value.kindName)")
        }
        let items = messagesValue?.array ?? []
        guard !items.isEmpty else { throw EvaluationError("`\(label)` lists no messages") }
        var messages: [PromptMessage] = []
        for (index, item) in items.enumerated() {
            guard let role = item["role"]?.string, let content = item["content"]?.string else {
                throw EvaluationError("`\(label)[\(index)]` must be a message {role, content} with string values")
            }
            messages.append(PromptMessage(role: role, content: content))
        }
        let version = chatVersion(name: "rubricPrompt", messages: messages, author: "")
        do {
            try version.validate()
        } catch let error as TernError {
            throw EvaluationError("`\(label)`: \(error.message)")
        }
        return JudgePrompt(version: version, label: label)
    }

    // MARK: - Built-in prompts

    private static func chat(_ system: String, _ user: String) -> [PromptMessage] {
        [PromptMessage(role: "system", content: system), PromptMessage(role: "user", content: user)]
    }

    static let defaultMessages: [String: [PromptMessage]] = [
        llmRubric: chat(
            """
            You are an impartial grader. You receive an output produced by an AI system and a rubric. \
            Decide whether the output satisfies the rubric: it passes when what the rubric describes is true of the output.

            Reply with one JSON object and nothing else:
            {"reason": "<a brief explanation that refers to the output>", "pass": <true or false>, "score": <a number from 0.0 to 1.0: how fully the rubric is met>}

            When the rubric defines its own scale or its own condition for passing, follow it.

            Example
            Output: The meeting moved to Thursday at 3 pm.
            Rubric: Names a day and a time
            {"reason": "It names Thursday and 3 pm.", "pass": true, "score": 1.0}
            """,
            "<output>\n{{output}}\n</output>\n<rubric>\n{{rubric}}\n</rubric>"),
        gEvalSteps: chat(
            """
            You design evaluation procedures. Given criteria for judging a text, write three to five short, concrete steps \
            that an evaluator follows to check a text against those criteria.

            Reply with one JSON object and nothing else: {"steps": ["<first step>", "<second step>", ...]}
            """,
            "Criteria:\n{{criteria}}"),
        gEval: chat(
            """
            You evaluate a reply against criteria by working through the evaluation steps given. Score the reply from 0 \
            (it does not meet the criteria at all) to {{maxScore}} (it meets them fully), using the whole range.

            Reply with one JSON object and nothing else:
            {"reason": "<what each step found, briefly>", "score": <a whole number from 0 to {{maxScore}}>}
            """,
            "Criteria:\n{{criteria}}\n\nEvaluation steps:\n- {{steps}}\n\nThe request the reply answers:\n{{input}}\n\nReply to evaluate:\n{{output}}"),
        factuality: chat(
            """
            You compare the facts in a submitted answer with those in an expert answer to the same question. Wording, style, \
            grammar and punctuation do not matter; only the factual content counts. Pick the one category that applies:
            (A) The submission is a subset of the expert answer and fully consistent with it.
            (B) The submission is a superset of the expert answer and fully consistent with it.
            (C) The submission contains the same details as the expert answer.
            (D) The submission and the expert answer disagree.
            (E) The answers differ, but the differences do not matter for factuality.

            Reply with one JSON object and nothing else: {"category": "<A, B, C, D or E>", "reason": "<a brief explanation>"}
            """,
            "Question:\n{{input}}\n\nExpert answer:\n{{ideal}}\n\nSubmitted answer:\n{{completion}}"),
        closedQA: chat(
            """
            You check whether a submitted answer to a task meets a criterion. Reason about the criterion step by step \
            before you conclude; do not open with the conclusion. Then write the verdict on a line of its own: the single \
            letter Y if the submission meets the criterion, N if it does not, with nothing after it.
            """,
            "Task:\n{{input}}\n\nSubmitted answer:\n{{completion}}\n\nCriterion:\n{{criteria}}"),
        answerRelevance: chat(
            """
            Given an answer, write {{count}} different questions to which this answer would be a direct reply. \
            Do not answer them, and do not add questions the answer does not address.

            Reply with one JSON object and nothing else: {"questions": ["<question>", ...]}
            """,
            "Answer:\n{{answer}}"),
        faithfulnessStatements: chat(
            """
            Break an answer to a question into short standalone statements, each a single claim that can be checked on \
            its own (replace pronouns so that every statement makes sense alone). Leave out greetings, questions and \
            remarks that claim nothing.

            Reply with one JSON object and nothing else: {"statements": ["<statement>", ...]} \
            (an empty list when the answer claims nothing).
            """,
            "Question:\n{{question}}\n\nAnswer:\n{{answer}}"),
        faithfulnessVerdicts: chat(
            """
            For each numbered statement, decide whether the context supports it: "yes" when the statement follows directly \
            from the context, "no" when the context contradicts it or does not say. Judge by the context alone, not by \
            anything else you know.

            Reply with one JSON object and nothing else, one verdict per statement in the order given:
            {"verdicts": [{"statement": "<the statement>", "reason": "<brief>", "verdict": "<yes or no>"}, ...]}
            """,
            "Context:\n{{context}}\n\nStatements:\n{{statements}}"),
        selectBest: chat(
            """
            You compare several texts and pick the one that best meets the criteria. Judge by the criteria alone: neither \
            the order of the texts nor their length counts unless the criteria say so.

            Reply with one JSON object and nothing else: {"reason": "<why that text is the best>", "best": <the index of the best text>}
            """,
            "Criteria:\n{{criteria}}\n\n{{outputs}}"),
    ]
}

/// One judge call of a model-graded type: its key in an object `rubricPrompt` and its prompt name.
struct JudgeStep: Equatable {
    var key: String
    var name: String
}
