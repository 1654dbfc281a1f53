public import Hummingbird
public import TernCore

/// Who is calling: an API key of one project, or a signed-in user.
public enum Principal: Sendable, Equatable {
    case apiKey(APIKey)
    case user(User, sessionID: String)

    public var role: Role {
        switch self {
        case .apiKey(let key): key.role
        case .user(let user, _): user.role
        }
    }

    /// The project an API key is bound to; users are not bound to one project.
    public var boundProjectID: String? {
        switch self {
        case .apiKey(let key): key.projectID
        case .user: nil
        }
    }

    /// Recorded as the author of what this principal creates: `key:<id>` or `user:<id>`.
    public var actor: String {
        switch self {
        case .apiKey(let key): "key:\(key.id)"
        case .user(let user, _): "user:\(user.id)"
        }
    }

    /// What this principal may do: an API key's scopes, or every scope of a user's role.
    public var scopes: Set<KeyScope> {
        switch self {
        case .apiKey(let key): Set(key.scopes)
        case .user(let user, _): user.role.allowedScopes
        }
    }

    /// Instance administrators manage users, projects and the gateway's models: admin users, and API keys
    /// with the `instance` scope (made by `tern keys create --instance-admin` or by an instance admin).
    /// A project's admin key is not one.
    public var isInstanceAdmin: Bool { scopes.contains(.instance) }

    /// Checks the role, and for `admin` the key's `admin` scope.
    func require(_ needed: Role, to action: String) throws {
        guard role >= needed else {
            throw TernError.forbidden("\(action) needs the \(needed.rawValue) role; this \(kindName) has the \(role.rawValue) role")
        }
        if needed == .admin { try require(scope: .admin, to: action) }
    }

    func require(scope: KeyScope, to action: String) throws {
        guard scopes.contains(scope) else {
            let held = scopes.sorted().map(\.rawValue).joined(separator: ", ")
            if !role.allowedScopes.contains(scope), let needed = Role.allCases.sorted().first(where: { $0.allowedScopes.contains(scope) }) {
                throw TernError(
                    .forbidden, code: "insufficient_scope",
                    message:
                        "\(action) needs the \(needed.rawValue) role (the \(scope.rawValue) scope); this \(kindName) has the \(role.rawValue) role (\(held))")
            }
            throw TernError(
                .forbidden, code: "insufficient_scope",
                message: "\(action) needs the \(scope.rawValue) scope; this \(kindName) has \(held) (create a key with --scope \(scope.rawValue))")
        }
    }

    func requireInstanceAdmin(to action: String) throws {
        guard isInstanceAdmin else {
            throw TernError(
                .forbidden, code: "instance_admin_required",
                message: "\(action) is instance administration: it needs an admin user or a key with the instance scope; "
                    + "a project's admin key cannot do it")
        }
    }

    var kindName: String {
        switch self {
        case .apiKey: "API key"
        case .user: "user"
        }
    }
}

public struct TernRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthMiddleware` on authenticated routes.
    public var principal: Principal?
    /// The peer's IP address (sign-in throttling); nil in tests without a socket.
    public var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        principal = nil
        clientAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The authenticated principal; routes behind `AuthMiddleware` always have one.
    func requirePrincipal() throws -> Principal {
        guard let principal else {
            throw TernError(.unauthorized, code: "missing_credentials", message: "authentication required")
        }
        return principal
    }
}
