import Foundation
import HTTPTypes
import TernCore
import TernMonitor
import TernServer
import TernTestSupport
import Testing

/// Monitoring pages: watchers (queue, jobs, backfills, pause), alerts (state, history, deliveries, silence),
/// gaps between segments and drift between two windows, with everything people typed escaped.
@Suite("Web UI: monitoring")
struct MonitoringWebTests {
    /// Traces of the last 2 days: gpt-4o slower than gpt-4o-mini, and the current day's inputs longer.
    static func seed(_ h: Harness) async throws {
        let now = Date()
        var items: [TraceBatchItem] = []
        for index in 0..<120 {
            let start = now.addingTimeInterval(-Double(index) * 1_400)
            let slow = index % 2 == 0
            let observation = Observation(
                id: "o\(index)", traceID: "t\(index)", projectID: h.project.id, type: .generation, name: "chat", startTime: start,
                endTime: start.addingTimeInterval(slow ? 2 + Double(index % 5) * 0.1 : 0.2 + Double(index % 5) * 0.01), model: slow ? "gpt-4o" : "gpt-4o-mini",
                usage: TokenUsage(inputTokens: 100, outputTokens: 20), level: index % 11 == 0 ? .error : .default)
            let input = String(repeating: "word ", count: index < 60 ? 40 : 5)
            items.append(
                TraceBatchItem(
                    trace: Trace(id: "t\(index)", projectID: h.project.id, input: input, output: "ok", startTime: start, endTime: observation.endTime),
                    observations: [observation]))
        }
        try await h.store.traces.insert(items)
    }

    @Test("watchers: the list with queues, a watcher's jobs with their errors and backfills, pause and resume by a member")
    func watchers() async throws {
        try await withHarness { h in
            try await Self.seed(h)
            let now = Date()
            let watcher = try await h.store.watchers.create(
                Watcher(
                    id: TernID.make(), projectID: h.project.id, name: "refunds", enabled: true,
                    definition: WatcherDefinition(assertions: [["type": "icontains", "value": "<script>alert(1)</script>"]]), createdAt: now, updatedAt: now))
            try await h.store.watchers.enqueue([
                WatcherJob(id: "j1", projectID: h.project.id, watcherID: watcher.id, watcherVersion: 1, traceID: "t1", notBefore: now, createdAt: now)
            ])
            let claimed = try await h.store.watchers.claim(limit: 1, now: now, leaseUntil: now.addingTimeInterval(60))
            try await h.store.watchers.fail(claimed[0], error: "judge timed out <b>", retryAt: nil, cost: nil, at: now)
            try await h.store.watchers.createBackfill(
                WatcherBackfill(
                    id: "b1", projectID: h.project.id, watcherID: watcher.id, watcherVersion: 1, from: now.addingTimeInterval(-86_400), to: now,
                    createdAt: now))
            let member = try await Web.signIn(h, email: "m@example.com", name: "M", role: "member")
            let list = try await Web.get(h, "/ui/default/monitoring", cookie: member)
            #expect(list.status == .ok && list.text.contains(#"id="watchers-table""#) && list.text.contains(">refunds</a>"), "\(list.text.prefix(300))")
            #expect(list.text.contains(#"id="nav-monitoring" href="/ui/default/monitoring" aria-current="page""#))
            #expect(list.text.contains(#"<span class="badge error">1</span>"#), "the failure is shown")
            let page = try await Web.get(h, "/ui/default/monitoring/watchers/refunds", cookie: member)
            #expect(page.status == .ok && page.text.contains("judge timed out &lt;b&gt;") && !page.text.contains("<script>alert(1)"), "\(page.text)")
            #expect(page.text.contains(#"id="backfills-table""#) && page.text.contains("running"))
            let token = try Web.csrf(page.text)
            let paused = try await Web.post(h, "/ui/default/monitoring/watchers/\(watcher.id)/state", cookie: member, [("csrf", token), ("enabled", "false")])
            #expect(paused.status == .seeOther)
            #expect(try await h.store.watchers.get(projectID: h.project.id, id: watcher.id)?.enabled == false)
            let forged = try await Web.post(h, "/ui/default/monitoring/watchers/\(watcher.id)/state", cookie: member, [("csrf", "nope"), ("enabled", "true")])
            #expect(forged.status == .forbidden)
            let viewer = try await Web.signIn(h, email: "v@example.com", name: "V", role: "viewer")
            let viewerToken = try Web.csrf(try await Web.get(h, "/ui/default/monitoring", cookie: viewer).text)
            let refused = try await Web.post(
                h, "/ui/default/monitoring/watchers/\(watcher.id)/state", cookie: viewer, [("csrf", viewerToken), ("enabled", "true")])
            #expect(refused.status == .forbidden)
            #expect(try await Web.get(h, "/ui/default/monitoring/watchers/nope", cookie: member).status == .notFound)

            // The response loop's first step: the traces it failed (score below 1) become dataset items.
            try await h.store.scores.insert(
                [("t2", 0.0), ("t3", 0.5), ("t4", 1.0)].map { trace, value in
                    Score(
                        id: "s-\(trace)", projectID: h.project.id, traceID: trace, name: "refunds", dataType: .numeric, numericValue: value, source: .watcher,
                        createdAt: now)
                })
            #expect(page.text.contains(#"id="failing-traces" href="/ui/default/traces?score.refunds.max=0.999999""#))
            let added = try await Web.post(
                h, "/ui/default/monitoring/watchers/\(watcher.id)/dataset", cookie: member, [("csrf", token), ("dataset", "refund-failures")])
            #expect(added.status == .seeOther && added.headers[.location] == "/ui/default/datasets/refund-failures", "\(added.text.prefix(300))")
            let items = try await h.store.datasets.items(projectID: h.project.id, dataset: "refund-failures", version: nil, after: nil, limit: 10)
            #expect(Set(items.compactMap(\.sourceTraceID)) == ["t2", "t3"] && items.allSatisfy { !$0.golden }, "\(items.map(\.id))")
        }
    }

    @Test("alerts: the list with states, a rule's history and deliveries, silence set and ended from its page")
    func alerts() async throws {
        try await withHarness { h in
            try await Self.seed(h)
            let rule = try await h.store.alerts.create(
                AlertRule(
                    id: TernID.make(), projectID: h.project.id, name: "errors",
                    definition: AlertDefinition(
                        metric: .errorRate, threshold: 0.01, windowSeconds: 86_400,
                        notify: [AlertDestination(url: "https://hooks.example/<x>", secret: "0123456789abcdef")]),
                    createdAt: Date(), updatedAt: Date()))
            let runner = AlertRunner(store: h.store, logger: .quiet) { _, _, _ in WebhookOutcome(status: 502) }
            #expect(try await runner.evaluate().first?.kind == .firing)
            try await runner.deliver()
            let member = try await Web.signIn(h, email: "m@example.com", name: "M", role: "member")
            let list = try await Web.get(h, "/ui/default/monitoring/alerts", cookie: member)
            #expect(list.text.contains(#"<span class="badge error">firing</span>"#) && list.text.contains("error_rate &gt; 0.01 over 1 d"), "\(list.text)")
            let page = try await Web.get(h, "/ui/default/alerts/\(rule.id)", cookie: member)
            #expect(page.status == .ok && page.text.contains(#"id="alert-events""#) && page.text.contains("error_rate is"))
            #expect(page.text.contains("https://hooks.example/&lt;x&gt;") && page.text.contains("signed") && page.text.contains("answered 502"), "\(page.text)")
            #expect(!page.text.contains("0123456789abcdef"), "the secret never shows")
            let token = try Web.csrf(page.text)
            #expect(try await Web.post(h, "/ui/default/alerts/\(rule.id)/silence", cookie: member, [("csrf", token), ("hours", "8")]).status == .seeOther)
            let silenced = try #require(try await h.store.alerts.get(projectID: h.project.id, id: rule.id)?.silencedUntil)
            #expect(abs(silenced.timeIntervalSinceNow - 8 * 3600) < 120)
            #expect(try await Web.get(h, "/ui/default/alerts/errors", cookie: member).text.contains("Silenced until"))
            _ = try await Web.post(h, "/ui/default/alerts/\(rule.id)/silence", cookie: member, [("csrf", token), ("hours", "0")])
            #expect(try await h.store.alerts.get(projectID: h.project.id, id: rule.id)?.silencedUntil == nil)
            let bad = try await Web.post(h, "/ui/default/alerts/\(rule.id)/silence", cookie: member, [("csrf", token), ("hours", "forever")])
            #expect(bad.status == .badRequest)
        }
    }

    @Test("gaps and drift: the slow model flagged with its test, the longer inputs of the current day drawn against the day before")
    func gapsAndDrift() async throws {
        try await withHarness { h in
            try await Self.seed(h)
            let member = try await Web.signIn(h, email: "m@example.com", name: "M", role: "member")
            let gaps = try await Web.get(h, "/ui/default/monitoring/gaps?metric=latency&by=model&range=7d&min_count=10", cookie: member)
            #expect(gaps.status == .ok && gaps.text.contains(#"id="gaps-table""#) && gaps.text.contains("Welch"), "\(gaps.text.prefix(500))")
            #expect(gaps.text.contains(#"<strong id="gaps-flagged">2</strong>"#), "both models differ from the rest")
            #expect(gaps.text.contains("<svg") && gaps.text.contains("gpt-4o-mini"))
            let rates = try await Web.get(h, "/ui/default/monitoring/gaps?metric=error_rate&by=model&range=7d", cookie: member)
            #expect(rates.text.contains("two-proportion z-test"))
            #expect(try await Web.get(h, "/ui/default/monitoring/gaps?metric=vibes&by=model", cookie: member).status == .badRequest)

            let drift = try await Web.get(h, "/ui/default/monitoring/drift?range=24h&reference=previous", cookie: member)
            #expect(drift.status == .ok && drift.text.contains(#"id="drift-columns""#), "\(drift.text.prefix(500))")
            let inputChars = try #require(drift.text.range(of: "<h2>input_chars").map { String(drift.text[$0.lowerBound...].prefix(300)) })
            #expect(inputChars.contains("badge error"), "the current day's inputs are longer: \(inputChars)")
            #expect(drift.text.contains("tern-chart-distribution") && drift.text.contains("reference") && drift.text.contains("current"))
            // Scheduled monitors are listed above, with their latest share and history.
            let monitor = try await h.store.driftMonitors.create(
                DriftMonitor(id: TernID.make(), projectID: h.project.id, name: "daily-<b>", createdAt: Date(), updatedAt: Date()))
            try await DriftMonitoring.check(monitor, store: h.store)
            let listed = try await Web.get(h, "/ui/default/monitoring/drift", cookie: member)
            #expect(listed.text.contains(#"id="drift-monitors""#) && listed.text.contains("daily-&lt;b&gt;") && listed.text.contains("the window before"))
            #expect(listed.text.contains(#"href="/ui/default/monitoring/drift?monitor=daily-%3Cb%3E""#), "a monitor links to its comparison")
            #expect(!listed.text.contains(#"id="drift-monitor-name""#))
            // A monitor's comparison drawn now: its columns only, with both distributions.
            var narrow = try await h.store.driftMonitors.create(
                DriftMonitor(id: TernID.make(), projectID: h.project.id, name: "chars", createdAt: Date(), updatedAt: Date()))
            narrow.columns = ["input_chars", "model"]
            _ = try await h.store.driftMonitors.update(narrow)
            let chosen = try await Web.get(h, "/ui/default/monitoring/drift?monitor=chars", cookie: member)
            #expect(chosen.status == .ok && chosen.text.contains(#"<span id="drift-monitor-name">chars</span>"#), "\(chosen.text.prefix(400))")
            #expect(chosen.text.components(separatedBy: #"class="panel drift-column""#).count == 3, "two columns drawn")
            #expect(chosen.text.contains("<h2>input_chars") && !chosen.text.contains("<h2>latency_ms"))
            // Probes: listed with their state, and no earlier run yet.
            _ = try await h.store.probes.create(
                Probe(
                    id: TernID.make(), projectID: h.project.id, name: "canary", experiment: ["dataset": "d"], createdBy: "key:k", createdAt: Date(),
                    updatedAt: Date()))
            let probes = try await Web.get(h, "/ui/default/monitoring/probes", cookie: member)
            #expect(
                probes.status == .ok && probes.text.contains(#"id="probes-table""#) && probes.text.contains("canary") && probes.text.contains("no earlier run"))

            let empty = try await Web.get(h, "/ui/default/monitoring/drift?range=1h&reference=week", cookie: member)
            #expect(empty.status == .ok && empty.text.contains("Not enough traffic"), "no traffic a week ago")
        }
    }
}
