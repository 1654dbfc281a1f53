import Foundation
import TernCore

// Small helpers shared by the evaluators: reading spec values and describing them in messages.

extension JSONValue {
    /// The JSON kind, for error messages ("got an object").
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

enum SpecValues {
    /// A string or number value as text (promptfoo's `String(value)`), else nil.
    static func scalarText(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: text
        case .number(let number)? where number.isFinite: EvaluationTemplate.numberText(number)
        default: nil
        }
    }

    /// A required non-empty string (or number) value.
    static func requiredText(_ spec: AssertionSpec, what: String = "a string value") throws -> String {
        guard let value = spec.value else {
            throw EvaluationError("`value` is missing; \(spec.baseType) needs \(what)")
        }
        guard let text = scalarText(value) else {
            throw EvaluationError("`value` must be \(what), got \(value.kindName)")
        }
        guard !text.isEmpty else { throw EvaluationError("`value` is empty; \(spec.baseType) needs \(what)") }
        return text
    }

    /// The reference text of a comparison type: `value`, or else the case's `expected` output.
    ///
    /// Deviation: promptfoo requires `value`; Tern falls back to the test case's expected output so
    /// datasets with an expected column need no per-test value.
    static func referenceText(_ spec: AssertionSpec, _ input: EvaluationCase) throws -> String {
        if let value = spec.value {
            guard let text = scalarText(value) else {
                throw EvaluationError("`value` must be a string, got \(value.kindName)")
            }
            return text
        }
        if let expected = input.expected { return expected }
        throw EvaluationError("`value` is missing and the test case has no expected output")
    }

    /// A list value: an array of scalars, or a comma-separated string (quotes keep commas inside a
    /// value: `"1,000", in stock`).
    static func list(_ spec: AssertionSpec) throws -> [String] {
        guard let value = spec.value else {
            throw EvaluationError("`value` is missing; \(spec.baseType) needs a list of strings")
        }
        let items: [String]
        switch value {
        case .string(let text):
            items = splitCommaSeparated(text)
        case .array(let array):
            items = try array.enumerated().map { index, item in
                switch item {
                case .string(let text): return text
                case .number, .bool: return EvaluationTemplate.text(of: item)
                default: throw EvaluationError("`value[\(index)]` must be a string, got \(item.kindName)")
                }
            }
        default:
            throw EvaluationError("`value` must be a list or a comma-separated string, got \(value.kindName)")
        }
        guard !items.isEmpty else { throw EvaluationError("`value` lists no strings") }
        return items
    }

    /// Splits on commas outside double quotes, trims, unquotes and drops empty items.
    static func splitCommaSeparated(_ text: String) -> [String] {
        var items: [String] = []
        var current = ""
        var inQuotes = false
        var quotedItem = false
        func flush() {
            let item = quotedItem ? current : current.trimmingCharacters(in: .whitespaces)
            if !item.isEmpty { items.append(item) }
            current = ""
            quotedItem = false
        }
        for character in text {
            if character == "\"" {
                if inQuotes {
                    inQuotes = false
                } else if !quotedItem, current.allSatisfy(\.isWhitespace) {
                    current = ""
                    inQuotes = true
                    quotedItem = true
                } else {
                    current.append(character)
                }
            } else if character == ",", !inQuotes {
                flush()
            } else if quotedItem, !inQuotes {
                if !character.isWhitespace { current.append(character) }
            } else {
                current.append(character)
            }
        }
        flush()
        return items
    }

    /// A JSON value given in `value` either as JSON or as JSON text (a schema, a tool list).
    static func jsonValue(_ value: JSONValue, what: String) throws -> JSONValue {
        guard case .string(let text) = value else { return value }
        if text.hasPrefix("file://") {
            throw EvaluationError("\(what) given as \(text): file references must be resolved when the config is loaded")
        }
        do {
            return try JSONValue.parse(Data(text.utf8))
        } catch {
            throw EvaluationError("\(what) is a string that is not valid JSON (\(error))")
        }
    }

    /// Quotes text for a reason, shortening long texts.
    static func quoted(_ text: String, limit: Int = 200) -> String {
        let shown = text.count > limit ? String(text.prefix(limit)) + "…" : text
        return "\"\(shown)\""
    }
}

extension Double {
    /// A compact number for messages: integers without a fraction, others with up to 4 decimals.
    var shortText: String {
        if self == rounded(), abs(self) < 1e15 { return String(Int64(self)) }
        var text = String(format: "%.4f", self)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
}
