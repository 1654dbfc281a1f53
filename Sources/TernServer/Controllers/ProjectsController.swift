import Foundation
import Hummingbird
public import TernCore

/// `/api/v1/projects` and the keys of each project.
struct ProjectsController {
    let store: any TernStore
    let authenticator: Authenticator
    let maxBody: Int

    struct ListBody<T: Encodable>: Encodable { var data: [T] }

    struct CreateProject: Decodable {
        var slug: String
        var name: String?
        static let keys: Set<String> = ["slug", "name"]
    }

    struct CreateKey: Decodable {
        var name: String
        var role: String?
        var rpm: Int?
        var tpm: Int?
        var budgetUsd: Double?
        var budgetPeriod: String?
        var scopes: [String]?
        static let keys: Set<String> = ["name", "role", "rpm", "tpm", "budget_usd", "budget_period", "scopes"]

        enum CodingKeys: String, CodingKey {
            case name, role, rpm, tpm, budgetUsd = "budget_usd", budgetPeriod = "budget_period", scopes
        }
    }

    static func period(_ text: String?) throws -> BudgetPeriod {
        guard let text else { return .month }
        guard let period = BudgetPeriod(rawValue: text) else { throw TernError.invalid("budget_period", "expected day or month, got \"\(text)\"") }
        return period
    }

    /// Applies a PATCH body to limits: a present key sets the limit, `null` removes it.
    static func patch(_ limits: KeyLimits, with body: JSONValue) throws -> KeyLimits {
        var limits = limits
        func int(_ name: String) throws -> Int?? {
            guard let value = body[name] else { return nil }
            if value.isNull { return .some(nil) }
            guard let number = value.int else { throw TernError.invalid(name, "expected an integer or null") }
            return .some(number)
        }
        if let rpm = try int("rpm") { limits.requestsPerMinute = rpm }
        if let tpm = try int("tpm") { limits.tokensPerMinute = tpm }
        if let budget = body["budget_usd"] {
            if budget.isNull {
                limits.budgetUSD = nil
            } else {
                guard let value = budget.double else { throw TernError.invalid("budget_usd", "expected a number or null") }
                limits.budgetUSD = value
            }
        }
        if let period = body["budget_period"] { limits.budgetPeriod = try Self.period(period.string ?? "?") }
        try limits.validate()
        return limits
    }

    /// A key as returned once at creation: the stored record plus the secret itself.
    struct CreatedKey: Encodable {
        var key: String
        var apiKey: APIKey
        func encode(to encoder: any Encoder) throws {
            try apiKey.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(key, forKey: .key)
        }
        enum CodingKeys: String, CodingKey { case key }
    }

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.get("projects", use: getProjects)
        api.post("projects", use: postProjects)
        api.get("projects/{project}", use: getProject)
        api.patch("projects/{project}", use: patchProject)
        api.get("projects/{project}/keys", use: getProjectKeys)
        api.post("projects/{project}/keys", use: postProjectKeys)
        api.get("projects/{project}/keys/{key}", use: getProjectKey)
        api.patch("projects/{project}/keys/{key}", use: patchProjectKey)
        api.delete("projects/{project}/keys/{key}", use: deleteProjectKey)
        return api
    }

    /// The scopes of a new key: those named (each allowed for its role and held by whoever creates it), or
    /// the role's defaults that the creator holds. Only an instance admin grants `instance`.
    static func scopes(_ names: [String]?, role: Role, grantedBy principal: Principal) throws -> [KeyScope] {
        let held = principal.scopes
        guard let names else { return role.defaultScopes.filter(held.contains) }
        let scopes = try KeyScope.parse(names, field: "scopes")
        for scope in scopes {
            guard role.allowedScopes.contains(scope) else {
                throw TernError.invalid(
                    "scopes",
                    "a \(role.rawValue) key cannot have the \(scope.rawValue) scope "
                        + "(allowed: \(role.allowedScopes.sorted().map(\.rawValue).joined(separator: ", ")))")
            }
            guard held.contains(scope) else {
                throw TernError.forbidden("you cannot grant the \(scope.rawValue) scope: this \(principal.kindName) does not have it")
            }
        }
        return scopes
    }

    /// The project named in the path (by id or slug), if the caller may see it.
    func resolveProject(_ context: TernRequestContext) async throws -> Project {
        let principal = try context.requirePrincipal()
        let reference = try context.parameters.string("project")
        guard let project = try await ProjectLookup.find(reference, in: store) else {
            throw TernError.notFound("project \"\(reference)\"", field: "project")
        }
        if let bound = principal.boundProjectID, bound != project.id {
            throw TernError.forbidden("this API key belongs to another project; it cannot access project \"\(project.slug)\"")
        }
        return project
    }
}

/// Finds a project by id or slug.
public enum ProjectLookup {
    public static func find(_ reference: String, in store: any TernStore) async throws -> Project? {
        if let project = try await store.projects.get(slug: reference) { return project }
        return try await store.projects.get(id: reference)
    }
}

/// Creates API keys: the one place a key's secret exists, returned to the caller once.
public enum KeyIssuer {
    /// `scopes` nil: the role's defaults. The `instance` scope needs the admin role.
    public static func issue(
        store: any TernStore, projectID: String, name: String, role: Role, createdBy: String?, limits: KeyLimits = KeyLimits(),
        scopes: [KeyScope]? = nil
    ) async throws -> (secret: String, key: APIKey) {
        try limits.validate()
        if let scopes, let refused = scopes.first(where: { !role.allowedScopes.contains($0) }) {
            throw TernError.invalid("scopes", "a \(role.rawValue) key cannot have the \(refused.rawValue) scope")
        }
        let secret = Secrets.newAPIKey()
        let key = try await store.apiKeys.create(
            projectID: projectID, name: name, role: role, keyHash: Secrets.hash(secret),
            prefix: Secrets.displayPrefix(secret), createdBy: createdBy, limits: limits, scopes: scopes)
        return (secret, key)
    }
}

// MARK: - Handlers

extension ProjectsController {
    /// `GET /projects`
    @Sendable func getProjects(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        let all = try await store.projects.list()
        let visible = principal.boundProjectID.map { id in all.filter { $0.id == id } } ?? all
        return try JSON.response(ListBody(data: visible))
    }

    /// `POST /projects`
    @Sendable func postProjects(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.requireInstanceAdmin(to: "creating a project")
        let body = try await JSON.decode(CreateProject.self, from: request, limit: maxBody, allowedKeys: CreateProject.keys)
        let slug = try Validate.slug(body.slug, field: "slug")
        let name = try Validate.name(body.name ?? slug, field: "name")
        let project = try await store.projects.create(slug: slug, name: name)
        context.logger.info("project created", metadata: ["project_id": .string(project.id), "by": .string(principal.actor)])
        return try JSON.response(project, status: .created)
    }

    /// `GET /projects/{project}`
    @Sendable func getProject(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await resolveProject(context)
        return try JSON.response(project)
    }

    /// `PATCH /projects/{project}`
    @Sendable func patchProject(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.admin, to: "changing a project")
        let project = try await resolveProject(context)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody), allowedKeys: ["retention_days"])
        var updated = project
        if let value = body["retention_days"] {
            var days: Int?
            if !value.isNull {
                guard let number = value.int, (1...36_500).contains(number) else {
                    throw TernError.invalid("retention_days", "expected a number of days 1-36500, or null to keep traces forever")
                }
                days = number
            }
            guard let changed = try await store.projects.setRetention(id: project.id, days: days) else { throw TernError.notFound("project") }
            updated = changed
        }
        return try JSON.response(updated)
    }

    /// `GET /projects/{project}/keys`
    @Sendable func getProjectKeys(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await resolveProject(context)
        await authenticator.usage.flush()
        return try JSON.response(ListBody(data: try await store.apiKeys.list(projectID: project.id)))
    }

    /// `POST /projects/{project}/keys`
    @Sendable func postProjectKeys(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        let project = try await resolveProject(context)
        try principal.require(.member, to: "creating an API key")
        let body = try await JSON.decode(CreateKey.self, from: request, limit: maxBody, allowedKeys: CreateKey.keys)
        let name = try Validate.name(body.name, field: "name", max: 100)
        let role = try body.role.map { try Role.parse($0, field: "role") } ?? .member
        guard role <= principal.role else {
            throw TernError.forbidden("a \(principal.role.rawValue) cannot create a key with the \(role.rawValue) role")
        }
        let scopes = try Self.scopes(body.scopes, role: role, grantedBy: principal)
        let limits = KeyLimits(
            requestsPerMinute: body.rpm, tokensPerMinute: body.tpm, budgetUSD: body.budgetUsd,
            budgetPeriod: try Self.period(body.budgetPeriod))
        let (secret, key) = try await KeyIssuer.issue(
            store: store, projectID: project.id, name: name, role: role, createdBy: principal.actor, limits: limits, scopes: scopes)
        context.logger.info(
            "API key created",
            metadata: [
                "key_id": .string(key.id), "prefix": .string(key.prefix), "project_id": .string(project.id), "by": .string(principal.actor),
            ])
        return try JSON.response(CreatedKey(key: secret, apiKey: key), status: .created)
    }

    /// `GET /projects/{project}/keys/{key}`
    @Sendable func getProjectKey(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await resolveProject(context)
        let id = try context.parameters.string("key")
        await authenticator.usage.flush()
        guard let key = try await store.apiKeys.get(projectID: project.id, id: id) else {
            throw TernError.notFound("API key \(id)")
        }
        return try JSON.response(key)
    }

    /// `PATCH /projects/{project}/keys/{key}`
    @Sendable func patchProjectKey(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        let project = try await resolveProject(context)
        try principal.require(.admin, to: "changing a key's limits")
        let id = try context.parameters.string("key")
        let data = try await JSON.collect(request, limit: maxBody)
        let body = try JSON.decode(JSONValue.self, from: data, allowedKeys: ["rpm", "tpm", "budget_usd", "budget_period"])
        guard let existing = try await store.apiKeys.get(projectID: project.id, id: id) else { throw TernError.notFound("API key \(id)") }
        let limits = try Self.patch(existing.limits, with: body)
        guard let key = try await store.apiKeys.setLimits(projectID: project.id, id: id, limits: limits) else {
            throw TernError.notFound("API key \(id)")
        }
        authenticator.invalidate(keyID: id)
        context.logger.info("API key limits changed", metadata: ["key_id": .string(id), "by": .string(principal.actor)])
        return try JSON.response(key)
    }

    /// `DELETE /projects/{project}/keys/{key}`
    @Sendable func deleteProjectKey(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        let project = try await resolveProject(context)
        try principal.require(.member, to: "revoking an API key")
        let id = try context.parameters.string("key")
        guard let existing = try await store.apiKeys.get(projectID: project.id, id: id) else {
            throw TernError.notFound("API key \(id)")
        }
        guard existing.role <= principal.role else {
            throw TernError.forbidden("a \(principal.role.rawValue) cannot revoke a key with the \(existing.role.rawValue) role")
        }
        guard let key = try await store.apiKeys.revoke(projectID: project.id, id: id, at: Timestamp.now()) else {
            throw TernError.notFound("API key \(id)")
        }
        authenticator.invalidate(keyID: id)
        context.logger.info("API key revoked", metadata: ["key_id": .string(id), "by": .string(principal.actor)])
        return try JSON.response(key)
    }
}
