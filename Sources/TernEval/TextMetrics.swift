import Foundation
public import TernCore

// Reference-based text metrics: levenshtein, rouge-n, bleu.
// Semantics from promptfoo's src/assertions/{levenshtein,rouge,bleu}.ts (the versions that score
// case-insensitively, clip n-gram counts and renormalize BLEU weights) and
// https://promptfoo.dev/docs/configuration/expected-outputs/deterministic/#rouge-n

/// `levenshtein`: the edit distance between the output and `value` is at most `threshold`
/// (default 5). The result's `value` is the distance.
///
/// Deviation: promptfoo ignores `not-` for this type (a `not-levenshtein` behaves as
/// `levenshtein`); Tern negates it like every other type. Distances count Unicode code points
/// (promptfoo counts UTF-16 units; they differ only outside the Basic Multilingual Plane).
public struct LevenshteinEvaluator: Evaluator {
    public static let types = ["levenshtein"]

    public init() {}

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let reference = try SpecValues.referenceText(spec, input)
        let threshold = spec.threshold ?? 5
        let distance = TextMetrics.levenshtein(input.output, reference)
        let pass = Double(distance) <= threshold
        return .check(
            spec, pass: pass,
            reason: pass
                ? "Levenshtein distance \(distance) is within threshold \(threshold.shortText)"
                : "Levenshtein distance \(distance) is greater than threshold \(threshold.shortText)",
            value: Double(distance))
    }
}

/// `rouge-n`: the ROUGE-1 F-score of the output against `value` reaches `threshold` (default 0.75).
/// Both texts are lowercased and Penn-Treebank tokenized; unigram counts are clipped
/// (min(candidate, reference) per token), precision = overlap / candidate tokens,
/// recall = overlap / reference tokens, score = F1. An empty text scores 0. The score is the
/// result's score (so a failing ROUGE still contributes partially to a weighted test score), and
/// `not-rouge-n` scores `1 - score`.
///
/// Deviation: Tern's Treebank tokenizer follows js-rouge's rules (punctuation, brackets, quotes
/// and contractions split off; numbers like `1,000` and a non-final `.` kept) but not its
/// sentence-level corner cases.
public struct RougeEvaluator: Evaluator {
    public static let types = ["rouge-n"]

    public init() {}

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let reference = try SpecValues.referenceText(spec, input)
        let threshold = spec.threshold ?? 0.75
        let score = TextMetrics.rougeN(candidate: input.output, reference: reference)
        let pass = score >= threshold
        return .graded(
            spec, score: score, pass: pass,
            reason:
                "ROUGE-N score \(String(format: "%.2f", score)) is \(pass ? "greater than or equal to" : "less than") threshold \(threshold.shortText)",
            value: score)
    }
}

/// `bleu`: the sentence BLEU score of the output against the reference(s) in `value` (a string or
/// a list of strings) reaches `threshold` (default 0.5). The score is the result's score;
/// `not-bleu` scores `1 - score`. See `TextMetrics.bleu` for the exact definition.
public struct BleuEvaluator: Evaluator {
    public static let types = ["bleu"]

    public init() {}

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let references: [String]
        switch spec.value {
        case .array(let items)?:
            references = try items.enumerated().map { index, item in
                guard case .string(let text) = item else {
                    throw EvaluationError("`value[\(index)]` must be a string, got \(item.kindName)")
                }
                return text
            }
            guard !references.isEmpty else { throw EvaluationError("`value` lists no reference") }
        default:
            references = [try SpecValues.referenceText(spec, input)]
        }
        let threshold = spec.threshold ?? 0.5
        let score = TextMetrics.bleu(candidate: input.output, references: references)
        let pass = score >= threshold
        return .graded(
            spec, score: score, pass: pass,
            reason:
                "BLEU score \(String(format: "%.4f", score)) is \(pass ? "greater than or equal to" : "less than") threshold \(threshold.shortText)",
            value: score)
    }
}

/// The text metrics behind the evaluators, usable on their own.
public enum TextMetrics {
    /// Levenshtein distance: insertions, deletions and substitutions of Unicode code points.
    public static func levenshtein(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs.unicodeScalars)
        let b = Array(rhs.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// promptfoo's ROUGE-N (n = 1 by default): lowercased Treebank tokens, clipped n-gram overlap,
    /// F1 of precision and recall; 0 when either text has fewer than n tokens or nothing overlaps.
    public static func rougeN(candidate: String, reference: String, n: Int = 1) -> Double {
        let candidateTokens = treebankTokens(candidate.lowercased())
        let referenceTokens = treebankTokens(reference.lowercased())
        guard n >= 1, candidateTokens.count >= n, referenceTokens.count >= n else { return 0 }
        let candidateGrams = nGrams(candidateTokens, n)
        let referenceGrams = nGrams(referenceTokens, n)
        let referenceCounts = counts(referenceGrams)
        var overlap = 0
        for (gram, count) in counts(candidateGrams) {
            overlap += min(count, referenceCounts[gram] ?? 0)
        }
        guard overlap > 0 else { return 0 }
        let precision = Double(overlap) / Double(candidateGrams.count)
        let recall = Double(overlap) / Double(referenceGrams.count)
        return fMeasure(precision: precision, recall: recall)
    }

    /// promptfoo's sentence BLEU:
    /// - texts are lowercased and split on whitespace; blank references are ignored (score 0 when
    ///   none remains, or when the candidate is blank);
    /// - for n = 1...4, the modified precision is the best clipped n-gram count over the references
    ///   (each reference clipped on its own, the maximum taken) divided by the candidate's n-gram
    ///   count; orders the candidate is too short for are skipped and the remaining weights
    ///   renormalized (NLTK's `auto_reweigh`);
    /// - a zero precision is smoothed to 1e-7;
    /// - brevity penalty 1 when the candidate is longer than the closest reference length (ties go
    ///   to the shorter reference), else exp(1 - r / c);
    /// - score = BP · exp(Σ wₙ log pₙ) with uniform weights.
    ///
    /// This differs from sacreBLEU (corpus statistics, its own tokenizer, other smoothing) and, for
    /// several references, from NLTK (which clips each n-gram by its maximum count over references).
    public static func bleu(candidate: String, references: [String], maxN: Int = 4) -> Double {
        let candidateWords = whitespaceTokens(candidate.lowercased())
        let referenceWords = references.map { whitespaceTokens($0.lowercased()) }.filter { !$0.isEmpty }
        guard !candidateWords.isEmpty, !referenceWords.isEmpty, maxN >= 1 else { return 0 }
        let c = candidateWords.count
        let closest = referenceWords.map(\.count).min { lhs, rhs in
            let (dl, dr) = (abs(lhs - c), abs(rhs - c))
            return dl != dr ? dl < dr : lhs < rhs
        }!
        var logSum = 0.0
        var usableWeight = 0.0
        let weight = 1.0 / Double(maxN)
        for n in 1...maxN {
            let candidateGrams = nGrams(candidateWords, n)
            guard !candidateGrams.isEmpty else { continue }
            let candidateCounts = counts(candidateGrams)
            var best = 0
            for words in referenceWords {
                let referenceCounts = counts(nGrams(words, n))
                var clipped = 0
                for (gram, count) in candidateCounts { clipped += min(count, referenceCounts[gram] ?? 0) }
                best = max(best, clipped)
            }
            let precision = Double(best) / Double(candidateGrams.count)
            logSum += weight * log(precision == 0 ? 1e-7 : precision)
            usableWeight += weight
        }
        guard usableWeight > 0 else { return 0 }
        let brevity = c > closest ? 1 : exp(1 - Double(closest) / Double(c))
        return brevity * exp(logSum / usableWeight)
    }

    /// F-measure with β = 1 as js-rouge computes it (equal precision and recall return either).
    static func fMeasure(precision: Double, recall: Double) -> Double {
        if precision == recall { return precision }
        if precision == 0 || recall == 0 { return 0 }
        return 2 * precision * recall / (precision + recall)
    }

    static func whitespaceTokens(_ text: String) -> [String] {
        text.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    static func nGrams(_ tokens: [String], _ n: Int) -> [String] {
        guard n >= 1, tokens.count >= n else { return [] }
        return (0...(tokens.count - n)).map { tokens[$0..<($0 + n)].joined(separator: " ") }
    }

    static func counts(_ grams: [String]) -> [String: Int] {
        var result: [String: Int] = [:]
        for gram in grams { result[gram, default: 0] += 1 }
        return result
    }

    // MARK: Penn Treebank tokenizer

    /// Splits a sentence into Penn Treebank tokens, following js-rouge's `treeBankTokenize`:
    /// quotes become `` `` `` / `''`, `...` and `--` are tokens, `, : ; @ # $ % & ? ! ( ) [ ] { } < >`
    /// split off (a comma or colon followed by a digit stays, as in `1,000`), a sentence-final `.`
    /// splits off, and contractions split (`don't` → `do n't`, `I'm` → `I 'm`, `cannot` → `can not`).
    public static func treebankTokens(_ input: String) -> [String] {
        let text = input.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        guard !text.isEmpty else { return [] }
        var parse = markQuotes(text)
        for (regex, template) in Treebank.punctuation { parse = regex.replacing(in: parse, with: template) }
        parse = " \(parse) "
        for (regex, template) in Treebank.contractions { parse = regex.replacing(in: parse, with: template) }
        return parse.split(separator: " ").map(String.init)
    }

    /// Replaces double quotes with Treebank's opening `` and closing '' tokens.
    private static func markQuotes(_ text: String) -> String {
        var out = ""
        var insideQuotes = false
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            if character == "`" && next == "`" {
                insideQuotes = true
                out += " `` "
                index += 2
            } else if character == "'" && next == "'" {
                insideQuotes = false
                out += " '' "
                index += 2
            } else if character == "\"" {
                let previous = index > 0 ? characters[index - 1] : nil
                let opens = !insideQuotes && (previous == nil || previous!.isWhitespace || "([{<".contains(previous!))
                insideQuotes = opens
                out += opens ? " `` " : " '' "
                index += 1
            } else {
                out.append(character)
                index += 1
            }
        }
        return out
    }

    private enum Treebank {
        static func regex(_ pattern: String, _ options: NSRegularExpression.Options = []) -> Rule {
            // The patterns are constants; a failure here is a programming error caught by the tests.
            Rule(regex: try! NSRegularExpression(pattern: pattern, options: options))
        }

        static let punctuation: [(Rule, String)] = [
            (regex(#"\.{3}"#), " ... "),
            (regex(#"[:,](?!\d)"#), " $0 "),
            (regex(#"[;@#$%&]"#), " $0 "),
            (regex(#"([^.])(?<!\b[A-Za-z]\.[A-Za-z])(\.)([\])}>'\s]*)$"#), "$1 $2$3 "),
            (regex(#"[?!]"#), " $0 "),
            (regex(#"[\]\[(){}<>]"#), " $0 "),
            (regex(#"--"#), " -- "),
        ]

        static let contractions: [(Rule, String)] = [
            (regex(#"([^'])' "#), "$1 ' "),
            (regex(#"'([sSmMdD]) "#), " '$1 "),
            (regex(#"('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "#), " $1 "),
            (regex(#"\b(can)(not)\b"#, .caseInsensitive), " $1 $2 "),
            (regex(#"\b(d)('ye)\b"#, .caseInsensitive), " $1 $2 "),
            (regex(#"\b(gim)(me)\b"#, .caseInsensitive), " $1 $2 "),
            (regex(#"\b(gon)(na)\b"#, .caseInsensitive), " $1 $2 "),
            (regex(#"\b(got)(ta)\b"#, .caseInsensitive), " $1 $2 "),
            (regex(#"\b(lem)(me)\b"#, .caseInsensitive), " $1 $2 "),
            (regex(#"\b(more)('n)\b"#, .caseInsensitive), " $1 $2 "),
            (regex(#"\b(wan)(na) "#, .caseInsensitive), " $1 $2 "),
            (regex(#" ('t)(is)\b"#, .caseInsensitive), " $1 $2 "),
            (regex(#" ('t)(was)\b"#, .caseInsensitive), " $1 $2 "),
        ]
    }

    /// A compiled pattern, shareable across tasks (NSRegularExpression is immutable and thread-safe).
    private struct Rule: @unchecked Sendable {
        let regex: NSRegularExpression

        func replacing(in text: String, with template: String) -> String {
            regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
        }
    }
}
