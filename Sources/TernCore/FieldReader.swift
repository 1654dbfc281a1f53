public import Foundation

/// Typed reads of a JSON request body, with errors that name the field (`batch[2].body.usage.input`).
public struct FieldReader: Sendable {
    public let body: JSONValue
    public let path: String

    public init(body: JSONValue, path: String) {
        self.body = body
        self.path = path
    }

    public func field(_ name: String) -> JSONValue? {
        guard let value = body[name], !value.isNull else { return nil }
        return value
    }

    public func string(_ name: String) throws -> String? {
        guard let value = field(name) else { return nil }
        guard let text = value.string else { throw TernError.invalid("\(path).\(name)", "expected a string") }
        return text
    }

    public func id(_ name: String) throws -> String? {
        guard let text = try string(name) else { return nil }
        guard !text.isEmpty, text.count <= 200 else { throw TernError.invalid("\(path).\(name)", "expected an id of 1-200 characters") }
        return text
    }

    public func strings(_ name: String) throws -> [String] {
        guard let value = field(name) else { return [] }
        guard let items = value.array, items.allSatisfy({ $0.string != nil }) else {
            throw TernError.invalid("\(path).\(name)", "expected an array of strings")
        }
        return items.compactMap(\.string)
    }

    public func double(_ name: String) throws -> Double? {
        guard let value = field(name) else { return nil }
        guard let number = value.double, number.isFinite else { throw TernError.invalid("\(path).\(name)", "expected a number") }
        return number
    }

    /// Free-form content kept as text: strings as they are, anything else as JSON.
    public func text(_ name: String) -> String? {
        guard let value = field(name) else { return nil }
        return value.string ?? value.jsonString()
    }

    /// ISO 8601 text, or Unix seconds (milliseconds when the number is that large).
    public func date(_ name: String) throws -> Date? {
        guard let value = field(name) else { return nil }
        if let number = value.double {
            return try InputBounds.date(seconds: number > 1e11 ? number / 1000 : number, field: "\(path).\(name)")
        }
        if let text = value.string {
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
                return try InputBounds.date(date, field: "\(path).\(name)")
            }
            if let date = try? Date(text, strategy: .iso8601) { return try InputBounds.date(date, field: "\(path).\(name)") }
        }
        throw TernError.invalid("\(path).\(name)", "expected an ISO 8601 time or Unix seconds")
    }

    /// `usage` as {input, output, cached, reasoning} or OpenAI's {prompt_tokens, completion_tokens}.
    public func usage() throws -> TokenUsage? {
        guard let usage = field("usage") else { return nil }
        guard usage.object != nil else { throw TernError.invalid("\(path).usage", "expected an object") }
        /// The first of `names` present: a token count 0 ... InputBounds.maxTokens, or an error naming it.
        func count(_ names: String...) throws -> Int? {
            for name in names {
                guard let value = usage[name], !value.isNull else { continue }
                guard let number = value.double else { throw TernError.invalid("\(path).usage.\(name)", "expected a token count") }
                return try InputBounds.tokens(number, field: "\(path).usage.\(name)")
            }
            return nil
        }
        let input = try count("input", "prompt_tokens", "input_tokens")
        let output = try count("output", "completion_tokens", "output_tokens")
        guard input != nil || output != nil else { throw TernError.invalid("\(path).usage", "expected input and output token counts") }
        return TokenUsage(
            inputTokens: input ?? 0, outputTokens: output ?? 0, cachedTokens: try count("cached"),
            reasoningTokens: try count("reasoning"))
    }
}
