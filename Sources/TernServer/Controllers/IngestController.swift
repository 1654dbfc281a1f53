import Foundation
import Hummingbird
import NIOCore
import TernCore
import TernGateway

/// `POST /api/v1/ingest`: batches of trace, observation and score events from any application.
/// Idempotent: entities keep the id they are sent with (or take their event's id), and a repeated id
/// adds nothing twice. Each event succeeds or fails on its own; the answer (207) lists both.
struct IngestController {
    let store: any TernStore
    let maxBody: Int
    static let maxEvents = 1000

    struct Outcome {
        struct Success {
            var id: String
            var status: Int
        }
        struct Failure {
            var id: String
            var status: Int
            var message: String
            var field: String?
        }
        var successes: [Success]
        var errors: [Failure]

        /// The 207 answer, written byte by byte: it lists every event of the batch, and going through
        /// JSONEncoder cost a sixth of the request threads' time under ingest load. Compact JSON with sorted
        /// keys, `field` only when known, as `JSON.response` writes (IngestTests compare the bytes).
        func response() -> Response {
            var out: [UInt8] = []
            out.reserveCapacity(32 + successes.count * 56 + errors.count * 160)
            out.append(contentsOf: #"{"errors":["#.utf8)
            for (position, failure) in errors.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "{"))
                if let field = failure.field {
                    out.append(contentsOf: #""field":"#.utf8)
                    JSONValue.appendString(field, to: &out)
                    out.append(UInt8(ascii: ","))
                }
                out.append(contentsOf: #""id":"#.utf8)
                JSONValue.appendString(failure.id, to: &out)
                out.append(contentsOf: #","message":"#.utf8)
                JSONValue.appendString(failure.message, to: &out)
                out.append(contentsOf: #","status":\#(failure.status)}"#.utf8)
            }
            out.append(contentsOf: #"],"successes":["#.utf8)
            for (position, success) in successes.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: #"{"id":"#.utf8)
                JSONValue.appendString(success.id, to: &out)
                out.append(contentsOf: #","status":\#(success.status)}"#.utf8)
            }
            out.append(contentsOf: "]}".utf8)
            return Response(status: .init(code: 207, reasonPhrase: "Multi-Status"),
                            headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: out)))
        }
    }

    func register(on api: RouterGroup<TernRequestContext>) {
        api.post("ingest") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.member, to: "ingesting traces")
            guard let projectID = principal.boundProjectID else {
                throw TernError.forbidden("ingest takes a project API key (a key belongs to one project)")
            }
            let data = try await JSON.collect(request, limit: maxBody)
            let root: JSONValue
            do { root = try JSONValue.parse(data) } catch {
                throw TernError.invalid(nil, "malformed JSON: \(error)", code: "malformed_json")
            }
            guard let batch = root["batch"]?.array else { throw TernError.invalid("batch", "expected an array of events") }
            guard batch.count <= Self.maxEvents else {
                throw TernError(.tooLarge, code: "batch_too_large", message: "a batch holds at most \(Self.maxEvents) events, got \(batch.count)", field: "batch")
            }
            var items: [TraceBatchItem] = []
            var scores: [Score] = []
            var successes: [Outcome.Success] = []
            var errors: [Outcome.Failure] = []
            var configs: [String: ScoreConfig?] = [:]
            for (index, event) in batch.enumerated() {
                let eventID = event["id"]?.string ?? "batch[\(index)]"
                do {
                    let parsed = try await parse(event, index: index, projectID: projectID, configs: &configs)
                    switch parsed {
                    case .trace(let item), .observation(let item): items.append(item)
                    case .score(let score): scores.append(score)
                    }
                    successes.append(.init(id: eventID, status: 201))
                } catch let error as TernError {
                    errors.append(.init(id: eventID, status: Int(error.kind.status.code), message: error.message, field: error.field))
                }
            }
            try await store.traces.insert(items)
            try await store.scores.insert(scores)
            return Outcome(successes: successes, errors: errors).response()
        }
    }

    enum Parsed {
        case trace(TraceBatchItem)
        case observation(TraceBatchItem)
        case score(Score)
    }

    func parse(_ event: JSONValue, index: Int, projectID: String, configs: inout [String: ScoreConfig?]) async throws -> Parsed {
        let at = "batch[\(index)]"
        guard event.object != nil else { throw TernError.invalid(at, "expected an event object") }
        guard let eventID = event["id"]?.string, !eventID.isEmpty, eventID.count <= 200 else {
            throw TernError.invalid("\(at).id", "every event needs an id (a string of at most 200 characters)")
        }
        guard let type = event["type"]?.string else { throw TernError.invalid("\(at).type", "required") }
        guard let body = event["body"], body.object != nil else { throw TernError.invalid("\(at).body", "expected an object") }
        let reader = FieldReader(body: body, path: "\(at).body")
        let eventTime = try FieldReader(body: event, path: at).date("timestamp") ?? Date()
        switch type {
        case "trace-create", "trace-update":
            let trace = Trace(
                id: try reader.id("id") ?? eventID, projectID: projectID, name: try reader.string("name"), userID: try reader.string("user_id"),
                sessionID: try reader.string("session_id"), tags: try reader.strings("tags"), metadata: body["metadata"].flatMap { $0.isNull ? nil : $0 },
                release: try reader.string("release"), environment: try reader.string("environment"), input: reader.text("input"),
                output: reader.text("output"), startTime: try reader.date("start_time") ?? reader.date("timestamp") ?? eventTime,
                endTime: try reader.date("end_time"))
            return .trace(TraceBatchItem(trace: trace, observations: []))
        case "observation-create", "span-create", "generation-create", "event-create":
            let kind: ObservationType
            if let given = try reader.string("type") {
                guard let parsed = ObservationType(rawValue: given.lowercased()) else {
                    throw TernError.invalid("\(at).body.type", "expected one of \(ObservationType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                kind = parsed
            } else {
                kind = type == "generation-create" ? .generation : type == "event-create" ? .event : .span
            }
            guard let traceID = try reader.id("trace_id") else { throw TernError.invalid("\(at).body.trace_id", "required") }
            let start = try reader.date("start_time") ?? eventTime
            let end = try reader.date("end_time") ?? (kind == .event ? start : nil)
            let usage = try reader.usage()
            let model = try reader.string("model")
            var cost = try reader.double("cost").map { try InputBounds.cost($0, field: "\(at).body.cost") }
            var estimated = false
            if cost == nil, let usage, let model, let price = PriceTable.shared.price(for: model) {
                cost = price.cost(usage)
                estimated = usage.estimated
            }
            let levelText = try reader.string("level")?.uppercased()
            let level = try levelText.map { text -> ObservationLevel in
                guard let level = ObservationLevel(rawValue: text) else { throw TernError.invalid("\(at).body.level", "expected DEBUG, DEFAULT, WARNING or ERROR") }
                return level
            } ?? .default
            let observation = Observation(
                id: try reader.id("id") ?? eventID, traceID: traceID, projectID: projectID, parentID: try reader.id("parent_observation_id"),
                type: kind, name: try reader.string("name"), startTime: start, endTime: end, completionStartTime: try reader.date("completion_start_time"),
                model: model, provider: try reader.string("provider"), modelParameters: body["model_parameters"].flatMap { $0.isNull ? nil : $0 },
                input: reader.text("input"), output: reader.text("output"), usage: usage, cost: cost, costEstimated: estimated, level: level,
                statusMessage: try reader.string("status_message"), metadata: body["metadata"].flatMap { $0.isNull ? nil : $0 })
            // The trace row the observation belongs to; a trace event with more fields merges into it.
            let trace = Trace(id: traceID, projectID: projectID, startTime: start, endTime: end)
            return .observation(TraceBatchItem(trace: trace, observations: [observation]))
        case "score-create":
            guard let traceID = try reader.id("trace_id") else { throw TernError.invalid("\(at).body.trace_id", "required") }
            guard let name = try reader.string("name"), !name.isEmpty else { throw TernError.invalid("\(at).body.name", "required") }
            guard let value = body["value"] else { throw TernError.invalid("\(at).body.value", "required") }
            let declared = try reader.string("data_type").map { text -> ScoreDataType in
                guard let type = ScoreDataType(rawValue: text.lowercased()) else { throw TernError.invalid("\(at).body.data_type", "expected numeric, categorical or boolean") }
                return type
            }
            if configs[name] == nil { configs[name] = .some(try await store.scoreConfigs.get(projectID: projectID, name: name)) }
            let config = configs[name] ?? nil
            let (dataType, number, text): (ScoreDataType, Double?, String?)
            do {
                (dataType, number, text) = try Score.value(value, dataType: declared ?? config?.dataType)
            } catch let error as TernError {
                throw TernError.invalid("\(at).body.value", error.message)
            }
            let source = try reader.string("source").map { text -> ScoreSource in
                guard let source = ScoreSource(rawValue: text.lowercased()) else { throw TernError.invalid("\(at).body.source", "expected human, model, rule or api") }
                return source
            } ?? .api
            let score = Score(id: try reader.id("id") ?? eventID, projectID: projectID, traceID: traceID, observationID: try reader.id("observation_id"),
                              name: name, dataType: dataType, numericValue: number, stringValue: text, source: source,
                              comment: try reader.string("comment"), author: try reader.string("author"), configID: config?.id,
                              createdAt: try reader.date("timestamp") ?? eventTime)
            if let config {
                do { try config.validate(score) } catch let error as TernError { throw TernError.invalid("\(at).body.\(error.field ?? "value")", error.message) }
            }
            return .score(score)
        default:
            throw TernError.invalid("\(at).type", "unknown event type \"\(type)\" (trace-create, observation-create, span-create, generation-create, event-create, score-create)")
        }
    }
}

/// Typed reads of an event body, with errors that name the field.
struct FieldReader {
    let body: JSONValue
    let path: String

    func field(_ name: String) -> JSONValue? {
        guard let value = body[name], !value.isNull else { return nil }
        return value
    }

    func string(_ name: String) throws -> String? {
        guard let value = field(name) else { return nil }
        guard let text = value.string else { throw TernError.invalid("\(path).\(name)", "expected a string") }
        return text
    }

    func id(_ name: String) throws -> String? {
        guard let text = try string(name) else { return nil }
        guard !text.isEmpty, text.count <= 200 else { throw TernError.invalid("\(path).\(name)", "expected an id of 1-200 characters") }
        return text
    }

    func strings(_ name: String) throws -> [String] {
        guard let value = field(name) else { return [] }
        guard let items = value.array, items.allSatisfy({ $0.string != nil }) else {
            throw TernError.invalid("\(path).\(name)", "expected an array of strings")
        }
        return items.compactMap(\.string)
    }

    func double(_ name: String) throws -> Double? {
        guard let value = field(name) else { return nil }
        guard let number = value.double, number.isFinite else { throw TernError.invalid("\(path).\(name)", "expected a number") }
        return number
    }

    /// Free-form content kept as text: strings as they are, anything else as JSON.
    func text(_ name: String) -> String? {
        guard let value = field(name) else { return nil }
        return value.string ?? value.jsonString()
    }

    /// ISO 8601 text, or Unix seconds (milliseconds when the number is that large).
    func date(_ name: String) throws -> Date? {
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
    func usage() throws -> TokenUsage? {
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
        return TokenUsage(inputTokens: input ?? 0, outputTokens: output ?? 0, cachedTokens: try count("cached"),
                          reasoningTokens: try count("reasoning"))
    }
}
