import Foundation
import Hummingbird
import TernCore
import TernMonitor

/// `/api/v1/watchers`: online evaluators on live traffic, their queue and results.
struct WatchersController {
    let store: any TernStore
    let maxBody: Int
    let projectID: @Sendable (Request, TernRequestContext) async throws -> String

    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.get("watchers", use: getWatchers)
        api.post("watchers", use: postWatchers)
        api.get("watchers/{id}", use: getWatcher)
        api.patch("watchers/{id}", use: patchWatcher)
        api.delete("watchers/{id}", use: deleteWatcher)
        api.get("watchers/{id}/jobs", use: getWatcherJobs)
        api.post("watchers/{id}/backfill", use: postBackfill)
        api.get("watchers/{id}/backfills", use: getBackfills)
        api.post("watchers/{id}/backfills/{backfill}/cancel", use: cancelBackfill)
        return api
    }

    static let bodyKeys: Set<String> = ["name", "enabled"]

    /// A watcher with its queue's figures.
    static func view(_ watcher: Watcher, _ stats: WatcherQueueStats?, now: Date) -> JSONValue {
        guard case .object(var object) = watcher.json else { return .null }
        let stats = stats ?? WatcherQueueStats(watcherID: watcher.id)
        object["queue"] = [
            "pending": .number(Double(stats.pending)), "running": .number(Double(stats.running)), "done": .number(Double(stats.done)),
            "failed": .number(Double(stats.failed)),
            "lag_seconds": stats.oldestWaiting.map { .number(max(0, now.timeIntervalSince($0)).rounded()) } ?? .null,
            "cost_today": .number(stats.costToday),
        ]
        return .object(object)
    }

    static func name(_ body: JSONValue) throws -> String? {
        guard let value = body["name"], !value.isNull else { return nil }
        guard let name = value.string, !name.isEmpty, name.count <= 100,
            name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
        else {
            throw TernError.invalid("name", "expected 1-100 letters, digits, '-', '_' or '.'")
        }
        return name
    }

    func watcher(_ request: Request, _ context: TernRequestContext, project: String) async throws -> Watcher {
        let id = try context.parameters.require("id")
        if let found = try await store.watchers.get(projectID: project, id: id) { return found }
        if let found = try await store.watchers.get(projectID: project, name: id) { return found }
        throw TernError.notFound("watcher \(id)")
    }

    func stats(_ project: String) async throws -> [String: WatcherQueueStats] {
        Dictionary(uniqueKeysWithValues: try await store.watchers.stats(projectID: project, now: Date()).map { ($0.watcherID, $0) })
    }
}

extension WatchersController {
    /// `GET /watchers`
    @Sendable func getWatchers(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let stats = try await stats(project)
        let now = Date()
        let watchers = try await store.watchers.list(projectID: project)
        return try JSON.response(JSONValue.object(["data": .array(watchers.map { Self.view($0, stats[$0.id], now: now) })]))
    }

    /// `POST /watchers`
    @Sendable func postWatchers(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "creating a watcher")
        let project = try await projectID(request, context)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody))
        guard let name = try Self.name(body) else { throw TernError.invalid("name", "required: a name for the watcher, e.g. \"refund-policy\"") }
        let definition = try WatcherDefinition(json: body, allowing: Self.bodyKeys)
        let enabled = body["enabled"].map { $0.bool ?? true } ?? true
        var keyID: String?
        if case .apiKey(let key) = principal { keyID = key.id }
        let now = Timestamp.now()
        let watcher = try await store.watchers.create(
            Watcher(id: TernID.make(), projectID: project, name: name, enabled: enabled, definition: definition, keyID: keyID, createdAt: now, updatedAt: now))
        return try JSON.response(Self.view(watcher, nil, now: now), status: .created, headers: [.location: "/api/v1/watchers/\(watcher.id)"])
    }

    /// `GET /watchers/{id}`
    @Sendable func getWatcher(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let watcher = try await watcher(request, context, project: project)
        return try JSON.response(Self.view(watcher, try await stats(project)[watcher.id], now: Date()))
    }

    /// `PATCH /watchers/{id}`: changed assertions, filter, sampling, observation or threshold make a new
    /// version (traces are scored again by it); name and enabled do not.
    @Sendable func patchWatcher(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "changing a watcher")
        let project = try await projectID(request, context)
        var watcher = try await watcher(request, context, project: project)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody))
        let definition = try WatcherDefinition(json: body, base: watcher.definition, allowing: Self.bodyKeys)
        if let name = try Self.name(body) { watcher.name = name }
        if let enabled = body["enabled"], !enabled.isNull {
            guard let flag = enabled.bool else { throw TernError.invalid("enabled", "expected true or false") }
            watcher.enabled = flag
        }
        if definition != watcher.definition {
            watcher.definition = definition
            watcher.version += 1
        }
        watcher.updatedAt = Timestamp.now()
        let updated = try await store.watchers.update(watcher)
        return try JSON.response(Self.view(updated, try await stats(project)[updated.id], now: Date()))
    }

    /// `DELETE /watchers/{id}`: the watcher and its queue; its scores stay.
    @Sendable func deleteWatcher(_ request: Request, context: TernRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "deleting a watcher")
        let project = try await projectID(request, context)
        let watcher = try await watcher(request, context, project: project)
        try await store.watchers.delete(projectID: project, id: watcher.id)
        return Response(status: .noContent)
    }

    /// `GET /watchers/{id}/jobs?status=pending|running|done|failed&limit=`
    @Sendable func getWatcherJobs(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let watcher = try await watcher(request, context, project: project)
        let parameters = request.uri.queryParameters
        let status = try parameters.get("status").map { value -> WatcherJobStatus in
            guard let status = WatcherJobStatus(rawValue: value) else {
                throw TernError.invalid("status", "expected one of pending, running, done, failed, got \"\(value)\"")
            }
            return status
        }
        let limit = try DatasetsController.int(parameters.get("limit"), "limit", range: 1...1000) ?? 100
        let jobs = try await store.watchers.jobs(projectID: project, watcherID: watcher.id, status: status, limit: limit)
        let rows: [JSONValue] = jobs.map { job in
            [
                "id": .string(job.id), "trace_id": .string(job.traceID), "observation_id": job.observationID.isEmpty ? .null : .string(job.observationID),
                "version": .number(Double(job.watcherVersion)), "status": .string(job.status.rawValue), "attempts": .number(Double(job.attempts)),
                "last_error": job.lastError.map(JSONValue.string) ?? .null, "score_id": job.scoreID.map(JSONValue.string) ?? .null,
                "cost": job.cost.map(JSONValue.number) ?? .null, "judge_trace_id": job.judgeTraceID.map(JSONValue.string) ?? .null,
                "created_at": .string(JSON.formatDate(job.createdAt)), "finished_at": job.finishedAt.map { .string(JSON.formatDate($0)) } ?? .null,
                "not_before": .string(JSON.formatDate(job.notBefore)),
            ]
        }
        return try JSON.response(JSONValue.object(["data": .array(rows)]))
    }

    /// `POST /watchers/{id}/backfill` `{"from", "to"?, "sampling_rate"?}`: runs the watcher's current version
    /// over past traces started in [from, to) (to defaults to now, and cannot be later). Answers 202 with the
    /// backfill; its progress is at `GET /watchers/{id}/backfills`.
    @Sendable func postBackfill(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "backfilling a watcher")
        let project = try await projectID(request, context)
        let watcher = try await watcher(request, context, project: project)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody))
        guard case .object(let object) = body else { throw TernError.invalid(nil, "expected a JSON object with from, to and sampling_rate") }
        for key in object.keys where !["from", "to", "sampling_rate"].contains(key) {
            throw TernError.invalid(key, "unknown field; expected from, to or sampling_rate")
        }
        func time(_ key: String) throws -> Date? {
            guard let value = object[key], !value.isNull else { return nil }
            if let seconds = value.double { return try InputBounds.date(seconds: seconds, field: key) }
            guard let text = value.string else { throw TernError.invalid(key, "expected an ISO 8601 time or Unix seconds") }
            return try InputBounds.time(text, field: key)
        }
        let now = Timestamp.now()
        guard let from = try time("from") else { throw TernError.invalid("from", "required: where the backfill starts, e.g. \"2026-12-01T00:00:00Z\"") }
        let to = min(try time("to") ?? now, now)
        guard from < to else { throw TernError.invalid("from", "must be before to (and before now)") }
        var rate: Double?
        if let value = object["sampling_rate"], !value.isNull {
            guard let number = value.double, number > 0, number <= 1 else {
                throw TernError.invalid("sampling_rate", "expected a share above 0 and at most 1, e.g. 0.1")
            }
            rate = number
        }
        let backfill = WatcherBackfill(
            id: TernID.make(), projectID: project, watcherID: watcher.id, watcherVersion: watcher.version, from: from, to: to, samplingRate: rate,
            createdAt: now)
        try await store.watchers.createBackfill(backfill)
        return try JSON.response(backfill.json, status: .accepted, headers: [.location: "/api/v1/watchers/\(watcher.id)/backfills"])
    }

    /// `GET /watchers/{id}/backfills`: newest first, with progress.
    @Sendable func getBackfills(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let watcher = try await watcher(request, context, project: project)
        let backfills = try await store.watchers.backfills(projectID: project, watcherID: watcher.id)
        return try JSON.response(JSONValue.object(["data": .array(backfills.map(\.json))]))
    }

    /// `POST /watchers/{id}/backfills/{backfill}/cancel`: stops the walk; jobs already queued still run.
    @Sendable func cancelBackfill(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "cancelling a backfill")
        let project = try await projectID(request, context)
        let watcher = try await watcher(request, context, project: project)
        let id = try context.parameters.require("backfill")
        guard var backfill = try await store.watchers.backfills(projectID: project, watcherID: watcher.id).first(where: { $0.id == id }) else {
            throw TernError.notFound("backfill \(id)")
        }
        if backfill.status == .running {
            backfill.status = .cancelled
            backfill.note = "cancelled by \(principal.actor)"
            backfill.finishedAt = Timestamp.now()
            try await store.watchers.saveBackfill(backfill)
        }
        return try JSON.response(backfill.json)
    }
}
