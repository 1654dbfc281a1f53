import Foundation
public import TernCore
public import TernProviders

/// Maps OpenTelemetry spans (OTLP) to Tern traces and observations, reading the GenAI semantic
/// conventions (`gen_ai.*`, with the older `gen_ai.system` and `*_tokens` names) and OpenInference's
/// `llm.*` attributes as a fallback. Spans without GenAI attributes are kept as plain spans.
public enum OTLPMapping {
    /// One span in the neutral form both encodings (JSON and protobuf) produce.
    public struct Span: Sendable {
        public var traceID: String
        public var spanID: String
        public var parentSpanID: String?
        public var name: String
        public var startNanos: UInt64
        public var endNanos: UInt64
        public var attributes: [String: JSONValue]
        public var statusCode: Int
        public var statusMessage: String?
        public var resource: [String: JSONValue]

        public init(
            traceID: String, spanID: String, parentSpanID: String?, name: String, startNanos: UInt64, endNanos: UInt64,
            attributes: [String: JSONValue], statusCode: Int, statusMessage: String?, resource: [String: JSONValue]
        ) {
            self.traceID = traceID
            self.spanID = spanID
            self.parentSpanID = parentSpanID
            self.name = name
            self.startNanos = startNanos
            self.endNanos = endNanos
            self.attributes = attributes
            self.statusCode = statusCode
            self.statusMessage = statusMessage
            self.resource = resource
        }
    }

    /// Reads an OTLP/JSON `ExportTraceServiceRequest`. Ids are hex, as the OTLP JSON encoding says.
    public static func spans(fromJSON root: JSONValue) throws -> [Span] {
        guard let resourceSpans = root["resourceSpans"]?.array ?? root["resource_spans"]?.array else {
            throw TernError.invalid("resourceSpans", "expected an OTLP ExportTraceServiceRequest with resourceSpans")
        }
        var out: [Span] = []
        for (r, resourceSpan) in resourceSpans.enumerated() {
            let resource = attributes(resourceSpan["resource"]?["attributes"])
            for scopeSpan in resourceSpan["scopeSpans"]?.array ?? resourceSpan["scope_spans"]?.array ?? [] {
                for (s, span) in (scopeSpan["spans"]?.array ?? []).enumerated() {
                    let at = "resourceSpans[\(r)].scopeSpans.spans[\(s)]"
                    guard let traceID = span["traceId"]?.string ?? span["trace_id"]?.string, isHexID(traceID, length: 32) else {
                        throw TernError.invalid("\(at).traceId", "expected 32 hex characters")
                    }
                    guard let spanID = span["spanId"]?.string ?? span["span_id"]?.string, isHexID(spanID, length: 16) else {
                        throw TernError.invalid("\(at).spanId", "expected 16 hex characters")
                    }
                    let parent = (span["parentSpanId"]?.string ?? span["parent_span_id"]?.string).flatMap { $0.isEmpty ? nil : $0 }
                    if let parent, !isHexID(parent, length: 16) {
                        throw TernError.invalid("\(at).parentSpanId", "expected 16 hex characters or nothing")
                    }
                    out.append(
                        Span(
                            traceID: traceID.lowercased(), spanID: spanID.lowercased(), parentSpanID: parent?.lowercased(),
                            name: span["name"]?.string ?? "",
                            startNanos: try nanos(span["startTimeUnixNano"] ?? span["start_time_unix_nano"], field: "\(at).startTimeUnixNano"),
                            endNanos: try nanos(span["endTimeUnixNano"] ?? span["end_time_unix_nano"], field: "\(at).endTimeUnixNano"),
                            attributes: attributes(span["attributes"]),
                            statusCode: span["status"]?["code"]?.int ?? 0, statusMessage: span["status"]?["message"]?.string,
                            resource: resource))
                }
            }
        }
        return out
    }

    static func isHexID(_ text: String, length: Int) -> Bool {
        // ASCII only: Character.isHexDigit also takes fullwidth digits, which would store an id nobody can ask for.
        text.utf8.count == length && text.allSatisfy { $0.isASCII && $0.isHexDigit } && text.contains(where: { $0 != "0" })
    }

    /// Nanoseconds since the epoch, as OTLP/JSON writes them (a decimal string, or a number); absent or
    /// null is 0 (unset). Anything else is refused: a time read as 0 would silently move the span to 1970.
    static func nanos(_ value: JSONValue?, field: String) throws -> UInt64 {
        guard let value, !value.isNull else { return 0 }
        if let text = value.string {
            if text.isEmpty { return 0 }
            guard let parsed = UInt64(text) else {
                throw TernError.invalid(field, "expected nanoseconds since the Unix epoch (an integer up to 2^64-1), got \"\(text.prefix(40))\"")
            }
            return parsed
        }
        // Doubles from 2^64 up do not fit in a UInt64 (the conversion would trap).
        if let number = value.double, number >= 0, number < 1.8e19 { return UInt64(number) }
        throw TernError.invalid(field, "expected nanoseconds since the Unix epoch (an integer up to 2^64-1)")
    }

    /// OTLP `KeyValue` lists as a flat dictionary of plain JSON values.
    static func attributes(_ list: JSONValue?) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for entry in list?.array ?? [] {
            guard let key = entry["key"]?.string else { continue }
            out[key] = anyValue(entry["value"])
        }
        return out
    }

    static func anyValue(_ value: JSONValue?) -> JSONValue {
        guard let value else { return .null }
        if let text = value["stringValue"]?.string { return .string(text) }
        if let flag = value["boolValue"]?.bool { return .bool(flag) }
        if let int = value["intValue"] { return .number(int.double ?? Double(int.string ?? "") ?? 0) }
        if let double = value["doubleValue"] { return .number(double.double ?? Double(double.string ?? "") ?? 0) }
        if let array = value["arrayValue"] { return .array((array["values"]?.array ?? []).map { anyValue($0) }) }
        if let list = value["kvlistValue"] { return .object(attributes(list["values"])) }
        if let bytes = value["bytesValue"]?.string { return .string(bytes) }
        return .null
    }

    /// Turns spans into batch items: one observation per span, and a trace row per span that the
    /// store merges into one trace (root span name, user and session, the widest time span).
    /// Refuses (400, naming the span and field) times outside `InputBounds` and token counts that are
    /// not integers from 0 to `InputBounds.maxTokens`.
    public static func items(_ spans: [Span], projectID: String, prices: PriceTable = .shared) throws -> [TraceBatchItem] {
        try spans.map { span in
            let a = span.attributes
            func string(_ keys: String...) -> String? {
                for key in keys { if let value = a[key]?.string, !value.isEmpty { return value } }
                return nil
            }
            func int(_ keys: String...) throws -> Int? {
                for key in keys {
                    guard let value = a[key], !value.isNull else { continue }
                    return try InputBounds.tokens(value.double ?? -1, field: "span \(span.spanID): attribute \(key)")
                }
                return nil
            }
            let start = try InputBounds.date(seconds: Double(span.startNanos) / 1e9, field: "span \(span.spanID): startTimeUnixNano")
            let end =
                span.endNanos > 0
                ? try InputBounds.date(seconds: Double(span.endNanos) / 1e9, field: "span \(span.spanID): endTimeUnixNano") : nil
            let operation = string("gen_ai.operation.name")
            let isGenAI = a.keys.contains { $0.hasPrefix("gen_ai.") } || a["llm.model_name"] != nil || a["openinference.span.kind"]?.string == "LLM"
            let type: ObservationType
            switch operation {
            case "embeddings"?: type = .embedding
            case "execute_tool"?: type = .tool
            case "invoke_agent"?, "create_agent"?: type = .span
            default:
                if a["openinference.span.kind"]?.string == "TOOL" {
                    type = .tool
                } else if a["openinference.span.kind"]?.string == "RETRIEVER" {
                    type = .retrieval
                } else {
                    type = isGenAI ? .generation : .span
                }
            }
            let model = string("gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
            let provider = string("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
            var usage: TokenUsage?
            let input = try int("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
            let output = try int("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion")
            if input != nil || output != nil {
                usage = TokenUsage(
                    inputTokens: input ?? 0, outputTokens: output ?? 0,
                    cachedTokens: try int("gen_ai.usage.cache_read.input_tokens", "llm.token_count.prompt_details.cache_read"))
            }
            var parameters: [String: JSONValue] = [:]
            for (key, name) in [
                ("gen_ai.request.temperature", "temperature"), ("gen_ai.request.max_tokens", "max_tokens"),
                ("gen_ai.request.top_p", "top_p"), ("gen_ai.request.stop_sequences", "stop"),
            ] {
                if let value = a[key], !value.isNull { parameters[name] = value }
            }
            var inputText = string("gen_ai.input.messages", "input.value")
            if let system = string("gen_ai.system_instructions") { inputText = inputText.map { "\(system)\n\($0)" } ?? system }
            let outputText = string("gen_ai.output.messages", "output.value")
            var metadata: [String: JSONValue] = [:]
            if let reasons = a["gen_ai.response.finish_reasons"] { metadata["finish_reasons"] = reasons }
            if let id = a["gen_ai.response.id"] { metadata["response_id"] = id }
            if let service = span.resource["service.name"] { metadata["service.name"] = service }
            let cost = usage.flatMap { usage in model.flatMap { prices.price(for: $0) }.map { $0.cost(usage) } }
            let observation = Observation(
                id: span.spanID, traceID: span.traceID, projectID: projectID, parentID: span.parentSpanID, type: type, name: span.name,
                startTime: start, endTime: end, model: model, provider: provider, modelParameters: parameters.isEmpty ? nil : .object(parameters),
                input: inputText, output: outputText, usage: usage, cost: cost, level: span.statusCode == 2 ? .error : .default,
                statusMessage: span.statusCode == 2 ? (span.statusMessage ?? "error") : nil,
                metadata: metadata.isEmpty ? nil : .object(metadata), requestedModel: string("gen_ai.request.model"))
            let isRoot = span.parentSpanID == nil
            let trace = Trace(
                id: span.traceID, projectID: projectID, name: isRoot ? span.name : nil,
                userID: string("user.id", "enduser.id"), sessionID: string("gen_ai.conversation.id", "session.id"),
                release: isRoot ? span.resource["service.version"]?.string : nil,
                environment: isRoot ? span.resource["deployment.environment.name"]?.string ?? span.resource["deployment.environment"]?.string : nil,
                input: isRoot ? inputText : nil, output: isRoot ? outputText : nil, startTime: start, endTime: end,
                task: string("tern.task", "task"), language: string("tern.language", "language")?.lowercased(), domain: string("tern.domain", "domain"))
            return TraceBatchItem(trace: trace, observations: [observation])
        }
    }
}
