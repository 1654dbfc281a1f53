public import Foundation
import Hummingbird
import HTTPTypes
public import Logging
import Synchronization
public import TernCore

/// Resolves credentials. API keys are looked up by hash and cached for `keyCacheSeconds`
/// (a revocation through this process clears the cache at once); use times are batched by
/// `KeyUsageRecorder`, so a cached key costs no database round trip.
public final class Authenticator: Sendable {
    public static let sessionCookie = "tern_session"

    /// The Set-Cookie value of a session (an empty token with max age 0 clears it). `secure` when users
    /// reach the server over https (`server.public_url`), so the browser never sends it in clear text.
    static func sessionCookieHeader(token: String, maxAge: Int64, secure: Bool) -> String {
        "\(sessionCookie)=\(token); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)" + (secure ? "; Secure" : "")
    }

    let store: any TernStore
    let cacheTTL: Duration
    let usage: KeyUsageRecorder
    private let cache = Mutex<[String: (key: APIKey, until: ContinuousClock.Instant)]>([:])
    static let maxCacheEntries = 10_000

    public init(store: any TernStore, cacheTTL: Duration, usage: KeyUsageRecorder) {
        self.store = store
        self.cacheTTL = cacheTTL
        self.usage = usage
    }

    func authenticate(_ request: Request) async throws -> Principal {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw TernError(
                    .unauthorized, code: "malformed_authorization",
                    message: "Authorization header must be 'Bearer <API key>'")
            }
            let token = parts[1].trimmingCharacters(in: .whitespaces)
            if token.hasPrefix(Secrets.sessionPrefix) {
                return try await session(token: token)
            }
            return .apiKey(try await apiKey(token))
        }
        // Anthropic's SDKs send their key as x-api-key.
        if let apiKeyHeader = HTTPField.Name("x-api-key"), let token = request.headers[apiKeyHeader] {
            return .apiKey(try await apiKey(token.trimmingCharacters(in: .whitespaces)))
        }
        if let token = Self.cookie(named: Self.sessionCookie, in: request) {
            // Cookie-authenticated writes must be JSON requests: a cross-site form cannot send them
            // without a CORS preflight, which Tern never grants.
            if request.method != .get, request.method != .head, !Self.isJSONMediaType(request.headers[.contentType]) {
                throw TernError.forbidden("requests authenticated by the session cookie must send Content-Type: application/json")
            }
            return try await session(token: token)
        }
        throw TernError(
            .unauthorized, code: "missing_credentials",
            message: "missing API key: send 'Authorization: Bearer tern_...' (create one with 'tern keys create')")
    }

    /// True for `application/json` with or without parameters (`; charset=utf-8`), and nothing else
    /// (`application/jsonp` is not JSON).
    static func isJSONMediaType(_ value: String?) -> Bool {
        guard let value else { return false }
        let type = value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return type == "application/json"
    }

    /// Resolves an API key (without the `Bearer ` prefix).
    public func apiKey(_ token: String) async throws -> APIKey {
        guard Secrets.looksLikeAPIKey(token) else {
            throw TernError(
                .unauthorized, code: "invalid_api_key",
                message: "malformed API key: Tern keys are 'tern_' followed by 40 letters and digits")
        }
        let hash = Secrets.hash(token)
        let now = ContinuousClock.now
        let cached = cache.withLock { $0[hash] }
        let key: APIKey
        if let cached, cached.until > now {
            key = cached.key
        } else {
            guard let found = try await store.apiKeys.find(hash: hash) else {
                throw TernError(.unauthorized, code: "invalid_api_key", message: "API key not recognised")
            }
            key = found
            let ttl = cacheTTL
            cache.withLock { cache in
                if cache.count >= Self.maxCacheEntries { cache.removeAll(keepingCapacity: true) }
                cache[hash] = (found, now + ttl)
            }
        }
        if let revoked = key.revokedAt {
            throw TernError(
                .unauthorized, code: "revoked_api_key",
                message: "API key \(key.prefix)... was revoked at \(JSON.formatDate(revoked))")
        }
        usage.record(keyID: key.id)
        return key
    }

    func session(token: String) async throws -> Principal {
        guard let session = try await store.sessions.find(tokenHash: Secrets.hash(token), now: Date()) else {
            throw TernError(.unauthorized, code: "invalid_session", message: "session expired or signed out; sign in again")
        }
        guard let user = try await store.users.get(id: session.userID) else {
            throw TernError(.unauthorized, code: "invalid_session", message: "session expired or signed out; sign in again")
        }
        guard user.disabledAt == nil else {
            throw TernError(.unauthorized, code: "user_disabled", message: "user \(user.email) is disabled")
        }
        return .user(user, sessionID: session.id)
    }

    private let lastRevocationCheck = Mutex<Date?>(nil)

    /// Forgets cached keys revoked since the last check (through any replica), so another replica's
    /// revocation applies here within the check interval rather than the key cache's TTL.
    public func syncRevocations(now: Date = Date()) async {
        // Read a little before the last check, so a revocation committed while the last read ran is seen.
        let since = lastRevocationCheck.withLock { $0 }?.addingTimeInterval(-10) ?? now.addingTimeInterval(-cacheTTLSeconds - 10)
        do {
            let revoked = try await store.replicas.revokedKeys(since: since)
            lastRevocationCheck.withLock { $0 = now }
            guard !revoked.isEmpty else { return }
            let ids = Set(revoked)
            cache.withLock { cache in
                for (hash, entry) in cache where ids.contains(entry.key.id) && entry.key.revokedAt == nil { cache[hash] = nil }
            }
        } catch {
            // The key cache's TTL still bounds how long a revoked key works here.
        }
    }

    var cacheTTLSeconds: Double { Double(cacheTTL.components.seconds) }

    /// Forgets a cached key so a revocation applies to the next request.
    public func invalidate(keyID: String) {
        cache.withLock { cache in
            for (hash, entry) in cache where entry.key.id == keyID { cache[hash] = nil }
        }
    }

    static func cookie(named name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return String(parts[1]).trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }
}

/// Collects API key use times in memory and writes them in one batch, off the request path.
public final class KeyUsageRecorder: Sendable {
    let store: any TernStore
    let logger: Logger
    private let pending = Mutex<[String: Date]>([:])

    public init(store: any TernStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func record(keyID: String, at date: Date = Date()) {
        pending.withLock { $0[keyID] = date }
    }

    /// Writes what was recorded; returns how many keys were touched.
    @discardableResult
    public func flush() async -> Int {
        let batch = pending.withLock { pending in
            let batch = pending
            pending.removeAll()
            return batch
        }
        for (id, date) in batch {
            do {
                try await store.apiKeys.touch(id: id, at: date)
            } catch {
                logger.warning("could not record API key use", metadata: ["key_id": .string(id), "error": "\(error)"])
            }
        }
        return batch.count
    }
}
