import Foundation
import Testing
import TernCore
@testable import TernEval

// Test-level semantics from promptfoo's src/assertions/assertionsResult.ts and
// https://promptfoo.dev/docs/configuration/expected-outputs/ (weights, thresholds, assert-set).

@Suite struct RegistryTests {
    let input = EvaluationCase(output: "The capital of France is Paris.")

    @Test func allPassingAndFirstFailure() async {
        let all = await registry.evaluate(specs: [spec("contains", "Paris"), spec("starts-with", "The")], input: input)
        #expect(all.pass && all.score == 1 && all.type == "test")
        #expect(all.reason == "All assertions passed")
        #expect(all.components.map(\.type) == ["contains", "starts-with"])

        let failing = await registry.evaluate(specs: [spec("contains", "Paris"), spec("contains", "Lyon"), spec("regex", "^X")], input: input)
        #expect(!failing.pass)
        #expect(close(failing.score, 1.0 / 3.0))
        #expect(failing.reason == "assert[1] (contains): Output does not contain \"Lyon\"")
    }

    @Test func weightedScorePassesThresholdWhileOneAssertionFails() async {
        // weights 3 and 1: score (3·1 + 1·0) / 4 = 0.75 ≥ 0.7, so the test passes although `contains Lyon` fails.
        let specs = [spec("contains", "Paris", weight: 3), spec("contains", "Lyon")]
        let result = await registry.evaluate(specs: specs, threshold: 0.7, input: input)
        #expect(result.pass)
        #expect(close(result.score, 0.75))
        #expect(!result.components[1].pass)
        #expect(result.reason.hasPrefix("Aggregate score 0.75 ≥ 0.70 threshold"))
        // The same assertions without a threshold: every assertion must pass.
        #expect(!(await registry.evaluate(specs: specs, input: input).pass))
        // A higher threshold fails.
        let strict = await registry.evaluate(specs: specs, threshold: 0.8, input: input)
        #expect(!strict.pass)
        #expect(strict.reason.hasPrefix("Aggregate score 0.75 < 0.80 threshold"))
        // Threshold 0 never fails on individual failures.
        #expect(await registry.evaluate(specs: [spec("contains", "Lyon")], threshold: 0, input: input).pass)
    }

    @Test func weightZeroIsAMetricOnly() async {
        let specs = [spec("contains", "Paris"), spec("contains", "Lyon", weight: 0, metric: "mentions_lyon")]
        let result = await registry.evaluate(specs: specs, input: input)
        #expect(result.pass)  // weight 0 cannot fail the test
        #expect(result.score == 1)  // and does not count in the score
        #expect(result.components[1].pass)
        #expect(result.components[1].score == 0)
        #expect(result.namedScores["mentions_lyon"] == 0)
        // Only weight-0 assertions: no weight remains, score 0 (as promptfoo).
        let onlyZero = await registry.evaluate(specs: [spec("contains", "Paris", weight: 0)], input: input)
        #expect(onlyZero.pass && onlyZero.score == 0)
    }

    @Test func namedScores() async {
        let specs = [
            spec("contains", "Paris", metric: "accuracy"),
            spec("contains", "Lyon", weight: 3, metric: "accuracy"),
            spec("latency", weight: 0, metric: "latency_ms"),
            spec("rouge-n", "the capital is paris", metric: "{{ kind }}_rouge"),
        ]
        let case_ = EvaluationCase(output: input.output, vars: ["kind": "summary"], latencyMs: 420)
        let result = await registry.evaluate(specs: specs, input: case_)
        #expect(close(result.namedScores["accuracy"] ?? -1, 0.25))  // (1·1 + 3·0) / 4
        #expect(result.namedScores["latency_ms"] == 420)  // a recorded-only measurement records its value
        #expect(result.components[3].metric == "summary_rouge")  // metric names render vars
        #expect(result.namedScores["summary_rouge"] != nil)
    }

    @Test func assertSetWithThreshold() async {
        // doc: assert-set, threshold 0.5: "50% of assertions must pass".
        let set = AssertionSpec.set(
            [
                spec("contains", "hello"), spec("not-contains", "error"), spec("is-json"), spec("contains", "Paris"),
            ], threshold: 0.5)
        let result = await registry.evaluate(specs: [set], input: input)
        #expect(result.pass)  // 2 of 4 pass
        #expect(close(result.score, 0.5))
        let setResult = result.components[0]
        #expect(setResult.type == "assert-set")
        #expect(setResult.components.count == 4)
        #expect(setResult.components.map(\.pass) == [false, true, false, true])
        #expect(setResult.reason.hasPrefix("Aggregate score 0.50 ≥ 0.50 threshold"))
    }

    @Test func assertSetWeightAndMetric() async {
        // doc: assert-set with threshold 0.25 ("1 out of 4"), weight 2, metric quality_checks.
        let set = AssertionSpec.set(
            [spec("contains", "Paris"), spec("contains", "Lyon")], threshold: 0.25, weight: 2,
            metric: "quality_checks")
        let result = await registry.evaluate(specs: [set, spec("contains", "Berlin")], input: input)
        // set score 0.5 (passes its own threshold) at weight 2, Berlin 0 at weight 1: (2·0.5 + 0) / 3.
        #expect(result.components[0].pass)
        #expect(result.components[0].weight == 2)
        #expect(close(result.score, 1.0 / 3.0))
        #expect(!result.pass)  // Berlin fails and the test has no threshold
        #expect(result.namedScores["quality_checks"] == 0.5)
        #expect(await registry.evaluate(specs: [set, spec("contains", "Berlin")], threshold: 0.3, input: input).pass)
        // Without a threshold a set needs every assertion to pass.
        let strictSet = AssertionSpec.set([spec("contains", "Paris"), spec("contains", "Lyon")])
        let strict = await registry.evaluate(specs: [strictSet], input: input)
        #expect(!strict.pass)
        #expect(strict.reason == "assert[0] (assert-set): assert[1] (contains): Output does not contain \"Lyon\"")
    }

    @Test func errorsSayWhatAndWhere() async {
        let unknown = await registry.evaluate(specs: [spec("contains", "Paris"), spec("contanis", "x")], input: input)
        #expect(!unknown.pass && unknown.isError)
        #expect(unknown.reason.hasPrefix("assert[1] (contanis): Unknown assertion type \"contanis\". Did you mean \"contains\"? Known types"))
        #expect(unknown.reason.contains("contains"))
        #expect(unknown.reason.contains("levenshtein"))
        // An error inside a set is located in the set; it makes the test an error even with a threshold.
        let nested = AssertionSpec.set([spec("contains", "Paris"), spec("regex", "(")], threshold: 0.1)
        let result = await registry.evaluate(specs: [spec("contains", "Paris"), nested], threshold: 0.1, input: input)
        #expect(!result.pass && result.isError)
        #expect(result.reason.hasPrefix("assert[1] (assert-set): assert[1] (regex): `value` \"(\" is not a valid regular expression"))
        let emptySet = await registry.evaluate(AssertionSpec(type: "assert-set"), input: input)
        #expect(emptySet.isError)
        #expect(await registry.evaluate(AssertionSpec(type: "not-assert-set", assertions: [spec("contains", "a")]), input: input).isError)
        #expect(await registry.evaluate(spec("contains", "Paris", weight: -1), input: input).isError)
    }

    @Test func noAssertionsPass() async {
        let result = await registry.evaluate(specs: [], input: input)
        #expect(result.pass && result.score == 1)
    }

    @Test func valuesRenderVars() async {
        let case_ = EvaluationCase(
            output: "Bonjour Marie, 3 items", vars: ["name": "Marie", "count": 3, "user": ["first": "Marie"], "list": ["a", "Bonjour"]])
        #expect(await registry.evaluate(spec("contains", "{{ name }}"), input: case_).pass)
        #expect(await registry.evaluate(spec("contains", "{{count}} items"), input: case_).pass)
        #expect(await registry.evaluate(spec("contains-all", ["{{user.first}}", "{{ list.1 }}"]), input: case_).pass)
        #expect(EvaluationTemplate.render("{{ missing }}|{{ name | upper }}|{{", vars: ["name": "x"]) == "|{{ name | upper }}|{{")
        #expect(EvaluationTemplate.render("{{ obj }}", vars: ["obj": ["a": 1]]) == #"{"a":1}"#)
    }

    @Test func preservesOrderUnderConcurrency() async {
        let specs = (0..<20).map { spec("contains", .string(String($0))) }
        let case_ = EvaluationCase(output: (0..<20).filter { $0 % 2 == 0 }.map(String.init).joined(separator: " "))
        let result = await EvaluatorRegistry.deterministic(maxConcurrency: 4).evaluate(specs: specs, threshold: 0, input: case_)
        #expect(
            result.components.map(\.reason)
                == specs.map { "Output \(case_.output.contains($0.value!.string!) ? "contains" : "does not contain") \"\($0.value!.string!)\"" })
    }

    @Test func customEvaluatorsAndErrors() async {
        struct Length: Evaluator {
            static var types: [String] { ["max-length"] }
            func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
                guard let limit = spec.value?.int else { throw EvaluationError("`value` must be an integer") }
                return .check(spec, pass: input.output.count <= limit, reason: "\(input.output.count) characters")
            }
        }
        struct Crashing: Evaluator {
            struct Boom: Error {}
            static var types: [String] { ["boom"] }
            func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult { throw Boom() }
        }
        var custom = EvaluatorRegistry()
        custom.register(Length())
        custom.register(Crashing())
        #expect(custom.knownTypes == ["assert-set", "boom", "max-length"])
        #expect(custom.evaluator(for: "not-max-length") != nil)
        #expect(await custom.evaluate(spec("max-length", 100), input: input).pass)
        #expect(await custom.evaluate(spec("not-max-length", 5), input: input).pass)
        let bad = await custom.evaluate(spec("max-length", "ten"), input: input)
        #expect(bad.isError && bad.reason == "`value` must be an integer")
        let crashed = await custom.evaluate(spec("boom"), input: input)
        #expect(crashed.isError && crashed.reason.hasPrefix("evaluator failed"))
    }

    @Test func specDecodesPromptfooConfig() throws {
        let json = """
            [
              {"type": "contains", "value": "Paris"},
              {"type": "assert-set", "threshold": 0.5, "weight": 2, "metric": "quality",
               "assert": [{"type": "is-json", "value": {"type": "object"}}, {"type": "not-regex", "value": "\\\\d+"}]},
              {"type": "llm-rubric", "value": "is polite", "provider": {"id": "openai:gpt-4o-mini", "config": {"temperature": 0}},
               "rubricPrompt": "Grade: {{output}}"}
            ]
            """
        let specs = try JSONDecoder().decode([AssertionSpec].self, from: Data(json.utf8))
        #expect(specs[0] == spec("contains", "Paris"))
        #expect(specs[1].type == "assert-set" && specs[1].weight == 2 && specs[1].threshold == 0.5)
        #expect(specs[1].assertions?[1] == spec("not-regex", "\\d+"))
        #expect(specs[1].assertions?[1].baseType == "regex")
        #expect(specs[2].providerID == "openai:gpt-4o-mini")
        #expect(specs[2].rubricPrompt == "Grade: {{output}}")
        let roundTrip = try JSONDecoder().decode([AssertionSpec].self, from: JSONEncoder().encode(specs))
        #expect(roundTrip == specs)
        let result = AssertionResult(type: "test", pass: true, score: 1, reason: "ok", components: [.init(type: "contains", pass: true, score: 1, reason: "r")])
        #expect(try JSONDecoder().decode(AssertionResult.self, from: JSONEncoder().encode(result)) == result)
    }
}
