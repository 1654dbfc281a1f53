import Foundation
import Hummingbird
import NIOPosix
public import TernCore

/// `/api/v1/users` (admins; a user may read and edit their own name and password),
/// `/api/v1/auth/login|logout` and `/api/v1/me`.
struct UsersController {
    let store: any TernStore
    let hasher: PasswordHasher
    let sessionTTL: Duration
    let maxBody: Int
    let throttle: LoginThrottle
    /// Session cookies carry `Secure` (the server is reached over https: `server.public_url`).
    let secureCookies: Bool

    struct CreateUser: Decodable {
        var email: String
        var name: String?
        var role: String?
        var password: String
        static let keys: Set<String> = ["email", "name", "role", "password"]
    }

    struct UpdateUser: Decodable {
        var name: String?
        var role: String?
        var password: String?
        var disabled: Bool?
        static let keys: Set<String> = ["name", "role", "password", "disabled"]
    }

    struct Login: Decodable {
        var email: String
        var password: String
        static let keys: Set<String> = ["email", "password"]
    }

    struct LoginResult: Encodable {
        var user: User
        var expiresAt: Date
    }

    struct Me: Encodable {
        var type: String
        var role: Role
        var user: User?
        var key: APIKey?
        var project: Project?
    }

    /// The routes, each a named handler below.
    var publicRoutes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.post("auth/login", use: postAuthLogin)
        return api
    }

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.post("auth/logout", use: postAuthLogout)
        api.get("me", use: getMe)
        api.get("users", use: getUsers)
        api.post("users", use: postUsers)
        api.get("users/{user}", use: getUser)
        api.patch("users/{user}", use: patchUser)
        return api
    }

    func isSelf(_ principal: Principal, _ id: String) -> Bool {
        if case .user(let user, _) = principal { return user.id == id }
        return false
    }

    /// A valid hash of a random password, used to equalise sign-in timing for unknown e-mails.
    /// Checks an e-mail and password and opens a session: the user, the session token and its row.
    /// Sign-in goes through `throttle` (by account and by client `address`): repeated failures make the
    /// next attempt wait (429 with Retry-After).
    static func signIn(
        store: any TernStore, email: String, password: String, ttl: Duration, throttle: LoginThrottle,
        address: String?
    ) async throws -> (User, String, WebSession) {
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        try throttle.check(account: email, address: address)
        let invalid = TernError(.unauthorized, code: "invalid_credentials", message: "wrong e-mail or password")
        guard let user = try await store.users.get(email: email),
            let hash = try await store.users.passwordHash(userID: user.id)
        else {
            // Spend the same time as a real check so timing does not reveal which e-mails exist.
            _ = try await offLoop { PasswordHasher.verify(password, against: Self.decoyHash) }
            throttle.recordFailure(account: email, address: address)
            throw invalid
        }
        guard try await offLoop({ PasswordHasher.verify(password, against: hash) }) else {
            throttle.recordFailure(account: email, address: address)
            throw invalid
        }
        throttle.recordSuccess(account: email, address: address)
        guard user.disabledAt == nil else {
            throw TernError(.unauthorized, code: "user_disabled", message: "user \(user.email) is disabled")
        }
        let token = Secrets.newSessionToken()
        let expires = Date().addingTimeInterval(Double(ttl.components.seconds))
        let session = try await store.sessions.create(userID: user.id, tokenHash: Secrets.hash(token), expiresAt: expires)
        return (user, token, session)
    }

    static let decoyHash: String = (try? PasswordHasher.standard.hash(Secrets.randomToken(prefix: ""))) ?? ""
}

/// User creation shared by the REST API and `tern users create`.
public enum UserAdmin {
    public static func create(
        store: any TernStore, hasher: PasswordHasher, email: String, name: String?, role: Role, password: String
    ) async throws -> User {
        let email = try Validate.email(email, field: "email")
        let name = try Validate.name(name ?? String(email.split(separator: "@")[0]), field: "name")
        let valid = try Validate.password(password, field: "password")
        let hash = try await offLoop { try hasher.hash(valid) }
        return try await store.users.create(email: email, name: name, role: role, passwordHash: hash)
    }
}

/// Runs CPU-heavy work (scrypt takes 50-100 ms) on NIO's blocking thread pool, not on the event loops
/// that serve requests (Swift concurrency runs on them in `tern`).
func offLoop<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(work)
}

// MARK: - Handlers

extension UsersController {
    /// `POST /auth/login`
    @Sendable func postAuthLogin(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let body = try await JSON.decode(Login.self, from: request, limit: maxBody, allowedKeys: Login.keys)
        let (user, token, session) = try await Self.signIn(
            store: store, email: body.email, password: body.password, ttl: sessionTTL,
            throttle: throttle, address: context.clientAddress)
        context.logger.info("signed in", metadata: ["user_id": .string(user.id)])
        var headers = HTTPFields()
        headers[.setCookie] = Authenticator.sessionCookieHeader(token: token, maxAge: sessionTTL.components.seconds, secure: secureCookies)
        return try JSON.response(LoginResult(user: user, expiresAt: session.expiresAt), headers: headers)
    }

    /// `POST /auth/logout`
    @Sendable func postAuthLogout(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        if case .user(_, let sessionID) = principal {
            try await store.sessions.delete(id: sessionID)
        }
        var headers = HTTPFields()
        headers[.setCookie] = Authenticator.sessionCookieHeader(token: "", maxAge: 0, secure: secureCookies)
        return Response(status: .noContent, headers: headers)
    }

    /// `GET /me`
    @Sendable func getMe(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        switch try context.requirePrincipal() {
        case .apiKey(let key):
            let project = try await store.projects.get(id: key.projectID)
            return try JSON.response(Me(type: "api_key", role: key.role, key: key, project: project))
        case .user(let user, _):
            return try JSON.response(Me(type: "user", role: user.role, user: user))
        }
    }

    /// `GET /users`
    @Sendable func getUsers(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try context.requirePrincipal().requireInstanceAdmin(to: "listing users")
        return try JSON.response(ProjectsController.ListBody(data: try await store.users.list()))
    }

    /// `POST /users`
    @Sendable func postUsers(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.requireInstanceAdmin(to: "creating a user")
        let body = try await JSON.decode(CreateUser.self, from: request, limit: maxBody, allowedKeys: CreateUser.keys)
        let user = try await UserAdmin.create(
            store: store, hasher: hasher, email: body.email, name: body.name,
            role: try body.role.map { try Role.parse($0, field: "role") } ?? .member, password: body.password)
        context.logger.info("user created", metadata: ["user_id": .string(user.id), "by": .string(principal.actor)])
        return try JSON.response(user, status: .created)
    }

    /// `GET /users/{user}`
    @Sendable func getUser(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.string("user")
        if !isSelf(principal, id) { try principal.requireInstanceAdmin(to: "reading another user") }
        guard let user = try await store.users.get(id: id) else { throw TernError.notFound("user \(id)") }
        return try JSON.response(user)
    }

    /// `PATCH /users/{user}`
    @Sendable func patchUser(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.string("user")
        let body = try await JSON.decode(UpdateUser.self, from: request, limit: maxBody, allowedKeys: UpdateUser.keys)
        if !isSelf(principal, id) || body.role != nil || body.disabled != nil {
            try principal.requireInstanceAdmin(to: body.role != nil || body.disabled != nil ? "changing a role or disabling a user" : "editing another user")
        }
        guard let current = try await store.users.get(id: id) else { throw TernError.notFound("user \(id)") }
        let name = try body.name.map { try Validate.name($0, field: "name") }
        let role = try body.role.map { try Role.parse($0, field: "role") }
        let hasher = self.hasher
        var passwordHash: String?
        if let password = body.password {
            let valid = try Validate.password(password, field: "password")
            passwordHash = try await offLoop { try hasher.hash(valid) }
        }
        let losesAdmin =
            current.role == .admin && current.disabledAt == nil
            && ((role.map { $0 != .admin } ?? false) || body.disabled == true)
        if losesAdmin {
            let activeAdmins = try await store.users.list().filter { $0.role == .admin && $0.disabledAt == nil }
            guard activeAdmins.count > 1 else {
                throw TernError.conflict(
                    "\(current.email) is the last admin; make another admin first",
                    field: body.disabled == true ? "disabled" : "role")
            }
        }
        guard
            let user = try await store.users.update(
                id: id, name: name, role: role, passwordHash: passwordHash, disabled: body.disabled)
        else { throw TernError.notFound("user \(id)") }
        if body.disabled == true || body.password != nil {
            try await store.sessions.deleteAll(userID: id)
        }
        context.logger.info("user updated", metadata: ["user_id": .string(id), "by": .string(principal.actor)])
        return try JSON.response(user)
    }
}
