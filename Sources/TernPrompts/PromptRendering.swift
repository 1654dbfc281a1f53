public import TernCore

/// Filling a prompt's variables in.
extension PromptVersion {
    /// The version with variables filled in: text, or messages. Missing variables are an error
    /// naming them; values that are not strings are inserted as JSON.
    public func render(_ values: [String: JSONValue]) throws -> (text: String?, messages: [PromptMessage]) {
        let missing = variables.filter { values[$0] == nil }
        guard missing.isEmpty else {
            throw TernError.invalid("variables", "prompt \(name) v\(version) needs values for: \(missing.joined(separator: ", "))")
        }
        switch kind {
        case .text: return (PromptTemplate.render(text ?? "", values), [])
        case .chat: return (nil, messages.map { PromptMessage(role: $0.role, content: PromptTemplate.render($0.content, values)) })
        }
    }
}

extension PromptTemplate {
    /// The template with each `{{ name }}` replaced by its value (strings as they are, other values as
    /// JSON); placeholders without a value stay as written.
    public static func render(_ template: String, _ values: [String: JSONValue]) -> String {
        var result = ""
        var last = template.startIndex
        forEachPlaceholder(template) { name, range in
            result += template[last..<range.lowerBound]
            if let value = values[name] { result += value.string ?? value.jsonString() } else { result += template[range] }
            last = range.upperBound
        }
        result += template[last...]
        return result
    }
}
