import Foundation
import TernCore
@testable import TernEval
import Testing

// Model-graded assertions against a scripted judge (FakeJudge) and fixed embeddings (FakeEmbedder).
// Semantics from https://promptfoo.dev/docs/configuration/expected-outputs/model-graded/ and
// promptfoo's src/matchers.ts (pass/score rules, defaults, category scores).

@Suite("llm-rubric")
struct LLMRubricTests {
    let rubric = spec("llm-rubric", "Answers politely")

    @Test("the judge sees the output and the rubric at temperature 0; a fenced JSON answer with a string score passes")
    func passes() async throws {
        let judge = FakeJudge("Here is my grade:\n```json\n{\"reason\": \"Courteous and direct\", \"pass\": true, \"score\": \"0.9\"}\n```\nHope this helps.")
        let result = await graded(rubric, "Paris, of course! Happy to help.", judge: judge)
        #expect(result.pass && !result.isError)
        #expect(close(result.score, 0.9))
        #expect(result.reason == "Courteous and direct")
        let requests = await judge.requests
        try #require(requests.count == 1)
        #expect(requests[0].temperature == 0)
        #expect(requests[0].model == "judge-model")
        #expect(requests[0].messages.map(\.role) == ["system", "user"])
        #expect(requests[0].messages[1].content == "<output>\nParis, of course! Happy to help.\n</output>\n<rubric>\nAnswers politely\n</rubric>")
        #expect(result.gradingTokens == EvaluationTokenCounts(input: 100, output: 10))
        #expect(result.gradingCost == 0.001)
        #expect(result.gradingTraceIDs == ["judge-1"])
    }

    @Test("the judge's fail decides without a threshold; with one the score must reach it too")
    func thresholds() async {
        let failed = await graded(rubric, "No.", judge: FakeJudge(#"{"reason": "Curt", "pass": false, "score": 0.2}"#))
        #expect(!failed.pass && close(failed.score, 0.2) && failed.reason == "Curt")
        var strict = rubric
        strict.threshold = 0.8
        let below = await graded(strict, "Sure.", judge: FakeJudge(#"{"reason": "Polite enough", "pass": true, "score": 0.6}"#))
        #expect(!below.pass)
        #expect(below.reason == "Polite enough (score 0.60 < threshold 0.80)")
        let above = await graded(strict, "Sure.", judge: FakeJudge(#"{"reason": "Very polite", "pass": true, "score": 0.85}"#))
        #expect(above.pass)
        // The judge's fail is not overridden by a score above the threshold.
        let judgedFail = await graded(strict, "Sure.", judge: FakeJudge(#"{"reason": "x", "pass": "no", "score": 0.9}"#))
        #expect(!judgedFail.pass)
    }

    @Test("without pass the score decides (0.5, or the threshold); pass alone scores 1 or 0")
    func missingFields() async {
        #expect(!(await graded(rubric, "x", judge: FakeJudge(#"{"score": 0.2}"#))).pass)
        #expect(await graded(rubric, "x", judge: FakeJudge(#"{"score": 0.7}"#)).pass)
        let passOnly = await graded(rubric, "x", judge: FakeJudge(#"{"pass": "yes"}"#))
        #expect(passOnly.pass && passOnly.score == 1 && passOnly.reason == "The judge passed the output")
    }

    @Test("verdicts judges write instead of the asked-for JSON: PASS/FAIL lines, score lines, other JSON keys")
    func verdictForms() async {
        let passLine = await graded(rubric, "x", judge: FakeJudge("The reply thanks the user and answers.\n\n**PASS**"))
        #expect(passLine.pass && !passLine.isError && passLine.score == 1)
        #expect(passLine.reason == "The reply thanks the user and answers.")
        let failFirst = await graded(rubric, "x", judge: FakeJudge("FAIL: the reply insults the user."))
        #expect(!failFirst.pass && !failFirst.isError && failFirst.score == 0 && failFirst.reason == "the reply insults the user.")
        let labelled = await graded(rubric, "x", judge: FakeJudge("Reasoning: curt but correct.\nVerdict: fail"))
        #expect(!labelled.pass && !labelled.isError)
        let scoreLine = await graded(rubric, "x", judge: FakeJudge("Polite throughout.\nScore: 8/10"))
        #expect(scoreLine.pass && close(scoreLine.score, 0.8) && scoreLine.reason == "Polite throughout.")
        let lowScore = await graded(rubric, "x", judge: FakeJudge("### Rating: 3 out of 10\nRude."))
        #expect(!lowScore.pass && !lowScore.isError && close(lowScore.score, 0.3))
        let both = await graded(rubric, "x", judge: FakeJudge("Score: 0.4\nPASS - polite, if brief"))
        #expect(both.pass && close(both.score, 0.4) && both.reason == "polite, if brief", "the judge's PASS decides without a threshold")
        let otherKeys = await graded(rubric, "x", judge: FakeJudge("```json\n{\"verdict\": \"FAIL\", \"reasoning\": \"Too curt\"}\n```"))
        #expect(!otherKeys.pass && !otherKeys.isError && otherKeys.reason == "Too curt")
        let prose = await graded(rubric, "x", judge: FakeJudge("Pass the salt, said the reply."))
        #expect(prose.isError, "a sentence that opens with 'Pass' is not a verdict")
    }

    @Test("not-llm-rubric inverts pass and score")
    func negated() async {
        let result = await graded(
            spec("not-llm-rubric", "Speaks like a pirate"), "Good day.",
            judge: FakeJudge(#"{"reason": "No pirate talk", "pass": false, "score": 0.1}"#))
        #expect(result.pass && close(result.score, 0.9) && result.type == "not-llm-rubric")
    }

    @Test("answers that cannot be read are errors that keep the call's usage, and stay errors under not-")
    func parseFailures() async {
        let prose = await graded(rubric, "x", judge: FakeJudge("I think it is quite polite."))
        #expect(prose.isError && !prose.pass)
        #expect(
            prose.reason
                == "the judge's answer has no JSON object with `pass` or `score`, nor a PASS/FAIL or score line: \"I think it is quite polite.\"")
        #expect(prose.gradingCost == 0.001 && prose.gradingTraceIDs == ["judge-1"])
        let badScore = await graded(rubric, "x", judge: FakeJudge(#"{"pass": true, "score": "high"}"#))
        #expect(badScore.isError && badScore.reason == "the judge's `score` is high, not a number")
        let negated = await graded(spec("not-llm-rubric", "x"), "x", judge: FakeJudge("no json"))
        #expect(negated.isError && !negated.pass)
        let empty = await graded(rubric, "x", judge: FakeJudge("  \n"))
        #expect(empty.isError && empty.reason.contains("returned an empty answer"))
        let missingRubric = await graded(spec("llm-rubric"), "x", judge: FakeJudge())
        #expect(missingRubric.isError && missingRubric.reason.contains("needs the rubric"))
    }

    @Test("a missing grader names what to configure; provider ids and configs reach the request")
    func graderResolution() async throws {
        let none = await graded(rubric, "x", judge: FakeJudge(), defaultModel: nil)
        #expect(none.isError)
        #expect(none.reason == "no grading model is configured: set `provider` on the assertion, or a default grader for the run")
        let noClient = await graded(rubric, "x", judge: nil)
        #expect(noClient.isError && noClient.reason == "no model client is configured to call the grading model judge-model")

        let judge = FakeJudge(#"{"pass": true, "score": 1}"#, #"{"pass": true, "score": 1}"#)
        var named = rubric
        named.provider = "openai:gpt-4o-mini"
        #expect(await graded(named, "x", judge: judge, defaultModel: nil).pass)
        named.provider = ["id": "strict-judge", "config": ["temperature": 0.3, "max_tokens": 200]]
        #expect(await graded(named, "x", judge: judge).pass)
        let requests = await judge.requests
        #expect(requests.map(\.model) == ["openai:gpt-4o-mini", "strict-judge"])
        #expect(requests.map(\.temperature) == [0, 0.3])
        #expect(requests[1].maxTokens == 200)

        named.provider = ["config": ["temperature": 0]]
        let noID = await graded(named, "x", judge: FakeJudge())
        #expect(noID.isError && noID.reason == "`provider` must have a string `id`")
    }

    @Test("transient judge errors are retried; others become errors naming the judge")
    func retries() async {
        let attempts = Counter()
        let flaky = FakeJudge(replies: [
            { _ in
                attempts.add(); throw CompletionError("503 overloaded", retryable: true)
            },
            { _ in
                attempts.add(); return #"{"pass": true, "score": 1}"#
            },
        ])
        let result = await graded(rubric, "x", judge: flaky)
        #expect(result.pass && attempts.value == 2)
        let broken = FakeJudge(replies: [{ _ in throw CompletionError("400 unknown model", retryable: false) }])
        let failed = await graded(rubric, "x", judge: broken)
        #expect(failed.isError)
        #expect(failed.reason == "the judge call to judge-model failed (tern-judge-llm-rubric (built-in)): 400 unknown model")
    }
}

/// Results collected from `onResult` callbacks.
final class ResultLog: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [ExperimentCellResult] = []
    func append(_ result: ExperimentCellResult) { lock.withLock { results.append(result) } }
    var all: [ExperimentCellResult] { lock.withLock { results } }
}

/// A thread-safe call counter for reply closures.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

@Suite("Judge prompts")
struct JudgePromptTests {
    @Test("every built-in judge prompt is a valid chat prompt under a valid, stable name")
    func builtIns() throws {
        let versions = JudgePrompts.defaultVersions(projectID: "proj", author: "seed")
        #expect(versions.map(\.name) == JudgePrompts.names)
        #expect(JudgePrompts.names.allSatisfy { $0.hasPrefix("tern-judge-") })
        for version in versions {
            try Validate.promptName(version.name)
            try version.validate()
            #expect(version.kind == .chat && version.config.temperature == 0 && version.projectID == "proj")
        }
        #expect(versions.first { $0.name == JudgePrompts.llmRubric }?.variables == ["output", "rubric"])
        #expect(versions.first { $0.name == JudgePrompts.gEval }?.variables == ["maxScore", "criteria", "steps", "input", "output"])
        #expect(JudgePrompts.defaultVersion(named: "tern-judge-nope") == nil)
    }

    @Test("rubricPrompt replaces the judge prompt: a text prompt with test vars, or a message list as JSON text")
    func rubricPromptOverride() async throws {
        var custom = spec("llm-rubric", "is age-appropriate")
        custom.rubricPrompt = "Grade this for {{ audience }}: {{output}}\nRubric: {{rubric}}\nAnswer JSON {pass, score, reason}."
        let judge = FakeJudge(#"{"pass": true, "score": 1, "reason": "fine"}"#, #"{"pass": false, "score": 0, "reason": "no"}"#)
        #expect(await graded(custom, "Once upon a time", judge: judge, vars: ["audience": "children"]).pass)
        custom.rubricPrompt = .string(#"[{"role": "system", "content": "Be strict."}, {"role": "user", "content": "{{output}} / {{rubric}}"}]"#)
        #expect(!(await graded(custom, "Once upon a time", judge: judge)).pass)
        let requests = await judge.requests
        #expect(
            requests[0].messages == [
                PromptMessage(
                    role: "user",
                    content:
                        "Grade this for children: Once upon a time\nRubric: is age-appropriate\nAnswer JSON {pass, score, reason}.")
            ])
        #expect(
            requests[1].messages == [
                PromptMessage(role: "system", content: "Be strict."),
                PromptMessage(role: "user", content: "Once upon a time / is age-appropriate"),
            ])
        #expect(requests.allSatisfy { $0.temperature == 0 })

        var whole = AssertionSpec(type: "llm-rubric", rubricPrompt: "Is {{output}} a greeting? JSON {pass, score}")
        let greeting = FakeJudge(#"{"pass": true, "score": 1}"#)
        #expect(await graded(whole, "Hello", judge: greeting).pass, "the rubric may live in rubricPrompt alone")
        #expect(await greeting.shown(0) == "Is Hello a greeting? JSON {pass, score}")
        whole.rubricPrompt = nil
        #expect(await graded(whole, "Hello", judge: FakeJudge()).isError)

        custom.rubricPrompt = "Grade {{ouput}}"
        let typo = await graded(custom, "x", judge: FakeJudge())
        #expect(typo.isError)
        #expect(typo.reason == "judge prompt rubricPrompt uses {{ouput}}, which is neither a judge variable (output, rubric) nor a variable of the test")
        custom.rubricPrompt = [["role": "user"]]
        #expect(await graded(custom, "x", judge: FakeJudge()).reason == "`rubricPrompt[0]` must be a message {role, content} with string values")
        custom.rubricPrompt = ["grade": "x"]
        #expect(await graded(custom, "x", judge: FakeJudge()).reason == "`rubricPrompt` must be a string or a list of messages, got an object")
    }

    @Test("a registry override replaces a built-in prompt by name, with its model settings")
    func registryOverride() async throws {
        let override = PromptVersion(
            projectID: "p", name: JudgePrompts.llmRubric, version: 3, kind: .chat,
            messages: [PromptMessage(role: "user", content: "Output: {{output}}\nRubric: {{rubric}}\nJSON please.")],
            variables: ["output", "rubric"], config: PromptModelConfig(model: "house-judge", maxTokens: 50),
            author: "me", createdAt: Date())
        let prompts = JudgePrompts(overrides: [JudgePrompts.llmRubric: override])
        #expect(prompts.prompt(named: JudgePrompts.llmRubric)?.label == "tern-judge-llm-rubric v3")
        #expect(prompts.prompt(named: JudgePrompts.factuality)?.label == "tern-judge-factuality (built-in)")
        let judge = FakeJudge(#"{"pass": true, "score": 1}"#)
        #expect(await graded(spec("llm-rubric", "short"), "ok", judge: judge, prompts: prompts).pass)
        let request = try #require(await judge.requests.first)
        #expect(request.messages == [PromptMessage(role: "user", content: "Output: ok\nRubric: short\nJSON please.")])
        #expect(request.model == "house-judge", "the prompt's model is the judge when the assertion names none")
        #expect(request.maxTokens == 50 && request.temperature == 0)
    }
}

@Suite("g-eval")
struct GEvalTests {
    @Test("steps from the criteria, then a 0-10 score normalised; the threshold defaults to 0.7")
    func twoCalls() async throws {
        let judge = FakeJudge(
            #"{"steps": ["Check the facts", "Check the structure"]}"#,
            "```json\n{\"reason\": \"Accurate, well organised\", \"score\": 8}\n```")
        let result = await graded(spec("g-eval", "Accurate and well structured"), "Paris is the capital.", judge: judge)
        #expect(result.pass && close(result.score, 0.8))
        #expect(result.reason == "Score 0.80 ≥ threshold 0.70: Accurate, well organised")
        let requests = await judge.requests
        try #require(requests.count == 2)
        #expect(await judge.shown(0).contains("Criteria:\nAccurate and well structured"))
        let second = await judge.shown(1)
        #expect(second.contains("- Check the facts\n- Check the structure"))
        #expect(second.contains("Reply to evaluate:\nParis is the capital."))
        #expect(second.contains("The request the reply answers:\nWhat is the capital of France?"))
        #expect(second.contains("from 0 to 10"))
        #expect(requests.allSatisfy { $0.temperature == 0 })
        #expect(result.gradingTokens == EvaluationTokenCounts(input: 200, output: 20))
        #expect(result.gradingTraceIDs == ["judge-1", "judge-2"])
    }

    @Test("a list of criteria is graded one by one and averaged; thresholds and bad scores")
    func listsAndFailures() async {
        let judge = FakeJudge(
            "1. Read it\n2. Judge tone", #"{"score": "9", "reason": "Warm"}"#, #"{"steps": ["Count words"]}"#, #"{"score": 4, "reason": "Long"}"#)
        let result = await graded(spec("g-eval", ["Friendly tone", "Concise"]), "Hello there!", judge: judge)
        #expect(close(result.score, 0.65) && !result.pass)
        #expect(result.reason == "Score 0.65 < threshold 0.70: \"Friendly tone\" 0.90: Warm; \"Concise\" 0.40: Long")
        let lenient = await graded(spec("g-eval", "Concise", threshold: 0.3), "x", judge: FakeJudge(#"{"steps": ["a"]}"#, #"{"score": 4}"#))
        #expect(lenient.pass)
        let outOfRange = await graded(spec("g-eval", "Concise"), "x", judge: FakeJudge(#"{"steps": ["a"]}"#, #"{"score": 11}"#))
        #expect(outOfRange.isError && outOfRange.reason == "the judge's score 11 is outside 0-10")
        #expect(outOfRange.gradingTraceIDs == ["judge-1", "judge-2"])
        let noSteps = await graded(spec("g-eval", "Concise"), "x", judge: FakeJudge(#"{"steps": []}"#))
        #expect(noSteps.isError && noSteps.reason.hasPrefix("the judge proposed no evaluation steps"))
    }

    @Test("a score line stands in for the JSON answer: bare numbers out of 10, fractions as ratios")
    func scoreLines() async {
        let bare = await graded(spec("g-eval", "Concise"), "x", judge: FakeJudge(#"{"steps": ["a"]}"#, "Short and to the point.\nScore: 9"))
        #expect(bare.pass && close(bare.score, 0.9) && bare.reason == "Score 0.90 ≥ threshold 0.70: Short and to the point.")
        let one = await graded(spec("g-eval", "Concise"), "x", judge: FakeJudge(#"{"steps": ["a"]}"#, "Final score: 1"))
        #expect(!one.pass && close(one.score, 0.1), "a bare 1 is one out of 10 here")
        let fraction = await graded(spec("g-eval", "Concise"), "x", judge: FakeJudge(#"{"steps": ["a"]}"#, "Rating: 3/5"))
        #expect(close(fraction.score, 0.6))
        let none = await graded(spec("g-eval", "Concise"), "x", judge: FakeJudge(#"{"steps": ["a"]}"#, "Looks fine."))
        #expect(none.isError && none.reason.contains("nor a score line"))
    }

    @Test("rubricPrompt as {steps, evaluate} replaces each step; a plain one replaces the scoring step")
    func stepOverrides() async throws {
        var custom = spec("g-eval", "Concise")
        custom.rubricPrompt = ["steps": "List steps for {{criteria}} as JSON {\"steps\": []}", "evaluate": "Score {{output}} 0-{{maxScore}} by {{steps}}"]
        let judge = FakeJudge(#"{"steps": ["a"]}"#, #"{"score": 10}"#, #"{"steps": ["b"]}"#, #"{"score": 10}"#)
        #expect(await graded(custom, "Yes.", judge: judge).pass)
        custom.rubricPrompt = "Score {{output}}"
        #expect(await graded(custom, "No.", judge: judge).pass)
        let shown = await [judge.shown(0), judge.shown(1), judge.shown(3)]
        #expect(shown[0] == "List steps for Concise as JSON {\"steps\": []}")
        #expect(shown[1] == "Score Yes. 0-10 by a")
        #expect(shown[2] == "Score No.")
        #expect(await judge.shown(2).contains("Criteria:\nConcise"), "the steps prompt stays the built-in one")
        custom.rubricPrompt = ["score": "x"]
        let unknown = await graded(custom, "x", judge: FakeJudge())
        #expect(unknown.reason == "`rubricPrompt.score` is not a step of g-eval; expected steps, evaluate")
    }
}

@Suite("factuality")
struct FactualityTests {
    @Test("categories map to scores; D fails; the prompt shows question, reference and output")
    func categories() async throws {
        let judge = FakeJudge(#"{"category": "B", "reason": "Adds the population"}"#)
        let result = await graded(spec("factuality", "Paris is the capital of France"), "Paris, population 2.1 million.", judge: judge)
        #expect(result.pass && result.score == 1)
        #expect(result.reason == "(B) the output is a superset of the reference and consistent with it: Adds the population")
        let shown = await judge.shown(0)
        #expect(shown.contains("Question:\nWhat is the capital of France?"))
        #expect(shown.contains("Expert answer:\nParis is the capital of France"))
        #expect(shown.contains("Submitted answer:\nParis, population 2.1 million."))
        let disagree = await graded(spec("factuality", "Paris"), "Lyon", judge: FakeJudge("(D) The submission names Lyon."))
        #expect(!disagree.pass && disagree.score == 0)
        #expect(disagree.reason == "(D) the output and the reference disagree: The submission names Lyon.")
    }

    @Test("config sets category scores (directly or under factuality); a threshold then decides")
    func configuredScores() async {
        let partial = spec("factuality", "Paris", config: ["subset": 0.4, "differButFactual": 0])
        let subset = await graded(partial, "Paris", judge: FakeJudge(#"{"category": "a"}"#))
        #expect(subset.pass && close(subset.score, 0.4), "a score above 0 passes")
        #expect(subset.reason == "(A) the output is a subset of the reference and consistent with it")
        #expect(!(await graded(partial, "Paris", judge: FakeJudge("Category: E"))).pass)
        var strict = spec("factuality", "Paris", config: ["factuality": ["subset": 0.4]])
        strict.threshold = 0.5
        #expect(!(await graded(strict, "Paris", judge: FakeJudge(#"{"category": "(A)"}"#))).pass)
        let invalid = await graded(spec("factuality", "Paris", config: ["agree": 2]), "Paris", judge: FakeJudge())
        #expect(invalid.isError && invalid.reason == "`config.agree` must be a number from 0 to 1")
    }

    @Test("the reference falls back to the expected output; unknown categories are errors")
    func referenceAndErrors() async {
        let judge = FakeJudge(#"{"category": "C"}"#)
        #expect(await graded(spec("factuality"), "Paris", judge: judge, expected: "Paris").pass)
        #expect(await judge.shown(0).contains("Expert answer:\nParis"))
        let bad = await graded(spec("factuality", "Paris"), "x", judge: FakeJudge(#"{"category": "Z"}"#))
        #expect(bad.isError && bad.reason == "the judge's category \"Z\" is not one of A-E")
        let none = await graded(spec("factuality", "Paris"), "x", judge: FakeJudge("They look similar to me."))
        #expect(none.isError && none.reason.hasPrefix("the judge's answer names no category A-E"))
        let missing = await graded(spec("factuality"), "x", judge: FakeJudge())
        #expect(missing.isError && missing.reason == "`value` is missing and the test case has no expected output")
    }
}

@Suite("model-graded-closedqa")
struct ClosedQATests {
    @Test("the last line decides: Y passes, N fails, anything else is an error")
    func verdicts() async throws {
        let judge = FakeJudge("The answer names Paris.\nThat meets the criterion.\nY", "It mentions no city.\n**N**")
        let criterion = spec("model-graded-closedqa", "names a city")
        let yes = await graded(criterion, "Paris", judge: judge)
        #expect(yes.pass && yes.score == 1 && yes.reason == "Meets the criterion: The answer names Paris.\nThat meets the criterion.")
        let no = await graded(criterion, "A nice place", judge: judge)
        #expect(!no.pass && no.score == 0 && no.reason == "Does not meet the criterion: It mentions no city.")
        let shown = await judge.shown(0)
        #expect(shown.contains("Criterion:\nnames a city") && shown.contains("Submitted answer:\nParis") && shown.contains("Task:\nWhat is the capital"))
        let unclear = await graded(criterion, "x", judge: FakeJudge("Probably yes, mostly."))
        #expect(unclear.isError && unclear.reason.hasPrefix("the judge's answer does not end with Y or N"))
        #expect(await graded(spec("not-model-graded-closedqa", "names a city"), "x", judge: FakeJudge("Reasoning\nN\nN")).pass)
    }
}

@Suite("answer-relevance")
struct AnswerRelevanceTests {
    static let embedder = FakeEmbedder(vectors: [
        "What is the capital of France?": [1, 0],
        "Which city is France's capital?": [1, 0],
        "Where is the Eiffel Tower?": [0.6, 0.8],
        "How do I bake bread?": [0, 1],
    ])

    @Test("questions from the judge, compared with the query by cosine similarity; threshold 0.7 by default")
    func relevance() async throws {
        let judge = FakeJudge(#"{"questions": ["Which city is France's capital?", "Where is the Eiffel Tower?", "What is the capital of France?"]}"#)
        let result = await graded(
            spec("answer-relevance"), "Paris is the capital.", judge: judge, embedder: Self.embedder,
            vars: ["query": "What is the capital of France?"])
        // cosines 1, 0.6, 1: mean 0.8667
        #expect(result.pass && close(result.score, 2.6 / 3, tolerance: 1e-6))
        #expect(result.reason.hasPrefix("Relevance 0.87 ≥ threshold 0.70; questions the output answers: \"Which city is France's capital?\" 1.00"))
        #expect(await judge.shown(0).contains("write 3 different questions"))
        #expect(await judge.shown(0).contains("Answer:\nParis is the capital."))

        let offTopic = FakeJudge("1. How do I bake bread?\n2. Where is the Eiffel Tower?")
        let poor = await graded(
            spec("answer-relevance", config: ["questions": 2]), "Knead the dough.", judge: offTopic,
            embedder: Self.embedder, prompt: "What is the capital of France?")
        #expect(!poor.pass && close(poor.score, 0.3, tolerance: 1e-6), "the prompt is the query without a query variable")
        #expect(await offTopic.shown(0).contains("write 2 different questions"))
    }

    @Test("{text, embedding} names each model; a missing embedder or query is an error")
    func providers() async throws {
        let judge = FakeJudge(#"{"questions": ["What is the capital of France?"]}"#)
        var named = spec("answer-relevance")
        named.provider = ["text": ["id": "judge-b", "config": ["temperature": 0.2]], "embedding": "fake-embedding"]
        let result = await graded(named, "Paris", judge: judge, embedder: Self.embedder, vars: ["query": "What is the capital of France?"])
        #expect(result.pass && close(result.score, 1))
        #expect(await judge.requests.map(\.model) == ["judge-b"])
        #expect(await judge.requests.map(\.temperature) == [0.2])
        named.provider = ["embedding": "other-embedding"]
        let unknown = await graded(named, "Paris", judge: FakeJudge(), embedder: Self.embedder, vars: ["query": "q"])
        #expect(unknown.isError && unknown.reason == "no embedding model named other-embedding is configured (configured: fake-embedding)")
        let noEmbedder = await graded(spec("answer-relevance"), "Paris", judge: FakeJudge(), vars: ["query": "q"])
        #expect(noEmbedder.isError && noEmbedder.reason.hasPrefix("no embedding model is configured"))
        let noQuery = await graded(spec("answer-relevance"), "Paris", judge: FakeJudge(), embedder: Self.embedder, prompt: nil)
        #expect(noQuery.isError && noQuery.reason.hasPrefix("answer-relevance needs the user's query (or a prompt) in the test's `query` variable"))
    }
}

@Suite("context-faithfulness")
struct ContextFaithfulnessTests {
    let vars: [String: JSONValue] = ["query": "What are the opening hours?", "context": "The shop opens at 9 and closes at 17 on weekdays."]

    @Test("statements, then verdicts against the context: the supported share is the score")
    func supportedShare() async throws {
        let judge = FakeJudge(
            #"{"statements": ["The shop opens at 9.", "The shop closes at 17.", "The shop is open on Sundays."]}"#,
            #"{"verdicts": [{"statement": "a", "verdict": "yes"}, {"statement": "b", "verdict": "Yes"}, {"statement": "c", "reason": "Not mentioned", "verdict": "no"}]}"#
        )
        let result = await graded(spec("context-faithfulness"), "It opens at 9, closes at 17, and opens on Sundays.", judge: judge, vars: vars)
        #expect(!result.pass && close(result.score, 2.0 / 3.0))
        #expect(
            result.reason == "Faithfulness 0.67 < threshold 0.70: 2 of 3 statements supported by the context; "
                + "unsupported: \"The shop is open on Sundays.\" (Not mentioned)")
        #expect(await judge.shown(0).contains("Question:\nWhat are the opening hours?"))
        let second = await judge.shown(1)
        #expect(second.contains("Context:\nThe shop opens at 9 and closes at 17 on weekdays."))
        #expect(second.contains("1. The shop opens at 9.\n2. The shop closes at 17.\n3. The shop is open on Sundays."))
        #expect(result.gradingCost == 0.002)
    }

    @Test("config names other variables; list contexts join; text verdicts; no claims scores 1")
    func variants() async {
        let judge = FakeJudge("- Opens at 9.\n- Closes at 17.", "1. Verdict: Yes.\n2. Verdict: yes")
        let result = await graded(
            spec("context-faithfulness", threshold: 1, config: ["queryVar": "question", "contextVar": "docs"]),
            "Opens 9-17.", judge: judge, vars: ["question": "Hours?", "docs": ["Opens at 9.", "Closes at 17."]])
        #expect(result.pass && result.score == 1)
        #expect(await judge.shown(1).contains("Context:\nOpens at 9.\n\nCloses at 17."))
        let nothing = await graded(spec("context-faithfulness"), "I don't know.", judge: FakeJudge(#"{"statements": []}"#), vars: vars)
        #expect(nothing.pass && nothing.score == 1 && nothing.reason == "The output makes no claims to check against the context")
        let missing = await graded(spec("context-faithfulness"), "x", judge: FakeJudge(), vars: ["context": "c"])
        #expect(missing.isError)
        #expect(
            missing.reason == "context-faithfulness needs the user's question in the test's `query` variable (or `config.queryVar` naming another variable)")
        let noVerdicts = await graded(spec("context-faithfulness"), "x", judge: FakeJudge(#"{"statements": ["a"]}"#, "All good."), vars: vars)
        #expect(noVerdicts.isError && noVerdicts.reason.hasPrefix("the judge's answer has no verdicts"))
    }

    @Test("promptfoo's rubricPrompt form: a list of the two step prompts")
    func positionalOverride() async throws {
        var custom = spec("context-faithfulness")
        custom.rubricPrompt = ["Split {{answer}} for {{question}}", ["role": "user", "content": "Check {{statements}} in {{context}}"]]
        let judge = FakeJudge(#"["Opens at 9."]"#, #"{"verdicts": ["yes"]}"#)
        #expect(await graded(custom, "Opens at 9.", judge: judge, vars: vars).pass)
        #expect(await judge.shown(0) == "Split Opens at 9. for What are the opening hours?")
        #expect(await judge.shown(1) == "Check 1. Opens at 9. in The shop opens at 9 and closes at 17 on weekdays.")
    }
}

@Suite("similar")
struct SimilarTests {
    static let embedder = FakeEmbedder(vectors: [
        "The cat sat.": [1, 0, 0],
        "A cat was sitting.": [0.9, 0.435_889_9, 0],
        "Stocks fell today.": [0, 0, 1],
        "Dogs bark.": [0, 1, 0],
    ])

    @Test("cosine similarity against the reference; threshold 0.75 by default; not-similar")
    func similarity() async {
        let close_ = await graded(spec("similar", "A cat was sitting."), "The cat sat.", judge: nil, embedder: Self.embedder)
        #expect(close_.pass && close(close_.score, 0.9, tolerance: 1e-6) && close_.reason == "Similarity 0.90 ≥ threshold 0.75")
        let far = await graded(spec("similar", "Stocks fell today."), "The cat sat.", judge: nil, embedder: Self.embedder)
        #expect(!far.pass && far.score == 0 && far.reason == "Similarity 0.00 < threshold 0.75")
        #expect(!(await graded(spec("similar", "A cat was sitting.", threshold: 0.95), "The cat sat.", judge: nil, embedder: Self.embedder)).pass)
        let unlike = await graded(spec("not-similar", "Stocks fell today."), "The cat sat.", judge: nil, embedder: Self.embedder)
        #expect(unlike.pass && unlike.score == 1)
        #expect(!(await graded(spec("not-similar", "A cat was sitting."), "The cat sat.", judge: nil, embedder: Self.embedder)).pass)
    }

    @Test("a list of references: the closest counts; not-similar must be unlike all of them")
    func references() async {
        let any = await graded(spec("similar", ["Dogs bark.", "A cat was sitting."]), "The cat sat.", judge: nil, embedder: Self.embedder)
        #expect(any.pass && any.reason == "Similarity 0.90 ≥ threshold 0.75 (closest: reference 2 of 2)")
        #expect(!(await graded(spec("not-similar", ["Dogs bark.", "A cat was sitting."]), "The cat sat.", judge: nil, embedder: Self.embedder)).pass)
        #expect(await graded(spec("not-similar", ["Dogs bark.", "Stocks fell today."]), "The cat sat.", judge: nil, embedder: Self.embedder).pass)
        #expect(await graded(spec("similar"), "The cat sat.", judge: nil, embedder: Self.embedder, expected: "A cat was sitting.").pass)
    }

    @Test("embedding failures and a missing embedder are errors")
    func errors() async {
        let unknown = await graded(spec("similar", "Never seen"), "The cat sat.", judge: nil, embedder: Self.embedder)
        #expect(unknown.isError && unknown.reason == "the embedding model fake-embedding failed: no vector for \"Never seen\"")
        let missing = await graded(spec("similar", "x"), "y", judge: nil)
        #expect(missing.isError && missing.reason == "no embedding model is configured: set `provider` on the assertion, or a default grader for the run")
        var named = spec("similar", "A cat was sitting.")
        named.provider = "fake-embedding"
        #expect(await graded(named, "The cat sat.", judge: nil, embedder: Self.embedder).pass)
    }
}

@Suite("select-best and rows")
struct SelectBestTests {
    static let outputs = ["Bananas are yellow.", "Why did the banana go to the doctor? It wasn't peeling well.", "Bananas grow in bunches."]
    static func row(_ outputs: [String] = outputs) -> [EvaluationCase] {
        outputs.map { EvaluationCase(output: $0, vars: ["topic": "bananas"], prompt: "Write a tweet about bananas") }
    }

    @Test("listwise: one call shows every output; the chosen one passes, the others fail; usage is counted once")
    func listwise() async throws {
        let judge = FakeJudge(#"{"reason": "It has a joke", "best": 1}"#)
        let registry = gradingRegistry(judge)
        let specs = [spec("select-best", "the funniest tweet about {{topic}}"), spec("icontains", "banana")]
        #expect(registry.needsRow(specs) && !registry.needsRow([spec("contains", "x")]))
        let tests = await registry.evaluateRow(specs: specs, inputs: Self.row())
        try #require(tests.count == 3)
        #expect(tests.map(\.pass) == [false, true, false])
        #expect(tests.map { $0.components[0].score } == [0, 1, 0])
        #expect(tests[1].components[0].reason == "Selected as the best of 3 outputs: It has a joke")
        #expect(tests[0].components[0].reason == "Not selected: output 2 of 3 was preferred: It has a joke")
        #expect(tests.allSatisfy { $0.components[1].type == "icontains" && $0.components[1].pass })
        let requests = await judge.requests
        try #require(requests.count == 1)
        let shown = await judge.shown(0)
        #expect(shown.contains("Criteria:\nthe funniest tweet about bananas"))
        #expect(shown.contains("<text index=\"1\">\nWhy did the banana go to the doctor? It wasn't peeling well.\n</text>"))
        #expect(shown.contains("<text index=\"2\">\nBananas grow in bunches.\n</text>"))
        #expect(requests[0].temperature == 0)
        #expect(tests.compactMap(\.gradingCost).reduce(0, +) == 0.001, "one call, counted once over the row")
        #expect(tests.map(\.gradingTraceIDs) == [["judge-1"], ["judge-1"], ["judge-1"]])
    }

    @Test("pairwise: a knockout of n-1 two-output calls")
    func pairwise() async throws {
        // The judge prefers the longer text of each pair.
        let longer: FakeJudge.Reply = { request in
            let text = request.messages.map(\.content).joined()
            let first = Self.outputs.firstIndex { text.contains("<text index=\"0\">\n\($0)\n") }!
            let second = Self.outputs.firstIndex { text.contains("<text index=\"1\">\n\($0)\n") }!
            return "Text \(Self.outputs[first].count >= Self.outputs[second].count ? 0 : 1) is better."
        }
        let judge = FakeJudge(replies: [longer, longer])
        let tests = await gradingRegistry(judge).evaluateRow(
            specs: [spec("select-best", "the longest", config: ["mode": "pairwise"])], inputs: Self.row())
        #expect(tests.map(\.pass) == [false, true, false])
        #expect(await judge.requests.count == 2)
        #expect(tests[0].gradingCost == 0.002 && tests[1].gradingCost == nil)
    }

    @Test("bad choices, single outputs and select-best outside a row are errors")
    func errors() async {
        let outOfRange = await gradingRegistry(FakeJudge(#"{"best": 3}"#)).evaluateRow(specs: [spec("select-best", "best")], inputs: Self.row())
        #expect(outOfRange.allSatisfy { $0.isError && $0.reason == "assert[0] (select-best): the judge chose text 3, but there are 3 (0-2)" })
        #expect(outOfRange[0].gradingCost == 0.001)
        let alone = await gradingRegistry(FakeJudge()).evaluateRow(specs: [spec("select-best", "best")], inputs: Self.row(["only one"]))
        #expect(alone[0].isError && alone[0].reason.hasSuffix("needs at least two; this row has 1"))
        let single = await gradingRegistry(FakeJudge()).evaluate(spec("select-best", "best"), input: EvaluationCase(output: "x"))
        #expect(single.isError && single.reason.hasPrefix("select-best compares all the outputs of a test row"))
        let bare = await gradingRegistry(FakeJudge("I'd go with 0, it is clearer.")).evaluateRow(
            specs: [spec("select-best", "clear")],
            inputs: Self.row())
        #expect(bare.map(\.pass) == [true, false, false])
        #expect(gradingRegistry(nil).knownTypes.contains("select-best"))
    }

    @Test("an experiment evaluates select-best once per row (item and repetition), over its prompts x models")
    func experimentRows() async throws {
        // The judge picks the text in capitals (model "good" answers in capitals, "bad" echoes).
        let judge = FakeJudge { request in
            let text = request.messages.map(\.content).joined()
            return text.contains("<text index=\"0\">\nHELLO") ? #"{"best": 0}"# : #"{"best": 1}"#
        }
        let plan = ExperimentPlan(
            items: ExperimentTests.items(2), prompts: [ExperimentTests.prompt], models: ["bad", "good"], repeats: 2,
            assertions: [spec("select-best", "the answer in capitals")])
        let seen = Counter()
        let results = ResultLog()
        let summary = try await ExperimentRunner.run(
            plan, client: FakeModel(), registry: gradingRegistry(judge),
            options: ExperimentOptions(concurrency: 3)
        ) { result in
            seen.add()
            results.append(result)
        }
        #expect(summary.cells == 8 && seen.value == 8)
        #expect(summary.passed == 4 && summary.failed == 4 && summary.errors == 0)
        #expect(results.all.allSatisfy { $0.passed == ($0.model == "good") })
        #expect(await judge.requests.count == 4, "one judge call a row: 2 items x 2 repetitions")
        #expect(close(summary.gradingCost, 0.004))
    }

    @Test("a row without row types is the same as evaluating each output alone")
    func plainRows() async {
        let registry = gradingRegistry(nil)
        let specs = [spec("contains", "yellow"), spec("icontains", "banana")]
        let rows = await registry.evaluateRow(specs: specs, threshold: 0.5, inputs: Self.row())
        var alone: [AssertionResult] = []
        for input in Self.row() { alone.append(await registry.evaluate(specs: specs, threshold: 0.5, input: input)) }
        #expect(rows == alone)
    }
}

@Suite("Grading cost")
struct GradingCostTests {
    @Test("tests and sets sum their judges' tokens, cost and trace ids; deterministic results carry none")
    func sums() async throws {
        // The three judge calls run concurrently: answer by what is asked.
        let judge = FakeJudge { request in
            let text = request.messages.map(\.content).joined()
            if text.contains("<rubric>") { return #"{"pass": true, "score": 1}"# }
            return text.contains("Evaluation steps:") ? #"{"score": 9}"# : #"{"steps": ["a"]}"#
        }
        let registry = gradingRegistry(judge)
        let specs = [
            spec("contains", "Paris"),
            AssertionSpec.set([spec("llm-rubric", "polite"), spec("g-eval", "clear")]),
        ]
        let result = await registry.evaluate(specs: specs, input: EvaluationCase(output: "Paris", prompt: "Capital?"))
        #expect(result.pass)
        #expect(result.gradingTokens == EvaluationTokenCounts(input: 300, output: 30))
        #expect(close(result.gradingCost ?? 0, 0.003))
        #expect(result.gradingTraceIDs.sorted() == ["judge-1", "judge-2", "judge-3"])
        #expect(result.components[0].gradingTokens == nil && result.components[0].gradingCost == nil)
        #expect(close(result.components[1].gradingCost ?? 0, 0.003))
    }

    @Test("grading fields encode only when present and round-trip")
    func coding() throws {
        let plain = AssertionResult(type: "contains", pass: true, score: 1, reason: "ok")
        let plainJSON = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
        #expect(!plainJSON.contains("grading"))
        let judged = AssertionResult(
            type: "llm-rubric", pass: true, score: 0.5, reason: "r",
            gradingTokens: EvaluationTokenCounts(input: 3, output: 4), gradingCost: 0.25, gradingTraceIDs: ["t1"])
        let data = try JSONEncoder().encode(judged)
        #expect(try JSONDecoder().decode(AssertionResult.self, from: data) == judged)
        #expect(String(decoding: data, as: UTF8.self).contains(#""gradingTraceIDs":["t1"]"#))
    }

    @Test("an experiment's summary adds up the grading cost apart from the models' cost")
    func experimentSummary() async throws {
        let judge = FakeJudge { _ in #"{"pass": true, "score": 1}"# }
        let plan = ExperimentPlan(
            items: ExperimentTests.items(2), prompts: [ExperimentTests.prompt], models: ["good", "bad"],
            assertions: [spec("llm-rubric", "shouts")])
        let summary = try await ExperimentRunner.run(plan, client: FakeModel(), registry: gradingRegistry(judge)) { _ in }
        #expect(summary.cells == 4 && summary.passed == 4)
        #expect(close(summary.cost, 0.004) && close(summary.gradingCost, 0.004))
        #expect(summary.gradingInputTokens == 400 && summary.gradingOutputTokens == 40)
    }
}

@Suite("Judge answers")
struct JudgeAnswerTests {
    @Test("numbers, booleans, lists and indexes are read leniently")
    func lenientReading() {
        #expect(JudgeAnswers.number("8/10") == 0.8 && JudgeAnswers.number("80%") == 0.8 && JudgeAnswers.number(" 0.5 ") == 0.5)
        #expect(JudgeAnswers.number("high") == nil && JudgeAnswers.number(.bool(true)) == nil)
        #expect(JudgeAnswers.bool("PASS") == true && JudgeAnswers.bool(0) == false && JudgeAnswers.bool("maybe") == nil)
        #expect(JudgeAnswers.lines("```\n1. First\n2) Second\n- Third\n\n• Fourth\n```") == ["First", "Second", "Third", "Fourth"])
        #expect(JudgeAnswers.list(in: #"Sure: {"questions": ["a?", "b?"]} done"#, key: "questions") == ["a?", "b?"])
        #expect(JudgeAnswers.list(in: #"{"questions": "a?"}"#, key: "questions") == nil)
        #expect(JudgeAnswers.firstInteger(in: "gpt4 thinks text 12 wins") == 12)
        #expect(JudgeAnswers.firstInteger(in: "score 0.5 then 2") == 0)
        #expect(JudgeAnswers.firstInteger(in: "none") == nil)
        #expect(JudgeAnswers.object(in: #"[{"a": 1}, {"pass": true}]"#, withAnyOf: ["pass"])?["pass"] == .bool(true))
    }

    @Test("plain verdicts: PASS/FAIL lines and score lines in their common spellings; prose is not one")
    func plainVerdicts() {
        func read(_ text: String, scale: Double? = nil) -> JudgeAnswers.PlainVerdict? { JudgeAnswers.plainVerdict(in: text, bareScale: scale) }
        #expect(read("PASS")?.pass == true && read("Fail.")?.pass == false && read("> **Passed**")?.pass == true)
        #expect(read("Result - failed")?.pass == false && read("Final verdict: Yes")?.pass == true && read("Verdict is PASS")?.pass == true)
        #expect(read("FAIL — it rambles")?.reason == "it rambles")
        #expect(read("Score: 80%")?.score == 0.8 && read("score = 7 out of 10")?.score == 0.7 && read("Rating: 0.25")?.score == 0.25)
        #expect(read("Score: 7")?.score == 0.7 && read("Score: 70")?.score == 0.7 && read("Score: 700") == nil)
        #expect(read("Score: 7", scale: 5) == nil && read("Score: 4", scale: 5)?.score == 0.8)
        #expect(read("It passed the test of time.") == nil && read("Failed to load") == nil && read("The score is high") == nil)
        #expect(read("Why?\nBecause.\nPASS")?.reason == "Why? Because.")
        #expect(read("PASS\nFAIL")?.pass == false, "the last verdict line counts")
    }
}
