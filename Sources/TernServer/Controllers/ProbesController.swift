import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TernCore
import TernMonitor

/// `/api/v1/probes`: canary prompts on a schedule. Each run is an experiment (answers not cached), compared
/// with the run before it (`ProbeComparison`): a provider that changed the model behind a name shows as a
/// significant change of pass rate, scores, output length or refusals.
struct ProbesController {
    let store: any TernStore
    let experiments: ExperimentsController
    let maxBody: Int
    let projectID: @Sendable (Request, TernRequestContext) async throws -> String

    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.get("probes", use: getProbes)
        api.post("probes", use: postProbes)
        api.get("probes/{id}", use: getProbe)
        api.patch("probes/{id}", use: patchProbe)
        api.delete("probes/{id}", use: deleteProbe)
        api.post("probes/{id}/run", use: postRun)
        api.get("probes/{id}/runs", use: getRuns)
        return api
    }

    static let bodyKeys: Set<String> = Probe.experimentKeys.union(["name", "every_seconds", "enabled"])

    func probe(_ context: TernRequestContext, project: String) async throws -> Probe {
        let id = try context.parameters.require("id")
        if let found = try await store.probes.get(projectID: project, id: id) { return found }
        if let found = try await store.probes.get(projectID: project, name: id) { return found }
        throw TernError.notFound("probe \(id)")
    }

    /// The experiment fields of a body, checked as `POST /experiments` checks them (errors name the field).
    func experiment(_ body: JSONValue, name: String, project: String, principal: Principal) async throws -> JSONValue {
        guard case .object(let object) = body else { throw TernError.invalid(nil, "expected a JSON object") }
        let fields = object.filter { Probe.experimentKeys.contains($0.key) }
        var request = fields
        request["name"] = .string("probe \(name)")
        request["options"] = ["cache": false]
        _ = try await experiments.prepare(.object(request), projectID: project, principal: principal)
        return .object(fields)
    }

    static func every(_ body: JSONValue) throws -> Int? {
        guard let value = body["every_seconds"], !value.isNull else { return nil }
        guard let number = value.double, number.rounded() == number, number >= 60, number <= 30 * 86_400 else {
            throw TernError.invalid("every_seconds", "expected whole seconds from 60 to 2592000 (30 days)")
        }
        return Int(number)
    }

    /// The principal a probe runs as: its creator (a key, or a user).
    static func principal(_ probe: Probe, store: any TernStore) async throws -> Principal {
        if probe.createdBy.hasPrefix("key:"), let key = try await store.apiKeys.get(projectID: probe.projectID, id: String(probe.createdBy.dropFirst(4))) {
            guard key.revokedAt == nil else { throw TernError.forbidden("the key that created the probe is revoked: recreate the probe with a live key") }
            return .apiKey(key)
        }
        if probe.createdBy.hasPrefix("user:"), let user = try await store.users.get(id: String(probe.createdBy.dropFirst(5))) {
            return .user(user, sessionID: "probe")
        }
        throw TernError.forbidden("the creator of the probe (\(probe.createdBy)) is gone: recreate the probe")
    }

    /// Starts a run of the probe now (an experiment with caching off) and records it. Returns the run's id.
    static func start(_ probe: Probe, store: any TernStore, experiments: ExperimentsController, now: Date = Date()) async throws -> String {
        guard case .object(var request) = probe.experiment else { throw TernError.invalid("experiment", "the probe has no experiment") }
        request["name"] = .string("probe \(probe.name) \(JSON.formatDate(now))")
        request["options"] = ["cache": false]
        let job = try await experiments.prepare(.object(request), projectID: probe.projectID, principal: try await principal(probe, store: store))
        _ = try await store.experiments.create(job.run)
        try await store.probes.recordRun(ProbeRun(probeID: probe.id, projectID: probe.projectID, experimentID: job.run.id, startedAt: now))
        experiments.service.launch(job)
        return job.run.id
    }
}

extension ProbesController {
    /// `GET /probes`
    @Sendable func getProbes(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        return try JSON.response(JSONValue.object(["data": .array(try await store.probes.list(projectID: project).map(\.json))]))
    }

    /// `POST /probes`
    @Sendable func postProbes(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "creating a probe")
        let project = try await projectID(request, context)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody), allowedKeys: Self.bodyKeys)
        guard let name = try WatchersController.name(body) else { throw TernError.invalid("name", "required: a name for the probe, e.g. \"canary\"") }
        let experiment = try await experiment(body, name: name, project: project, principal: principal)
        let now = Timestamp.now()
        let probe = try await store.probes.create(
            Probe(
                id: TernID.make(), projectID: project, name: name, enabled: body["enabled"]?.bool ?? true, experiment: experiment,
                everySeconds: try Self.every(body) ?? 3600, createdBy: principal.actor, createdAt: now, updatedAt: now))
        return try JSON.response(probe.json, status: .created, headers: [.location: "/api/v1/probes/\(probe.id)"])
    }

    /// `GET /probes/{id}`: the probe with its newest completed run compared with the one before.
    @Sendable func getProbe(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let probe = try await probe(context, project: project)
        guard case .object(var object) = probe.json else { return try JSON.response(probe.json) }
        let latest = try await ProbeComparison.latest(probe, store: store)
        object["latest_run"] = latest.map { .string($0.0.id) } ?? .null
        object["latest_pass_rate"] = latest.map { .number($0.0.totals.passRate) } ?? .null
        object["shift"] = latest?.1?.json ?? .null
        return try JSON.response(JSONValue.object(object))
    }

    /// `PATCH /probes/{id}`: name, enabled, every_seconds, or the experiment's fields (checked again).
    @Sendable func patchProbe(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "changing a probe")
        let project = try await projectID(request, context)
        var probe = try await probe(context, project: project)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody), allowedKeys: Self.bodyKeys)
        if let name = try WatchersController.name(body) { probe.name = name }
        if let value = body["enabled"], !value.isNull {
            guard let flag = value.bool else { throw TernError.invalid("enabled", "expected true or false") }
            probe.enabled = flag
        }
        if let every = try Self.every(body) { probe.everySeconds = every }
        if case .object(let object) = body, object.keys.contains(where: { Probe.experimentKeys.contains($0) }), case .object(var merged) = probe.experiment {
            for (key, value) in object where Probe.experimentKeys.contains(key) { merged[key] = value }
            probe.experiment = try await experiment(.object(merged), name: probe.name, project: project, principal: principal)
        }
        probe.updatedAt = Timestamp.now()
        return try JSON.response(try await store.probes.update(probe).json)
    }

    /// `DELETE /probes/{id}`: the probe and its run list (the experiment runs stay).
    @Sendable func deleteProbe(_ request: Request, context: TernRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "deleting a probe")
        let project = try await projectID(request, context)
        let probe = try await probe(context, project: project)
        try await store.probes.delete(projectID: project, id: probe.id)
        return Response(status: .noContent)
    }

    /// `POST /probes/{id}/run?wait=SECONDS`: a run now; with `wait`, answers when it finished (or the time is up).
    @Sendable func postRun(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "running a probe")
        let project = try await projectID(request, context)
        let probe = try await probe(context, project: project)
        let wait = try DatasetsController.int(request.uri.queryParameters.get("wait"), "wait", range: 0...3600) ?? 0
        let id = try await Self.start(probe, store: store, experiments: experiments)
        var run = try await store.experiments.get(projectID: project, id: id)
        if wait > 0 { run = try await experiments.service.wait(projectID: project, id: id, timeout: .seconds(wait)) }
        let status = run?.status.rawValue ?? "queued"
        return try JSON.response(JSONValue.object(["experiment_id": .string(id), "status": .string(status)]), status: .accepted)
    }

    /// `GET /probes/{id}/runs`: newest first, each with its status and pass rate, and each completed run compared
    /// with the completed run before it.
    @Sendable func getRuns(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let probe = try await probe(context, project: project)
        let limit = try DatasetsController.int(request.uri.queryParameters.get("limit"), "limit", range: 1...100) ?? 20
        var runs: [(ProbeRun, ExperimentRun?)] = []
        for run in try await store.probes.runs(projectID: project, probeID: probe.id, limit: limit + 1) {
            runs.append((run, try await store.experiments.get(projectID: project, id: run.experimentID)))
        }
        var rows: [JSONValue] = []
        var cells: [String: [ExperimentCell]] = [:]
        func loaded(_ id: String) async throws -> [ExperimentCell] {
            if let known = cells[id] { return known }
            let found = try await ProbeComparison.cells(store, project: project, run: id)
            cells[id] = found
            return found
        }
        for (index, (run, experiment)) in runs.prefix(limit).enumerated() {
            var row: [String: JSONValue] = [
                "experiment_id": .string(run.experimentID), "started_at": .string(JSON.formatDate(run.startedAt)),
                "status": .string(experiment?.status.rawValue ?? "deleted"), "pass_rate": experiment.map { .number($0.totals.passRate) } ?? .null,
                "cells": .number(Double(experiment?.totals.cells ?? 0)), "shift": .null,
            ]
            if let experiment, experiment.status == .completed,
                let previous = runs.dropFirst(index + 1).first(where: { $0.1?.status == .completed })?.1
            {
                row["shift"] =
                    ProbeComparison.compare(
                        base: try await loaded(previous.id), head: try await loaded(experiment.id), baseRun: previous.id, headRun: experiment.id
                    ).json
            }
            rows.append(.object(row))
        }
        return try JSON.response(JSONValue.object(["data": .array(rows)]))
    }
}

/// Starts the runs of due probes, on one replica at a time.
struct ProbeService: Service {
    let store: any TernStore
    let experiments: ExperimentsController
    let logger: Logger

    /// Starts a run of every due probe; returns their experiment ids.
    @discardableResult
    func tick(now: Date = Date()) async throws -> [String] {
        var started: [String] = []
        for probe in try await store.probes.listEnabled() where probe.isDue(at: now) {
            do {
                started.append(try await ProbesController.start(probe, store: store, experiments: experiments, now: now))
            } catch {
                // Tried again at the next tick; the reason is logged (a revoked key, a deleted dataset).
                logger.warning("probe could not start", metadata: ["probe": .string(probe.name), "error": "\(error)"])
            }
        }
        return started
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await store.withExclusiveJob("probes") { try await tick() }
                } catch {
                    logger.warning("probes failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(15))
            }
        }
    }
}
