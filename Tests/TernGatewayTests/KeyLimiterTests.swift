import Foundation
import TernCore
import TernGateway
import TernTestSupport
import Testing

/// The limiter with its clock injected: windows that expire, budgets that survive a restart and start
/// again when the period changes.
@Suite("Key limits over time")
struct KeyLimiterTests {
    static func key(_ store: any TernStore, _ project: Project, _ limits: KeyLimits) async throws -> APIKey {
        let secret = Secrets.newAPIKey()
        return try await store.apiKeys.create(
            projectID: project.id, name: "k", role: .member, keyHash: Secrets.hash(secret), prefix: Secrets.displayPrefix(secret),
            createdBy: "t", limits: limits)
    }

    @Test("the per-minute window: full at the limit, open again once the oldest requests are 60 s old")
    func minuteWindowExpires() async throws {
        try await withTestStore(.sqlite) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let key = try await Self.key(test.store, project, KeyLimits(requestsPerMinute: 3))
            let limiter = KeyLimiter(store: test.store, logger: .quiet)
            let start = ContinuousClock.now
            let date = Date(timeIntervalSince1970: 1_800_000_000)
            for second in [0, 10, 20] {
                _ = try await limiter.admit(key: key, estimatedTokens: 1, worstCaseCost: 0, now: start + .seconds(second), date: date)
            }
            let full = await #expect(throws: TernError.self) {
                _ = try await limiter.admit(key: key, estimatedTokens: 1, worstCaseCost: 0, now: start + .seconds(59), date: date)
            }
            #expect(full?.code == "rpm_limit_exceeded")
            // At 61 s the request of second 0 has left the window: one place is free, and only one.
            _ = try await limiter.admit(key: key, estimatedTokens: 1, worstCaseCost: 0, now: start + .seconds(61), date: date)
            await #expect(throws: TernError.self) {
                _ = try await limiter.admit(key: key, estimatedTokens: 1, worstCaseCost: 0, now: start + .seconds(62), date: date)
            }
            // Two minutes on, the window is empty again.
            for offset in 0..<3 {
                _ = try await limiter.admit(key: key, estimatedTokens: 1, worstCaseCost: 0, now: start + .seconds(200 + offset), date: date)
            }
        }
    }

    @Test("a budget survives a restart (spend is read back from the store) and starts afresh in a new period", arguments: StoreKind.available)
    func budgetAcrossRestartAndPeriod(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let key = try await Self.key(test.store, project, KeyLimits(budgetUSD: 1.0, budgetPeriod: .day))
            let day = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15
            let first = KeyLimiter(store: test.store, logger: .quiet)
            for _ in 0..<3 {
                let reservation = try await first.admit(key: key, estimatedTokens: 1, worstCaseCost: 0.3, date: day)
                first.settle(reservation, tokens: 1, cost: 0.3)
            }
            await first.flush()  // what a graceful shutdown does

            // A new process (or replica) reads the $0.90 spent today and refuses a call that may cost $0.20.
            let second = KeyLimiter(store: test.store, logger: .quiet)
            let refused = await #expect(throws: TernError.self) {
                _ = try await second.admit(key: key, estimatedTokens: 1, worstCaseCost: 0.2, date: day.addingTimeInterval(3600))
            }
            #expect(refused?.code == "budget_exceeded")
            #expect(refused?.message.contains("$0.9000 spent") == true, "\(String(describing: refused?.message))")
            _ = try await second.admit(key: key, estimatedTokens: 1, worstCaseCost: 0.1, date: day.addingTimeInterval(3600))

            // The next day the budget is whole again; the store keeps each day apart.
            let tomorrow = day.addingTimeInterval(86_400)
            let reservation = try await second.admit(key: key, estimatedTokens: 1, worstCaseCost: 0.9, date: tomorrow)
            second.settle(reservation, tokens: 1, cost: 0.9)
            await second.flush()
            let spentToday = try await test.store.spend.spent(keyID: key.id, period: BudgetPeriod.day.label(for: day))
            let spentTomorrow = try await test.store.spend.spent(keyID: key.id, period: BudgetPeriod.day.label(for: tomorrow))
            #expect(abs(spentToday - 0.9) < 1e-9 && abs(spentTomorrow - 0.9) < 1e-9)
        }
    }
}
