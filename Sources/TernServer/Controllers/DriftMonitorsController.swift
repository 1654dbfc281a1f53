import Foundation
import Hummingbird
import TernCore
import TernMonitor

/// `/api/v1/monitoring/drift-monitors`: scheduled drift checks of live traffic and their reports.
struct DriftMonitorsController {
    let store: any TernStore
    let maxBody: Int
    let projectID: @Sendable (Request, TernRequestContext) async throws -> String
    /// The local embedding model, for monitors that compare text.
    let embedder: @Sendable () async throws -> any Embedder

    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.get("monitoring/drift-monitors", use: getMonitors)
        api.post("monitoring/drift-monitors", use: postMonitors)
        api.get("monitoring/drift-monitors/{id}", use: getMonitor)
        api.patch("monitoring/drift-monitors/{id}", use: patchMonitor)
        api.delete("monitoring/drift-monitors/{id}", use: deleteMonitor)
        api.get("monitoring/drift-monitors/{id}/reports", use: getReports)
        api.post("monitoring/drift-monitors/{id}/run", use: postRun)
        return api
    }

    func monitor(_ context: TernRequestContext, project: String) async throws -> DriftMonitor {
        let id = try context.parameters.require("id")
        if let found = try await store.driftMonitors.get(projectID: project, id: id) { return found }
        if let found = try await store.driftMonitors.get(projectID: project, name: id) { return found }
        throw TernError.notFound("drift monitor \(id)")
    }
}

extension DriftMonitorsController {
    /// `GET /monitoring/drift-monitors`: each with its newest report's share of drifted columns.
    @Sendable func getMonitors(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        var rows: [JSONValue] = []
        for monitor in try await store.driftMonitors.list(projectID: project) {
            guard case .object(var object) = monitor.json else { continue }
            object["latest"] =
                try await store.driftMonitors.reports(projectID: project, monitorID: monitor.id, limit: 1).first.map { report in
                    var summary = report.json
                    summary["report"] = nil
                    return summary
                } ?? .null
            rows.append(.object(object))
        }
        return try JSON.response(JSONValue.object(["data": .array(rows)]))
    }

    /// `POST /monitoring/drift-monitors`
    @Sendable func postMonitors(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "creating a drift monitor")
        let project = try await projectID(request, context)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody))
        guard let name = try WatchersController.name(body) else { throw TernError.invalid("name", "required: a name for the monitor, e.g. \"daily\"") }
        let now = Timestamp.now()
        var monitor = try DriftMonitor.apply(
            body, to: DriftMonitor(id: TernID.make(), projectID: project, name: name, createdAt: now, updatedAt: now), allowedColumns: DriftMonitor.traceColumns
        )
        monitor.name = name
        monitor = try await store.driftMonitors.create(monitor)
        return try JSON.response(monitor.json, status: .created, headers: [.location: "/api/v1/monitoring/drift-monitors/\(monitor.id)"])
    }

    /// `GET /monitoring/drift-monitors/{id}`
    @Sendable func getMonitor(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        return try JSON.response(try await monitor(context, project: project).json)
    }

    /// `PATCH /monitoring/drift-monitors/{id}`
    @Sendable func patchMonitor(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "changing a drift monitor")
        let project = try await projectID(request, context)
        let existing = try await monitor(context, project: project)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody))
        var monitor = try DriftMonitor.apply(body, to: existing, allowedColumns: DriftMonitor.traceColumns)
        if let name = try WatchersController.name(body) { monitor.name = name }
        monitor.updatedAt = Timestamp.now()
        return try JSON.response(try await store.driftMonitors.update(monitor).json)
    }

    /// `DELETE /monitoring/drift-monitors/{id}`: the monitor and its reports.
    @Sendable func deleteMonitor(_ request: Request, context: TernRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "deleting a drift monitor")
        let project = try await projectID(request, context)
        let monitor = try await monitor(context, project: project)
        try await store.driftMonitors.delete(projectID: project, id: monitor.id)
        return Response(status: .noContent)
    }

    /// `GET /monitoring/drift-monitors/{id}/reports?limit=`: newest first.
    @Sendable func getReports(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let monitor = try await monitor(context, project: project)
        let limit = try DatasetsController.int(request.uri.queryParameters.get("limit"), "limit", range: 1...500) ?? 50
        let reports = try await store.driftMonitors.reports(projectID: project, monitorID: monitor.id, limit: limit)
        return try JSON.response(JSONValue.object(["data": .array(reports.map(\.json))]))
    }

    /// `POST /monitoring/drift-monitors/{id}/run`: a check now; answers with its report.
    @Sendable func postRun(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "running a drift monitor")
        let project = try await projectID(request, context)
        let monitor = try await monitor(context, project: project)
        return try JSON.response(try await DriftMonitoring.check(monitor, store: store, embedder: embedder).json, status: .created)
    }
}
