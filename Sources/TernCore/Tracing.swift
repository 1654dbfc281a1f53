public import Foundation

/// One unit of work an application did (a request, a conversation turn, a job), holding observations.
public struct Trace: Sendable, Codable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var name: String?
    public var userID: String?
    public var sessionID: String?
    public var tags: [String]
    public var metadata: JSONValue?
    public var release: String?
    public var environment: String?
    public var input: String?
    public var output: String?
    public var startTime: Date
    public var endTime: Date?

    public init(id: String, projectID: String, name: String? = nil, userID: String? = nil, sessionID: String? = nil,
                tags: [String] = [], metadata: JSONValue? = nil, release: String? = nil, environment: String? = nil,
                input: String? = nil, output: String? = nil, startTime: Date, endTime: Date? = nil) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.userID = userID
        self.sessionID = sessionID
        self.tags = tags
        self.metadata = metadata
        self.release = release
        self.environment = environment
        self.input = input
        self.output = output
        self.startTime = startTime
        self.endTime = endTime
    }
}

extension Trace {
    /// The same merge the stores apply to a repeated trace id: `newer`'s non-empty fields win and the
    /// time span covers both.
    public func merged(with newer: Trace) -> Trace {
        var out = self
        out.name = newer.name ?? name
        out.userID = newer.userID ?? userID
        out.sessionID = newer.sessionID ?? sessionID
        out.tags = newer.tags.isEmpty ? tags : newer.tags
        out.metadata = newer.metadata ?? metadata
        out.release = newer.release ?? release
        out.environment = newer.environment ?? environment
        out.input = newer.input ?? input
        out.output = newer.output ?? output
        out.startTime = min(startTime, newer.startTime)
        switch (endTime, newer.endTime) {
        case (let a?, let b?): out.endTime = max(a, b)
        case (nil, let b): out.endTime = b
        case (let a, nil): out.endTime = a
        }
        return out
    }
}

public enum ObservationType: String, Sendable, Codable, Equatable, CaseIterable {
    case span, generation, event, tool, retrieval, embedding, guardrail, evaluator
}

public enum ObservationLevel: String, Sendable, Codable, Equatable {
    case debug = "DEBUG", `default` = "DEFAULT", warning = "WARNING", error = "ERROR"
}

/// A step inside a trace. Generations carry model, usage, cost and the gateway's routing facts.
public struct Observation: Sendable, Codable, Equatable, Identifiable {
    public var id: String
    public var traceID: String
    public var projectID: String
    public var parentID: String?
    public var type: ObservationType
    public var name: String?
    public var startTime: Date
    public var endTime: Date?
    /// First token of a streamed answer.
    public var completionStartTime: Date?
    /// The model that served (upstream).
    public var model: String?
    public var provider: String?
    public var modelParameters: JSONValue?
    public var input: String?
    public var output: String?
    public var usage: TokenUsage?
    public var cost: Double?
    public var costEstimated: Bool
    public var level: ObservationLevel
    public var statusMessage: String?
    public var metadata: JSONValue?
    // Gateway facts.
    public var requestedModel: String?
    public var deployment: String?
    public var variant: String?
    /// Why this deployment: `rule:...`, `split`, `sticky`, `least_latency`, `fallback:...`, `cache`.
    public var route: String?
    public var cacheStatus: String?
    public var statusCode: Int?
    public var promptName: String?
    public var promptVersion: Int?

    public init(id: String, traceID: String, projectID: String, parentID: String? = nil, type: ObservationType, name: String? = nil,
                startTime: Date, endTime: Date? = nil, completionStartTime: Date? = nil, model: String? = nil, provider: String? = nil,
                modelParameters: JSONValue? = nil, input: String? = nil, output: String? = nil, usage: TokenUsage? = nil,
                cost: Double? = nil, costEstimated: Bool = false, level: ObservationLevel = .default, statusMessage: String? = nil,
                metadata: JSONValue? = nil, requestedModel: String? = nil, deployment: String? = nil, variant: String? = nil,
                route: String? = nil, cacheStatus: String? = nil, statusCode: Int? = nil, promptName: String? = nil,
                promptVersion: Int? = nil) {
        self.id = id
        self.traceID = traceID
        self.projectID = projectID
        self.parentID = parentID
        self.type = type
        self.name = name
        self.startTime = startTime
        self.endTime = endTime
        self.completionStartTime = completionStartTime
        self.model = model
        self.provider = provider
        self.modelParameters = modelParameters
        self.input = input
        self.output = output
        self.usage = usage
        self.cost = cost
        self.costEstimated = costEstimated
        self.level = level
        self.statusMessage = statusMessage
        self.metadata = metadata
        self.requestedModel = requestedModel
        self.deployment = deployment
        self.variant = variant
        self.route = route
        self.cacheStatus = cacheStatus
        self.statusCode = statusCode
        self.promptName = promptName
        self.promptVersion = promptVersion
    }

    /// Milliseconds from start to end.
    public var latencyMs: Double? { endTime.map { $0.timeIntervalSince(startTime) * 1000 } }
}

/// What the batch writer stores in one go.
public struct TraceBatchItem: Sendable {
    public var trace: Trace
    public var observations: [Observation]

    public init(trace: Trace, observations: [Observation]) {
        self.trace = trace
        self.observations = observations
    }
}

/// A trace with its observations.
public struct TraceDetail: Sendable, Codable, Equatable {
    public var trace: Trace
    public var observations: [Observation]

    public init(trace: Trace, observations: [Observation]) {
        self.trace = trace
        self.observations = observations
    }
}

/// A page of a trace list: newest first, with an opaque cursor for the next page.
public struct TracePage: Sendable {
    public var traces: [TraceSummary]
    public var nextCursor: String?

    public init(traces: [TraceSummary], nextCursor: String?) {
        self.traces = traces
        self.nextCursor = nextCursor
    }
}

/// A trace row of a list, with the totals of its generations.
public struct TraceSummary: Sendable, Codable, Equatable {
    public var trace: Trace
    public var model: String?
    public var latencyMs: Double?
    public var inputTokens: Int
    public var outputTokens: Int
    public var cost: Double?
    public var level: ObservationLevel

    public init(trace: Trace, model: String?, latencyMs: Double?, inputTokens: Int, outputTokens: Int, cost: Double?, level: ObservationLevel) {
        self.trace = trace
        self.model = model
        self.latencyMs = latencyMs
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cost = cost
        self.level = level
    }
}

public struct TraceQuery: Sendable, Equatable {
    public var from: Date?
    public var to: Date?
    public var userID: String?
    public var sessionID: String?
    public var model: String?
    public var limit: Int
    /// From a previous page's `nextCursor`.
    public var cursor: String?

    public init(from: Date? = nil, to: Date? = nil, userID: String? = nil, sessionID: String? = nil, model: String? = nil,
                limit: Int = 50, cursor: String? = nil) {
        self.from = from
        self.to = to
        self.userID = userID
        self.sessionID = sessionID
        self.model = model
        self.limit = limit
        self.cursor = cursor
    }
}

/// Keyset cursor over (start time, id), newest first.
public struct TraceCursor: Sendable, Equatable {
    public var startMicros: Int64
    public var id: String

    public init(startMicros: Int64, id: String) {
        self.startMicros = startMicros
        self.id = id
    }

    public var encoded: String { Data("\(startMicros):\(id)".utf8).base64EncodedString() }

    public init(encoded: String) throws {
        guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8),
            let colon = text.firstIndex(of: ":"), let micros = Int64(text[..<colon])
        else { throw TernError.invalid("cursor", "not a cursor from a previous page") }
        startMicros = micros
        id = String(text[text.index(after: colon)...])
    }
}
