import Foundation
import Hummingbird
import TernCore
import TernGateway
import TernMonitor

/// `/api/v1/traces`: the calls recorded in the caller's project.
struct TracesController {
    let store: any TernStore
    let writer: TraceWriter
    let maxBody: Int

    struct TraceWithScores: Encodable {
        var trace: Trace
        var observations: [Observation]
        var scores: [Score]
        var tree: [ObservationNode]
    }

    struct TraceList: Encodable {
        var data: [TraceSummaryView]
        var nextCursor: String?
    }

    struct TraceSummaryView: Encodable {
        var id: String
        var name: String?
        var userId: String?
        var sessionId: String?
        var tags: [String]
        var startTime: Date
        var endTime: Date?
        var model: String?
        var latencyMs: Double?
        var inputTokens: Int
        var outputTokens: Int
        var cost: Double?
        var level: ObservationLevel
        var observationCount: Int
        var task: String?
        var language: String?
        var domain: String?
        var environment: String?
        var deployment: String?
        var variant: String?
        var promptName: String?
        var promptVersion: Int?

        init(_ s: TraceSummary) {
            id = s.trace.id
            name = s.trace.name
            userId = s.trace.userID
            sessionId = s.trace.sessionID
            tags = s.trace.tags
            startTime = s.trace.startTime
            endTime = s.trace.endTime
            model = s.model
            latencyMs = s.latencyMs
            inputTokens = s.inputTokens
            outputTokens = s.outputTokens
            cost = s.cost
            level = s.level
            observationCount = s.observationCount
            task = s.trace.task
            language = s.trace.language
            domain = s.trace.domain
            environment = s.trace.environment
            deployment = s.deployment
            variant = s.variant
            promptName = s.promptName
            promptVersion = s.promptVersion
        }
    }

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.get("traces", use: getTraces)
        api.get("traces/{trace}", use: getTrace)
        api.get("sessions", use: getSessions)
        api.get("metrics", use: getMetrics)
        api.post("scores", use: postScores)
        api.get("score-configs", use: getScoreConfigs)
        api.post("score-configs", use: postScoreConfigs)
        return api
    }

    /// The project whose traces are read or scored: the key's own, or `?project=` for signed-in users.
    func projectID(_ request: Request, _ context: TernRequestContext) async throws -> String {
        let principal = try context.requirePrincipal()
        if let bound = principal.boundProjectID {
            // A key works in its own project; naming another one is refused rather than silently ignored.
            if let reference = request.uri.queryParameters.get("project"), !reference.isEmpty,
                let named = try await ProjectLookup.find(reference, in: store), named.id != bound
            {
                throw TernError.forbidden("this API key belongs to another project; it cannot access project \"\(named.slug)\"")
            }
            return bound
        }
        let reference = request.uri.queryParameters.get("project") ?? Bootstrap.defaultProjectSlug
        guard let project = try await ProjectLookup.find(reference, in: store) else { throw TernError.notFound("project \"\(reference)\"", field: "project") }
        return project.id
    }

    static func pairs(_ parameters: Parameters) -> [(String, String)] {
        parameters.map { (String($0.key), String($0.value)) }
    }
}

// MARK: - Handlers

extension TracesController {
    /// `GET /traces`
    @Sendable func getTraces(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let query = try TraceQueryParameters.query(Self.pairs(request.uri.queryParameters), extra: ["project"])
        let page = try await store.traces.list(projectID: project, query: query)
        return try JSON.response(TraceList(data: page.traces.map(TraceSummaryView.init), nextCursor: page.nextCursor))
    }

    /// `GET /traces/{trace}`
    @Sendable func getTrace(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let id = try context.parameters.string("trace")
        guard let detail = try await store.traces.get(projectID: project, id: id) else { throw TernError.notFound("trace \(id)") }
        let scores = try await store.scores.list(projectID: project, traceID: id)
        return try JSON.response(
            TraceWithScores(
                trace: detail.trace, observations: detail.observations, scores: scores,
                tree: ObservationNode.tree(detail.observations, traceStart: detail.trace.startTime)))
    }

    /// `GET /sessions`
    @Sendable func getSessions(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let pairs = Self.pairs(request.uri.queryParameters)
        let filter = try TraceQueryParameters.filter(pairs, extra: ["project", "limit"])
        var limit = 50
        if let text = request.uri.queryParameters.get("limit") {
            guard let value = Int(text), (1...500).contains(value) else { throw TernError.invalid("limit", "expected an integer 1-500") }
            limit = value
        }
        return try JSON.response(ProjectsController.ListBody(data: try await store.traces.sessions(projectID: project, filter: filter, limit: limit)))
    }

    /// `GET /metrics`
    @Sendable func getMetrics(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let pairs = Self.pairs(request.uri.queryParameters)
        var query = MetricsQuery(filter: try TraceQueryParameters.filter(pairs, extra: ["project", "bucket", "group_by", "group_limit"]))
        if let text = request.uri.queryParameters.get("bucket") {
            guard let bucket = MetricsBucket(rawValue: text.lowercased()) else {
                throw TernError.invalid("bucket", "expected one of \(MetricsBucket.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
            }
            query.bucket = bucket
        }
        if let text = request.uri.queryParameters.get("group_by"), !text.isEmpty {
            guard let dimension = MetricsDimension(rawValue: text.lowercased()) else {
                throw TernError.invalid("group_by", "expected one of \(MetricsDimension.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
            }
            query.groupBy = dimension
        }
        if let text = request.uri.queryParameters.get("group_limit") {
            guard let limit = Int(text), (1...100).contains(limit) else { throw TernError.invalid("group_limit", "expected an integer 1-100") }
            query.groupLimit = limit
        }
        if query.filter.to == nil { query.filter.to = Date() }
        if query.filter.from == nil { query.filter.from = query.filter.to!.addingTimeInterval(-86_400) }
        return try JSON.response(try await MetricsEngine.run(query, projectID: project, repository: store.metrics))
    }

    /// `POST /scores`
    @Sendable func postScores(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "scoring a trace")
        let project = try await projectID(request, context)
        let body = try JSON.decode(
            JSONValue.self, from: try await JSON.collect(request, limit: maxBody),
            allowedKeys: ["id", "trace_id", "observation_id", "name", "value", "data_type", "source", "comment"])
        let reader = FieldReader(body: body, path: "")
        guard let traceID = try reader.id("trace_id") else { throw TernError.invalid("trace_id", "required") }
        guard try await store.traces.get(projectID: project, id: traceID) != nil else { throw TernError.notFound("trace \(traceID)", field: "trace_id") }
        guard let name = try reader.string("name"), !name.isEmpty else { throw TernError.invalid("name", "required") }
        guard let value = body["value"] else { throw TernError.invalid("value", "required") }
        let declared = try reader.string("data_type").map { text -> ScoreDataType in
            guard let type = ScoreDataType(rawValue: text.lowercased()) else {
                throw TernError.invalid("data_type", "expected numeric, categorical or boolean")
            }
            return type
        }
        var typing = ScoreTyping(projectID: project, configs: store.scoreConfigs, scores: store.scores)
        let typed = try await typing.type(value, name: name, declared: declared)
        let config = typed.config
        let defaultSource: ScoreSource = if case .user = principal { .human } else { .api }
        let source =
            try reader.string("source").map { text -> ScoreSource in
                guard let source = ScoreSource(rawValue: text.lowercased()) else { throw TernError.invalid("source", "expected human, model, rule or api") }
                return source
            } ?? defaultSource
        let score = Score(
            id: try reader.id("id") ?? TernID.makeTimeOrdered(), projectID: project, traceID: traceID,
            observationID: try reader.id("observation_id"), name: name, dataType: typed.dataType, numericValue: typed.numericValue,
            stringValue: typed.stringValue, source: source, comment: try reader.string("comment"), author: principal.actor,
            configID: config?.id, createdAt: Timestamp.now())
        try config?.validate(score)
        try await store.scores.insert([score])
        return try JSON.response(score, status: .created)
    }

    /// `GET /score-configs`
    @Sendable func getScoreConfigs(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        return try JSON.response(ProjectsController.ListBody(data: try await store.scoreConfigs.list(projectID: project)))
    }

    /// `POST /score-configs`
    @Sendable func postScoreConfigs(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "creating a score config")
        let project = try await projectID(request, context)
        let body = try JSON.decode(
            JSONValue.self, from: try await JSON.collect(request, limit: maxBody),
            allowedKeys: ["name", "data_type", "min_value", "max_value", "categories", "description"])
        let reader = FieldReader(body: body, path: "")
        guard let name = try reader.string("name") else { throw TernError.invalid("name", "required") }
        guard let typeText = try reader.string("data_type"), let type = ScoreDataType(rawValue: typeText.lowercased()) else {
            throw TernError.invalid("data_type", "expected numeric, categorical or boolean")
        }
        let config = ScoreConfig(
            id: TernID.make(), projectID: project, name: name, dataType: type, minValue: try reader.double("min_value"),
            maxValue: try reader.double("max_value"), categories: try reader.strings("categories"),
            description: try reader.string("description"), createdAt: Timestamp.now())
        try config.validateDefinition()
        return try JSON.response(try await store.scoreConfigs.create(config), status: .created)
    }
}
