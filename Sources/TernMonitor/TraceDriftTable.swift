import Foundation
public import TernCore

/// Traces as a drift table: one row per trace with the features drift is measured on (latency, tokens, cost,
/// lengths, language, model, deployment, prompt, task, domain, status), and on request the readable text of
/// its input and output (columns `input`, `output`) for drift through embeddings.
public enum TraceDriftTable {
    /// The features of traces that drift is measured on.
    public static let columns = DriftMonitor.traceColumns
    /// The text columns, compared through embeddings.
    public static let textColumns = DriftMonitor.textColumns

    /// The newest `limit` traces matching `filter`.
    public static func load(
        store: any TernStore, project: String, filter: TraceFilter, limit: Int, source: String, text: [String] = []
    ) async throws -> DriftTable {
        var table = DriftTable(source: source)
        var cursor: String?
        let wantsInput = text.contains("input"), wantsOutput = text.contains("output")
        repeat {
            let page = try await store.traces.list(
                projectID: project, query: TraceQuery(filter: filter, limit: min(500, limit - table.rowCount), cursor: cursor))
            for summary in page.traces {
                let trace = summary.trace
                func number(_ value: Double?) -> DriftTable.Value { value.map(DriftTable.Value.number) ?? .missing }
                func text(_ value: String?) -> DriftTable.Value { value.map(DriftTable.Value.string) ?? .missing }
                var row: [(String, DriftTable.Value)] = [
                    ("latency_ms", number(summary.latencyMs)), ("input_tokens", .number(Double(summary.inputTokens))),
                    ("output_tokens", .number(Double(summary.outputTokens))), ("cost", number(summary.cost)),
                    ("input_chars", number(trace.input.map { Double($0.count) })), ("output_chars", number(trace.output.map { Double($0.count) })),
                    ("language", text(trace.language)), ("model", text(summary.model)), ("deployment", text(summary.deployment)),
                    ("prompt", text(summary.promptName.map { name in summary.promptVersion.map { "\(name)@\($0)" } ?? name })),
                    ("task", text(trace.task)), ("domain", text(trace.domain)), ("status", .string(summary.level == .error ? "error" : "ok")),
                ]
                if wantsInput { row.append(("input", text(TraceText.readable(trace.input)))) }
                if wantsOutput { row.append(("output", text(TraceText.readable(trace.output)))) }
                table.append(row)
            }
            cursor = page.nextCursor
        } while cursor != nil && table.rowCount < limit
        return table
    }
}

/// The text a person would read in a trace's input or output: the last user message of a conversation (a JSON
/// list of messages, or an object with `messages`), the assistant's text of a completion (`choices[0].message`,
/// Anthropic `content` blocks), a JSON string's value, or the text as it is.
public enum TraceText {
    public static func readable(_ raw: String?) -> String? {
        guard let raw else { return nil }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let first = trimmed.first, first == "[" || first == "{" || first == "\"", let json = try? JSONValue.parse(Data(trimmed.utf8)) else {
            return trimmed.isEmpty ? nil : trimmed
        }
        return text(of: json) ?? trimmed
    }

    static func text(of json: JSONValue) -> String? {
        switch json {
        case .string(let text): return text
        case .array(let items):
            if let message = items.last(where: { $0["role"]?.string == "user" }) ?? items.last(where: { $0["role"] != nil }) {
                return content(message["content"])
            }
            return content(json)
        case .object(let object):
            if let messages = object["messages"] { return text(of: messages) }
            if let message = object["choices"]?[0]?["message"] { return content(message["content"]) }
            if let message = object["message"] { return content(message["content"]) ?? message.string }
            if object["role"] != nil { return content(object["content"]) }
            if let content = content(object["content"]) { return content }
            for key in ["text", "output", "input", "completion", "answer", "question", "query", "prompt"] {
                if let text = object[key].flatMap({ self.text(of: $0) }) { return text }
            }
            return nil
        default: return nil
        }
    }

    /// A message's content: a string, or the text parts of a list of parts.
    static func content(_ value: JSONValue?) -> String? {
        guard let value else { return nil }
        if let text = value.string { return text }
        if let parts = value.array {
            let texts = parts.compactMap { $0.string ?? $0["text"]?.string }
            return texts.isEmpty ? nil : texts.joined(separator: "\n")
        }
        return nil
    }
}
