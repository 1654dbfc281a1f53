import Foundation
import TernCore
@testable import TernGateway
import TernTestSupport
import Testing

/// Issue 14: every in-memory structure of the gateway is bounded by configuration, whatever the traffic.
@Suite("Memory bounds of the gateway's state")
struct MemoryBoundsTests {
    @Test("the response cache's memory stays within its byte bound, least recently used answers going first")
    func responseCacheBytes() async throws {
        try await withTestStore(.sqlite) { test in
            let cache = ResponseCache(store: test.store, capacity: 10_000, capacityBytes: 200_000, logger: .quiet)
            for index in 0..<50 {
                let answer = CachedAnswer(body: Data(count: 20_000), deployment: "d", model: nil, usage: nil, outputText: nil)
                cache.remember("k\(index)", answer, expires: Date().addingTimeInterval(600))
                #expect(cache.memoryUse.bytes <= 200_000, "after \(index + 1): \(cache.memoryUse)")
            }
            #expect(cache.memoryUse.entries >= 5, "recent answers stay: \(cache.memoryUse)")
            // An answer larger than the whole bound is not kept in memory at all.
            cache.remember(
                "huge", CachedAnswer(body: Data(count: 300_000), deployment: "d", model: nil, usage: nil, outputText: nil),
                expires: Date().addingTimeInterval(600))
            #expect(cache.memoryUse.bytes <= 200_000)
        }
    }

    @Test("a busy key's rate window holds at most 60 one-second buckets, and its limits still count every request")
    func rateWindowBuckets() async throws {
        try await withTestStore(.sqlite) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let secret = Secrets.newAPIKey()
            let key = try await test.store.apiKeys.create(
                projectID: project.id, name: "k", role: .member, keyHash: Secrets.hash(secret),
                prefix: Secrets.displayPrefix(secret), createdBy: "t",
                limits: KeyLimits(tokensPerMinute: 1_000_000))
            let limiter = KeyLimiter(store: test.store, logger: .quiet)
            let start = ContinuousClock.now
            var admitted = 0
            // 30,000 requests over 90 simulated seconds.
            for index in 0..<30_000 {
                let now = start + .milliseconds(index * 3)
                if let reservation = try? await limiter.admit(key: key, estimatedTokens: 10, worstCaseCost: 0, now: now) {
                    limiter.settle(reservation, tokens: 5, cost: 0)
                    admitted += 1
                }
            }
            #expect(admitted == 30_000, "5 tokens each stay far under the limit once settled")
            let buckets = limiter.bucketCount(keyID: key.id)
            #expect(buckets <= 61, "\(buckets)")
            // The window still sums what it holds: 60 s of 333 requests a second, 5 tokens each (settled).
            let total = limiter.windowTotal(keyID: key.id)
            #expect(total.requests > 19_000 && total.requests <= 20_100, "\(total)")
            #expect(total.tokens == total.requests * 5, "settling replaced each estimate: \(total)")
        }
    }
}
