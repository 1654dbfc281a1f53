import Foundation
import TernCore
import TernServer
import TernTestSupport
import Testing
import TernMonitor

/// The web UI in a real browser: headless Chromium driven by selenium (scripts/test installs
/// both) against a live server. Screenshots land in `.build/test-artifacts/browser/`.
@Suite("Web UI in a real browser", .timeLimit(.minutes(15)))
struct BrowserTests {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var python: String { environment["TERN_TEST_PYTHON"] ?? "python3" }
    static var required: Bool { environment["TERN_TEST_REQUIRE_BROWSER"] == "1" }

    static var available: Bool {
        let chromium = environment["TERN_TEST_CHROMIUM"] ?? "/usr/bin/chromium"
        let driver = environment["TERN_TEST_CHROMEDRIVER"] ?? "/usr/bin/chromedriver"
        guard FileManager.default.isExecutableFile(atPath: chromium), FileManager.default.isExecutableFile(atPath: driver) else { return false }
        return pythonImports(python, "selenium")
    }

    @Test("the browser test is part of scripts/test")
    func installedWhenRequired() {
        if Self.required { #expect(Self.available, "TERN_TEST_REQUIRE_BROWSER=1 but chromium, chromedriver or selenium is missing") }
    }

    /// Traces of the last hours: some about refunds, some failing, and one hostile trace last.
    static func seed(_ h: Harness) async throws {
        let now = Date().timeIntervalSince1970
        var events: [String] = []
        for index in 0..<24 {
            let start = now - Double(index) * 900
            let topic = index % 3 == 0 ? "I want a refund for order \(index)" : "What is the delivery time for order \(index)?"
            events.append(
                """
                {"id": "t\(index)", "type": "trace-create", "body": {"id": "t\(index)", "name": "support", "user_id": "user-\(index % 4)",
                 "session_id": "session-\(index % 5)", "tags": ["web"], "metadata": {"task": "support", "language": "en"}, "timestamp": \(start),
                 "input": "\(topic)", "output": "We are on it."}}
                """)
            events.append(
                """
                {"id": "g\(index)", "type": "generation-create", "body": {"id": "g\(index)", "trace_id": "t\(index)", "name": "answer",
                 "model": "\(index % 2 == 0 ? "gpt-4o-mini" : "gpt-4o")", "start_time": \(start), "end_time": \(start + 0.2 + Double(index) * 0.05),
                 "usage": {"input": 300, "output": 80}, "level": "\(index % 7 == 3 ? "ERROR" : "DEFAULT")",
                 "input": [{"role": "user", "content": "\(topic)"}], "output": "We are on it."}}
                """)
        }
        events.append(
            """
            {"id": "xss", "type": "trace-create", "body": {"id": "xss", "name": "<img src=x onerror=\\"window.__xss=2\\">", "timestamp": \(now + 1),
             "input": "<script>window.__xss=1</script>", "output": "<script>window.__xss=3</script>", "tags": ["<b>tag</b>"]}}
            """)
        let reply = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: #"{"batch": [\#(events.joined(separator: ","))]}"#)
        #expect(reply.status.code == 207)
        #expect((reply.json["errors"] as? [Any])?.isEmpty == true, "\(reply.text)")
        while try await MetricsEngine.refresh(h.store.metrics) > 0 {}
    }

    /// A prompt with two versions (hostile markup in the template) and a dataset, for the prompt and dataset steps.
    static func seedLibrary(_ h: Harness) async throws {
        func json(_ object: Any) throws -> String { String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self) }
        for (index, system) in ["You answer for {{company}}. <img src=x onerror=\"window.__xss=7\">", "You answer for {{company}}, briefly."].enumerated() {
            let reply = try await h.call(
                .post, "/api/v1/prompts", key: h.adminKey,
                json: try json([
                    "name": "support-answer", "messages": [["role": "system", "content": system], ["role": "user", "content": "{{question}}"]],
                    "config": ["model": "support-bot", "temperature": 0.3], "commit_message": index == 0 ? "first" : "briefer",
                    "labels": index == 0 ? ["production"] : ["staging"],
                ]))
            #expect(reply.status == .created, "\(reply.text)")
        }
        #expect(try await h.call(.post, "/api/v1/datasets", key: h.adminKey, json: #"{"name": "support-golden"}"#).status == .created)
        let items = try await h.call(
            .post, "/api/v1/datasets/support-golden/items", key: h.adminKey,
            json: try json([
                "items": [
                    [
                        "input": ["question": "<script>window.__xss=1</script> where is my order?"], "expected_output": "In transit.",
                        "metadata": ["task": "support", "language": "en", "domain": "retail"], "golden": true,
                    ],
                    ["input": ["question": "Wo ist meine Bestellung?"], "metadata": ["task": "support", "language": "de", "domain": "retail"]],
                    ["input": ["question": "where is my order??"], "metadata": ["task": "faq", "language": "en"]],
                ]
            ]))
        #expect(items.status == .created, "\(items.text)")
    }

    /// A watcher with a job and an alert that fires, both with hostile markup where people type.
    static func seedMonitoring(_ h: Harness) async throws {
        let watcher = try await h.call(
            .post, "/api/v1/watchers", key: h.adminKey,
            json: #"{"name": "refund-check", "assertions": [{"type": "icontains", "value": "<img src=x onerror=\"window.__xss=8\">"}]}"#)
        #expect(watcher.status == .created, "\(watcher.text)")
        let alert = try await h.call(
            .post, "/api/v1/alerts", key: h.adminKey,
            json:
                #"{"name": "busy", "metric": "traces", "threshold": 1, "window_seconds": 86400, "filter": {"name": "support"}, "notify": [{"url": "https://hooks.example.com/<b>x</b>"}]}"#
        )
        #expect(alert.status == .created, "\(alert.text)")
        let fired = try await #require(h.alerts).evaluate()
        #expect(fired.map(\.kind) == [.firing], "\(fired)")
        // Two days of support questions for the topics page: shipping is new on the second day.
        try await TextDriftAPITests.seed(h, now: Date(), prefix: "topic-")
    }

    /// Seeds a live server, runs the browser script's `group` of steps (after signing in) in Chromium, checks
    /// that each of `steps` reported `ok`, then hands the harness to `after` for what the browser left in the store.
    static func runSteps(
        _ group: String, _ steps: [String], after: @Sendable (GatewayHarness) async throws -> Void
    ) async throws {
        try await withGateway(setup: .live, models: defaultModels + "\n" + experimentModels) { g in
            let h = g.h
            try await Self.seed(h)
            try await Self.seedLibrary(h)
            if group == "monitoring" { try await Self.seedMonitoring(h) }
            g.stub.script(model: "gpt-4o-mini", [.reply(text: "<img src=x onerror=\"window.__xss=5\"> Your order ships today.")])
            let password = "browser test password"
            let created = try await h.call(
                .post, "/api/v1/users", key: h.adminKey,
                json: #"{"email": "ui@example.com", "name": "UI Tester", "role": "member", "password": "\#(password)"}"#)
            #expect(created.status == .created, "\(created.text)")
            let port = try #require(h.client.port)
            let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            let screenshots = tests.deletingLastPathComponent().appendingPathComponent(".build/test-artifacts/browser/\(group)").path
            var environment = Self.environment
            environment["TERN_URL"] = "http://127.0.0.1:\(port)"
            environment["TERN_EMAIL"] = "ui@example.com"
            environment["TERN_PASSWORD"] = password
            environment["TERN_PROJECT"] = "default"
            environment["TERN_XSS_TRACE_ID"] = "xss"
            environment["TERN_PROMPT"] = "support-answer"
            environment["TERN_DATASET"] = "support-golden"
            environment["TERN_NEW_PROMPT"] = "browser-made"
            environment["TERN_EXPERIMENT_MODELS"] = "echo-a"
            environment["TERN_SCREENSHOTS"] = screenshots
            environment["TERN_STEPS"] = group
            let (status, output) = try await runExternalProcess(
                [Self.python, tests.appendingPathComponent("Browser/ui_test.py").path], environment: environment)
            #expect(status == 0, "\(output)")
            // Each step by name, so a failure says which behaviour broke (the script stops at the first failure).
            for step in ["login"] + steps {
                #expect(output.contains("ok: \(step)\n"), "step \(step) did not pass: \(output.suffix(1500))")
            }
            try await after(g)
        }
    }

    @Test(
        "explore: log in, dashboard, filter traces, open a trace, add a score, escaping, keyboard, sessions and users, add a trace to a dataset",
        .enabled(if: BrowserTests.available, "chromium, chromedriver or selenium is missing (scripts/test installs them)"))
    func explore() async throws {
        try await Self.runSteps(
            "explore", ["dashboard", "traces", "trace_detail", "score", "xss", "keyboard", "sessions_users", "add_to_dataset"]
        ) { g in
            let h = g.h
            let scores = try await h.store.scores.list(
                projectID: h.project.id,
                traceID: try #require(
                    try await h.store.traces.list(projectID: h.project.id, query: TraceQueryParameters.query([("q", "refund")])).traces.first?.trace.id))
            #expect(scores.contains { $0.name == "helpfulness" && $0.numericValue == 0.8 && $0.source == .human })
            let added = try await h.store.datasets.items(projectID: h.project.id, dataset: "from-browser", version: nil, after: nil, limit: 10)
            #expect(added.count == 1 && added.first?.sourceTraceID != nil, "the browser added a trace to a new dataset")
        }
    }

    @Test(
        "monitoring: watchers and a watcher's page, an alert firing and silenced from its page, gaps by model, drift with its charts, topics over time, escaping",
        .enabled(if: BrowserTests.available, "chromium, chromedriver or selenium is missing (scripts/test installs them)"))
    func monitoring() async throws {
        try await Self.runSteps("monitoring", ["monitoring_watchers", "monitoring_alert", "monitoring_gaps", "monitoring_drift", "monitoring_topics"]) { g in
            let rule = try #require(try await g.h.store.alerts.get(projectID: g.h.project.id, name: "busy"))
            let until = try #require(rule.silencedUntil, "the browser silenced the alert")
            #expect(abs(until.timeIntervalSinceNow - 8 * 3600) < 600)
        }
    }

    @Test(
        "library: prompts, diff, label move, playground through the gateway, a dataset item edited",
        .enabled(if: BrowserTests.available, "chromium, chromedriver or selenium is missing (scripts/test installs them)"))
    func library() async throws {
        try await Self.runSteps("library", ["prompts", "prompt_diff", "label_move", "playground", "dataset"]) { g in
            let h = g.h
            #expect(
                try await h.store.prompts.get(projectID: h.project.id, name: "support-answer", label: "production")?.version == 2,
                "the browser moved production to the newest version")
            #expect(
                g.stub.requests(model: "gpt-4o-mini").contains { $0.body["messages"]?.array?.last?["content"]?.string == "Acme" },
                "the playground ran the prompt through the gateway")
            let edited = try await h.store.datasets.items(projectID: h.project.id, dataset: "support-golden", version: 2, after: nil, limit: 10)
            #expect(
                edited.contains { $0.expectedOutput == "Checked by the browser test." && $0.golden && $0.validatedBy?.hasPrefix("user:") == true },
                "the browser edited an item into version 2")
        }
    }

    @Test(
        "authoring: a prompt and a version made by form, two experiment runs started by form, a cell's trace, the comparison",
        .enabled(if: BrowserTests.available, "chromium, chromedriver or selenium is missing (scripts/test installs them)"))
    func authoring() async throws {
        try await Self.runSteps(
            "authoring", ["prompt_create", "prompt_new_version", "experiment_runs", "experiment_trace", "experiment_compare"]
        ) { g in
            let h = g.h
            let browserUser = try #require(try await h.store.users.get(email: "ui@example.com"))
            let made = try await h.store.prompts.history(projectID: h.project.id, name: "browser-made")
            #expect(made.map(\.version) == [2, 1], "one prompt, two versions (saving unchanged made none)")
            #expect(made.allSatisfy { $0.author == "user:\(browserUser.id)" })
            #expect(made.last?.messages.map(\.role) == ["system", "user"] && made.last?.variables == ["question"])
            #expect(made.last?.labels == ["staging"] && made.last?.config.temperature == 0.4)
            #expect(made.first?.messages.last?.content == "R: {{question}}" && made.first?.commitMessage == "second in the browser")
            let runs = try await h.store.experiments.list(projectID: h.project.id, before: nil, limit: 10)
            #expect(runs.map(\.name) == ["browser v2", "browser v1"])
            #expect(runs.allSatisfy { $0.status == .completed && $0.createdBy == "user:\(browserUser.id)" && $0.models == ["echo-a"] })
            #expect(runs.map(\.prompts) == [["browser-made@2"], ["browser-made@1"]])
            #expect(runs.last?.totals.passed == 3 && runs.first?.totals.passed == 0, "v1 passes every item, v2 none")
        }
    }
}
