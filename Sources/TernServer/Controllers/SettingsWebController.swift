import Foundation
import Hummingbird
import TernCore
import TernGateway
import TernWeb

/// Settings in the web UI: the project's API keys (create with limits, change limits, revoke, spend
/// against budgets), the members and their roles, and the gateway's models with their prices. Every
/// change goes through the same checks as the REST API (roles, CSRF).
struct SettingsWebController {
    let web: WebController
    let gateway: Gateway
    let hasher: PasswordHasher

    var store: any TernStore { web.store }
    var renderer: WebRenderer { web.renderer }

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let router = RouteCollection(context: TernRequestContext.self)
        router.get("ui/{project}/settings", use: getSettings)
        router.get("ui/{project}/settings/keys", use: getKeys)
        router.post("ui/{project}/settings/keys", use: postKeys)
        router.post("ui/{project}/settings/keys/{key}/revoke", use: postKeyRevoke)
        router.post("ui/{project}/settings/keys/{key}/limits", use: postKeyLimits)
        router.get("ui/{project}/settings/members", use: getMembers)
        router.post("ui/{project}/settings/members", use: postMembers)
        router.post("ui/{project}/settings/members/{user}/role", use: postMemberRole)
        router.get("ui/{project}/settings/models", use: getModels)
        return router
    }

    static func base(_ chrome: Chrome) -> String { "/ui/\(Views.percent(chrome.project.slug))/settings" }

    /// `GET /ui/{project}/settings`
    @Sendable func getSettings(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "settings") { chrome in WebController.redirect("\(Self.base(chrome))/keys") }
    }

    /// The keys page, with what was just created or went wrong.
    func keysPage(_ chrome: Chrome, user: User, created: (name: String, secret: String)? = nil, error: String? = nil) async throws -> Response {
        let keys = try await store.apiKeys.list(projectID: chrome.project.id)
        var spend: [String: Double] = [:]
        let now = Date()
        for key in keys where key.limits.budgetUSD != nil && key.revokedAt == nil {
            spend[key.id] = try await store.spend.spent(keyID: key.id, period: key.limits.budgetPeriod.label(for: now))
        }
        let page = Views.keys(chrome: chrome, keys: keys, spend: spend, userRole: user.role, created: created, error: error)
        return web.html(renderer.render("settings-keys", page), status: error == nil ? .ok : .badRequest)
    }

    /// `GET /ui/{project}/settings/keys`
    @Sendable func getKeys(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "settings") { chrome in
            guard let (user, _, _) = await web.viewer(request) else { throw TernError.forbidden("sign in again") }
            return try await keysPage(chrome, user: user)
        }
    }

    /// The limits of a form (`rpm`, `tpm`, `budget_usd`, `budget_period`); an empty field is no limit.
    static func limits(_ form: WebForm) throws -> KeyLimits {
        func whole(_ name: String, _ label: String) throws -> Int? {
            guard let text = form[name]?.nonBlank else { return nil }
            guard let value = Int(text), value >= 1 else { throw TernError.invalid(name, "\(label): expected a whole number from 1, got \"\(text)\"") }
            return value
        }
        var budget: Double?
        if let text = form["budget_usd"]?.nonBlank {
            guard let value = Double(text), value.isFinite, value > 0 else {
                throw TernError.invalid("budget_usd", "budget: expected an amount in USD above 0, got \"\(text)\"")
            }
            budget = value
        }
        let period = BudgetPeriod(rawValue: form["budget_period"] ?? "month") ?? .month
        let limits = KeyLimits(
            requestsPerMinute: try whole("rpm", "requests per minute"), tokensPerMinute: try whole("tpm", "tokens per minute"), budgetUSD: budget,
            budgetPeriod: period)
        try limits.validate()
        return limits
    }

    /// `POST /ui/{project}/settings/keys`
    @Sendable func postKeys(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "settings", form: true) { chrome in
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.editor(request, form, to: "creating an API key")
            do {
                let name = try Validate.name(form["name"] ?? "", field: "name", max: 100)
                let role = try Role.parse(form["role"] ?? "member", field: "role")
                guard role <= user.role else { throw TernError.forbidden("a \(user.role.rawValue) cannot create a key with the \(role.rawValue) role") }
                let (secret, key) = try await KeyIssuer.issue(
                    store: store, projectID: chrome.project.id, name: name, role: role, createdBy: "user:\(user.id)", limits: try Self.limits(form))
                context.logger.info(
                    "API key created", metadata: ["key_id": .string(key.id), "project_id": .string(chrome.project.id), "by": .string("user:\(user.id)")])
                return try await keysPage(chrome, user: user, created: (key.name, secret))
            } catch let error as TernError where error.kind == .invalidInput || error.kind == .forbidden {
                return try await keysPage(chrome, user: user, error: error.message)
            }
        }
    }

    /// `POST /ui/{project}/settings/keys/{key}/revoke`
    @Sendable func postKeyRevoke(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "settings", form: true) { chrome in
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.editor(request, form, to: "revoking an API key")
            let id = try context.parameters.string("key")
            guard let existing = try await store.apiKeys.get(projectID: chrome.project.id, id: id) else { throw TernError.notFound("API key \(id)") }
            guard existing.role <= user.role else {
                throw TernError.forbidden("a \(user.role.rawValue) cannot revoke a key with the \(existing.role.rawValue) role")
            }
            guard try await store.apiKeys.revoke(projectID: chrome.project.id, id: id, at: Timestamp.now()) != nil else {
                throw TernError.notFound("API key \(id)")
            }
            web.authenticator.invalidate(keyID: id)
            context.logger.info("API key revoked", metadata: ["key_id": .string(id), "by": .string("user:\(user.id)")])
            return WebController.redirect("\(Self.base(chrome))/keys")
        }
    }

    /// `POST /ui/{project}/settings/keys/{key}/limits`
    @Sendable func postKeyLimits(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "settings", form: true) { chrome in
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.administrator(request, form, to: "changing a key's limits")
            let id = try context.parameters.string("key")
            do {
                guard try await store.apiKeys.setLimits(projectID: chrome.project.id, id: id, limits: try Self.limits(form)) != nil else {
                    throw TernError.notFound("API key \(id)")
                }
                web.authenticator.invalidate(keyID: id)
            } catch let error as TernError where error.kind == .invalidInput {
                return try await keysPage(chrome, user: user, error: error.message)
            }
            return WebController.redirect("\(Self.base(chrome))/keys")
        }
    }

    /// `GET /ui/{project}/settings/members`
    @Sendable func getMembers(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "settings") { chrome in
            guard let (user, _, _) = await web.viewer(request) else { throw TernError.forbidden("sign in again") }
            return web.html(
                renderer.render("settings-members", Views.members(chrome: chrome, users: try await store.users.list(), isAdmin: user.role == .admin)))
        }
    }

    /// `POST /ui/{project}/settings/members`: an admin adds a user.
    @Sendable func postMembers(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "settings", form: true) { chrome in
            let form = try await WebForm.read(request, limit: web.maxBody)
            _ = try await web.administrator(request, form, to: "adding a member")
            func page(error: String?, notice: String?) async throws -> Response {
                web.html(
                    renderer.render(
                        "settings-members", Views.members(chrome: chrome, users: try await store.users.list(), isAdmin: true, error: error, notice: notice)),
                    status: error == nil ? .ok : .badRequest)
            }
            do {
                let role = try Role.parse(form["role"] ?? "member", field: "role")
                let created = try await UserAdmin.create(
                    store: store, hasher: hasher, email: form["email"] ?? "", name: form["name"]?.nonBlank, role: role,
                    password: form["password"] ?? "")
                return try await page(error: nil, notice: "Added \(created.email) as \(created.role.rawValue).")
            } catch let error as TernError where error.kind == .invalidInput || error.kind == .conflict {
                return try await page(error: error.field.map { "\($0): \(error.message)" } ?? error.message, notice: nil)
            }
        }
    }

    /// `POST /ui/{project}/settings/members/{user}/role`: an admin changes a role; the last admin stays one.
    @Sendable func postMemberRole(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "settings", form: true) { chrome in
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.administrator(request, form, to: "changing a role")
            let id = try context.parameters.string("user")
            let role = try Role.parse(form["role"] ?? "", field: "role")
            guard let target = try await store.users.get(id: id) else { throw TernError.notFound("user \(id)") }
            if target.role == .admin, role != .admin, target.disabledAt == nil {
                let admins = try await store.users.list().filter { $0.role == .admin && $0.disabledAt == nil }
                guard admins.count > 1 else {
                    return web.html(
                        renderer.render(
                            "settings-members",
                            Views.members(
                                chrome: chrome, users: try await store.users.list(), isAdmin: true,
                                error: "\(target.email) is the last admin; make another admin first")), status: .conflict)
                }
            }
            _ = try await store.users.update(id: id, name: nil, role: role, passwordHash: nil, disabled: nil)
            context.logger.info("role changed", metadata: ["user_id": .string(id), "role": .string(role.rawValue), "by": .string("user:\(user.id)")])
            return WebController.redirect("\(Self.base(chrome))/members")
        }
    }

    /// `GET /ui/{project}/settings/models`
    @Sendable func getModels(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "settings") { chrome in
            let registry = gateway.registry
            let page = Views.models(chrome: chrome, models: registry.all, providers: registry.providers) { deployment in
                let (price, source) = gateway.pricing(deployment)
                let label =
                    switch source {
                    case .deployment: "the deployment"
                    case .inTern: "runs in Tern (free)"
                    case .table: "built-in table"
                    case .none: "none: calls are not costed"
                    }
                return (price, label)
            }
            return web.html(renderer.render("settings-models", page))
        }
    }
}
