import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TernCore
import TernServer
import TernTestSupport
import Testing

@Suite("HTTP basics")
struct HTTPBasicsTests {
    @Test("healthz, readyz and metrics answer without credentials")
    func probes() async throws {
        try await withHarness { h in
            let health = try await h.call(.get, "/healthz")
            #expect(health.status == .ok)
            #expect(health.json["status"] as? String == "ok")
            let ready = try await h.call(.get, "/readyz")
            #expect(ready.status == .ok)
            #expect(ready.json["database"] as? String == "sqlite")
            _ = try await h.call(.get, "/api/v1/projects", key: h.adminKey)
            let metrics = try await h.call(.get, "/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains(#"tern_http_requests_total{method="GET",route="/api/v1/projects",status="200"} 1"#))
            #expect(metrics.text.contains("tern_http_request_duration_seconds_bucket"))
            #expect(metrics.text.contains(#"route="/healthz""#))
        }
    }

    @Test("readyz says 503 when the database is gone")
    func readinessFailsWithoutDatabase() async throws {
        try await withHarness(wrapStore: { UnreachableStore(base: $0) }) { h in
            let ready = try await h.call(.get, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.json["status"] as? String == "unavailable")
        }
    }

    @Test("unknown routes are a JSON 404")
    func unknownRoute() async throws {
        try await withHarness { h in
            let reply = try await h.call(.get, "/api/v2/nothing")
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "not_found")
            #expect((reply.error["message"] as? String)?.contains("/api/v2/nothing") == true)
            #expect(reply.headers[.contentType]?.hasPrefix("application/json") == true)
        }
    }

    @Test("a body over the limit is a 413, declared or streamed")
    func oversizedBody() async throws {
        try await withHarness(configure: { $0.server.maxBodyBytes = 2048 }) { h in
            let big = String(repeating: "x", count: 4096)
            let reply = try await h.call(.post, "/api/v1/projects", key: h.adminKey, json: #"{"slug":"s","name":"\#(big)"}"#)
            #expect(reply.status == .contentTooLarge)
            #expect(reply.errorCode == "payload_too_large")
            #expect(try await h.store.projects.get(slug: "s") == nil)
        }
    }

    @Test("malformed JSON is a 400 that names the problem")
    func malformedJSON() async throws {
        try await withHarness { h in
            let reply = try await h.call(.post, "/api/v1/projects", key: h.adminKey, json: #"{"slug": "x""#)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "malformed_json")
            #expect((reply.error["message"] as? String)?.hasPrefix("malformed JSON") == true)
            let empty = try await h.call(.post, "/api/v1/projects", key: h.adminKey, json: "")
            #expect(empty.status == .badRequest)
            #expect(empty.errorCode == "malformed_json")
        }
    }

    @Test("unknown, missing and mistyped fields are named")
    func fieldErrors() async throws {
        try await withHarness { h in
            let unknown = try await h.call(.post, "/api/v1/projects", key: h.adminKey, json: #"{"slug":"x","nmae":"X"}"#)
            #expect(unknown.status == .badRequest)
            #expect(unknown.errorCode == "unknown_field")
            #expect(unknown.errorField == "nmae")
            let missing = try await h.call(.post, "/api/v1/projects", key: h.adminKey, json: #"{"name":"X"}"#)
            #expect(missing.status == .badRequest)
            #expect(missing.errorCode == "missing_field")
            #expect(missing.errorField == "slug")
            let mistyped = try await h.call(.post, "/api/v1/projects", key: h.adminKey, json: #"{"slug":42}"#)
            #expect(mistyped.status == .badRequest)
            #expect(mistyped.errorField == "slug")
            #expect((mistyped.error["message"] as? String) == "expected a string")
            let invalid = try await h.call(.post, "/api/v1/projects", key: h.adminKey, json: #"{"slug":"Not A Slug"}"#)
            #expect(invalid.status == .badRequest)
            #expect(invalid.errorField == "slug")
            #expect(try await h.store.projects.count() == 1, "nothing was created by bad requests")
        }
    }
}

@Suite("Authentication")
struct AuthenticationTests {
    @Test("missing, malformed, unknown and revoked credentials are 401s that say which")
    func rejections() async throws {
        try await withHarness { h in
            let none = try await h.call(.get, "/api/v1/projects")
            #expect(none.status == .unauthorized)
            #expect(none.errorCode == "missing_credentials")
            #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)

            let basic = try await h.call(.get, "/api/v1/projects", headers: [.authorization: "Basic dXNlcjpwYXNz"])
            #expect(basic.errorCode == "malformed_authorization")

            let malformed = try await h.call(.get, "/api/v1/projects", key: "sk-not-a-tern-key")
            #expect(malformed.status == .unauthorized)
            #expect(malformed.errorCode == "invalid_api_key")

            let unknown = try await h.call(.get, "/api/v1/projects", key: Secrets.newAPIKey())
            #expect(unknown.status == .unauthorized)
            #expect(unknown.errorCode == "invalid_api_key")
            #expect((unknown.error["message"] as? String) == "API key not recognised")
        }
    }

    @Test("a revoked key stops working at once, even though keys are cached", arguments: StoreKind.available)
    func revocation(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let key = try await h.createKey(name: "short-lived", role: "member", as: h.adminKey)
            #expect(try await h.call(.get, "/api/v1/projects", key: key).status == .ok)
            let id = try #require(try await h.store.apiKeys.find(hash: Secrets.hash(key))?.id)
            let revoke = try await h.call(.delete, "/api/v1/projects/default/keys/\(id)", key: h.adminKey)
            #expect(revoke.status == .ok)
            #expect(revoke.json["revoked_at"] is String)
            let after = try await h.call(.get, "/api/v1/projects", key: key)
            #expect(after.status == .unauthorized)
            #expect(after.errorCode == "revoked_api_key")
        }
    }

    @Test("using a key records its last-used time")
    func lastUsed() async throws {
        try await withHarness { h in
            let key = try await h.createKey(name: "used", role: "viewer", as: h.adminKey)
            let before = try await h.call(.get, "/api/v1/projects/default/keys", key: h.adminKey)
            let unused = try #require(before.data.first { $0["name"] as? String == "used" }, "the new key is listed")
            #expect(unused["id"] is String && unused["created_at"] is String)
            #expect(unused["last_used_at"] == nil || unused["last_used_at"] is NSNull, "never used: \(unused)")
            #expect(try await h.call(.get, "/api/v1/me", key: key).status == .ok)
            let after = try await h.call(.get, "/api/v1/projects/default/keys", key: h.adminKey)
            let used = try #require(after.data.first { $0["name"] as? String == "used" })
            #expect(used["last_used_at"] is String)
        }
    }

    @Test("a member cannot raise their own role or read other users; a new password ends every session of the user")
    func usersAndPasswords() async throws {
        try await withHarness { h in
            func create(_ email: String, _ role: String) async throws -> String {
                let reply = try await h.call(
                    .post, "/api/v1/users", key: h.adminKey, json: #"{"email":"\#(email)","role":"\#(role)","password":"correct horse"}"#)
                #expect(reply.status == .created, "\(reply.text)")
                return try #require(reply.json["id"] as? String)
            }
            func signIn(_ email: String, _ password: String = "correct horse") async throws -> String? {
                let login = try await h.call(.post, "/api/v1/auth/login", json: #"{"email":"\#(email)","password":"\#(password)"}"#)
                return login.headers[.setCookie]?.split(separator: ";").first.map(String.init)
            }
            let memberID = try await create("m@example.com", "member")
            let adminID = try await create("a@example.com", "admin")
            let member = try #require(try await signIn("m@example.com"))
            let other = try #require(try await signIn("m@example.com"), "a second browser of the same user")

            let raise = try await h.call(.patch, "/api/v1/users/\(memberID)", json: #"{"role":"admin"}"#, headers: [.cookie: member])
            #expect(raise.status == .forbidden, "\(raise.text)")
            #expect(try await h.store.users.get(id: memberID)?.role == .member)
            #expect(try await h.call(.get, "/api/v1/users/\(adminID)", headers: [.cookie: member]).status == .forbidden)
            #expect(try await h.call(.patch, "/api/v1/users/\(adminID)", json: #"{"name":"x"}"#, headers: [.cookie: member]).status == .forbidden)
            #expect(try await h.call(.get, "/api/v1/users/\(memberID)", headers: [.cookie: member]).status == .ok, "their own record")

            // Changing the password signs out every browser of the user, the one that changed it included.
            let changed = try await h.call(
                .patch, "/api/v1/users/\(memberID)", json: #"{"password":"battery staple horse"}"#, headers: [.cookie: member])
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(try await h.call(.get, "/api/v1/me", headers: [.cookie: other]).status == .unauthorized)
            #expect(try await h.call(.get, "/api/v1/me", headers: [.cookie: member]).status == .unauthorized)
            #expect(try await signIn("m@example.com") == nil, "the old password no longer works")
            #expect(try await signIn("m@example.com", "battery staple horse") != nil)
        }
    }

    @Test("a member's key cannot revoke an admin's key of the same project")
    func memberCannotRevokeAdmin() async throws {
        try await withHarness { h in
            let member = try await h.createKey(name: "member", role: "member", as: h.adminKey)
            let keys = try await h.call(.get, "/api/v1/projects/default/keys", key: h.adminKey)
            let adminID = try #require(keys.data.first { $0["name"] as? String == "admin" }?["id"] as? String)
            let revoke = try await h.call(.delete, "/api/v1/projects/default/keys/\(adminID)", key: member)
            #expect(revoke.status == .forbidden, "\(revoke.text)")
            #expect(try await h.store.apiKeys.list(projectID: h.project.id).first { $0.id == adminID }?.isRevoked == false)
            #expect(try await h.call(.get, "/api/v1/me", key: h.adminKey).status == .ok)
        }
    }

    @Test("users sign in with a password and get a session cookie; sign-out ends it")
    func sessions() async throws {
        try await withHarness { h in
            let created = try await h.call(
                .post, "/api/v1/users", key: h.adminKey,
                json: #"{"email":"Ada@Example.com","name":"Ada","role":"member","password":"correct horse"}"#)
            #expect(created.status == .created)
            #expect(created.json["email"] as? String == "ada@example.com")
            #expect(created.json["password"] == nil && created.json["password_hash"] == nil)

            let wrong = try await h.call(.post, "/api/v1/auth/login", json: #"{"email":"ada@example.com","password":"wrong horse"}"#)
            #expect(wrong.status == .unauthorized)
            #expect(wrong.errorCode == "invalid_credentials")
            let nobody = try await h.call(.post, "/api/v1/auth/login", json: #"{"email":"bob@example.com","password":"whatever1"}"#)
            #expect(nobody.errorCode == "invalid_credentials")

            let login = try await h.call(.post, "/api/v1/auth/login", json: #"{"email":"ada@example.com","password":"correct horse"}"#)
            #expect(login.status == .ok)
            let setCookie = try #require(login.headers[.setCookie])
            #expect(setCookie.contains("HttpOnly"))
            #expect(setCookie.contains("SameSite=Strict"))
            let token = try #require(setCookie.split(separator: ";").first.map(String.init))
            #expect(!login.text.contains(String(token.dropFirst("tern_session=".count))), "the token is only in the cookie")

            let me = try await h.call(.get, "/api/v1/me", headers: [.cookie: token])
            #expect(me.status == .ok)
            #expect(me.json["type"] as? String == "user")

            // A member user sees every project but cannot administer users.
            #expect(try await h.call(.get, "/api/v1/projects", headers: [.cookie: token]).data.count == 1)
            #expect(try await h.call(.get, "/api/v1/users", headers: [.cookie: token]).status == .forbidden)

            // Cookie-authenticated writes must be JSON (CSRF defence).
            let form = try await h.call(
                .post, "/api/v1/projects/default/keys", body: ByteBuffer(string: "name=x"),
                headers: [.cookie: token, .contentType: "application/x-www-form-urlencoded"])
            #expect(form.status == .forbidden)
            let viaJSON = try await h.call(.post, "/api/v1/projects/default/keys", json: #"{"name":"ui-key"}"#, headers: [.cookie: token])
            #expect(viaJSON.status == .created)

            let logout = try await h.call(.post, "/api/v1/auth/logout", json: "{}", headers: [.cookie: token])
            #expect(logout.status == .noContent)
            let afterLogout = try await h.call(.get, "/api/v1/me", headers: [.cookie: token])
            #expect(afterLogout.status == .unauthorized)
            #expect(afterLogout.errorCode == "invalid_session")
        }
    }

    @Test("disabling a user ends their sessions; the last admin cannot be demoted")
    func disableAndLastAdmin() async throws {
        try await withHarness { h in
            let created = try await h.call(
                .post, "/api/v1/users", key: h.adminKey, json: #"{"email":"x@example.com","role":"admin","password":"password-1"}"#)
            let id = try #require(created.json["id"] as? String)
            let login = try await h.call(.post, "/api/v1/auth/login", json: #"{"email":"x@example.com","password":"password-1"}"#)
            let cookie = try #require(login.headers[.setCookie]?.split(separator: ";").first.map(String.init))

            let demote = try await h.call(.patch, "/api/v1/users/\(id)", key: h.adminKey, json: #"{"role":"member"}"#)
            #expect(demote.status == .conflict)
            #expect(demote.errorField == "role")

            let disable = try await h.call(.patch, "/api/v1/users/\(id)", key: h.adminKey, json: #"{"disabled":true}"#)
            #expect(disable.status == .conflict, "the only admin cannot be disabled either")

            _ = try await h.call(.post, "/api/v1/users", key: h.adminKey, json: #"{"email":"y@example.com","role":"admin","password":"password-2"}"#)
            let disabled = try await h.call(.patch, "/api/v1/users/\(id)", key: h.adminKey, json: #"{"disabled":true}"#)
            #expect(disabled.status == .ok)
            #expect(disabled.json["disabled_at"] is String)
            #expect(try await h.call(.get, "/api/v1/me", headers: [.cookie: cookie]).status == .unauthorized)
            let relogin = try await h.call(.post, "/api/v1/auth/login", json: #"{"email":"x@example.com","password":"password-1"}"#)
            #expect(relogin.errorCode == "user_disabled")
        }
    }
}

@Suite("Projects, keys and roles")
struct AuthorizationTests {
    @Test("a key of project A can neither read nor write project B", arguments: StoreKind.available)
    func projectIsolation(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let created = try await h.call(.post, "/api/v1/projects", key: h.adminKey, json: #"{"slug":"other","name":"Other"}"#)
            #expect(created.status == .created)
            // Keys never reach beyond their project, admin keys included: this one comes from the CLI path.
            let adminCannotCross = try await h.call(.post, "/api/v1/projects/other/keys", key: h.adminKey, json: #"{"name":"x"}"#)
            #expect(adminCannotCross.status == .forbidden)
            let otherProject = try #require(try await h.store.projects.get(slug: "other"))
            let (otherKey, _) = try await KeyIssuer.issue(
                store: h.store, projectID: otherProject.id, name: "other-admin", role: .admin, createdBy: "test")

            let listed = try await h.call(.get, "/api/v1/projects", key: otherKey)
            #expect(listed.data.map { $0["slug"] as? String } == ["other"], "a key sees only its own project")

            let read = try await h.call(.get, "/api/v1/projects/default/keys", key: otherKey)
            #expect(read.status == .forbidden)
            #expect(read.errorCode == "forbidden")
            let write = try await h.call(.post, "/api/v1/projects/default/keys", key: otherKey, json: #"{"name":"sneaky"}"#)
            #expect(write.status == .forbidden)
            let defaultKeys = try await h.store.apiKeys.list(projectID: h.project.id)
            #expect(!defaultKeys.contains { $0.name == "sneaky" })
            let victim = try #require(defaultKeys.first)
            let revoke = try await h.call(.delete, "/api/v1/projects/default/keys/\(victim.id)", key: otherKey)
            #expect(revoke.status == .forbidden)
            #expect(try await h.store.apiKeys.get(projectID: h.project.id, id: victim.id)?.isRevoked == false)
            // Revoking a key of project A through project B's path finds nothing.
            let crossPath = try await h.call(.delete, "/api/v1/projects/other/keys/\(victim.id)", key: otherKey)
            #expect(crossPath.status == .notFound)
        }
    }

    @Test("roles: viewers read, members write, admins administer")
    func roles() async throws {
        try await withHarness { h in
            let viewer = try await h.createKey(name: "v", role: "viewer", as: h.adminKey)
            let member = try await h.createKey(name: "m", role: "member", as: h.adminKey)
            #expect(try await h.call(.get, "/api/v1/projects/default/keys", key: viewer).status == .ok)
            let viewerWrite = try await h.call(.post, "/api/v1/projects/default/keys", key: viewer, json: #"{"name":"x"}"#)
            #expect(viewerWrite.status == .forbidden)
            #expect((viewerWrite.error["message"] as? String)?.contains("member role") == true)
            let escalate = try await h.call(.post, "/api/v1/projects/default/keys", key: member, json: #"{"name":"x","role":"admin"}"#)
            #expect(escalate.status == .forbidden)
            #expect(try await h.call(.post, "/api/v1/projects/default/keys", key: member, json: #"{"name":"x"}"#).status == .created)
            #expect(try await h.call(.get, "/api/v1/users", key: member).status == .forbidden)
            #expect(try await h.call(.post, "/api/v1/projects", key: member, json: #"{"slug":"nope"}"#).status == .forbidden)
            #expect(try await h.call(.get, "/api/v1/users", key: h.adminKey).status == .ok)
            let badRole = try await h.call(.post, "/api/v1/projects/default/keys", key: h.adminKey, json: #"{"name":"x","role":"owner"}"#)
            #expect(badRole.status == .badRequest)
            #expect(badRole.errorField == "role")
        }
    }

    @Test("a key is shown once: at creation, never in lists, never in logs", arguments: StoreKind.available)
    func keyShownOnce(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let created = try await h.call(.post, "/api/v1/projects/default/keys", key: h.adminKey, json: #"{"name":"ci"}"#)
            #expect(created.status == .created)
            let secret = try #require(created.json["key"] as? String)
            #expect(Secrets.looksLikeAPIKey(secret))
            #expect(created.json["prefix"] as? String == Secrets.displayPrefix(secret))
            #expect(try await h.call(.get, "/api/v1/me", key: secret).status == .ok)
            let id = try #require(created.json["id"] as? String)
            let list = try await h.call(.get, "/api/v1/projects/default/keys", key: h.adminKey)
            let single = try await h.call(.get, "/api/v1/projects/default/keys/\(id)", key: h.adminKey)
            #expect(single.status == .ok)
            for reply in [list, single] {
                #expect(!reply.text.contains(secret))
                #expect(!reply.text.contains("key_hash"))
            }
            #expect(h.logs.count > 0, "requests were logged")
            #expect(h.logs.text.contains("API key created"))
            #expect(!h.logs.text.contains(secret))
            #expect(!h.logs.text.contains(h.adminKey))
            #expect(!h.logs.text.contains(String(secret.dropFirst(13))))
        }
    }
}

@Suite("Live server")
struct LiveServerTests {
    @Test("serves real HTTP on a loopback port")
    func live() async throws {
        try await withHarness(setup: .live) { h in
            #expect(try await h.call(.get, "/healthz").status == .ok)
            let me = try await h.call(.get, "/api/v1/me", key: h.adminKey)
            #expect(me.status == .ok)
            #expect((me.json["project"] as? [String: Any])?["slug"] as? String == "default")
            #expect(try await h.call(.get, "/api/v1/projects").status == .unauthorized)
        }
    }
}

@Suite("Key limits API")
struct KeyLimitsAPITests {
    @Test("keys are created with limits and changed by PATCH; null removes a limit; bad values name the field")
    func limits() async throws {
        try await withHarness { h in
            let created = try await h.call(
                .post, "/api/v1/projects/default/keys", key: h.adminKey,
                json: #"{"name":"app","rpm":60,"budget_usd":5,"budget_period":"day"}"#)
            #expect(created.status == .created)
            let limits = try #require(created.json["limits"] as? [String: Any])
            #expect(limits["rpm"] as? Int == 60)
            #expect(limits["budget_usd"] as? Double == 5)
            #expect(limits["budget_period"] as? String == "day")
            let id = try #require(created.json["id"] as? String)

            let patched = try await h.call(.patch, "/api/v1/projects/default/keys/\(id)", key: h.adminKey, json: #"{"rpm":null,"tpm":1000}"#)
            #expect(patched.status == .ok)
            let after = try #require(patched.json["limits"] as? [String: Any])
            #expect(after["rpm"] == nil, "null removed the limit")
            #expect(after["tpm"] as? Int == 1000)
            #expect(after["budget_usd"] as? Double == 5, "untouched limits stay")
            #expect(try await h.store.apiKeys.get(projectID: h.project.id, id: id)?.limits.tokensPerMinute == 1000)

            let bad = try await h.call(.patch, "/api/v1/projects/default/keys/\(id)", key: h.adminKey, json: #"{"rpm":0}"#)
            #expect(bad.status == .badRequest)
            #expect(bad.errorField == "rpm")
            let period = try await h.call(.patch, "/api/v1/projects/default/keys/\(id)", key: h.adminKey, json: #"{"budget_period":"year"}"#)
            #expect(period.errorField == "budget_period")
            let member = try await h.createKey(name: "m", role: "member", as: h.adminKey)
            #expect(try await h.call(.patch, "/api/v1/projects/default/keys/\(id)", key: member, json: #"{"rpm":1}"#).status == .forbidden)
        }
    }
}

/// A store whose database has gone away: every repository works (so the app starts), but `ping` fails.
struct UnreachableStore: TernStore {
    let base: any TernStore
    var projects: any ProjectRepository { base.projects }
    var apiKeys: any APIKeyRepository { base.apiKeys }
    var users: any UserRepository { base.users }
    var sessions: any SessionRepository { base.sessions }
    var traces: any TraceRepository { base.traces }
    var modelVersions: any ModelVersionRepository { base.modelVersions }
    var responseCache: any ResponseCacheRepository { base.responseCache }
    var spend: any SpendRepository { base.spend }
    var scores: any ScoreRepository { base.scores }
    var scoreConfigs: any ScoreConfigRepository { base.scoreConfigs }
    var metrics: any MetricsRepository { base.metrics }
    var prompts: any PromptRepository { base.prompts }
    var datasets: any DatasetRepository { base.datasets }
    var experiments: any ExperimentRepository { base.experiments }
    var replicas: any ReplicaRepository { base.replicas }
    var watchers: any WatcherRepository { base.watchers }
    var alerts: any AlertRepository { base.alerts }
    var promotions: any PromotionRepository { base.promotions }
    var probes: any ProbeRepository { base.probes }
    var driftMonitors: any DriftMonitorRepository { base.driftMonitors }
    func withExclusiveJob(_ name: String, _ body: @Sendable () async throws -> Void) async throws -> Bool {
        try await base.withExclusiveJob(name, body)
    }
    var backendName: String { base.backendName }
    func migrate() async throws -> [String] { try await base.migrate() }
    func appliedMigrations() async throws -> [String] { try await base.appliedMigrations() }
    func ping() async throws { throw TernError.unavailable("database unreachable") }
    func probeWrite() async throws { throw TernError.unavailable("database unreachable") }
    func unavailability(of error: any Error) -> String? { base.unavailability(of: error) }
    func run() async throws { try await base.run() }
    func close() async throws {}
}
