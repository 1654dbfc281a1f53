import Foundation
import Testing
import TernCore
@testable import TernEval

// Expected numbers were computed independently in Python 3.11:
// - Levenshtein: python-Levenshtein 0.27 `Levenshtein.distance(a, b)`.
// - ROUGE-1: rouge-score 0.1.2 `RougeScorer(['rouge1'], use_stemmer=False).score(ref, cand)['rouge1'].fmeasure`
//   for texts without punctuation (rouge-score drops punctuation, promptfoo's Treebank tokenizer keeps
//   it); with punctuation, the clipped-unigram F1 over NLTK 3.9 `TreebankWordTokenizer` tokens.
// - BLEU: NLTK 3.9 `sentence_bleu([ref.split()], cand.split(), auto_reweigh=True)` where every n-gram
//   order has a match (NLTK and promptfoo agree there); otherwise a 25-line Python transcription of
//   promptfoo's definition (zero precision smoothed to 1e-7, per-reference clipping, maximum taken).

@Suite struct LevenshteinTests {
    @Test func distances() {
        #expect(TextMetrics.levenshtein("kitten", "sitting") == 3)  // doc example
        #expect(TextMetrics.levenshtein("hello world", "helo wrld") == 2)
        #expect(TextMetrics.levenshtein("The quick brown fox", "The quack brown fax!") == 3)
        #expect(TextMetrics.levenshtein("naïve café", "naive cafe") == 2)
        #expect(TextMetrics.levenshtein("", "abc") == 3)
        #expect(TextMetrics.levenshtein("same", "same") == 0)
    }

    @Test func thresholdIsTheMaximumDistance() async {
        // doc: `type: levenshtein, threshold: 5, value: hello world`
        let result = await check(spec("levenshtein", "hello world", threshold: 5), "helo wrld")
        #expect(result.pass)
        #expect(result.value == 2)
        #expect(!(await check(spec("levenshtein", "hello world", threshold: 1), "helo wrld").pass))
        #expect(await check(spec("levenshtein", "hello world", threshold: 2), "helo wrld").pass)  // ≤, inclusive
        // Default threshold 5.
        #expect(await check(spec("levenshtein", "kitten"), "sitting").pass)
        #expect(!(await check(spec("levenshtein", "kitten"), "a completely different text").pass))
        // threshold 0 means exact (promptfoo's `?? 5`, not `|| 5`).
        #expect(!(await check(spec("levenshtein", "kitten", threshold: 0), "kitten!").pass))
    }

    @Test func valueFromVarsAndNegation() async {
        // doc: `value: '{{expected}}'` with vars.expected = foobar, threshold 2
        #expect(await check(spec("levenshtein", "{{expected}}", threshold: 2), "fooBAr", vars: ["expected": "foobar"]).pass)
        #expect(await check(spec("not-levenshtein", "foobar", threshold: 2), "something else").pass)
        #expect(await check(spec("levenshtein", threshold: 1), "Paris.", expected: "Paris").pass)
    }
}

@Suite struct RougeTests {
    @Test func rougeOneMatchesRougeScore() {
        #expect(close(TextMetrics.rougeN(candidate: "the cat sat on the mat", reference: "the cat is on the mat"), 0.8333333333333334))
        #expect(close(TextMetrics.rougeN(candidate: "hello world", reference: "hello there world friend"), 0.6666666666666666))
        #expect(close(TextMetrics.rougeN(candidate: "The Cat", reference: "the cat"), 1.0))  // case-insensitive
        #expect(close(TextMetrics.rougeN(candidate: "the the the", reference: "the cat"), 0.4))  // clipped counts
        #expect(TextMetrics.rougeN(candidate: "completely different", reference: "nothing shared") == 0)
        #expect(TextMetrics.rougeN(candidate: "", reference: "something") == 0)
    }

    @Test func punctuationIsTokenized() {
        // Treebank tokens: [hello , world !] vs [hello world]: P = 2/4, R = 1, F1 = 2/3.
        #expect(close(TextMetrics.rougeN(candidate: "Hello, world!", reference: "hello world"), 0.6666666666666666))
    }

    @Test func treebankTokenizer() {
        // Same tokens as NLTK's TreebankWordTokenizer for these sentences.
        #expect(TextMetrics.treebankTokens("hello, world!") == ["hello", ",", "world", "!"])
        #expect(TextMetrics.treebankTokens("i don't think so.") == ["i", "do", "n't", "think", "so", "."])
        #expect(TextMetrics.treebankTokens("it costs $1,000 (roughly).") == ["it", "costs", "$", "1,000", "(", "roughly", ")", "."])
        #expect(TextMetrics.treebankTokens("I cannot say \"yes\" -- e.g. now") == ["I", "can", "not", "say", "``", "yes", "''", "--", "e.g.", "now"])
        #expect(TextMetrics.treebankTokens("  ").isEmpty)
    }

    @Test func assertion() async {
        // doc: `type: rouge-n, value: hello world` (default threshold 0.75)
        let exact = await check(spec("rouge-n", "hello world"), "Hello world")
        #expect(exact.pass)
        #expect(exact.score == 1)
        let partial = await check(spec("rouge-n", "hello there world friend"), "hello world")
        #expect(!partial.pass)
        #expect(close(partial.score, 2.0 / 3.0))
        #expect(partial.reason.contains("0.67 is less than threshold 0.75"))
        // doc: custom threshold 0.6
        #expect(await check(spec("rouge-n", "hello there world friend", threshold: 0.6), "hello world").pass)
        // doc: not-rouge-n: passes below the threshold, scoring 1 - score.
        let negated = await check(spec("not-rouge-n", "hello there world friend", threshold: 0.75), "hello world")
        #expect(negated.pass)
        #expect(close(negated.score, 1.0 / 3.0))
        #expect(await check(spec("rouge-n", "{{expected}}"), "hello world", vars: ["expected": "hello world"]).pass)
    }
}

@Suite struct BleuTests {
    @Test func matchesNLTKWhereAllOrdersMatch() {
        #expect(
            close(
                TextMetrics.bleu(
                    candidate: "the quick brown fox jumps over the dog",
                    references: ["the quick brown fox jumped over the lazy dog"]), 0.37707945965932077))
        #expect(
            close(
                TextMetrics.bleu(
                    candidate: "the quick brown fox jumps over the lazy dog",
                    references: ["the quick brown fox jumps over the lazy dog"]), 1.0))
        // Short candidates: orders it is too short for are dropped and weights renormalized.
        #expect(close(TextMetrics.bleu(candidate: "hello world", references: ["hello world"]), 1.0))
        #expect(close(TextMetrics.bleu(candidate: "hello", references: ["hello world"]), 0.36787944117144233))  // BP = e^(1-2)
    }

    @Test func promptfooSmoothingAndReferences() {
        // No 4-gram matches: p4 smoothed to 1e-7 (NLTK without smoothing would say 0).
        #expect(
            close(
                TextMetrics.bleu(candidate: "the cat sat on the mat", references: ["the cat is on the mat"]),
                0.010573712634405643, tolerance: 1e-12))
        // Several references: each clipped on its own, the best kept (not NLTK's max-count clipping).
        #expect(
            close(
                TextMetrics.bleu(candidate: "the cat sat", references: ["the dog sat", "a cat sat"]),
                0.0032182979486854307, tolerance: 1e-12))
        // Case-insensitive; blank references ignored.
        #expect(
            close(
                TextMetrics.bleu(candidate: "The Cat sat on the mat", references: ["", "the cat sat on the mat today"]),
                0.846481724890614))
        #expect(TextMetrics.bleu(candidate: "anything", references: ["  "]) == 0)
        #expect(TextMetrics.bleu(candidate: " ", references: ["reference"]) == 0)
    }

    @Test func assertion() async {
        // doc: `type: bleu, value: hello world` (default threshold 0.5)
        #expect(await check(spec("bleu", "hello world"), "hello world").pass)
        let low = await check(spec("bleu", "the cat is on the mat"), "the cat sat on the mat")
        #expect(!low.pass)
        #expect(close(low.score, 0.010573712634405643, tolerance: 1e-12))
        #expect(low.value == low.score)
        // doc: custom threshold 0.7
        #expect(
            !(await check(
                spec("bleu", "the quick brown fox jumped over the lazy dog", threshold: 0.7),
                "the quick brown fox jumps over the dog"
            ).pass))
        #expect(await check(spec("bleu", ["the dog sat", "hello world"]), "Hello World").pass)  // list of references
        let negated = await check(spec("not-bleu", "the cat is on the mat"), "the cat sat on the mat")
        #expect(negated.pass)
        #expect(close(negated.score, 1 - 0.010573712634405643, tolerance: 1e-12))
        let bad = await check(spec("bleu", ["ok", 3]), "ok")
        #expect(bad.isError)
        #expect(bad.reason.contains("`value[1]`"))
    }
}

@Suite struct PerformanceTests {
    @Test func latency() async {
        // doc: `type: latency, threshold: 5000`
        #expect(await check(spec("latency", threshold: 5000), "x", latencyMs: 1200).pass)
        let slow = await check(spec("latency", threshold: 5000), "x", latencyMs: 6100)
        #expect(!slow.pass)
        #expect(slow.reason == "Latency 6100ms is greater than threshold 5000ms")
        #expect(await check(spec("not-latency", threshold: 5000), "x", latencyMs: 6100).pass)
        let unknown = await check(spec("latency", threshold: 5000), "x")
        #expect(unknown.isError)
        #expect(unknown.reason.contains("cached"))
    }

    @Test func cost() async {
        // doc: `type: cost, threshold: 0.001`
        #expect(await check(spec("cost", threshold: 0.001), "x", cost: 0.0004).pass)
        #expect(!(await check(spec("cost", threshold: 0.001), "x", cost: 0.002).pass))
        #expect(await check(spec("cost", threshold: 0.001), "x").isError)
        #expect(await check(spec("cost", threshold: 0.001), "x", cost: -1).isError)
    }

    @Test func recordedOnlyMeasurements() async {
        // doc: cost without threshold, with a metric and weight 0, records the cost.
        let recorded = await check(spec("cost", weight: 0, metric: "inference_cost"), "x", cost: 0.25)
        #expect(recorded.pass && recorded.metricOnly)
        #expect(recorded.value == 0.25)
        let noMetric = await check(spec("latency"), "x", latencyMs: 10)
        #expect(noMetric.isError)
        #expect(noMetric.reason.contains("metric"))
        let negated = await check(spec("not-latency", metric: "latency_ms"), "x", latencyMs: 10)
        #expect(negated.isError)
        #expect(negated.reason.contains("threshold"))
    }
}
