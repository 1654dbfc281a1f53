import Foundation
import TernCore
import TernTestSupport
import Testing

/// One contract, every backend: each test runs against SQLite and (under scripts/test) PostgreSQL
/// with the same assertions.
@Suite("Storage contract")
struct StoreContractTests {
    @Test("PostgreSQL is part of the run when the test script requires it")
    func postgresPresentWhenRequired() {
        if TestPostgres.required {
            #expect(StoreKind.available.contains(.postgres), "TERN_TEST_REQUIRE_POSTGRES=1 but TERN_TEST_POSTGRES_URL is unset")
        }
    }

    @Test("migrations apply once; a second run changes nothing", arguments: StoreKind.available)
    func migrationsAreIdempotent(kind: StoreKind) async throws {
        try await withTestStore(kind, migrate: false) { test in
            #expect(try await test.store.appliedMigrations() == [])
            let first = try await test.store.migrate()
            #expect(
                first == [
                    "0001_foundation", "0002_gateway", "0003_scores", "0004_monitoring", "0005_prompts", "0006_datasets", "0007_daily_rollups",
                    "0008_ingest_layout", "0009_experiments", "0010_append_layout", "0011_trace_keys", "0012_scopes_and_bounds",
                    "0013_internal_traffic", "0014_watchers", "0015_watcher_backfills", "0016_alerts", "0017_promotions", "0018_probes_and_drift_monitors",
                ])
            let schemaAfterFirst = try await test.dumpSchema()
            let second = try await test.store.migrate()
            #expect(second == [])
            #expect(try await test.store.appliedMigrations() == first)
            #expect(try await test.dumpSchema() == schemaAfterFirst)
            #expect(schemaAfterFirst.contains("api_keys"))
        }
    }

    @Test("projects: create, find by id and slug, list in order, slugs unique", arguments: StoreKind.available)
    func projects(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let projects = test.store.projects
            #expect(try await projects.count() == 0)
            let a = try await projects.create(slug: "alpha", name: "Alpha")
            let b = try await projects.create(slug: "beta", name: "Beta")
            #expect(try await projects.get(id: a.id) == a)
            #expect(try await projects.get(slug: "beta") == b)
            #expect(try await projects.get(slug: "gamma") == nil)
            #expect(try await projects.list().map(\.slug) == ["alpha", "beta"])
            #expect(try await projects.count() == 2)
            let error = await #expect(throws: TernError.self) { try await projects.create(slug: "alpha", name: "Again") }
            #expect(error?.kind == .conflict)
            #expect(error?.field == "slug")
        }
    }

    @Test("API keys: create, find by hash, list, revoke once, last-used only moves forward", arguments: StoreKind.available)
    func apiKeys(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let keys = test.store.apiKeys
            let secret = Secrets.newAPIKey()
            let key = try await keys.create(
                projectID: project.id, name: "ci", role: .member, keyHash: Secrets.hash(secret),
                prefix: Secrets.displayPrefix(secret), createdBy: "cli")
            #expect(key.prefix == String(secret.prefix(13)))
            #expect(try await keys.find(hash: Secrets.hash(secret)) == key)
            #expect(try await keys.find(hash: Secrets.hash(Secrets.newAPIKey())) == nil)
            #expect(try await keys.list(projectID: project.id) == [key])

            let used = Timestamp.now()
            try await keys.touch(id: key.id, at: used)
            try await keys.touch(id: key.id, at: used.addingTimeInterval(-60))
            #expect(try await keys.get(projectID: project.id, id: key.id)?.lastUsedAt == used)

            let revokedAt = Timestamp.now()
            let revoked = try await keys.revoke(projectID: project.id, id: key.id, at: revokedAt)
            #expect(revoked?.revokedAt == revokedAt)
            let again = try await keys.revoke(projectID: project.id, id: key.id, at: revokedAt.addingTimeInterval(10))
            #expect(again?.revokedAt == revokedAt, "a second revocation keeps the first time")
            #expect(try await keys.find(hash: Secrets.hash(secret))?.isRevoked == true)
            #expect(try await keys.revoke(projectID: project.id, id: "missing", at: revokedAt) == nil)

            let error = await #expect(throws: TernError.self) {
                try await keys.create(projectID: "no-such-project", name: "x", role: .viewer, keyHash: "h", prefix: "tern_x", createdBy: nil)
            }
            #expect(error?.kind == .notFound)
        }
    }

    @Test("the plain key is stored nowhere, only its hash", arguments: StoreKind.available)
    func keysAreStoredHashed(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            var secrets: [String] = []
            for index in 0..<5 {
                let secret = Secrets.newAPIKey()
                secrets.append(secret)
                _ = try await test.store.apiKeys.create(
                    projectID: project.id, name: "k\(index)", role: .member, keyHash: Secrets.hash(secret),
                    prefix: Secrets.displayPrefix(secret), createdBy: nil)
            }
            let dump = try await test.dumpAllText()
            let raw = String(decoding: try await test.rawFileBytes(), as: UTF8.self)
            for secret in secrets {
                let hidden = String(secret.dropFirst(13))  // the part after the display prefix
                #expect(dump.contains(Secrets.hash(secret)), "the hash is what is stored")
                #expect(!dump.contains(secret))
                #expect(!dump.contains(hidden))
                #expect(!raw.contains(hidden))
            }
            if kind == .sqlite {
                #expect(raw.contains(Secrets.hash(secrets[0])), "the raw file scan sees stored rows")
            }
        }
    }

    @Test("a key of project A is invisible and untouchable through project B", arguments: StoreKind.available)
    func projectIsolation(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let a = try await test.store.projects.create(slug: "a", name: "A")
            let b = try await test.store.projects.create(slug: "b", name: "B")
            let keys = test.store.apiKeys
            let keyA = try await keys.create(projectID: a.id, name: "a-key", role: .admin, keyHash: "hash-a", prefix: "tern_a", createdBy: nil)
            let keyB = try await keys.create(projectID: b.id, name: "b-key", role: .admin, keyHash: "hash-b", prefix: "tern_b", createdBy: nil)
            #expect(try await keys.list(projectID: b.id) == [keyB])
            #expect(try await keys.get(projectID: b.id, id: keyA.id) == nil)
            #expect(try await keys.revoke(projectID: b.id, id: keyA.id, at: Timestamp.now()) == nil)
            #expect(try await keys.get(projectID: a.id, id: keyA.id)?.isRevoked == false, "revoking through B changed nothing")
        }
    }

    @Test("users: create, unique e-mail, update, disable, password hash kept apart", arguments: StoreKind.available)
    func users(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let users = test.store.users
            let hash = try PasswordHasher.fastForTests.hash("correct horse")
            let ada = try await users.create(email: "ada@example.com", name: "Ada", role: .admin, passwordHash: hash)
            let bob = try await users.create(email: "bob@example.com", name: "Bob", role: .viewer, passwordHash: hash)
            #expect(try await users.get(email: "ada@example.com") == ada)
            #expect(try await users.list() == [ada, bob])
            #expect(try await users.count() == 2)
            let stored = try #require(try await users.passwordHash(userID: ada.id))
            #expect(PasswordHasher.verify("correct horse", against: stored))
            #expect(!PasswordHasher.verify("wrong horse", against: stored))

            let error = await #expect(throws: TernError.self) {
                try await users.create(email: "ada@example.com", name: "Ada 2", role: .member, passwordHash: hash)
            }
            #expect(error?.kind == .conflict)
            #expect(error?.field == "email")

            let renamed = try await users.update(id: bob.id, name: "Robert", role: .member, passwordHash: nil, disabled: nil)
            #expect(renamed?.name == "Robert")
            #expect(renamed?.role == .member)
            let disabled = try await users.update(id: bob.id, name: nil, role: nil, passwordHash: nil, disabled: true)
            #expect(disabled?.disabledAt != nil)
            #expect(disabled?.name == "Robert", "fields not given stay as they were")
            let enabled = try await users.update(id: bob.id, name: nil, role: nil, passwordHash: nil, disabled: false)
            #expect(enabled?.disabledAt == nil)
            #expect(try await users.update(id: "missing", name: "x", role: nil, passwordHash: nil, disabled: nil) == nil)
        }
    }

    @Test("sessions: found until they expire, deleted on sign-out, purged after", arguments: StoreKind.available)
    func sessions(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let user = try await test.store.users.create(email: "u@example.com", name: "U", role: .member, passwordHash: "x")
            let sessions = test.store.sessions
            let now = Timestamp.now()
            let live = try await sessions.create(userID: user.id, tokenHash: "live", expiresAt: now.addingTimeInterval(3600))
            _ = try await sessions.create(userID: user.id, tokenHash: "old", expiresAt: now.addingTimeInterval(-1))
            #expect(try await sessions.find(tokenHash: "live", now: now) == live)
            #expect(try await sessions.find(tokenHash: "old", now: now) == nil)
            #expect(try await sessions.purgeExpired(now: now) == 1)
            try await sessions.delete(id: live.id)
            #expect(try await sessions.find(tokenHash: "live", now: now) == nil)
            _ = try await sessions.create(userID: user.id, tokenHash: "a", expiresAt: now.addingTimeInterval(60))
            _ = try await sessions.create(userID: user.id, tokenHash: "b", expiresAt: now.addingTimeInterval(60))
            try await sessions.deleteAll(userID: user.id)
            #expect(try await sessions.find(tokenHash: "a", now: now) == nil)
            #expect(try await sessions.find(tokenHash: "b", now: now) == nil)
        }
    }

    @Test(
        "the same scenario gives the same results on SQLite and PostgreSQL",
        .enabled(if: StoreKind.available.contains(.postgres), "needs the PostgreSQL test server (scripts/test)"))
    func sameResultsOnBothBackends() async throws {
        let sqlite = try await withTestStore(.sqlite) { try await Scenario.transcript($0.store) }
        let postgres = try await withTestStore(.postgres) { try await Scenario.transcript($0.store) }
        #expect(sqlite == postgres)
        #expect(sqlite.count > 10)
    }
}

/// A fixed sequence of operations whose observable results are written down with ids and times
/// replaced by stable placeholders, so two backends can be compared line by line.
enum Scenario {
    static func transcript(_ store: any TernStore) async throws -> [String] {
        var lines: [String] = []
        var names: [String: String] = [:]
        func name(_ id: String) -> String {
            if let existing = names[id] { return existing }
            names[id] = "#\(names.count)"
            return names[id]!
        }
        func describe(_ key: APIKey?) -> String {
            guard let key else { return "nil" }
            return
                "key \(name(key.id)) project=\(name(key.projectID)) name=\(key.name) role=\(key.role) used=\(key.lastUsedAt != nil) revoked=\(key.revokedAt != nil)"
        }
        func attempt(_ label: String, _ work: () async throws -> String) async {
            do { lines.append("\(label): \(try await work())") } catch let error as TernError {
                lines.append("\(label): error \(error.kind) \(error.code) field=\(error.field ?? "-")")
            } catch {
                lines.append("\(label): unexpected \(error)")
            }
        }
        let a = try await store.projects.create(slug: "a", name: "A")
        let b = try await store.projects.create(slug: "b", name: "B")
        await attempt("duplicate slug") {
            _ = try await store.projects.create(slug: "a", name: "A2"); return "created"
        }
        lines.append("projects: " + (try await store.projects.list()).map { "\($0.slug)=\(name($0.id))" }.joined(separator: ","))
        var made: [APIKey] = []
        for (index, role) in [Role.admin, .member, .viewer].enumerated() {
            made.append(
                try await store.apiKeys.create(
                    projectID: index == 2 ? b.id : a.id, name: "k\(index)", role: role, keyHash: "h\(index)", prefix: "tern_\(index)", createdBy: nil))
        }
        lines.append("list a: " + (try await store.apiKeys.list(projectID: a.id)).map(describe).joined(separator: " | "))
        lines.append("find h2: " + describe(try await store.apiKeys.find(hash: "h2")))
        try await store.apiKeys.touch(id: made[0].id, at: Timestamp.now())
        lines.append("touched: " + describe(try await store.apiKeys.get(projectID: a.id, id: made[0].id)))
        lines.append("revoke via b: " + describe(try await store.apiKeys.revoke(projectID: b.id, id: made[1].id, at: Timestamp.now())))
        lines.append("revoke via a: " + describe(try await store.apiKeys.revoke(projectID: a.id, id: made[1].id, at: Timestamp.now())))
        await attempt("key for missing project") {
            describe(try await store.apiKeys.create(projectID: "nope", name: "x", role: .viewer, keyHash: "hx", prefix: "p", createdBy: nil))
        }
        let user = try await store.users.create(email: "x@example.com", name: "X", role: .member, passwordHash: "hash")
        await attempt("duplicate email") {
            _ = try await store.users.create(email: "x@example.com", name: "Y", role: .viewer, passwordHash: "h"); return "created"
        }
        let updated = try await store.users.update(id: user.id, name: nil, role: .admin, passwordHash: nil, disabled: true)
        lines.append("user: \(updated.map { "\($0.email) \($0.name) \($0.role) disabled=\($0.disabledAt != nil)" } ?? "nil")")
        lines.append("counts: projects=\(try await store.projects.count()) users=\(try await store.users.count())")
        let now = Timestamp.now()
        _ = try await store.sessions.create(userID: user.id, tokenHash: "s1", expiresAt: now.addingTimeInterval(-5))
        _ = try await store.sessions.create(userID: user.id, tokenHash: "s2", expiresAt: now.addingTimeInterval(5))
        lines.append("session s2 found: \(try await store.sessions.find(tokenHash: "s2", now: now) != nil)")
        lines.append("purged: \(try await store.sessions.purgeExpired(now: now))")
        return lines
    }
}
