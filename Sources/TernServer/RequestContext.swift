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

    func require(_ needed: Role, to action: String) throws {
        guard role >= needed else {
            throw TernError.forbidden("\(action) needs the \(needed.rawValue) role; this \(kindName) has the \(role.rawValue) role")
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

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        principal = nil
    }

    /// The authenticated principal; routes behind `AuthMiddleware` always have one.
    func requirePrincipal() throws -> Principal {
        guard let principal else {
            throw TernError(.unauthorized, code: "missing_credentials", message: "authentication required")
        }
        return principal
    }
}
