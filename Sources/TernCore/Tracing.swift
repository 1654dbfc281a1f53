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
    /// Monitoring segments: from metadata (`task`, `language`, `domain`) when the client sends them;
    /// otherwise the language is detected from the input in the background.
    public var task: String?
    public var language: String?
    public var domain: String?

    public init(
        id: String, projectID: String, name: String? = nil, userID: String? = nil, sessionID: String? = nil,
        tags: [String] = [], metadata: JSONValue? = nil, release: String? = nil, environment: String? = nil,
        input: String? = nil, output: String? = nil, startTime: Date, endTime: Date? = nil,
        task: String? = nil, language: String? = nil, domain: String? = nil
    ) {
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
        self.task = task
        self.language = language
        self.domain = domain
    }
}

extension Trace {
    /// The segments a client set: explicit fields win, then the metadata keys `task`, `language`
    /// (or `lang`) and `domain`. Values are trimmed and cut to 64 characters.
    public func withSegmentsFromMetadata() -> Trace {
        var out = self
        func read(_ keys: String...) -> String? {
            for key in keys {
                if let text = metadata?[key]?.string?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
                    return String(text.prefix(64))
                }
            }
            return nil
        }
        out.task = task ?? read("task")
        out.language = (language ?? read("language", "lang"))?.lowercased()
        out.domain = domain ?? read("domain")
        return out
    }

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
        out.task = newer.task ?? task
        out.language = newer.language ?? language
        out.domain = newer.domain ?? domain
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

    public init(
        id: String, traceID: String, projectID: String, parentID: String? = nil, type: ObservationType, name: String? = nil,
        startTime: Date, endTime: Date? = nil, completionStartTime: Date? = nil, model: String? = nil, provider: String? = nil,
        modelParameters: JSONValue? = nil, input: String? = nil, output: String? = nil, usage: TokenUsage? = nil,
        cost: Double? = nil, costEstimated: Bool = false, level: ObservationLevel = .default, statusMessage: String? = nil,
        metadata: JSONValue? = nil, requestedModel: String? = nil, deployment: String? = nil, variant: String? = nil,
        route: String? = nil, cacheStatus: String? = nil, statusCode: Int? = nil, promptName: String? = nil,
        promptVersion: Int? = nil
    ) {
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
        self.cost = cost?.finiteOrClamped  // a stored sum may predate the input bounds
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
public struct TraceBatchItem: Sendable, Codable {
    public var trace: Trace
    public var observations: [Observation]

    public init(trace: Trace, observations: [Observation]) {
        self.trace = trace
        self.observations = observations
    }

    /// The trace rows a batch writes: one per (project, trace id), merged in batch order as the
    /// stores merge a repeated id (segments read from metadata first), in order of first appearance.
    /// An ingest batch names each trace once per event (a trace event plus one per observation), so
    /// this turns six upserts of a trace into one. A trace named only by an observation gets a bare
    /// row (started with the observation). Also returns the distinct (project, hour) pairs of every
    /// item's start, which the rollups must recompute.
    public static func mergedTraces(_ batch: [TraceBatchItem]) -> (traces: [Trace], hours: [(projectID: String, hour: Int64)]) {
        var index: [TraceKey: Int] = [:]
        var traces: [Trace] = []
        var seenHours = Set<HourKey>()
        var hours: [(projectID: String, hour: Int64)] = []
        index.reserveCapacity(batch.count)
        func markHour(_ projectID: String, _ start: Date) {
            let hour = Timestamp.hour(Timestamp.micros(start))
            if seenHours.insert(HourKey(projectID: projectID, hour: hour)).inserted { hours.append((projectID, hour)) }
        }
        for item in batch {
            let trace = item.trace.withSegmentsFromMetadata()
            let key = TraceKey(projectID: trace.projectID, id: trace.id)
            if let at = index[key] {
                traces[at] = traces[at].merged(with: trace)
            } else {
                index[key] = traces.count
                traces.append(trace)
            }
            markHour(trace.projectID, trace.startTime)
        }
        // An observation whose trace no item names still gets a trace row (SQLite's observations
        // point at their trace's key; no backend leaves an observation without its trace).
        for item in batch {
            for observation in item.observations {
                let key = TraceKey(projectID: observation.projectID, id: observation.traceID)
                guard index[key] == nil else { continue }
                index[key] = traces.count
                traces.append(Trace(id: observation.traceID, projectID: observation.projectID, startTime: observation.startTime))
                markHour(observation.projectID, observation.startTime)
            }
        }
        return (traces, hours)
    }

    public struct TraceKey: Hashable, Sendable {
        public var projectID: String
        public var id: String

        public init(projectID: String, id: String) {
            self.projectID = projectID
            self.id = id
        }
    }

    private struct HourKey: Hashable {
        var projectID: String
        var hour: Int64
    }
}

/// What a set of observations adds to their trace's stored totals: the same figures as
/// `TraceSQL.refreshTotals` computes from every stored observation (count, tokens, cost, errors,
/// warnings, and the routing facts of the first generation with a model, by start time then id).
public struct TraceTotalsDelta: Sendable, Equatable {
    public var observationCount = 0
    public var inputTokens = 0
    public var outputTokens = 0
    /// Nil while no observation had a cost.
    public var cost: Double?
    public var errorCount = 0
    public var warningCount = 0
    /// The first generation (an observation with a model).
    public var firstGeneration: Observation?

    public init() {}

    public mutating func add(_ observation: Observation) {
        observationCount += 1
        inputTokens += observation.usage?.inputTokens ?? 0
        outputTokens += observation.usage?.outputTokens ?? 0
        if let value = observation.cost { cost = (cost ?? 0) + value }
        if observation.level == .error { errorCount += 1 }
        if observation.level == .warning { warningCount += 1 }
        if observation.model != nil {
            if let first = firstGeneration, (first.startTime, first.id) <= (observation.startTime, observation.id) { return }
            firstGeneration = observation
        }
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
    /// The model of the trace's first generation.
    public var model: String?
    public var latencyMs: Double?
    public var inputTokens: Int
    public var outputTokens: Int
    public var cost: Double?
    public var level: ObservationLevel
    public var observationCount: Int
    public var promptName: String?
    public var promptVersion: Int?
    public var deployment: String?
    public var variant: String?

    public init(
        trace: Trace, model: String?, latencyMs: Double?, inputTokens: Int, outputTokens: Int, cost: Double?, level: ObservationLevel,
        observationCount: Int = 0, promptName: String? = nil, promptVersion: Int? = nil, deployment: String? = nil,
        variant: String? = nil
    ) {
        self.trace = trace
        self.model = model
        self.latencyMs = latencyMs
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cost = cost?.finiteOrClamped  // a stored sum may predate the input bounds
        self.level = level
        self.observationCount = observationCount
        self.promptName = promptName
        self.promptVersion = promptVersion
        self.deployment = deployment
        self.variant = variant
    }
}

/// How a trace list is ordered.
public enum TraceSort: String, Sendable, Equatable, CaseIterable {
    case time, latency, cost
}

/// A score condition of a trace filter: `score.NAME=VALUE` or a numeric range.
public struct ScoreFilter: Sendable, Equatable {
    public var name: String
    public var equals: String?
    public var min: Double?
    public var max: Double?

    public init(name: String, equals: String? = nil, min: Double? = nil, max: Double? = nil) {
        self.name = name
        self.equals = equals
        self.min = min
        self.max = max
    }
}

/// Trace filters, shared by the trace list and the metrics queries. Every condition narrows (AND).
public struct TraceFilter: Sendable, Equatable {
    public var from: Date?
    public var to: Date?
    public var userID: String?
    public var sessionID: String?
    public var model: String?
    public var name: String?
    /// `ok` (no error observation) or `error`.
    public var status: String?
    /// Every tag must be present.
    public var tags: [String]
    /// `metadata.KEY=VALUE`: the value as text must equal.
    public var metadata: [String: String]
    public var minLatencyMs: Double?
    public var maxLatencyMs: Double?
    public var minCost: Double?
    public var maxCost: Double?
    public var scores: [ScoreFilter]
    public var task: String?
    public var language: String?
    public var domain: String?
    public var environment: String?
    public var release: String?
    public var promptName: String?
    public var promptVersion: Int?
    public var deployment: String?
    public var variant: String?
    /// Case-insensitive substring of the input or output.
    public var text: String?
    /// Also match the traces Tern's own callers made (`TraceOrigin`): experiments, judges, the
    /// playground. Left out by default, unless the filter names an environment or a session.
    public var includeInternal: Bool = false

    public init(
        from: Date? = nil, to: Date? = nil, userID: String? = nil, sessionID: String? = nil, model: String? = nil,
        name: String? = nil, status: String? = nil, tags: [String] = [], metadata: [String: String] = [:],
        minLatencyMs: Double? = nil, maxLatencyMs: Double? = nil, minCost: Double? = nil, maxCost: Double? = nil,
        scores: [ScoreFilter] = [], task: String? = nil, language: String? = nil, domain: String? = nil,
        environment: String? = nil, release: String? = nil, promptName: String? = nil, promptVersion: Int? = nil,
        deployment: String? = nil, variant: String? = nil, text: String? = nil
    ) {
        self.from = from
        self.to = to
        self.userID = userID
        self.sessionID = sessionID
        self.model = model
        self.name = name
        self.status = status
        self.tags = tags
        self.metadata = metadata
        self.minLatencyMs = minLatencyMs
        self.maxLatencyMs = maxLatencyMs
        self.minCost = minCost
        self.maxCost = maxCost
        self.scores = scores
        self.task = task
        self.language = language
        self.domain = domain
        self.environment = environment
        self.release = release
        self.promptName = promptName
        self.promptVersion = promptVersion
        self.deployment = deployment
        self.variant = variant
        self.text = text
    }

    /// True when only the time range is set (the metrics rollups can answer).
    public var isTimeOnly: Bool {
        var copy = self
        copy.from = nil
        copy.to = nil
        return copy == TraceFilter()
    }
}

public struct TraceQuery: Sendable, Equatable {
    public var filter: TraceFilter
    public var sort: TraceSort
    public var ascending: Bool
    public var limit: Int
    /// From a previous page's `nextCursor`.
    public var cursor: String?

    public init(filter: TraceFilter = TraceFilter(), sort: TraceSort = .time, ascending: Bool = false, limit: Int = 50, cursor: String? = nil) {
        self.filter = filter
        self.sort = sort
        self.ascending = ascending
        self.limit = limit
        self.cursor = cursor
    }

    public init(
        from: Date? = nil, to: Date? = nil, userID: String? = nil, sessionID: String? = nil, model: String? = nil,
        limit: Int = 50, cursor: String? = nil
    ) {
        self.init(filter: TraceFilter(from: from, to: to, userID: userID, sessionID: sessionID, model: model), limit: limit, cursor: cursor)
    }
}

/// Keyset cursor over (sort key, id) in the list's order. The key is microseconds for time and
/// latency, and dollars for cost; traces without a value sort as -1.
public struct TraceCursor: Sendable, Equatable {
    public var sort: TraceSort
    public var key: Double
    public var id: String

    public init(sort: TraceSort = .time, key: Double, id: String) {
        self.sort = sort
        self.key = key
        self.id = id
    }

    public var encoded: String { Data("\(sort.rawValue):\(key):\(id)".utf8).base64EncodedString() }

    public init(encoded: String, sort expected: TraceSort) throws {
        let invalid = TernError.invalid("cursor", "not a cursor from a previous page of this list")
        guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8) else { throw invalid }
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let sort = TraceSort(rawValue: String(parts[0])), sort == expected, let key = Double(parts[1]), key.isFinite else {
            throw invalid
        }
        self.sort = sort
        self.key = key
        self.id = String(parts[2])
    }
}

/// An observation with its children, for the trace view's tree and waterfall.
public struct ObservationNode: Sendable, Codable, Equatable {
    public var id: String
    public var type: ObservationType
    public var name: String?
    public var depth: Int
    /// Milliseconds from the trace start.
    public var startOffsetMs: Double
    public var durationMs: Double?
    public var children: [ObservationNode]

    /// Builds the forest of a trace's observations: children ordered by start time; an observation
    /// whose parent is missing (or would make a cycle) becomes a root.
    public static func tree(_ observations: [Observation], traceStart: Date) -> [ObservationNode] {
        let ids = Set(observations.map(\.id))
        var children: [String: [Observation]] = [:]
        var roots: [Observation] = []
        for observation in observations {
            if let parent = observation.parentID, parent != observation.id, ids.contains(parent) {
                children[parent, default: []].append(observation)
            } else {
                roots.append(observation)
            }
        }
        let order: (Observation, Observation) -> Bool = { ($0.startTime, $0.id) < ($1.startTime, $1.id) }
        var placed = Set<String>()
        func node(_ observation: Observation, depth: Int) -> ObservationNode {
            placed.insert(observation.id)
            let kids = (children[observation.id] ?? []).sorted(by: order).filter { !placed.contains($0.id) }
            return ObservationNode(
                id: observation.id, type: observation.type, name: observation.name, depth: depth,
                startOffsetMs: observation.startTime.timeIntervalSince(traceStart) * 1000, durationMs: observation.latencyMs,
                children: kids.map { node($0, depth: depth + 1) })
        }
        var out = roots.sorted(by: order).map { node($0, depth: 0) }
        // Observations only reachable through a cycle.
        for observation in observations.sorted(by: order) where !placed.contains(observation.id) {
            out.append(node(observation, depth: 0))
        }
        return out
    }

    /// The nodes depth-first, as the waterfall lists them.
    public static func flatten(_ nodes: [ObservationNode]) -> [ObservationNode] {
        nodes.flatMap { [$0] + flatten($0.children) }
    }
}

/// A conversation: the traces sharing a session id.
public struct SessionSummary: Sendable, Codable, Equatable {
    public var id: String
    public var userID: String?
    public var traceCount: Int
    public var firstTime: Date
    public var lastTime: Date
    public var tokens: Int
    public var cost: Double?
    public var errorCount: Int

    public init(id: String, userID: String?, traceCount: Int, firstTime: Date, lastTime: Date, tokens: Int, cost: Double?, errorCount: Int) {
        self.id = id
        self.userID = userID
        self.traceCount = traceCount
        self.firstTime = firstTime
        self.lastTime = lastTime
        self.tokens = tokens
        self.cost = cost?.finiteOrClamped  // a stored sum may predate the input bounds
        self.errorCount = errorCount
    }
}

/// Where a trace came from when Tern itself made the call, stored as the trace's `environment`. The
/// dashboard, the trace list, sessions and users leave these traces out unless asked
/// (`include_internal=true`), so an experiment does not show up as a spike of production traffic.
public enum TraceOrigin {
    /// Cells of an experiment and their judge and embedding calls.
    public static let experiment = "experiment"
    /// Runs of the prompt playground.
    public static let playground = "playground"
    /// Watchers (online evaluators) scoring live traffic.
    public static let watcher = "watcher"
    public static let internalEnvironments = [experiment, playground, watcher]
}
