import Foundation
public import TernCore

// Text assertions: equals, contains and its variants, starts-with, regex.
// Semantics from promptfoo's src/assertions/{equals,contains,startsWith,regex}.ts and
// https://promptfoo.dev/docs/configuration/expected-outputs/deterministic/

/// `equals`: the output is exactly the value. A string (or number) value is compared as text; an
/// object, array or null value is compared with the output parsed as JSON (deep equality, key
/// order ignored, numbers compared as numbers).
///
/// Deviation: with no `value` the case's expected output is used; promptfoo's opt-in
/// `normalizeUnicode` is not supported.
public struct EqualsEvaluator: Evaluator {
    public static let types = ["equals"]

    public init() {}

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let value: JSONValue
        if let given = spec.value {
            value = given
        } else if let expected = input.expected {
            value = .string(expected)
        } else {
            throw EvaluationError("`value` is missing and the test case has no expected output")
        }
        switch value {
        case .object, .array, .null:
            let expectedJSON = value.jsonString()
            guard let parsed = try? JSONValue.parse(Data(input.output.utf8)) else {
                return .check(spec, pass: false, reason: "Output is not JSON, so it does not equal \(SpecValues.quoted(expectedJSON))")
            }
            let equal = parsed == value
            return .check(
                spec, pass: equal,
                reason: equal
                    ? "Output equals \(SpecValues.quoted(expectedJSON)) as JSON"
                    : "Output \(SpecValues.quoted(input.output)) does not equal \(SpecValues.quoted(expectedJSON)) as JSON")
        case .string, .number, .bool:
            let text = EvaluationTemplate.text(of: value)
            let equal = input.output == text
            return .check(
                spec, pass: equal,
                reason: equal
                    ? "Output equals \(SpecValues.quoted(text))"
                    : "Output \(SpecValues.quoted(input.output)) does not equal \(SpecValues.quoted(text))")
        }
    }
}

/// `contains`, `icontains` (one substring); `contains-any`, `icontains-any`, `contains-all`,
/// `icontains-all` (a list given as an array or as a comma-separated string). The `i` forms ignore
/// case.
///
/// Deviation: an empty list is a spec error (promptfoo lets `contains-all: []` pass and
/// `contains-any: []` fail).
public struct ContainsEvaluator: Evaluator {
    public static let types = ["contains", "icontains", "contains-any", "icontains-any", "contains-all", "icontains-all"]

    public init() {}

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let type = spec.baseType
        let ignoreCase = type.hasPrefix("i")
        let output = ignoreCase ? input.output.lowercased() : input.output
        func found(_ needle: String) -> Bool {
            output.contains(ignoreCase ? needle.lowercased() : needle)
        }
        let caseNote = ignoreCase ? " (ignoring case)" : ""
        switch type {
        case "contains", "icontains":
            let needle = try SpecValues.requiredText(spec, what: "a string or number value")
            let pass = found(needle)
            return .check(
                spec, pass: pass,
                reason: pass
                    ? "Output contains \(SpecValues.quoted(needle))\(caseNote)"
                    : "Output does not contain \(SpecValues.quoted(needle))\(caseNote)")
        case "contains-any", "icontains-any":
            let needles = try SpecValues.list(spec)
            let hits = needles.filter(found)
            let listed = needles.map { SpecValues.quoted($0) }.joined(separator: ", ")
            return .check(
                spec, pass: !hits.isEmpty,
                reason: hits.isEmpty
                    ? "Output contains none of [\(listed)]\(caseNote)"
                    : "Output contains \(SpecValues.quoted(hits[0])), one of [\(listed)]\(caseNote)")
        default:
            let needles = try SpecValues.list(spec)
            let missing = needles.filter { !found($0) }
            let listed = needles.map { SpecValues.quoted($0) }.joined(separator: ", ")
            return .check(
                spec, pass: missing.isEmpty,
                reason: missing.isEmpty
                    ? "Output contains all of [\(listed)]\(caseNote)"
                    : "Output is missing [\(missing.map { SpecValues.quoted($0) }.joined(separator: ", "))] of [\(listed)]\(caseNote)")
        }
    }
}

/// `starts-with`: the output begins with the value.
public struct StartsWithEvaluator: Evaluator {
    public static let types = ["starts-with"]

    public init() {}

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let prefix = try SpecValues.requiredText(spec)
        let pass = input.output.hasPrefix(prefix)
        return .check(
            spec, pass: pass,
            reason: pass
                ? "Output starts with \(SpecValues.quoted(prefix))"
                : "Output does not start with \(SpecValues.quoted(prefix))")
    }
}

/// `regex`: the pattern matches somewhere in the output (JavaScript `RegExp.test`, no flags).
///
/// Deviation: patterns are compiled by ICU (`NSRegularExpression`), whose syntax matches
/// JavaScript's for common patterns (classes, quantifiers, groups, lookarounds, named groups);
/// JavaScript-only forms such as `/pattern/flags` literals are not understood. promptfoo fails an
/// invalid pattern; Tern reports it as an error.
public struct RegexEvaluator: Evaluator {
    public static let types = ["regex"]

    public init() {}

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let pattern = try SpecValues.requiredText(spec, what: "a regular expression string")
        let regex: NSRegularExpression
        do {
            regex = try NSRegularExpression(pattern: pattern)
        } catch {
            throw EvaluationError("`value` \(SpecValues.quoted(pattern)) is not a valid regular expression")
        }
        let range = NSRange(input.output.startIndex..., in: input.output)
        let pass = regex.firstMatch(in: input.output, range: range) != nil
        return .check(
            spec, pass: pass,
            reason: pass
                ? "Output matches /\(pattern)/"
                : "Output does not match /\(pattern)/")
    }
}
