import Foundation
import TernCore
import TernTestSupport
import Testing

@Suite("Storage contract: gateway data")
struct GatewayStoreContractTests {
    static func observation(
        _ trace: String, project: String, model: String, input: Int, output: Int, cost: Double?, level: ObservationLevel = .default,
        start: Date
    ) -> Observation {
        Observation(
            id: TernID.make(), traceID: trace, projectID: project, type: .generation, name: "chat", startTime: start,
            endTime: start.addingTimeInterval(0.25), completionStartTime: start.addingTimeInterval(0.05), model: model, provider: "openai",
            modelParameters: ["temperature": 0.5], input: "in", output: "out",
            usage: TokenUsage(inputTokens: input, outputTokens: output, cachedTokens: 2, reasoningTokens: nil), cost: cost,
            level: level, statusMessage: level == .error ? "boom" : nil, metadata: ["api_key": "ci"], requestedModel: "bot",
            deployment: "small", variant: "a", route: "split", cacheStatus: "miss", statusCode: level == .error ? 502 : 200)
    }

    @Test("traces: batch insert, detail round trip, newest-first keyset pages, filters, idempotent by id", arguments: StoreKind.available)
    func traces(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let other = try await test.store.projects.create(slug: "q", name: "Q")
            let base = Timestamp.date(Timestamp.micros(Date(timeIntervalSince1970: 1_800_000_000)))
            var batch: [TraceBatchItem] = []
            for index in 0..<7 {
                let start = base.addingTimeInterval(Double(index))
                let id = "t\(index)"
                let trace = Trace(
                    id: id, projectID: project.id, name: "chat bot", userID: index % 2 == 0 ? "even" : "odd", sessionID: "s",
                    tags: ["a", "b"], metadata: ["task": "faq"], input: "question \(index)", output: "answer", startTime: start,
                    endTime: start.addingTimeInterval(0.25))
                let generation = Self.observation(
                    id, project: project.id, model: index == 3 ? "special" : "gpt-4o-mini", input: 10, output: 5,
                    cost: 0.01, level: index == 6 ? .error : .default, start: start)
                batch.append(TraceBatchItem(trace: trace, observations: [generation]))
            }
            batch.append(TraceBatchItem(trace: Trace(id: "t0", projectID: other.id, startTime: base), observations: []))
            try await test.store.traces.insert(batch)
            try await test.store.traces.insert([batch[0]])  // a retried batch adds nothing
            #expect(try await test.store.traces.count(projectID: project.id) == 7)
            #expect(try await test.store.traces.count(projectID: other.id) == 1, "the same id in another project is another trace")

            let detail = try #require(try await test.store.traces.get(projectID: project.id, id: "t2"))
            #expect(detail.trace == batch[2].trace.withSegmentsFromMetadata())
            #expect(detail.trace.task == "faq")
            #expect(detail.observations == batch[2].observations)
            #expect(try await test.store.traces.get(projectID: other.id, id: "t2") == nil)

            let first = try await test.store.traces.list(projectID: project.id, query: TraceQuery(limit: 3))
            #expect(first.traces.map(\.trace.id) == ["t6", "t5", "t4"])
            #expect(first.traces.first?.level == .error)
            #expect(first.traces.first?.inputTokens == 10)
            #expect(first.traces.first?.cost == 0.01)
            #expect(abs((first.traces.first?.latencyMs ?? 0) - 250) < 0.01)
            let second = try await test.store.traces.list(projectID: project.id, query: TraceQuery(limit: 3, cursor: first.nextCursor))
            #expect(second.traces.map(\.trace.id) == ["t3", "t2", "t1"])
            let last = try await test.store.traces.list(projectID: project.id, query: TraceQuery(limit: 3, cursor: second.nextCursor))
            #expect(last.traces.map(\.trace.id) == ["t0"])
            #expect(last.nextCursor == nil)

            #expect(try await test.store.traces.list(projectID: project.id, query: TraceQuery(userID: "odd")).traces.map(\.trace.id) == ["t5", "t3", "t1"])
            #expect(try await test.store.traces.list(projectID: project.id, query: TraceQuery(model: "special")).traces.map(\.trace.id) == ["t3"])
            let window = TraceQuery(from: base.addingTimeInterval(2), to: base.addingTimeInterval(4))
            #expect(try await test.store.traces.list(projectID: project.id, query: window).traces.map(\.trace.id) == ["t3", "t2"])
            await #expect(throws: TernError.self) {
                _ = try await test.store.traces.list(projectID: project.id, query: TraceQuery(cursor: "not-a-cursor"))
            }
        }
    }

    @Test("a trace id seen again merges its fields and widens its span", arguments: StoreKind.available)
    func traceMerge(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let t0 = Timestamp.date(Timestamp.micros(Date(timeIntervalSince1970: 1_800_000_000)))
            // An observation arrives first, with a bare trace; the trace itself comes later.
            let bare = Trace(id: "t", projectID: project.id, startTime: t0.addingTimeInterval(1), endTime: t0.addingTimeInterval(2))
            try await test.store.traces.insert([TraceBatchItem(trace: bare, observations: [])])
            let full = Trace(
                id: "t", projectID: project.id, name: "checkout", userID: "u", tags: ["web"], metadata: ["plan": "pro"],
                input: "question", startTime: t0, endTime: t0.addingTimeInterval(1.5))
            try await test.store.traces.insert([TraceBatchItem(trace: full, observations: [])])
            let later = Trace(id: "t", projectID: project.id, output: "answer", startTime: t0.addingTimeInterval(3), endTime: t0.addingTimeInterval(5))
            try await test.store.traces.insert([TraceBatchItem(trace: later, observations: [])])
            let merged = try #require(try await test.store.traces.get(projectID: project.id, id: "t")?.trace)
            #expect(merged.name == "checkout")
            #expect(merged.userID == "u")
            #expect(merged.tags == ["web"], "an empty tag list does not erase tags")
            #expect(merged.metadata == ["plan": "pro"])
            #expect(merged.input == "question")
            #expect(merged.output == "answer")
            #expect(merged.startTime == t0)
            #expect(merged.endTime == t0.addingTimeInterval(5))
            #expect(try await test.store.traces.count(projectID: project.id) == 1)
        }
    }

    @Test("model versions: append numbers per model, history newest first, latest of all, deletions", arguments: StoreKind.available)
    func modelVersions(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let versions = test.store.modelVersions
            let one = ModelConfig(
                name: "bot", deployments: [DeploymentConfig(name: "a", provider: "openai", model: "m1")],
                routing: RoutingConfig(split: ["a": 1], sticky: .user, rules: [RoutingRule(when: ["task": "x"], use: "a")]))
            var two = one
            two.deployments[0].model = "m2"
            #expect(try await versions.changeCount() == 0)
            #expect(try await versions.append(name: "bot", config: one, author: "tern.yaml", message: "first", sourceHash: "h1", deleted: false).version == 1)
            #expect(try await versions.append(name: "bot", config: two, author: "user:u", message: nil, sourceHash: nil, deleted: false).version == 2)
            #expect(try await versions.append(name: "other", config: one, author: "cli", message: nil, sourceHash: nil, deleted: false).version == 1)
            #expect(try await versions.history(name: "bot").map(\.version) == [2, 1])
            let latest = try #require(try await versions.latest(name: "bot"))
            #expect(latest.config == two)
            #expect(latest.author == "user:u")
            #expect(try await versions.get(name: "bot", version: 1)?.config == one)
            #expect(try await versions.get(name: "bot", version: 1)?.sourceHash == "h1")
            #expect(try await versions.latestAll().map { "\($0.name)@\($0.version)" } == ["bot@2", "other@1"])
            _ = try await versions.append(name: "other", config: one, author: "cli", message: "deleted", sourceHash: nil, deleted: true)
            #expect(try await versions.latestAll().first { $0.name == "other" }?.deleted == true)
            #expect(try await versions.changeCount() == 4)
        }
    }

    @Test("response cache: per project, expiring, overwritten in place", arguments: StoreKind.available)
    func responseCache(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let a = try await test.store.projects.create(slug: "a", name: "A")
            let b = try await test.store.projects.create(slug: "b", name: "B")
            let cache = test.store.responseCache
            let now = Date()
            try await cache.put(projectID: a.id, key: "k", value: Data("one".utf8), expiresAt: now.addingTimeInterval(60))
            let stored = try await cache.get(projectID: a.id, key: "k", now: now)
            #expect(stored?.value == Data("one".utf8))
            #expect(stored.map { abs($0.expiresAt.timeIntervalSince(now.addingTimeInterval(60))) < 0.001 } == true, "the expiry comes back too")
            #expect(try await cache.get(projectID: b.id, key: "k", now: now) == nil)
            #expect(try await cache.get(projectID: a.id, key: "k", now: now.addingTimeInterval(61)) == nil)
            try await cache.put(projectID: a.id, key: "k", value: Data([0, 255, 1]), expiresAt: now.addingTimeInterval(120))
            #expect(try await cache.get(projectID: a.id, key: "k", now: now)?.value == Data([0, 255, 1]))
            try await cache.put(projectID: b.id, key: "old", value: Data("x".utf8), expiresAt: now.addingTimeInterval(-1))
            #expect(try await cache.purgeExpired(now: now) == 1)
        }
    }

    @Test("spend adds up per key and period; key limits round-trip", arguments: StoreKind.available)
    func spendAndLimits(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let limits = KeyLimits(requestsPerMinute: 60, tokensPerMinute: 10_000, budgetUSD: 12.5, budgetPeriod: .day)
            let key = try await test.store.apiKeys.create(
                projectID: project.id, name: "k", role: .member, keyHash: "h", prefix: "tern_x",
                createdBy: nil, limits: limits)
            #expect(try await test.store.apiKeys.find(hash: "h")?.limits == limits)
            let changed = try await test.store.apiKeys.setLimits(projectID: project.id, id: key.id, limits: KeyLimits(budgetUSD: 1))
            #expect(changed?.limits == KeyLimits(budgetUSD: 1))
            #expect(try await test.store.apiKeys.setLimits(projectID: "other", id: key.id, limits: KeyLimits()) == nil)
            try await test.store.spend.add(projectID: project.id, keyID: key.id, period: "2026-11", amount: 0.25)
            try await test.store.spend.add(projectID: project.id, keyID: key.id, period: "2026-11", amount: 0.5)
            try await test.store.spend.add(projectID: project.id, keyID: key.id, period: "2026-12", amount: 1)
            #expect(try await test.store.spend.spent(keyID: key.id, period: "2026-11") == 0.75)
            #expect(try await test.store.spend.spent(keyID: key.id, period: "2026-10") == 0)
        }
    }
}
