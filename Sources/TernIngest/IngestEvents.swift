import Foundation
public import TernCore
import TernProviders

// The REST ingest API's mapping (`POST /api/v1/ingest`, docs/API.md): batches of trace, observation and
// score events, Langfuse-style, into the traces, observations and scores Tern stores. The server's
// IngestController receives the HTTP request and writes what this returns.

/// One mapped event of an ingest batch.
public enum IngestEvent: Sendable {
    case trace(TraceBatchItem)
    case observation(TraceBatchItem)
    case score(Score)
}

/// Maps the events of one batch for one project. Score events are typed by the project's score
/// configs, or by the type their name already holds (looked up once per name and batch).
public struct IngestBatchMapper {
    /// The most events one batch may hold.
    public static let maxEvents = 1000

    let projectID: String
    /// The HTTP status of an event's error (the server's mapping of error kinds).
    let statusCode: (TernError.Kind) -> Int
    var typing: ScoreTyping

    public init(
        projectID: String, scoreConfigs: any ScoreConfigRepository, scores: any ScoreRepository, statusCode: @escaping (TernError.Kind) -> Int
    ) {
        self.projectID = projectID
        self.typing = ScoreTyping(projectID: projectID, configs: scoreConfigs, scores: scores)
        self.statusCode = statusCode
    }

    /// Maps every event of a parsed batch body (`{"batch": [...]}`): what to store, and the per-event
    /// outcome (each event succeeds or fails on its own).
    public mutating func map(_ root: JSONValue) async throws -> (items: [TraceBatchItem], scores: [Score], outcome: IngestOutcome) {
        guard let batch = root["batch"]?.array else { throw TernError.invalid("batch", "expected an array of events") }
        guard batch.count <= Self.maxEvents else {
            throw TernError(.tooLarge, code: "batch_too_large", message: "a batch holds at most \(Self.maxEvents) events, got \(batch.count)", field: "batch")
        }
        var items: [TraceBatchItem] = []
        var scores: [Score] = []
        var outcome = IngestOutcome()
        for (index, event) in batch.enumerated() {
            let eventID = event["id"]?.string ?? "batch[\(index)]"
            do {
                switch try await parse(event, index: index) {
                case .trace(let item), .observation(let item): items.append(item)
                case .score(let score): scores.append(score)
                }
                outcome.successes.append(.init(id: eventID, status: 201))
            } catch let error as TernError {
                outcome.errors.append(.init(id: eventID, status: statusCode(error.kind), message: error.message, field: error.field))
            }
        }
        return (items, scores, outcome)
    }

    /// One event of a batch, mapped to what the store keeps; errors name the field (`batch[3].body.usage.input`).
    public mutating func parse(_ event: JSONValue, index: Int) async throws -> IngestEvent {
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
            let level =
                try levelText.map { text -> ObservationLevel in
                    guard let level = ObservationLevel(rawValue: text) else {
                        throw TernError.invalid("\(at).body.level", "expected DEBUG, DEFAULT, WARNING or ERROR")
                    }
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
                guard let type = ScoreDataType(rawValue: text.lowercased()) else {
                    throw TernError.invalid("\(at).body.data_type", "expected numeric, categorical or boolean")
                }
                return type
            }
            let typed: ScoreTyping.Typed
            do {
                typed = try await typing.type(value, name: name, declared: declared)
            } catch let error as TernError where error.kind == .invalidInput {
                throw TernError.invalid("\(at).body.\(error.field ?? "value")", error.message)
            }
            let config = typed.config
            let source =
                try reader.string("source").map { text -> ScoreSource in
                    guard let source = ScoreSource(rawValue: text.lowercased()) else {
                        throw TernError.invalid("\(at).body.source", "expected human, model, rule or api")
                    }
                    return source
                } ?? .api
            let score = Score(
                id: try reader.id("id") ?? eventID, projectID: projectID, traceID: traceID, observationID: try reader.id("observation_id"),
                name: name, dataType: typed.dataType, numericValue: typed.numericValue, stringValue: typed.stringValue, source: source,
                comment: try reader.string("comment"), author: try reader.string("author"), configID: config?.id,
                createdAt: try reader.date("timestamp") ?? eventTime)
            if let config {
                do { try config.validate(score) } catch let error as TernError {
                    throw TernError.invalid("\(at).body.\(error.field ?? "value")", error.message)
                }
            }
            return .score(score)
        default:
            throw TernError.invalid(
                "\(at).type", "unknown event type \"\(type)\" (trace-create, observation-create, span-create, generation-create, event-create, score-create)")
        }
    }
}

/// What happened to each event of a batch (the 207 answer).
public struct IngestOutcome: Sendable {
    public struct Success: Sendable {
        public var id: String
        public var status: Int

        public init(id: String, status: Int) {
            self.id = id
            self.status = status
        }
    }
    public struct Failure: Sendable {
        public var id: String
        public var status: Int
        public var message: String
        public var field: String?

        public init(id: String, status: Int, message: String, field: String?) {
            self.id = id
            self.status = status
            self.message = message
            self.field = field
        }
    }
    public var successes: [Success] = []
    public var errors: [Failure] = []

    public init() {}

    /// The 207 answer's body, written byte by byte: it lists every event of the batch, and going through
    /// JSONEncoder cost a sixth of the request threads' time under ingest load. Compact JSON with sorted
    /// keys, `field` only when known, as the server's `JSON.response` writes (IngestTests compare the bytes).
    public func json() -> [UInt8] {
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
        return out
    }
}
