import Foundation
import TernCore

/// Reading judges' answers leniently: JSON in code fences or inside prose, text after the JSON,
/// numbers and booleans given as strings, lists given as bullet or numbered lines.
enum JudgeAnswers {
    /// The first JSON object in `text` that has at least one of `keys` (any object when `keys` is
    /// empty); objects inside a top-level array count too.
    static func object(in text: String, withAnyOf keys: [String]) -> [String: JSONValue]? {
        for value in JSONExtraction.values(in: text, limit: 50) {
            let candidates = value.array ?? [value]
            for candidate in candidates {
                guard let object = candidate.object else { continue }
                if keys.isEmpty || keys.contains(where: { object[$0] != nil }) { return object }
            }
        }
        return nil
    }

    /// A number, or a string holding one: `0.8`, `"0.8"`, `"8/10"` (0.8), `"80%"` (0.8).
    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .number(let number)?: return number.isFinite ? number : nil
        case .string(let raw)?:
            let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.hasSuffix("%"), let percent = Double(text.dropLast().trimmingCharacters(in: .whitespaces)) {
                return percent.isFinite ? percent / 100 : nil
            }
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count == 2, let numerator = Double(parts[0].trimmingCharacters(in: .whitespaces)),
                let denominator = Double(parts[1].trimmingCharacters(in: .whitespaces)), denominator > 0
            {
                return numerator / denominator
            }
            guard let number = Double(text), number.isFinite else { return nil }
            return number
        default: return nil
        }
    }

    /// A boolean, or a string or number meaning one: `true`/`yes`/`pass`/`y`/`1`, `false`/`no`/`fail`/`n`/`0`.
    static func bool(_ value: JSONValue?) -> Bool? {
        switch value {
        case .bool(let flag)?: return flag
        case .number(let number)? where number == 0 || number == 1: return number == 1
        case .string(let raw)?:
            switch raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() {
            case "true", "yes", "y", "pass", "passed", "1": return true
            case "false", "no", "n", "fail", "failed", "0": return false
            default: return nil
            }
        default: return nil
        }
    }

    /// A JSON value as reason text: strings as they are, anything else as JSON.
    static func text(_ value: JSONValue?) -> String? {
        guard let value, value != .null else { return nil }
        let text = EvaluationTemplate.text(of: value).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// A list of strings from `key` of the first JSON object that has it, from a top-level JSON
    /// array of strings, or else from the answer's lines (bullets, numbering and code fences
    /// removed). Nil when the answer holds JSON of another shape.
    static func list(in text: String, key: String) -> [String]? {
        if let object = object(in: text, withAnyOf: [key]) {
            guard let items = object[key]?.array else { return nil }
            return items.compactMap { self.text($0) }
        }
        let values = JSONExtraction.values(in: text, limit: 50)
        if let items = values.lazy.compactMap(\.array).first(where: { $0.allSatisfy { $0.string != nil } }) {
            return items.compactMap { self.text($0) }
        }
        return lines(text)
    }

    /// The non-empty lines of `text` without list markers (`-`, `*`, `•`, `1.`, `2)`) or fences.
    static func lines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { raw in
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("```") { return nil }
            if let first = line.first, "-*•".contains(first) {
                line = line.dropFirst().trimmingCharacters(in: .whitespaces)
            } else {
                let digits = line.prefix { $0.isASCII && $0.isNumber }
                let rest = line.dropFirst(digits.count)
                if !digits.isEmpty, let marker = rest.first, marker == "." || marker == ")" {
                    line = rest.dropFirst().trimmingCharacters(in: .whitespaces)
                }
            }
            return line.isEmpty ? nil : line
        }
    }

    /// The first whole number in `text` standing alone (not part of a word such as `gpt4`, nor
    /// the fraction of a decimal).
    static func firstInteger(in text: String) -> Int? {
        let characters = Array(text)
        func isDigit(_ index: Int) -> Bool { characters[index].isASCII && characters[index].isNumber }
        func isWordy(_ index: Int) -> Bool {
            characters.indices.contains(index) && (characters[index].isLetter || characters[index].isNumber || characters[index] == "_")
        }
        var start = 0
        while start < characters.count {
            guard isDigit(start) else {
                start += 1
                continue
            }
            var end = start
            while end < characters.count, isDigit(end) { end += 1 }
            let afterPoint = start > 0 && characters[start - 1] == "."
            if !isWordy(start - 1), !afterPoint, !isWordy(end) { return Int(String(characters[start..<end])) }
            start = end
        }
        return nil
    }

    /// A verdict written as text rather than JSON, as judges answer when they ignore the format
    /// they were asked for: a PASS or FAIL line (`PASS`, `**FAIL**`, `Verdict: pass`, `Result -
    /// failed`, `PASS: it is polite`) and a score line (`Score: 0.8`, `Rating: 8/10`, `score = 7
    /// out of 10`, `Score: 80%`). The last line of each kind counts (judges conclude at the end).
    /// Fractions and percentages are read as ratios; a bare number is divided by `bareScale` when
    /// given, else read as 0-1, 0-10 or 0-100 by its size. The reason is the rest of the answer.
    /// Nil when the answer has neither line.
    static func plainVerdict(in text: String, bareScale: Double? = nil) -> PlainVerdict? {
        var verdict = PlainVerdict()
        var rest: [String] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = plainLine(raw)
            if let (pass, remainder) = passLine(line) {
                verdict.pass = pass
                if !remainder.isEmpty { rest.append(remainder) }
            } else if let score = scoreLine(line, bareScale: bareScale) {
                verdict.score = score
            } else if !line.isEmpty, !line.hasPrefix("```") {
                rest.append(line)
            }
        }
        guard verdict.pass != nil || verdict.score != nil else { return nil }
        let reason = rest.joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines)
        verdict.reason = reason.isEmpty ? nil : String(reason.prefix(2_000))
        return verdict
    }

    struct PlainVerdict: Equatable {
        var pass: Bool?
        var score: Double?
        var reason: String?
    }

    /// A line without markdown emphasis, heading or quote markers around it.
    private static func plainLine(_ raw: Substring) -> String {
        var line = raw.trimmingCharacters(in: .whitespaces)
        while let first = line.first, "#>".contains(first) { line = line.dropFirst().trimmingCharacters(in: .whitespaces) }
        return line.replacingOccurrences(of: "**", with: "").replacingOccurrences(of: "__", with: "")
            .trimmingCharacters(in: .whitespaces)
    }

    private static let verdictLabels: Set<String> = [
        "verdict", "final verdict", "result", "final result", "decision", "grade", "outcome", "pass/fail", "answer", "final answer",
    ]
    private static let scoreLabels: Set<String> = ["score", "final score", "rating", "overall score", "overall rating"]

    /// `(label, value)` of `Label: value`, `Label - value`, `Label = value` or `Label is value`.
    private static func labelled(_ line: String) -> (label: String, value: String)? {
        for separator in [":", " = ", " - ", " – ", " — ", " is "] {
            guard let range = line.range(of: separator) else { continue }
            let label = line[..<range.lowerBound].trimmingCharacters(in: .whitespaces).lowercased()
            guard !label.isEmpty, label.count <= 20 else { continue }
            return (label, line[range.upperBound...].trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// PASS or FAIL opening the line (alone or before a separator), or after a verdict label.
    private static func passLine(_ line: String) -> (Bool, String)? {
        func word(_ text: String) -> (Bool, String)? {
            let head = text.prefix { $0.isLetter }
            let pass: Bool
            switch head.lowercased() {
            case "pass", "passed", "passes": pass = true
            case "fail", "failed", "fails": pass = false
            default: return nil
            }
            // "Pass the salt" is prose; a verdict stands alone or before a separator.
            let tail = text.dropFirst(head.count).drop { $0 == " " }
            guard tail.isEmpty || tail.first.map({ ".,:;!-–—)(".contains($0) }) == true else { return nil }
            let remainder = tail.drop { ".,:;!-–—) ".contains($0) }.trimmingCharacters(in: .whitespaces)
            return (pass, remainder)
        }
        if let found = word(line) { return found }
        if let (label, value) = labelled(line), verdictLabels.contains(label) {
            if let found = word(value) { return found }
            if let flag = bool(.string(String(value.prefix { $0.isLetter }))) { return (flag, "") }
        }
        return nil
    }

    /// The score of a `Score: ...` line, as a ratio.
    private static func scoreLine(_ line: String, bareScale: Double?) -> Double? {
        guard let (label, value) = labelled(line), scoreLabels.contains(label) else { return nil }
        let scanner = value.replacingOccurrences(of: " out of ", with: "/").replacingOccurrences(of: " / ", with: "/")
        let token = scanner.prefix { $0.isNumber || $0 == "." || $0 == "/" || $0 == "%" }
        guard !token.isEmpty else { return nil }
        if token.contains("/") || token.hasSuffix("%") {
            guard let ratio = number(.string(String(token))), (0...1).contains(ratio) else { return nil }
            return ratio
        }
        guard let bare = Double(token), bare >= 0 else { return nil }
        if let bareScale { return bare <= bareScale ? bare / bareScale : nil }
        switch bare {
        case ...1: return bare
        case ...10: return bare / 10
        case ...100: return bare / 100
        default: return nil
        }
    }

    /// The answer quoted for an error message, shortened.
    static func excerpt(_ answer: String) -> String {
        SpecValues.quoted(answer.trimmingCharacters(in: .whitespacesAndNewlines), limit: 300)
    }
}
