import Foundation
import TernCore

/// Plain text out of a trace's input or output as stored (which may be a JSON message list).
public enum TraceText {
    /// The words a person wrote: the contents of `user` messages when the text is a message list
    /// (OpenAI, Anthropic or OpenTelemetry GenAI shapes), the string values of other JSON, or the
    /// text itself. Role names and JSON syntax would otherwise bias language detection to English.
    public static func forLanguage(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.first == "[" || trimmed.first == "{", let value = try? JSONValue.parse(Data(trimmed.utf8)) else { return text }
        let messages = value.array ?? value["messages"]?.array ?? (value["role"] != nil ? [value] : nil)
        if let messages, messages.contains(where: { $0["role"]?.string != nil }) {
            let users = messages.filter { $0["role"]?.string == "user" }
            return (users.isEmpty ? messages : users).map { strings($0["content"] ?? $0["parts"] ?? .null) }.joined(separator: "\n")
        }
        return strings(value)
    }

    static func strings(_ value: JSONValue) -> String {
        if let text = value.string { return text }
        if let array = value.array { return array.map(strings).filter { !$0.isEmpty }.joined(separator: "\n") }
        if let object = value.object {
            // Content parts keep their text; ids, types and URLs are no language.
            if let text = object["text"]?.string ?? object["content"]?.string { return text }
            return object.filter { !["type", "id", "url", "image_url", "role", "name"].contains($0.key) }.values.map(strings)
                .filter { !$0.isEmpty }.joined(separator: "\n")
        }
        return ""
    }
}
