import Foundation
import TernCore
import TernGateway
import TernTestSupport
import Testing

/// The exact-match cache's store path: a hit another replica (or an earlier run) stored, read with the memory
/// part empty or disabled, never outlives the TTL it was stored with.
@Suite("Response cache: answers from the store")
struct ResponseCacheTests {
    static func answer(_ text: String) throws -> Data {
        try JSONEncoder().encode(CachedAnswer(body: Data(text.utf8), deployment: "d", model: "m", usage: nil, outputText: text))
    }

    @Test("with memory disabled, a stored answer is served until it expires, then not", arguments: StoreKind.available)
    func storeOnly(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let start = Timestamp.now()
            try await test.store.responseCache.put(projectID: project.id, key: "k", value: try Self.answer("stored"), expiresAt: start.addingTimeInterval(5))
            let cache = ResponseCache(store: test.store, capacity: 0, logger: .quiet)
            let hit = await cache.get(projectID: project.id, key: "k", now: start.addingTimeInterval(1))
            #expect(hit?.outputText == "stored")
            #expect(cache.memoryUse.entries == 0, "memory is disabled")
            #expect(await cache.get(projectID: project.id, key: "k", now: start.addingTimeInterval(6)) == nil, "expired in the store")
            #expect(await cache.get(projectID: "other", key: "k", now: start.addingTimeInterval(1)) == nil, "another project's answer")
        }
    }

    @Test("a hit read from the store stays in memory only until the stored answer expires", arguments: StoreKind.available)
    func memoryKeepsTheStoredExpiry(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let start = Timestamp.now()
            try await test.store.responseCache.put(projectID: project.id, key: "k", value: try Self.answer("stored"), expiresAt: start.addingTimeInterval(5))
            // A fresh cache (another replica, or after a restart): memory empty, the answer only in the store.
            let cache = ResponseCache(store: test.store, capacity: 100, logger: .quiet)
            #expect(await cache.get(projectID: project.id, key: "k", now: start.addingTimeInterval(1))?.outputText == "stored")
            #expect(cache.memoryUse.entries == 1, "the hit is kept in memory")
            #expect(await cache.get(projectID: project.id, key: "k", now: start.addingTimeInterval(4))?.outputText == "stored")
            // 6 s after the start the stored answer has expired (its TTL was 5 s), so memory must not serve it either.
            #expect(await cache.get(projectID: project.id, key: "k", now: start.addingTimeInterval(6)) == nil)
            #expect(cache.memoryUse.entries == 0, "the expired copy left memory")
        }
    }
}
