import Foundation
import Logging
import TernCore
import TernGateway
import TernServer
import TernStorePostgres
import TernTestSupport
import Testing

/// Issue 14: two Tern replicas on one PostgreSQL database. Migrations run once; rate limits and budgets
/// hold across both up to one sync interval (KeyLimiter.sync, every 2 s in the server); jobs over shared
/// data run on one replica at a time; a key revoked through one is refused by the other at its next
/// revocation check (every 2 s in the server).
@Suite("Two replicas on one PostgreSQL", .enabled(if: StoreKind.available.contains(.postgres), "needs TERN_TEST_POSTGRES_URL (scripts/test starts PostgreSQL)"))
struct ReplicaTests {
    /// Two stores (two replicas' connection pools) on one fresh database.
    static func withTwoReplicas(migrate: Bool = true, _ body: @Sendable (PostgresStore, PostgresStore) async throws -> Void) async throws {
        try await TestPostgres.withDatabase { url in
            let a = try PostgresStore(url: url, maxConnections: 4, logger: .quiet)
            let b = try PostgresStore(url: url, maxConnections: 4, logger: .quiet)
            try await withRunningStore(a) { a in
                try await withRunningStore(b) { b in
                    if migrate {
                        try await a.migrate()
                        try await b.migrate()
                    }
                    try await body(a as! PostgresStore, b as! PostgresStore)
                }
            }
        }
    }

    @Test("replicas starting together apply each migration once")
    func migrationsOnce() async throws {
        try await Self.withTwoReplicas(migrate: false) { a, b in
            async let fromA = a.migrate()
            async let fromB = b.migrate()
            let (first, second) = try await (fromA, fromB)
            let all = try await a.appliedMigrations()
            #expect(all.count == 18 && all.last == "0018_probes_and_drift_monitors", "\(all)")
            #expect((first + second).sorted() == all.sorted(), "each applied by exactly one: \(first) / \(second)")
            #expect(try await b.migrate().isEmpty)
        }
    }

    @Test("a key's requests per minute hold across replicas once they have synced; before that each sees only its own")
    func rateLimitAcrossReplicas() async throws {
        try await Self.withTwoReplicas { a, b in
            let project = try await a.projects.create(slug: "p", name: "P")
            let (_, key) = try await KeyIssuer.issue(
                store: a, projectID: project.id, name: "k", role: .member, createdBy: "t",
                limits: KeyLimits(requestsPerMinute: 10))
            let limiterA = KeyLimiter(store: a, logger: .quiet)
            let limiterB = KeyLimiter(store: b, logger: .quiet)
            // Mid-minute, so the whole window is this minute.
            let date = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 + 30)
            let now = ContinuousClock.now
            for _ in 0..<6 { _ = try await limiterA.admit(key: key, estimatedTokens: 1, worstCaseCost: 0, now: now, date: date) }
            await limiterA.sync(now: now, date: date)
            await limiterB.sync(now: now, date: date)
            var admitted = 0
            while (try? await limiterB.admit(key: key, estimatedTokens: 1, worstCaseCost: 0, now: now, date: date)) != nil { admitted += 1 }
            #expect(admitted == 4, "10 per minute across both: A took 6")
            // And A sees B's after the next sync.
            await limiterB.sync(now: now, date: date)
            await limiterA.sync(now: now, date: date)
            await #expect(throws: TernError.self) { try await limiterA.admit(key: key, estimatedTokens: 1, worstCaseCost: 0, now: now, date: date) }
        }
    }

    @Test("a spend budget holds across replicas: what one spent and synced counts against the other")
    func budgetAcrossReplicas() async throws {
        try await Self.withTwoReplicas { a, b in
            let project = try await a.projects.create(slug: "p", name: "P")
            let (_, key) = try await KeyIssuer.issue(
                store: a, projectID: project.id, name: "k", role: .member, createdBy: "t",
                limits: KeyLimits(budgetUSD: 1.0))
            let limiterA = KeyLimiter(store: a, logger: .quiet)
            let limiterB = KeyLimiter(store: b, logger: .quiet)
            // B has seen the key already (its budget loaded at $0) before A spends.
            let first = try await limiterB.admit(key: key, estimatedTokens: 1, worstCaseCost: 0.1)
            limiterB.settle(first, tokens: 1, cost: 0.1)
            for _ in 0..<2 {
                let reservation = try await limiterA.admit(key: key, estimatedTokens: 1, worstCaseCost: 0.3)
                limiterA.settle(reservation, tokens: 1, cost: 0.3)
            }
            await limiterA.sync()
            await limiterB.sync()
            #expect(limiterB.spent(keyID: key.id).map { abs($0 - 0.7) < 1e-9 } == true, "\(String(describing: limiterB.spent(keyID: key.id)))")
            let third = try await limiterB.admit(key: key, estimatedTokens: 1, worstCaseCost: 0.3)
            await #expect(throws: TernError.self) { try await limiterB.admit(key: key, estimatedTokens: 1, worstCaseCost: 0.3) }
            limiterB.settle(third, tokens: 1, cost: 0.3)
            await limiterB.sync()
            #expect(abs(try await a.spend.spent(keyID: key.id, period: KeyLimits().budgetPeriod.label(for: Date())) - 1.0) < 1e-9)
        }
    }

    @Test("the monitoring and retention jobs run on one replica at a time")
    func exclusiveJobs() async throws {
        try await Self.withTwoReplicas { a, b in
            let (entered, enter) = AsyncStream<Void>.makeStream()
            let (release, go) = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await a.withExclusiveJob("monitoring") {
                    enter.yield()
                    for await _ in release { break }
                }
            }
            for await _ in entered { break }
            let skipped = try await b.withExclusiveJob("monitoring") {}
            #expect(skipped == false, "B skips while A runs the job")
            let other = try await b.withExclusiveJob("retention") {}
            #expect(other == true, "another job is free")
            go.yield()
            let ranOnA = try await holder.value
            #expect(ranOnA == true)
            let ranOnB = try await b.withExclusiveJob("monitoring") {}
            #expect(ranOnB == true, "B runs it once A is done")
        }
    }

    @Test("a key revoked through one replica is refused by the other at its next revocation check, before its key cache expires")
    func revocation() async throws {
        try await Self.withTwoReplicas { a, b in
            let project = try await a.projects.create(slug: "p", name: "P")
            let (secret, key) = try await KeyIssuer.issue(store: a, projectID: project.id, name: "k", role: .member, createdBy: "t")
            let authB = Authenticator(store: b, cacheTTL: .seconds(30), usage: KeyUsageRecorder(store: b, logger: .quiet))
            await authB.syncRevocations()
            #expect(try await authB.apiKey(secret).id == key.id)
            _ = try await a.apiKeys.revoke(projectID: project.id, id: key.id, at: Timestamp.now())
            #expect(try await authB.apiKey(secret).id == key.id, "still cached on B (the cache lasts 30 s)")
            await authB.syncRevocations()
            await #expect(throws: TernError.self) { try await authB.apiKey(secret) }
        }
    }
}
