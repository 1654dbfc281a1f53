import Foundation
import TernCore
import TernTestSupport
import Testing
import TernMonitor

@Suite("Storage contract: trace explorer and metrics")
struct MonitoringContractTests {
    static let base = Timestamp.date(Timestamp.micros(Date(timeIntervalSince1970: 1_800_000_000)))

    struct Spec {
        var id: String
        var offset: Double
        var latency: Double
        var model: String
        var cost: Double
        var tags: [String] = []
        var metadata: JSONValue? = nil
        var name = "chat"
        var error = false
        var input = "hello"
        var language: String? = nil
    }

    static func item(_ spec: Spec, project: String) -> TraceBatchItem {
        let start = base.addingTimeInterval(spec.offset)
        let end = start.addingTimeInterval(spec.latency)
        let trace = Trace(
            id: spec.id, projectID: project, name: spec.name, userID: "u-\(spec.id)", tags: spec.tags, metadata: spec.metadata,
            input: spec.input, output: "out \(spec.id)", startTime: start, endTime: end, language: spec.language)
        let generation = Observation(
            id: "\(spec.id)-g", traceID: spec.id, projectID: project, parentID: "\(spec.id)-root", type: .generation, name: "llm",
            startTime: start.addingTimeInterval(0.001), endTime: end, model: spec.model,
            usage: TokenUsage(inputTokens: 100, outputTokens: 10), cost: spec.cost, level: spec.error ? .error : .default)
        let root = Observation(id: "\(spec.id)-root", traceID: spec.id, projectID: project, type: .span, name: "root", startTime: start, endTime: end)
        return TraceBatchItem(trace: trace, observations: [generation, root])
    }

    static let specs: [Spec] = [
        Spec(id: "a", offset: 1, latency: 0.5, model: "gpt-4o", cost: 0.03, tags: ["prod", "vip"], metadata: ["tier": "gold", "task": "faq"]),
        Spec(id: "b", offset: 2, latency: 2.0, model: "gpt-4o-mini", cost: 0.001, tags: ["prod"], metadata: ["tier": "free", "n": 3]),
        Spec(id: "c", offset: 3, latency: 1.0, model: "claude", cost: 0.02, metadata: ["domain": "legal", "flag": true], error: true),
        Spec(id: "d", offset: 4, latency: 0.1, model: "gpt-4o", cost: 0.05, name: "summarise", input: "Wie spät ist es?", language: "de"),
        Spec(id: "e", offset: 5, latency: 3.0, model: "gpt-4o-mini", cost: 0.002, tags: ["vip"], input: "100% off_sale"),
    ]

    static func seed(_ store: any TernStore) async throws -> (project: Project, other: Project) {
        let project = try await store.projects.create(slug: "p", name: "P")
        let other = try await store.projects.create(slug: "q", name: "Q")
        try await store.traces.insert(specs.map { item($0, project: project.id) })
        try await store.traces.insert([item(Spec(id: "z", offset: 1, latency: 9, model: "gpt-4o", cost: 9), project: other.id)])
        let score = { (trace: String, name: String, value: Double) in
            Score(
                id: TernID.make(), projectID: project.id, traceID: trace, name: name, dataType: .numeric, numericValue: value, source: .api,
                createdAt: base)
        }
        try await store.scores.insert([score("a", "quality", 0.9), score("b", "quality", 0.2), score("c", "quality", 0.5)])
        try await store.scores.insert([
            Score(
                id: TernID.make(), projectID: project.id, traceID: "d", name: "verdict", dataType: .categorical,
                stringValue: "good", source: .human, createdAt: base)
        ])
        return (project, other)
    }

    func ids(_ store: any TernStore, _ project: String, _ parameters: [(String, String)]) async throws -> [String] {
        try await store.traces.list(projectID: project, query: TraceQueryParameters.query(parameters)).traces.map(\.trace.id)
    }

    @Test("per-trace totals, segments from metadata, and the observation tree", arguments: StoreKind.available)
    func totals(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let (project, _) = try await Self.seed(test.store)
            // A later observation adds to its trace's totals; a repeated one adds nothing.
            let extra = Observation(
                id: "a-g2", traceID: "a", projectID: project.id, parentID: "a-root", type: .generation, name: "llm 2",
                startTime: Self.base.addingTimeInterval(1.2), model: "other", usage: TokenUsage(inputTokens: 5, outputTokens: 7),
                cost: 0.5, level: .warning)
            try await test.store.traces.insert([
                TraceBatchItem(
                    trace: Trace(id: "a", projectID: project.id, startTime: Self.base.addingTimeInterval(1)),
                    observations: [extra])
            ])
            try await test.store.traces.insert([
                TraceBatchItem(
                    trace: Trace(id: "a", projectID: project.id, startTime: Self.base.addingTimeInterval(1)),
                    observations: [extra])
            ])
            let page = try await test.store.traces.list(projectID: project.id, query: TraceQuery())
            let a = try #require(page.traces.first { $0.trace.id == "a" })
            #expect(a.inputTokens == 105 && a.outputTokens == 17)
            #expect(abs((a.cost ?? 0) - 0.53) < 1e-9)
            #expect(a.observationCount == 3)
            #expect(a.model == "gpt-4o", "the first generation's model")
            #expect(a.level == .warning)
            #expect(a.trace.task == "faq")
            #expect(page.traces.first { $0.trace.id == "c" }?.trace.domain == "legal")
            #expect(page.traces.first { $0.trace.id == "c" }?.level == .error)

            let detail = try #require(try await test.store.traces.get(projectID: project.id, id: "a"))
            let tree = ObservationNode.tree(detail.observations, traceStart: detail.trace.startTime)
            #expect(tree.map(\.id) == ["a-root"])
            #expect(tree[0].children.map(\.id) == ["a-g", "a-g2"])
            #expect(ObservationNode.flatten(tree).map(\.depth) == [0, 1, 1])
        }
    }

    @Test("trace filters named after the fields", arguments: StoreKind.available)
    func filters(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let (project, _) = try await Self.seed(test.store)
            let p = project.id
            let s = test.store
            #expect(try await ids(s, p, []) == ["e", "d", "c", "b", "a"])
            #expect(try await ids(s, p, [("tag", "prod")]) == ["b", "a"])
            #expect(try await ids(s, p, [("tag", "prod"), ("tag", "vip")]) == ["a"])
            #expect(try await ids(s, p, [("metadata.tier", "gold")]) == ["a"])
            #expect(try await ids(s, p, [("metadata.n", "3")]) == ["b"])
            #expect(try await ids(s, p, [("metadata.flag", "true")]) == ["c"])
            #expect(try await ids(s, p, [("name", "summarise")]) == ["d"])
            #expect(try await ids(s, p, [("status", "error")]) == ["c"])
            #expect(try await ids(s, p, [("status", "ok")]) == ["e", "d", "b", "a"])
            #expect(try await ids(s, p, [("min_latency_ms", "900"), ("max_latency_ms", "2500")]) == ["c", "b"])
            #expect(try await ids(s, p, [("min_cost", "0.02")]) == ["d", "c", "a"])
            #expect(try await ids(s, p, [("max_cost", "0.0015")]) == ["b"])
            #expect(try await ids(s, p, [("model", "gpt-4o-mini")]) == ["e", "b"])
            #expect(try await ids(s, p, [("score.quality.min", "0.5")]) == ["c", "a"])
            #expect(try await ids(s, p, [("score.quality", "0.2")]) == ["b"])
            #expect(try await ids(s, p, [("score.verdict", "good")]) == ["d"])
            #expect(try await ids(s, p, [("task", "faq")]) == ["a"])
            #expect(try await ids(s, p, [("domain", "legal")]) == ["c"])
            #expect(try await ids(s, p, [("language", "DE")]) == ["d"])
            #expect(try await ids(s, p, [("q", "wie")]) == ["d"], "case-insensitive")
            #expect(try await ids(s, p, [("q", "out c")]) == ["c"], "output too")
            #expect(try await ids(s, p, [("q", "100%")]) == ["e"], "wildcards are literal")
            #expect(try await ids(s, p, [("q", "ff_s")]) == ["e"])
            #expect(try await ids(s, p, [("q", "o_f")]).isEmpty, "an underscore is no wildcard")
            #expect(try await ids(s, p, [("q", "0%s")]).isEmpty)
            #expect(try await ids(s, p, [("from", "\(Self.base.timeIntervalSince1970 + 2)"), ("to", "\(Self.base.timeIntervalSince1970 + 4)")]) == ["c", "b"])
            #expect(try await ids(s, p, [("tag", "prod"), ("status", "error")]).isEmpty)
            #expect(throws: TernError.self) { _ = try TraceQueryParameters.query([("colour", "red")]) }
            #expect(throws: TernError.self) { _ = try TraceQueryParameters.query([("status", "maybe")]) }
            #expect(throws: TernError.self) { _ = try TraceQueryParameters.query([("min_cost", "cheap")]) }
            await #expect(throws: TernError.self) { _ = try await ids(s, p, [("metadata.a\"b", "x")]) }
        }
    }

    @Test("sort by latency and cost, both ways, with keyset pages", arguments: StoreKind.available)
    func sorting(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let (project, _) = try await Self.seed(test.store)
            for (sort, key) in [("latency", \Spec.latency), ("cost", \Spec.cost)] {
                for order in ["desc", "asc"] {
                    var expected = Self.specs.sorted { $0[keyPath: key] > $1[keyPath: key] }.map(\.id)
                    if order == "asc" { expected.reverse() }
                    var seen: [String] = []
                    var cursor: String?
                    repeat {
                        var parameters = [("sort", sort), ("order", order), ("limit", "2")]
                        if let cursor { parameters.append(("cursor", cursor)) }
                        let page = try await test.store.traces.list(projectID: project.id, query: TraceQueryParameters.query(parameters))
                        seen += page.traces.map(\.trace.id)
                        cursor = page.nextCursor
                    } while cursor != nil
                    #expect(seen == expected, "\(sort) \(order)")
                }
            }
            // A cursor of one ordering is refused by another.
            let page = try await test.store.traces.list(projectID: project.id, query: TraceQueryParameters.query([("sort", "cost"), ("limit", "1")]))
            await #expect(throws: TernError.self) {
                _ = try await test.store.traces.list(projectID: project.id, query: TraceQueryParameters.query([("cursor", page.nextCursor ?? "")]))
            }
        }
    }

    /// A few hundred traces over three days with every dimension varied, and scores.
    static func spread(_ store: any TernStore, project: String) async throws -> [TraceBatchItem] {
        var generator = SeededGenerator(seed: 7)
        let models = ["gpt-4o", "gpt-4o-mini", "claude-sonnet"]
        let languages = ["en", "de", "fr", nil]
        var items: [TraceBatchItem] = []
        var scores: [Score] = []
        for index in 0..<400 {
            let start = base.addingTimeInterval(Double(Int.random(in: 0..<(3 * 86_400), using: &generator)))
            let latency = Double.random(in: 0.05...4, using: &generator)
            var trace = Trace(
                id: "t\(index)", projectID: project, name: ["chat", "rag"].randomElement(using: &generator), userID: "u\(index % 13)",
                tags: index % 3 == 0 ? ["a", "b"] : index % 3 == 1 ? ["a"] : [], metadata: ["task": .string(["qa", "summary"][index % 2])],
                environment: index % 5 == 0 ? "staging" : "production", startTime: start, endTime: start.addingTimeInterval(latency),
                language: languages[index % 4], domain: index % 7 == 0 ? "legal" : "retail")
            trace.release = "r1"
            let generation = Observation(
                id: "g\(index)", traceID: trace.id, projectID: project, type: .generation, startTime: start, endTime: trace.endTime,
                model: models[index % 3], usage: TokenUsage(inputTokens: Int.random(in: 10...900, using: &generator), outputTokens: 20),
                cost: Double(Int.random(in: 1...1000, using: &generator)) / 100_000, level: index % 11 == 0 ? .error : .default,
                deployment: "dep-\(index % 3)", variant: index % 2 == 0 ? "a" : "b", promptName: "support", promptVersion: 1 + index % 2)
            items.append(TraceBatchItem(trace: trace, observations: [generation]))
            if index % 4 == 0 {
                scores.append(
                    Score(
                        id: "s\(index)", projectID: project, traceID: trace.id, name: "quality", dataType: .numeric,
                        numericValue: Double(index % 10) / 10, source: .model, createdAt: start))
            }
        }
        try await store.traces.insert(items)
        try await store.scores.insert(scores)
        return items
    }

    @Test("metrics: rollups answer exactly what a scan of the traces answers, for every grouping", arguments: StoreKind.available)
    func rollupsMatchScans(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let items = try await Self.spread(test.store, project: project.id)
            var refreshed = 0
            while true {
                let count = try await MetricsEngine.refresh(test.store.metrics, limit: 50)
                refreshed += count
                if count == 0 { break }
            }
            #expect(refreshed >= 70, "about 72 hours were marked")
            let from = Self.base.addingTimeInterval(-3600)
            let to = Self.base.addingTimeInterval(4 * 86_400)
            for bucket in [MetricsBucket.hour, .day] {
                for dimension in [nil] + MetricsDimension.allCases.map(Optional.some) {
                    if dimension == .user && bucket == .hour { continue }
                    let rollup = try await MetricsEngine.run(
                        MetricsQuery(filter: TraceFilter(from: from, to: to), bucket: bucket, groupBy: dimension, groupLimit: 50),
                        projectID: project.id, repository: test.store.metrics)
                    #expect(rollup.source == "rollup")
                    // Every trace has a latency, so this filter keeps all of them but forces a scan.
                    let scan = try await MetricsEngine.run(
                        MetricsQuery(filter: TraceFilter(from: from, to: to, minLatencyMs: 0), bucket: bucket, groupBy: dimension, groupLimit: 50),
                        projectID: project.id, repository: test.store.metrics)
                    #expect(scan.source == "scan")
                    #expect(Self.close(rollup, scan), "\(bucket) \(dimension?.rawValue ?? "-")")
                }
            }
            // Users are ranked in the database and "(other)" is the totals minus the top groups: the same
            // answer as the scan's, series included, whatever the cut.
            for limit in [1, 3] {
                let rollup = try await MetricsEngine.run(
                    MetricsQuery(filter: TraceFilter(from: from, to: to), bucket: .day, groupBy: .user, groupLimit: limit),
                    projectID: project.id, repository: test.store.metrics)
                let scan = try await MetricsEngine.run(
                    MetricsQuery(filter: TraceFilter(from: from, to: to, minLatencyMs: 0), bucket: .day, groupBy: .user, groupLimit: limit),
                    projectID: project.id, repository: test.store.metrics)
                #expect(rollup.groups.count == limit + 1)
                #expect(rollup.groups.last?.key == MetricsResult.otherKey)
                #expect(rollup.groups.reduce(0) { $0 + $1.totals.traces } == items.count)
                #expect(Self.close(rollup, scan), "user, top \(limit)")
            }
            // And both agree with the data itself.
            let byModel = try await MetricsEngine.run(
                MetricsQuery(filter: TraceFilter(from: from, to: to), bucket: .day, groupBy: .model), projectID: project.id,
                repository: test.store.metrics)
            #expect(byModel.totals.traces == items.count)
            for group in byModel.groups {
                let mine = items.filter { $0.observations[0].model == group.key }
                #expect(group.totals.traces == mine.count)
                #expect(abs(group.totals.cost - mine.reduce(0) { $0 + ($1.observations[0].cost ?? 0) }) < 1e-9)
                #expect(group.totals.errors == mine.filter { $0.observations[0].level == .error }.count)
                let latencies = mine.map { $0.trace.endTime!.timeIntervalSince($0.trace.startTime) * 1000 }.sorted()
                let exactP50 = latencies[(latencies.count + 1) / 2 - 1]
                #expect(abs((group.totals.latencyP50Ms ?? 0) / exactP50 - 1) < 0.05, "histogram percentiles are within 5%")
            }
            #expect(byModel.series.count == 5)
            let quality = try #require(byModel.totals.scores["quality"])
            #expect(quality.count == 100)
            let tags = try await MetricsEngine.run(
                MetricsQuery(filter: TraceFilter(from: from, to: to), bucket: .day, groupBy: .tag), projectID: project.id, repository: test.store.metrics)
            #expect(Dictionary(uniqueKeysWithValues: tags.groups.map { ($0.key, $0.totals.traces) }) == ["a": 267, "b": 134, MetricsResult.noneKey: 133])
        }
    }

    static func close(_ a: MetricsResult, _ b: MetricsResult) -> Bool {
        func same(_ x: MetricsSummary, _ y: MetricsSummary) -> Bool {
            x.traces == y.traces && x.errors == y.errors && x.inputTokens == y.inputTokens && abs(x.cost - y.cost) < 1e-9
                && x.latencyP50Ms == y.latencyP50Ms && x.latencyP99Ms == y.latencyP99Ms
                && x.scores.mapValues(\.count) == y.scores.mapValues(\.count)
                && x.scores.keys.allSatisfy { abs(x.scores[$0]!.mean - y.scores[$0]!.mean) < 1e-9 }
        }
        guard same(a.totals, b.totals), a.series.count == b.series.count, a.groups.map(\.key) == b.groups.map(\.key) else { return false }
        guard zip(a.series, b.series).allSatisfy({ $0.start == $1.start && same($0.metrics, $1.metrics) }) else { return false }
        return zip(a.groups, b.groups).allSatisfy { g, h in same(g.totals, h.totals) && zip(g.series, h.series).allSatisfy { same($0.metrics, $1.metrics) } }
    }

    @Test("rollups follow new traces, scores, late languages and retention", arguments: StoreKind.available)
    func rollupsFollowChanges(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let (project, other) = try await Self.seed(test.store)
            let metrics = test.store.metrics
            try await MetricsEngine.refresh(metrics)
            #expect(try await metrics.dirtyBuckets(limit: 10).isEmpty)
            let range = TraceFilter(from: Self.base.addingTimeInterval(-86_400), to: Self.base.addingTimeInterval(86_400))
            func run(_ group: MetricsDimension? = nil, project: String = project.id) async throws -> MetricsResult {
                try await MetricsEngine.run(MetricsQuery(filter: range, bucket: .day, groupBy: group), projectID: project, repository: metrics)
            }
            #expect(try await run().totals.traces == 5)
            #expect(try await run(project: other.id).totals.traces == 1, "projects are apart")
            #expect(try await run().totals.scores["quality"]?.count == 3)

            try await test.store.traces.insert([Self.item(Spec(id: "f", offset: 6, latency: 1, model: "gpt-4o", cost: 0.01), project: project.id)])
            #expect(try await run().totals.traces == 5, "until refreshed")
            try await MetricsEngine.refresh(metrics, deferring: { _ in true })
            #expect(try await run().totals.traces == 5, "a deferred hour stays as it was")
            #expect(try await metrics.dirtyBuckets(limit: 10).count == 1, "and stays marked")
            try await MetricsEngine.refresh(metrics)
            #expect(try await run().totals.traces == 6)

            try await test.store.scores.insert([
                Score(
                    id: "late", projectID: project.id, traceID: "f", name: "quality", dataType: .numeric,
                    numericValue: 1, source: .human, createdAt: Self.base)
            ])
            try await MetricsEngine.refresh(metrics)
            #expect(try await run().totals.scores["quality"]?.count == 4)

            // Languages: sent ones stay; inputs without one wait for detection.
            let pending = try await metrics.pendingLanguages(limit: 100).filter { $0.projectID == project.id }
            #expect(Set(pending.map(\.traceID)) == ["a", "b", "c", "e", "f"])
            let detected = try await MetricsEngine.detectLanguages(metrics) { $0.contains("%") ? nil : "en" }
            #expect(detected == 6, "five here and one in the other project")
            #expect(try await metrics.pendingLanguages(limit: 100).isEmpty, "undetectable ones are not retried")
            try await MetricsEngine.refresh(metrics)
            let languages = try await run(.language)
            #expect(Dictionary(uniqueKeysWithValues: languages.groups.map { ($0.key, $0.totals.traces) }) == ["en": 4, "de": 1, MetricsResult.noneKey: 1])
            #expect(try await ids(test.store, project.id, [("language", "en")]) == ["f", "c", "b", "a"])

            // Retention drops whole hours of rollups with the traces.
            let deleted = try await test.store.traces.deleteOlderThan(projectID: project.id, cutoff: Self.base.addingTimeInterval(86_400))
            #expect(deleted == 6)
            try await MetricsEngine.refresh(metrics)
            #expect(try await run().totals.traces == 0)
            #expect(try await run(project: other.id).totals.traces == 1)
        }
    }
}
