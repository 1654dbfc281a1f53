import Foundation
import Synchronization
import TernCore
import TernMonitor
import TernTestSupport
import Testing

/// Alert rules on both stores: measuring each metric over its window, state changes with their history,
/// silence and cooldown, and deliveries retried with backoff until they fail.
@Suite("Storage contract: alerts (0016)")
struct AlertContractTests {
    /// Records what the runner sends and answers with the scripted statuses in turn (then 200).
    final class Outbox: Sendable {
        private let state = Mutex<(sent: [(String, Data, [(String, String)])], answers: [Int])>(([], []))
        func script(_ answers: [Int]) { state.withLock { $0.answers = answers } }
        var sent: [(url: String, body: Data, headers: [(String, String)])] { state.withLock { $0.sent.map { ($0.0, $0.1, $0.2) } } }
        var send: AlertRunner.Send {
            { url, body, headers in
                let status = self.state.withLock { state -> Int in
                    state.sent.append((url, body, headers))
                    return state.answers.isEmpty ? 200 : state.answers.removeFirst()
                }
                return WebhookOutcome(status: status)
            }
        }
    }

    /// `count` traces started `ago` seconds before `now`, the first `errors` of them with an error, each 100 ms
    /// long plus 10 ms per index.
    static func traces(_ project: String, prefix: String, count: Int, errors: Int, at start: Date, model: String = "m") -> [TraceBatchItem] {
        (0..<count).map { i in
            let begin = start.addingTimeInterval(Double(i) * 0.01)
            let end = begin.addingTimeInterval(0.1 + Double(i) * 0.01)
            let observation = Observation(
                id: "o-\(prefix)\(i)", traceID: "\(prefix)\(i)", projectID: project, type: .generation, name: "chat", startTime: begin, endTime: end,
                model: model, cost: 0.01, level: i < errors ? .error : .default)
            return TraceBatchItem(
                trace: Trace(id: "\(prefix)\(i)", projectID: project, input: "q", output: "a", startTime: begin, endTime: end), observations: [observation])
        }
    }

    static func rule(_ project: String, _ definition: AlertDefinition, name: String = "errors") -> AlertRule {
        AlertRule(id: TernID.make(), projectID: project, name: name, definition: definition, createdAt: Date(), updatedAt: Date())
    }

    @Test("a rule fires when its condition holds and resolves when it stops, with its history and one delivery per destination", arguments: StoreKind.available)
    func fireAndResolve(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let now = Date()
            try await test.store.traces.insert(Self.traces(project.id, prefix: "t", count: 20, errors: 5, at: now.addingTimeInterval(-600)))
            let definition = AlertDefinition(
                metric: .errorRate, condition: .above, threshold: 0.1, windowSeconds: 3600,
                notify: [
                    AlertDestination(url: "http://hooks.example/a", format: .json, secret: "0123456789abcdef-secret"),
                    AlertDestination(url: "http://hooks.example/slack", format: .slack),
                ])
            let rule = try await test.store.alerts.create(Self.rule(project.id, definition))
            let outbox = Outbox()
            let runner = AlertRunner(store: test.store, baseURL: "https://tern.example", logger: .quiet, send: outbox.send)

            let fired = try await runner.evaluate(now: now)
            #expect(fired.count == 1 && fired[0].kind == .firing && fired[0].value == 0.25 && fired[0].notification == "sent")
            #expect(fired[0].message.contains("error_rate is 0.25 over the last 1 h (> 0.1; 20 traces)"), "\(fired[0].message)")
            var stored = try #require(try await test.store.alerts.get(projectID: project.id, id: rule.id))
            #expect(stored.state == .firing && stored.stateSince == Timestamp.date(Timestamp.micros(now)) && stored.lastValue == 0.25)
            // Not due again before every_seconds; when due and still firing, no new event.
            #expect(try await runner.evaluate(now: now.addingTimeInterval(30)).isEmpty)
            #expect(try await runner.evaluate(now: now.addingTimeInterval(60)).isEmpty)

            // Delivered: the JSON body signed, the Slack body with its text.
            #expect(try await runner.deliver(now: now.addingTimeInterval(61)) == 2)
            let sent = outbox.sent
            let json = try #require(sent.first { $0.url.hasSuffix("/a") })
            let object = try #require(try JSONSerialization.jsonObject(with: json.body) as? [String: Any])
            #expect(object["state"] as? String == "firing" && object["rule"] as? String == "errors" && object["value"] as? Double == 0.25)
            #expect(object["url"] as? String == "https://tern.example/ui/p/alerts/\(rule.id)")
            let headers = Dictionary(json.headers, uniquingKeysWith: { a, _ in a })
            let timestamp = try #require(headers[AlertNotification.timestampHeader].flatMap(Int.init))
            #expect(
                headers[AlertNotification.signatureHeader]
                    == AlertNotification.signature(secret: "0123456789abcdef-secret", timestamp: timestamp, body: json.body))
            #expect(headers[AlertNotification.signatureHeader]?.hasPrefix("t=\(timestamp),v1=") == true)
            let slack = try #require(sent.first { $0.url.hasSuffix("/slack") })
            let slackBody = try #require(try JSONSerialization.jsonObject(with: slack.body) as? [String: Any])
            #expect((slackBody["text"] as? String)?.contains("[FIRING] errors (p)") == true && slackBody["blocks"] is [Any], "\(slackBody)")
            #expect(Dictionary(slack.headers, uniquingKeysWith: { a, _ in a })[AlertNotification.signatureHeader] == nil, "no secret, no signature")
            let deliveries = try await test.store.alerts.deliveries(projectID: project.id, ruleID: rule.id, limit: 10)
            #expect(deliveries.count == 2 && deliveries.allSatisfy { $0.status == .delivered && $0.attempts == 1 && $0.responseStatus == 200 })

            // The window moves past the errors: resolved, and the resolution is sent.
            let later = now.addingTimeInterval(3_600)
            try await test.store.traces.insert(Self.traces(project.id, prefix: "ok", count: 10, errors: 0, at: later.addingTimeInterval(-60)))
            let resolved = try await runner.evaluate(now: later)
            #expect(resolved.count == 1 && resolved[0].kind == .resolved && resolved[0].value == 0 && resolved[0].notification == "sent")
            #expect(resolved[0].message.contains("resolved"))
            stored = try #require(try await test.store.alerts.get(projectID: project.id, id: rule.id))
            #expect(stored.state == .ok)
            let history = try await test.store.alerts.events(projectID: project.id, ruleID: rule.id, limit: 10)
            #expect(history.map(\.kind) == [.resolved, .firing])
            #expect(try await runner.deliver(now: later) == 2)
            #expect(outbox.sent.count == 4)

            // An empty window has no value: the state stays as it is.
            #expect(try await runner.evaluate(now: later.addingTimeInterval(86_400)).isEmpty)
            stored = try #require(try await test.store.alerts.get(projectID: project.id, id: rule.id))
            #expect(stored.state == .ok && stored.lastValue == nil)
            // Deleting the rule takes its history and deliveries.
            #expect(try await test.store.alerts.delete(projectID: project.id, id: rule.id))
            #expect(try await test.store.alerts.events(projectID: project.id, ruleID: rule.id, limit: 10).isEmpty)
            #expect(try await test.store.alerts.get(projectID: project.id, id: rule.id) == nil)
        }
    }

    @Test(
        "a silenced rule and one in its cooldown record their state changes without notifying; the resolution of an unsent firing is not sent",
        arguments: StoreKind.available)
    func silenceAndCooldown(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let now = Date()
            var items = Self.traces(project.id, prefix: "a", count: 10, errors: 10, at: now.addingTimeInterval(-100))
            items += Self.traces(project.id, prefix: "b", count: 10, errors: 0, at: now.addingTimeInterval(400))
            items += Self.traces(project.id, prefix: "c", count: 10, errors: 10, at: now.addingTimeInterval(700))
            items += Self.traces(project.id, prefix: "d", count: 10, errors: 0, at: now.addingTimeInterval(1_900))
            try await test.store.traces.insert(items)
            // A 5-minute window: errors at -100 s, none at +400 s, errors at +700 s, none at +1,900 s.
            let definition = AlertDefinition(
                metric: .errorRate, threshold: 0.5, windowSeconds: 300, everySeconds: 60, cooldownSeconds: 3600,
                notify: [AlertDestination(url: "http://hooks.example/a")])
            var rule = try await test.store.alerts.create(Self.rule(project.id, definition))
            let outbox = Outbox()
            let runner = AlertRunner(store: test.store, logger: .quiet, send: outbox.send)
            #expect(try await runner.evaluate(now: now).first?.notification == "sent")
            #expect(try await runner.evaluate(now: now.addingTimeInterval(500)).first?.kind == .resolved)
            let again = try #require(try await runner.evaluate(now: now.addingTimeInterval(800)).first)
            #expect(again.kind == .firing && again.notification.hasPrefix("cooldown until"), "\(again.notification)")
            #expect(try await runner.deliver(now: now.addingTimeInterval(800)) == 2, "the first firing and its resolution")

            // Silenced: the next changes are history only.
            rule = try #require(try await test.store.alerts.get(projectID: project.id, id: rule.id))
            rule.silencedUntil = now.addingTimeInterval(100_000)
            _ = try await test.store.alerts.update(rule)
            let quiet = try #require(try await runner.evaluate(now: now.addingTimeInterval(2_000)).first)
            #expect(quiet.kind == .resolved && quiet.notification.hasPrefix("the firing was not sent") == false)
            #expect(quiet.notification.hasPrefix("silenced until"), "\(quiet.notification)")
            #expect(try await runner.deliver(now: now.addingTimeInterval(2_000)) == 0)
            #expect(outbox.sent.count == 2)
        }
    }

    @Test(
        "a delivery that fails is retried after 10 s, 30 s, 90 s ... and ends failed with its last answer; others are not held up",
        arguments: StoreKind.available)
    func retries(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let now = Date()
            try await test.store.traces.insert(Self.traces(project.id, prefix: "t", count: 3, errors: 0, at: now.addingTimeInterval(-60)))
            _ = try await test.store.alerts.create(
                Self.rule(project.id, AlertDefinition(metric: .traces, threshold: 2, notify: [AlertDestination(url: "http://hooks.example/down")])))
            let outbox = Outbox()
            outbox.script([500, 500, 500, 500, 500, 500])
            let runner = AlertRunner(store: test.store, maxAttempts: 6, logger: .quiet, send: outbox.send)
            #expect(try await runner.evaluate(now: now).first?.value == 3)
            var at = now
            for (attempt, wait) in [10.0, 30, 90, 270, 810].enumerated() {
                #expect(try await runner.deliver(now: at) == 1)
                let delivery = try #require(try await test.store.alerts.dueDeliveries(now: at.addingTimeInterval(100_000), limit: 5).first)
                #expect(delivery.attempts == attempt + 1 && delivery.status == .pending && delivery.lastError == "answered 500")
                #expect(abs(delivery.nextAttemptAt.timeIntervalSince(at) - wait) < 0.01, "attempt \(attempt + 1)")
                #expect(try await runner.deliver(now: at.addingTimeInterval(wait - 1)) == 0, "not due yet")
                at = at.addingTimeInterval(wait)
            }
            #expect(try await runner.deliver(now: at) == 1)
            #expect(try await test.store.alerts.dueDeliveries(now: at.addingTimeInterval(100_000), limit: 5).isEmpty)
            let rule = try #require(try await test.store.alerts.list(projectID: project.id).first)
            let delivery = try #require(try await test.store.alerts.deliveries(projectID: project.id, ruleID: rule.id, limit: 5).first)
            #expect(delivery.status == .failed && delivery.attempts == 6 && delivery.responseStatus == 500)
            #expect(outbox.sent.count == 6)
        }
    }

    @Test("each metric is measured over its window and filter; too few traces give no value", arguments: StoreKind.available)
    func metrics(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let now = Date()
            try await test.store.traces.insert(
                Self.traces(project.id, prefix: "m", count: 10, errors: 2, at: now.addingTimeInterval(-120))
                    + Self.traces(project.id, prefix: "x", count: 4, errors: 4, at: now.addingTimeInterval(-120), model: "other")
                    + Self.traces(project.id, prefix: "old", count: 5, errors: 5, at: now.addingTimeInterval(-7_200)))
            try await test.store.scores.insert(
                (0..<4).map { i in
                    Score(
                        id: "s\(i)", projectID: project.id, traceID: "m\(i)", name: "helpful", dataType: .numeric, numericValue: Double(i) / 4,
                        source: .api, createdAt: now)
                })
            let runner = AlertRunner(store: test.store, logger: .quiet, send: Outbox().send)
            var filter = WatcherFilter()
            filter.model = "m"
            func value(_ definition: AlertDefinition) async throws -> Double? {
                try await runner.measure(Self.rule(project.id, definition), now: now).value
            }
            #expect(try await value(AlertDefinition(metric: .traces, threshold: 0)) == 14, "the last hour only")
            #expect(try await value(AlertDefinition(metric: .traces, threshold: 0, filter: filter)) == 10)
            #expect(try await value(AlertDefinition(metric: .errorRate, threshold: 0, filter: filter)) == 0.2)
            #expect(try await value(AlertDefinition(metric: .cost, threshold: 0, filter: filter)).map { abs($0 - 0.1) < 1e-9 } == true)
            let p95 = try #require(try await value(AlertDefinition(metric: .latencyP95, threshold: 0, filter: filter)))
            #expect(p95 > 100 && p95 < 400, "\(p95)")
            #expect(try await value(AlertDefinition(metric: .meanScore, threshold: 0, score: "helpful")) == 0.375)
            #expect(try await value(AlertDefinition(metric: .meanScore, threshold: 0, minCount: 5, score: "helpful")) == nil, "4 scores < 5")
            #expect(try await value(AlertDefinition(metric: .errorRate, threshold: 0, minCount: 100)) == nil)
            #expect(try await value(AlertDefinition(metric: .traces, threshold: 0, windowSeconds: 60)) == 0, "a count is 0, not missing")
            // A gap: the other model's error rate (4 of 4) against m's (2 of 10), flagged with small samples allowed.
            let gap = try await runner.measure(
                Self.rule(project.id, AlertDefinition(metric: .segmentGap, threshold: 0.5, minCount: 4, measure: "error_rate", by: "model")), now: now)
            #expect(gap.value.map { abs($0 - 0.8) < 1e-9 } == true && gap.detail?.contains("other") == true, "\(gap)")
            // A watcher's backlog.
            let watcher = try await test.store.watchers.create(
                Watcher(
                    id: TernID.make(), projectID: project.id, name: "w", definition: WatcherDefinition(assertions: [["type": "contains", "value": "a"]]),
                    createdAt: now, updatedAt: now))
            try await test.store.watchers.enqueue(
                (0..<3).map { i in
                    WatcherJob(id: "j\(i)", projectID: project.id, watcherID: watcher.id, watcherVersion: 1, traceID: "m\(i)", notBefore: now, createdAt: now)
                })
            #expect(try await value(AlertDefinition(metric: .watcherBacklog, threshold: 0, watcher: "w")) == 3)
            #expect(try await value(AlertDefinition(metric: .watcherBacklog, threshold: 0, watcher: "nope")) == nil)
        }
    }

    @Test("rule definitions are read from JSON with every bad field named, and secrets never leave through the API's form")
    func definitions() throws {
        let body: JSONValue = [
            "metric": "latency_p95_ms", "condition": ">=", "threshold": 2000, "window_seconds": 900, "filter": ["model": "gpt-4o"],
            "notify": [
                ["url": "https://hooks.slack.com/services/T/B/X", "format": "slack"], ["url": "https://example.com/h", "secret": "a-long-enough-secret"],
            ],
        ]
        let definition = try AlertDefinition(json: body)
        #expect(definition.metric == .latencyP95 && definition.condition == .atLeast && definition.windowSeconds == 900 && definition.filter.model == "gpt-4o")
        #expect(definition.notify[1].secret == "a-long-enough-secret")
        #expect(!definition.json(secrets: false).jsonString().contains("a-long-enough-secret"))
        #expect(definition.storedJSON.jsonString().contains("a-long-enough-secret"))
        // A PATCH repeating the destination without its secret keeps it.
        let patched = try AlertDefinition(json: ["notify": [["url": "https://example.com/h"]]], base: definition)
        #expect(patched.notify == [AlertDestination(url: "https://example.com/h", secret: "a-long-enough-secret")])
        let bad: [(JSONValue, String)] = [
            (["threshold": 1], "metric"), (["metric": "nope", "threshold": 1], "metric"), (["metric": "cost"], "threshold"),
            (["metric": "cost", "threshold": 1, "condition": "=="], "condition"), (["metric": "cost", "threshold": 1, "window_seconds": 5], "window_seconds"),
            (["metric": "cost", "threshold": 1, "every_seconds": 1], "every_seconds"), (["metric": "mean_score", "threshold": 1], "score"),
            (["metric": "watcher_backlog", "threshold": 1], "watcher"), (["metric": "segment_gap", "threshold": 1, "by": "model"], "measure"),
            (["metric": "segment_gap", "threshold": 1, "measure": "latency"], "by"), (["metric": "cost", "threshold": 1, "colour": "red"], "colour"),
            (["metric": "cost", "threshold": 1, "notify": [["url": "ftp://x"]]], "notify[0].url"),
            (["metric": "cost", "threshold": 1, "notify": [["url": "https://u:p@x.com/"]]], "notify[0].url"),
            (["metric": "cost", "threshold": 1, "notify": [["url": "https://x.com/", "format": "teams"]]], "notify[0].format"),
            (["metric": "cost", "threshold": 1, "notify": [["url": "https://x.com/", "secret": "short"]]], "notify[0].secret"),
            (["metric": "cost", "threshold": 1, "filter": ["colour": "red"]], "filter.colour"),
        ]
        for (body, field) in bad {
            #expect(throws: TernError.self, "\(body)") { try AlertDefinition(json: body) }
            do { _ = try AlertDefinition(json: body) } catch let error as TernError { #expect(error.field == field, "\(body): \(error)") }
        }
    }
}
