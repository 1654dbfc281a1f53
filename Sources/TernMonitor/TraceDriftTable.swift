import Foundation
public import TernCore

/// Traces as a drift table: one row per trace with the features drift is measured on (latency, tokens, cost,
/// lengths, language, model, deployment, prompt, task, domain, status; the finish reason and the tools used, from
/// its observations; its numeric and boolean scores as `score.NAME`, the mean per trace), the trace metadata keys
/// asked for (`metadata.KEY`), and on request the readable text of its input and output (columns `input`,
/// `output`) for drift through embeddings.
public enum TraceDriftTable {
    /// The features of traces that drift is measured on (besides `score.NAME` and `metadata.KEY`).
    public static let columns = DriftMonitor.traceColumns
    /// The text columns, compared through embeddings.
    public static let textColumns = DriftMonitor.textColumns

    /// The newest `limit` traces matching `filter`; `metadata` names the trace metadata keys to read (dotted
    /// paths into nested objects: `metadata.user.tier` is `["user.tier"]`).
    public static func load(
        store: any TernStore, project: String, filter: TraceFilter, limit: Int, source: String, text: [String] = [], metadata: [String] = []
    ) async throws -> DriftTable {
        var table = DriftTable(source: source)
        var cursor: String?
        let wantsInput = text.contains("input"), wantsOutput = text.contains("output")
        repeat {
            let page = try await store.traces.list(
                projectID: project, query: TraceQuery(filter: filter, limit: min(500, limit - table.rowCount), cursor: cursor))
            let ids = page.traces.map(\.trace.id)
            let scores = try await store.scores.numericMeans(projectID: project, traceIDs: ids)
            let details = try await store.traces.details(projectID: project, ids: ids)
            for summary in page.traces {
                let trace = summary.trace
                func number(_ value: Double?) -> DriftTable.Value { value.map(DriftTable.Value.number) ?? .missing }
                func text(_ value: String?) -> DriftTable.Value { value.map(DriftTable.Value.string) ?? .missing }
                let observations = details[trace.id]?.observations ?? []
                var row: [(String, DriftTable.Value)] = [
                    ("latency_ms", number(summary.latencyMs)), ("input_tokens", .number(Double(summary.inputTokens))),
                    ("output_tokens", .number(Double(summary.outputTokens))), ("cost", number(summary.cost)),
                    ("input_chars", number(trace.input.map { Double($0.count) })), ("output_chars", number(trace.output.map { Double($0.count) })),
                    ("language", text(trace.language)), ("model", text(summary.model)), ("deployment", text(summary.deployment)),
                    ("prompt", text(summary.promptName.map { name in summary.promptVersion.map { "\(name)@\($0)" } ?? name })),
                    ("task", text(trace.task)), ("domain", text(trace.domain)), ("status", .string(summary.level == .error ? "error" : "ok")),
                    ("finish_reason", text(finishReason(observations))), ("tool", text(tools(observations))),
                ]
                for (name, mean) in (scores[trace.id] ?? [:]).sorted(by: { $0.key < $1.key }) { row.append(("score.\(name)", .number(mean))) }
                for key in metadata { row.append(("metadata.\(key)", value(trace.metadata, path: key))) }
                if wantsInput { row.append(("input", text(TraceText.readable(trace.input)))) }
                if wantsOutput { row.append(("output", text(TraceText.readable(trace.output)))) }
                table.append(row)
            }
            cursor = page.nextCursor
        } while cursor != nil && table.rowCount < limit
        return table
    }

    /// The finish reason of the trace's last generation that records one (`finish_reason`, or the first of
    /// `finish_reasons`, in its metadata: the gateway's and OpenTelemetry's).
    static func finishReason(_ observations: [Observation]) -> String? {
        for observation in observations.reversed() where observation.type == .generation {
            if let reason = observation.metadata?["finish_reason"]?.string { return reason }
            if let reasons = observation.metadata?["finish_reasons"] {
                if let first = reasons.array?.first?.string { return first }
                if let text = reasons.string { return text }
            }
        }
        return nil
    }

    /// The tools the trace used, sorted and joined by commas: its tool observations' names and the tool calls its
    /// generations record (`tools` in their metadata); nil when none.
    static func tools(_ observations: [Observation]) -> String? {
        var names = Set<String>()
        for observation in observations {
            if observation.type == .tool, let name = observation.name { names.insert(name) }
            for tool in observation.metadata?["tools"]?.array ?? [] { if let name = tool.string { names.insert(name) } }
        }
        return names.isEmpty ? nil : names.sorted().joined(separator: ",")
    }

    /// A scalar at a dotted path of a metadata object.
    static func value(_ metadata: JSONValue?, path: String) -> DriftTable.Value {
        var node = metadata
        for part in path.split(separator: ".", omittingEmptySubsequences: false) { node = node?[String(part)] }
        switch node {
        case .string(let text): return .string(text)
        case .number(let number): return number.isFinite ? .number(number) : .missing
        case .bool(let flag): return .bool(flag)
        default: return .missing
        }
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

/// A dataset version as a drift reference: one row per item with the features an item has (the lengths of its
/// input and expected output, its language, task, domain and model when its metadata names them), the metadata
/// keys asked for (`metadata.KEY`) and on request the text of its input and expected output (`input`, `output`).
/// Features of traffic an item cannot have (latency, cost, tokens, status) are left out and so skipped.
public enum DatasetDriftTable {
    public static func load(
        store: any TernStore, project: String, dataset: String, version: Int?, limit: Int, text: [String] = [], metadata: [String] = [],
        field: String = "reference"
    ) async throws -> DriftTable {
        guard try await store.datasets.get(projectID: project, name: dataset) != nil else {
            throw TernError.invalid(field, "no dataset \"\(dataset)\" in this project")
        }
        var table = DriftTable(source: "dataset \(dataset)" + (version.map { " version \($0)" } ?? ""))
        var after: String?
        while table.rowCount < limit {
            let pageSize = min(1000, limit - table.rowCount)
            let items = try await store.datasets.items(projectID: project, dataset: dataset, version: version, after: after, limit: pageSize)
            for item in items {
                let input = TraceText.text(of: .object(item.input)) ?? JSONValue.object(item.input).jsonString()
                func category(_ value: String?) -> DriftTable.Value { value.map(DriftTable.Value.string) ?? .missing }
                var row: [(String, DriftTable.Value)] = [
                    ("input_chars", .number(Double(input.count))), ("output_chars", item.expectedOutput.map { .number(Double($0.count)) } ?? .missing),
                    ("language", category(item.language)), ("task", category(item.task)), ("domain", category(item.domain)),
                    ("model", category(item.metadata["model"]?.string)),
                ]
                for key in metadata { row.append(("metadata.\(key)", TraceDriftTable.value(.object(item.metadata), path: key))) }
                if text.contains("input") { row.append(("input", .string(input))) }
                if text.contains("output") { row.append(("output", category(item.expectedOutput))) }
                table.append(row)
            }
            guard items.count == pageSize, let last = items.last else { break }
            after = last.id
        }
        return table
    }
}
