import AsyncHTTPClient
import Foundation
import NIOCore
import TernCore
import TernGateway
import TernServer
import TernTestSupport
import Testing

/// Keys changed through the CLI (another process, the same database) while a server runs: the server
/// sees a revocation within its revocation check (every 2 s) and new limits within the key cache time.
@Suite("CLI: keys changed while a server runs", .timeLimit(.minutes(2)))
struct KeysLiveTests {
    static func get(_ url: String, key: String) async throws -> (status: Int, json: [String: Any]) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        let json = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
        return (Int(response.status.code), json)
    }

    static func status(_ url: String, key: String) async throws -> Int { try await get(url, key: key).status }

    /// Asks until `condition` holds, for at most `limit`; returns how long it took (nil: never).
    static func within(_ limit: Duration, _ condition: () async throws -> Bool) async throws -> Duration? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < limit {
            if try await condition() { return ContinuousClock.now - start }
            try await Task.sleep(for: .milliseconds(100))  // the interval between two questions, not a wait for work
        }
        return nil
    }

    @Test("tern keys revoke stops a key a running server had cached within seconds; tern keys limits applies within the cache time")
    func revokeAndLimit() async throws {
        try await withTestStore(.sqlite) { test in
            _ = try await Bootstrap.prepare(test.store, logger: .quiet)
            let project = try #require(try await test.store.projects.get(slug: "default"))
            let (secret, key) = try await KeyIssuer.issue(store: test.store, projectID: project.id, name: "live", role: .member, createdBy: "test")
            let (other, otherKey) = try await KeyIssuer.issue(store: test.store, projectID: project.id, name: "limited", role: .member, createdBy: "test")
            var config = TernConfig()
            config.dataDir = test.directory
            config.auth.keyCacheSeconds = 12
            let server = try await BackgroundServer.tern(store: test.store, config: config)
            try await withCleanup {
                let me = "\(server.baseURL)/api/v1/me"
                #expect(try await Self.status(me, key: secret) == 200, "the key works and is now cached")
                #expect(try await Self.status(me, key: other) == 200)

                let revoked = try await tern(["keys", "revoke", key.id, "--data-dir", test.directory])
                #expect(revoked.contains("Revoked key \"live\""))
                let refusedAfter = try await Self.within(.seconds(20)) { try await Self.status(me, key: secret) == 401 }
                #expect(refusedAfter != nil, "the revoked key still works 20 s later")
                // Well before the cached copy would expire (12 s): the revocation check found it.
                #expect((refusedAfter ?? .seconds(99)) < .seconds(8), "\(String(describing: refusedAfter))")

                // New limits reach the server once its cached copy of the key expires (auth.key_cache_seconds); the
                // key the server authenticates with (shown by /me) is the one the gateway's limiter reads.
                func rpm() async throws -> Int? {
                    ((try await Self.get(me, key: other).json["key"] as? [String: Any])?["limits"] as? [String: Any])?["rpm"] as? Int
                }
                #expect(try await rpm() == nil)
                let limited = try await tern(["keys", "limits", otherKey.id, "--rpm", "7", "--data-dir", test.directory])
                #expect(limited.contains("Limits of \"limited\""), "\(limited)")
                let limitedAfter = try await Self.within(.seconds(30)) { try await rpm() == 7 }
                #expect(limitedAfter != nil, "the new limit is not seen 30 s later")
                #expect((limitedAfter ?? .seconds(99)) < .seconds(config.auth.keyCacheSeconds + 5), "\(String(describing: limitedAfter))")
            } cleanup: {
                await server.stop()
            }
        }
    }

    @Test("--server: keys and model versions through a running server's API, opening no database here")
    func throughServer() async throws {
        try await withTestStore(.sqlite) { test in
            _ = try await Bootstrap.prepare(test.store, logger: .quiet)
            let project = try #require(try await test.store.projects.get(slug: "default"))
            let (admin, _) = try await KeyIssuer.issue(
                store: test.store, projectID: project.id, name: "ops", role: .admin, createdBy: "test", scopes: Role.admin.defaultScopes + [.instance])
            var config = TernConfig()
            config.dataDir = test.directory
            try config.apply(yaml: "providers:\n  demo: {type: echo}\nmodels:\n  bot:\n    deployments:\n      - {name: a, provider: demo, model: a}\n")
            _ = try await ModelRegistry.start(store: test.store, config: config, logger: .quiet)
            _ = try await test.store.modelVersions.append(
                name: "bot", config: try #require(try await test.store.modelVersions.latest(name: "bot")).config, author: "test", message: "second",
                sourceHash: nil, deleted: false)
            let server = try await BackgroundServer.tern(store: test.store, config: config)
            try await withCleanup {
                let elsewhere = try TempDirectory.make()
                defer { TempDirectory.remove(elsewhere) }
                let remote = ["--server", server.baseURL, "--api-key", admin]
                let created = try await tern(["keys", "create", "--name", "remote", "--rpm", "30"] + remote, directory: elsewhere)
                let secret = try #require(created.split(separator: "\n").last.map(String.init))
                #expect(Secrets.looksLikeAPIKey(secret) && created.contains("through \(server.baseURL)"), "\(created)")
                let stored = try #require(try await test.store.apiKeys.find(hash: Secrets.hash(secret)), "the server's database holds it")
                #expect(stored.limits.requestsPerMinute == 30)
                #expect(try await Self.status("\(server.baseURL)/api/v1/me", key: secret) == 200)
                let listed = try await tern(["keys", "list"] + remote, directory: elsewhere)
                #expect(listed.contains("remote") && listed.contains("30 rpm"), "\(listed)")
                let revoked = try await tern(["keys", "revoke", stored.id] + remote, directory: elsewhere)
                #expect(revoked.contains("Revoked key \"remote\""))
                #expect(try await Self.status("\(server.baseURL)/api/v1/me", key: secret) == 401)

                let history = try await tern(["models", "history", "bot"] + remote, directory: elsewhere)
                #expect(history.contains("second") && history.contains("from tern.yaml"), "\(history)")
                let rolled = try await tern(["models", "rollback", "bot"] + remote, directory: elsewhere)
                #expect(rolled.contains("bot is now version 3 (rollback to version 1)"), "\(rolled)")
                #expect(try await test.store.modelVersions.latest(name: "bot")?.author.hasPrefix("key:") == true)
                #expect(!FileManager.default.fileExists(atPath: (elsewhere as NSString).appendingPathComponent(".tern")), "no database was created here")
                let noKey = await #expect(throws: TernError.self) {
                    _ = try await tern(["keys", "list", "--server", server.baseURL], directory: elsewhere)
                }
                #expect(noKey?.field == "--api-key")
            } cleanup: {
                await server.stop()
            }
        }
    }
}
