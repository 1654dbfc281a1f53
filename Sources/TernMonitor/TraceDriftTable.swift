public import TernCore

/// Traces as a drift table: one row per trace with the features drift is measured on (latency, tokens, cost,
/// lengths, language, model, deployment, prompt, task, domain, status).
public enum TraceDriftTable {
    /// The features of traces that drift is measured on.
    public static let columns = DriftMonitor.traceColumns

    /// The newest `limit` traces matching `filter`.
    public static func load(store: any TernStore, project: String, filter: TraceFilter, limit: Int, source: String) async throws -> DriftTable {
        var table = DriftTable(source: source)
        var cursor: String?
        repeat {
            let page = try await store.traces.list(
                projectID: project, query: TraceQuery(filter: filter, limit: min(500, limit - table.rowCount), cursor: cursor))
            for summary in page.traces {
                let trace = summary.trace
                func number(_ value: Double?) -> DriftTable.Value { value.map(DriftTable.Value.number) ?? .missing }
                func text(_ value: String?) -> DriftTable.Value { value.map(DriftTable.Value.string) ?? .missing }
                table.append([
                    ("latency_ms", number(summary.latencyMs)), ("input_tokens", .number(Double(summary.inputTokens))),
                    ("output_tokens", .number(Double(summary.outputTokens))), ("cost", number(summary.cost)),
                    ("input_chars", number(trace.input.map { Double($0.count) })), ("output_chars", number(trace.output.map { Double($0.count) })),
                    ("language", text(trace.language)), ("model", text(summary.model)), ("deployment", text(summary.deployment)),
                    ("prompt", text(summary.promptName.map { name in summary.promptVersion.map { "\(name)@\($0)" } ?? name })),
                    ("task", text(trace.task)), ("domain", text(trace.domain)), ("status", .string(summary.level == .error ? "error" : "ok")),
                ])
            }
            cursor = page.nextCursor
        } while cursor != nil && table.rowCount < limit
        return table
    }
}
