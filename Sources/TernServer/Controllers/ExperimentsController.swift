import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TernCore
import TernEval
import TernGateway

/// `/api/v1/experiments`: runs of prompt versions x models (x repeats) over a dataset version,
/// executed in the background through the gateway; their cells, cancellation, and comparisons.
struct ExperimentsController {
    let store: any TernStore
    let gateway: Gateway
    let service: ExperimentService
    let maxBody: Int
    let projectID: @Sendable (Request, TernRequestContext) async throws -> String

    static let maxCells = 100_000
    static let maxItems = 20_000

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.get("experiments", use: getExperiments)
        api.post("experiments", use: postExperiments)
        api.get("experiments/compare", use: getExperimentsCompare)
        api.get("experiments/{id}", use: getExperiment)
        api.get("experiments/{id}/results", use: getExperimentResults)
        api.post("experiments/{id}/cancel", use: postExperimentCancel)
        return api
    }

    // MARK: - Views

    struct RunPage: Encodable {
        var data: [RunView]
        var nextCursor: String?
    }

    struct CellPage: Encodable {
        var data: [ExperimentCell]
        var nextCursor: String?
    }

    struct DatasetRef: Encodable {
        var id: String
        var name: String
        var version: Int
    }

    struct Summary: Encodable {
        var cells: Int
        var plannedCells: Int
        /// Share of the planned cells that are done (0-1).
        var progress: Double
        var passed: Int
        var failed: Int
        var errors: Int
        /// Passed over finished cells.
        var passRate: Double
        var inputTokens: Int
        var outputTokens: Int
        /// Cost of the models' calls (USD).
        var cost: Double
        var gradingInputTokens: Int
        var gradingOutputTokens: Int
        /// Cost of the judge calls (USD), apart from `cost`.
        var gradingCost: Double
        var meanLatencyMs: Double?

        init(_ totals: ExperimentTotals, planned: Int) {
            cells = totals.cells
            plannedCells = planned
            progress = planned == 0 ? 1 : min(1, Double(totals.cells) / Double(planned))
            passed = totals.passed
            failed = totals.failed
            errors = totals.errors
            passRate = totals.passRate
            inputTokens = totals.inputTokens
            outputTokens = totals.outputTokens
            cost = totals.cost
            gradingInputTokens = totals.gradingInputTokens
            gradingOutputTokens = totals.gradingOutputTokens
            gradingCost = totals.gradingCost
            meanLatencyMs = totals.cells == 0 ? nil : totals.latencyMs / Double(totals.cells)
        }
    }

    struct ColumnView: Encodable {
        var prompt: String
        var model: String
        var summary: Summary

        init(_ column: ExperimentColumnTotals) {
            prompt = column.prompt
            model = column.model
            summary = Summary(column.totals, planned: column.totals.cells)
        }
    }

    /// A run as the API shows it.
    struct RunView: Encodable {
        var id: String
        var name: String
        var status: ExperimentStatus
        var dataset: DatasetRef
        var prompts: [String]
        var models: [String]
        var repeats: Int
        var assert: JSONValue
        var options: JSONValue
        var summary: Summary
        var createdAt: Date
        var createdBy: String
        var startedAt: Date?
        var finishedAt: Date?
        var error: String?
        /// Per column (prompt version x model), on the single-run read.
        var columns: [ColumnView]?

        init(_ run: ExperimentRun) {
            id = run.id
            name = run.name
            status = run.status
            dataset = DatasetRef(id: run.datasetID, name: run.datasetName, version: run.datasetVersion)
            prompts = run.prompts
            models = run.models
            repeats = run.repeats
            assert = run.assertions
            options = run.options
            summary = Summary(run.totals, planned: run.plannedCells)
            createdAt = run.createdAt
            createdBy = run.createdBy
            startedAt = run.startedAt
            finishedAt = run.finishedAt
            error = run.error
        }
    }

    // MARK: - Cursors

    static func runCursor(_ text: String) throws -> (Date, String) {
        let parts = text.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let micros = Int64(parts[0]) else { throw TernError.invalid("cursor", "not a cursor of this list") }
        return (Timestamp.date(micros), String(parts[1]))
    }

    static func encodeCursor(_ key: String) -> String {
        Data(key.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func cellCursor(_ text: String) throws -> String {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { throw TernError.invalid("cursor", "not a cursor of this list") }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: - Comparison

    /// Compares two runs of the project, reading both runs' cells in pages.
    static func compare(
        store: any TernStore, projectID: String, base: String, head: String, by: ComparisonKey?,
        limit: Int
    ) async throws -> ExperimentComparison {
        guard base != head else { throw TernError.invalid("head", "choose two different runs: base and head are both \(base)") }
        guard let baseRun = try await store.experiments.get(projectID: projectID, id: base) else {
            throw TernError.notFound("experiment \(base)", field: "base")
        }
        guard let headRun = try await store.experiments.get(projectID: projectID, id: head) else {
            throw TernError.notFound("experiment \(head)", field: "head")
        }
        var comparer = ExperimentComparer(base: baseRun, head: headRun, key: by, limit: limit)
        try await forEachCell(store: store, projectID: projectID, experimentID: base) { try comparer.addBase($0) }
        try await forEachCell(store: store, projectID: projectID, experimentID: head) { try comparer.addHead($0) }
        return comparer.finish()
    }

    static func forEachCell(
        store: any TernStore, projectID: String, experimentID: String,
        _ body: (ExperimentCell) throws -> Void
    ) async throws {
        var after: String?
        repeat {
            let page = try await store.experiments.cells(projectID: projectID, experimentID: experimentID, after: after, limit: 1000)
            for cell in page { try body(cell) }
            after = page.count == 1000 ? page.last?.cellKey : nil
        } while after != nil
    }
}

// MARK: - Handlers

extension ExperimentsController {
    /// `GET /experiments`
    @Sendable func getExperiments(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let parameters = request.uri.queryParameters
        let limit = try DatasetsController.int(parameters.get("limit"), "limit", range: 1...200) ?? 50
        let before = try parameters.get("cursor").map { try Self.runCursor($0) }
        let runs = try await store.experiments.list(projectID: project, before: before, limit: limit)
        let next = runs.count == limit ? runs.last.map { "\(Timestamp.micros($0.createdAt)).\($0.id)" } : nil
        return try JSON.response(RunPage(data: runs.map { RunView($0) }, nextCursor: next))
    }

    /// `POST /experiments`
    @Sendable func postExperiments(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "starting an experiment")
        let project = try await projectID(request, context)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody), allowedKeys: Self.bodyKeys)
        let job = try await prepare(body, projectID: project, principal: principal)
        _ = try await store.experiments.create(job.run)
        service.launch(job)
        return try JSON.response(RunView(job.run), status: .accepted, headers: [.location: "/api/v1/experiments/\(job.run.id)"])
    }

    /// `GET /experiments/compare`
    @Sendable func getExperimentsCompare(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let parameters = request.uri.queryParameters
        guard let base = parameters.get("base"), !base.isEmpty else { throw TernError.invalid("base", "required: the id of the base run") }
        guard let head = parameters.get("head"), !head.isEmpty else { throw TernError.invalid("head", "required: the id of the run to compare with it") }
        let by = try parameters.get("by").map { value -> ComparisonKey in
            guard let key = ComparisonKey(rawValue: value) else {
                throw TernError.invalid("by", "expected one of \(ComparisonKey.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(value)\"")
            }
            return key
        }
        let limit = try DatasetsController.int(parameters.get("limit"), "limit", range: 0...1000) ?? 200
        return try JSON.response(try await Self.compare(store: store, projectID: project, base: base, head: head, by: by, limit: limit))
    }

    /// `GET /experiments/{id}`
    @Sendable func getExperiment(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let id = try context.parameters.string("id")
        let wait = try DatasetsController.int(request.uri.queryParameters.get("wait"), "wait", range: 0...60) ?? 0
        let found =
            wait > 0
            ? try await service.wait(projectID: project, id: id, timeout: .seconds(wait))
            : try await store.experiments.get(projectID: project, id: id)
        guard let run = found else { throw TernError.notFound("experiment \(id)") }
        var view = RunView(run)
        view.columns = try await store.experiments.columns(projectID: project, experimentID: id).map(ColumnView.init)
        return try JSON.response(view)
    }

    /// `GET /experiments/{id}/results`
    @Sendable func getExperimentResults(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let id = try context.parameters.string("id")
        guard try await store.experiments.get(projectID: project, id: id) != nil else { throw TernError.notFound("experiment \(id)") }
        let parameters = request.uri.queryParameters
        let limit = try DatasetsController.int(parameters.get("limit"), "limit", range: 1...1000) ?? 100
        let after = try parameters.get("cursor").map { try Self.cellCursor($0) }
        let cells = try await store.experiments.cells(projectID: project, experimentID: id, after: after, limit: limit)
        let next = cells.count == limit ? cells.last.map { Self.encodeCursor($0.cellKey) } : nil
        return try JSON.response(CellPage(data: cells, nextCursor: next))
    }

    /// `POST /experiments/{id}/cancel`
    @Sendable func postExperimentCancel(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "cancelling an experiment")
        let project = try await projectID(request, context)
        let id = try context.parameters.string("id")
        guard let run = try await service.cancel(projectID: project, id: id, by: principal.actor) else { throw TernError.notFound("experiment \(id)") }
        return try JSON.response(RunView(run))
    }
}
