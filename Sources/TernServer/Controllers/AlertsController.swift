import Foundation
import Hummingbird
import TernCore
import TernMonitor
import TernProviders

/// `/api/v1/alerts`: rules on metrics with their state, history, webhook deliveries and test notifications.
struct AlertsController {
    let store: any TernStore
    let runner: AlertRunner
    let policy: WebhookPolicy
    let maxBody: Int
    let projectID: @Sendable (Request, TernRequestContext) async throws -> String

    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.get("alerts", use: getAlerts)
        api.post("alerts", use: postAlerts)
        api.get("alerts/{id}", use: getAlert)
        api.patch("alerts/{id}", use: patchAlert)
        api.delete("alerts/{id}", use: deleteAlert)
        api.get("alerts/{id}/events", use: getEvents)
        api.get("alerts/{id}/deliveries", use: getDeliveries)
        api.post("alerts/{id}/test", use: postTest)
        return api
    }

    static let bodyKeys: Set<String> = ["name", "enabled", "silenced_until"]

    func rule(_ context: TernRequestContext, project: String) async throws -> AlertRule {
        let id = try context.parameters.require("id")
        if let found = try await store.alerts.get(projectID: project, id: id) { return found }
        if let found = try await store.alerts.get(projectID: project, name: id) { return found }
        throw TernError.notFound("alert \(id)")
    }

    /// Refuses destinations the policy refuses, naming the entry.
    func check(_ definition: AlertDefinition) async throws {
        let policy = self.policy
        for (index, destination) in definition.notify.enumerated() {
            let url = destination.url
            if let refusal = await Task.detached(operation: { policy.refusal(url: url) }).value {
                throw TernError.invalid("notify[\(index)].url", refusal)
            }
        }
    }

    /// Reads `name`, `enabled` and `silenced_until` into the rule.
    static func apply(_ body: JSONValue, to rule: inout AlertRule) throws {
        if let value = body["name"], !value.isNull {
            guard let name = value.string, !name.isEmpty, name.count <= 100,
                name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
            else { throw TernError.invalid("name", "expected 1-100 letters, digits, '-', '_' or '.'") }
            rule.name = name
        }
        if let value = body["enabled"], !value.isNull {
            guard let flag = value.bool else { throw TernError.invalid("enabled", "expected true or false") }
            rule.enabled = flag
        }
        if let value = body["silenced_until"] {
            if value.isNull {
                rule.silencedUntil = nil
            } else if let seconds = value.double {
                rule.silencedUntil = try InputBounds.date(seconds: seconds, field: "silenced_until")
            } else if let text = value.string {
                rule.silencedUntil = try InputBounds.time(text, field: "silenced_until")
            } else {
                throw TernError.invalid("silenced_until", "expected an ISO 8601 time, Unix seconds or null")
            }
        }
    }
}

extension AlertsController {
    /// `GET /alerts`
    @Sendable func getAlerts(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        return try JSON.response(JSONValue.object(["data": .array(try await store.alerts.list(projectID: project).map(\.json))]))
    }

    /// `POST /alerts`
    @Sendable func postAlerts(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "creating an alert")
        let project = try await projectID(request, context)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody))
        guard body["name"]?.string != nil else { throw TernError.invalid("name", "required: a name for the alert, e.g. \"error-rate\"") }
        let definition = try AlertDefinition(json: body, allowing: Self.bodyKeys)
        try await check(definition)
        let now = Timestamp.now()
        var rule = AlertRule(id: TernID.make(), projectID: project, name: "", definition: definition, createdAt: now, updatedAt: now)
        try Self.apply(body, to: &rule)
        rule = try await store.alerts.create(rule)
        return try JSON.response(rule.json, status: .created, headers: [.location: "/api/v1/alerts/\(rule.id)"])
    }

    /// `GET /alerts/{id}`
    @Sendable func getAlert(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        return try JSON.response(try await rule(context, project: project).json)
    }

    /// `PATCH /alerts/{id}`: any field of the rule; `silenced_until` silences it (null ends the silence).
    @Sendable func patchAlert(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "changing an alert")
        let project = try await projectID(request, context)
        var rule = try await rule(context, project: project)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody))
        let definition = try AlertDefinition(json: body, base: rule.definition, allowing: Self.bodyKeys)
        if definition.notify != rule.definition.notify { try await check(definition) }
        rule.definition = definition
        try Self.apply(body, to: &rule)
        rule.updatedAt = Timestamp.now()
        return try JSON.response(try await store.alerts.update(rule).json)
    }

    /// `DELETE /alerts/{id}`: the rule with its history and deliveries.
    @Sendable func deleteAlert(_ request: Request, context: TernRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "deleting an alert")
        let project = try await projectID(request, context)
        let rule = try await rule(context, project: project)
        try await store.alerts.delete(projectID: project, id: rule.id)
        return Response(status: .noContent)
    }

    /// `GET /alerts/{id}/events?limit=`: state changes and tests, newest first.
    @Sendable func getEvents(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let rule = try await rule(context, project: project)
        let limit = try DatasetsController.int(request.uri.queryParameters.get("limit"), "limit", range: 1...1000) ?? 100
        let events = try await store.alerts.events(projectID: project, ruleID: rule.id, limit: limit)
        return try JSON.response(JSONValue.object(["data": .array(events.map(\.json))]))
    }

    /// `GET /alerts/{id}/deliveries?limit=`: every notification with its attempts and last answer.
    @Sendable func getDeliveries(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let rule = try await rule(context, project: project)
        let limit = try DatasetsController.int(request.uri.queryParameters.get("limit"), "limit", range: 1...1000) ?? 100
        let deliveries = try await store.alerts.deliveries(projectID: project, ruleID: rule.id, limit: limit)
        return try JSON.response(JSONValue.object(["data": .array(deliveries.map(\.json))]))
    }

    /// `POST /alerts/{id}/test`: a test notification to each destination, sent at once; answers with each
    /// delivery after its first attempt (a failed one is retried like any other).
    @Sendable func postTest(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "testing an alert")
        let project = try await projectID(request, context)
        let rule = try await rule(context, project: project)
        guard !rule.definition.notify.isEmpty else { throw TernError.invalid("notify", "the alert has no destinations to test") }
        let slug = try await store.projects.get(id: project)?.slug ?? project
        let deliveries = try await runner.test(rule, project: slug)
        return try JSON.response(JSONValue.object(["data": .array(deliveries.map(\.json))]))
    }
}
