import Foundation
import HTTPTypes
import TernCore
import TernMonitor
import TernProviders
import TernTestSupport
import Testing

/// `/api/v1/alerts`: rules on live gateway traffic, notifications over real HTTP to a loopback receiver
/// (listed in `alerts.allowed_hosts`), history, silence, tests of destinations, and the refusals.
@Suite("Alerts API", .timeLimit(.minutes(5)))
struct AlertsAPITests {
    @Test(
        "an alert fires on gateway traffic, posts a signed JSON webhook and a Slack body to a loopback receiver, resolves, and lists its history",
        arguments: StoreKind.available)
    func lifecycle(kind: StoreKind) async throws {
        let receiver = try await WebhookReceiver.start()
        do {
            try await withGateway(
                kind,
                configure: { config in
                    config.alerts.allowedHosts = ["127.0.0.1"]
                    config.alerts.timeoutSeconds = 3  // short, for the hanging destination below; not so short that a busy CI machine misses it
                    config.alerts.publicURL = "https://tern.example"
                }
            ) { g in
                let h = g.h
                let secret = "whsec-test-0123456789"
                let created = try await h.call(
                    .post, "/api/v1/alerts", key: h.adminKey,
                    json: """
                        {"name": "busy", "metric": "traces", "condition": ">", "threshold": 1, "window_seconds": 300,
                         "filter": {"model": "gpt-4o-mini"},
                         "notify": [{"url": "\(receiver.url("/json"))", "secret": "\(secret)"}, {"url": "\(receiver.url("/slack"))", "format": "slack"}]}
                        """)
                #expect(created.status == .created, "\(created.text)")
                #expect(!created.text.contains(secret), "the secret never comes back")
                let id = try #require(created.json["id"] as? String)
                #expect(created.json["state"] as? String == "ok" && created.json["every_seconds"] as? Int == 60)

                for text in ["one", "two"] { #expect(try await g.chat(text: text).status == .ok) }
                await h.gateway.traces.flush()
                let runner = try #require(h.alerts)
                let now = Date()
                let fired = try await runner.evaluate(now: now)
                #expect(fired.map(\.kind) == [.firing], "\(fired)")
                #expect(try await runner.deliver(now: now) == 2)
                try await receiver.waitForRequests(2)
                let json = try #require(receiver.received.first { $0.path == "/json" })
                #expect(json.json["state"] as? String == "firing" && json.json["value"] as? Double == 2 && json.json["project"] as? String == h.project.slug)
                #expect(json.json["url"] as? String == "https://tern.example/ui/\(h.project.slug)/alerts/\(id)")
                // The receiver checks the signature as docs/MONITORING.md says.
                let timestamp = try #require(json.headers["x-tern-timestamp"].flatMap(Int.init))
                #expect(abs(Double(timestamp) - Date().timeIntervalSince1970) < 600)
                #expect(json.headers["x-tern-signature"] == AlertNotification.signature(secret: secret, timestamp: timestamp, body: json.body))
                let slack = try #require(receiver.received.first { $0.path == "/slack" })
                #expect((slack.json["text"] as? String)?.contains("[FIRING] busy") == true, "\(String(decoding: slack.body, as: UTF8.self))")

                let shown = try await h.call(.get, "/api/v1/alerts/busy", key: h.adminKey)
                #expect(shown.json["state"] as? String == "firing" && shown.json["last_value"] as? Double == 2, "\(shown.text)")
                let secretEntry = (shown.json["notify"] as? [[String: Any]])?.first
                #expect(secretEntry?["secret"] as? String == "set")

                // Five minutes on, the window is empty of traffic: resolved, and said so.
                let later = now.addingTimeInterval(301)
                #expect(try await runner.evaluate(now: later).map(\.kind) == [.resolved])
                // The two notifications of the resolution, and any first-round delivery that timed out on a busy
                // machine and is due again by then (its retry): every one is checked as delivered below.
                #expect(try await runner.deliver(now: later) >= 2)
                try await receiver.waitForRequests(4)
                #expect(receiver.received.filter { $0.path == "/json" }.last?.json["state"] as? String == "ok")
                let events = try await h.call(.get, "/api/v1/alerts/\(id)/events", key: h.adminKey).data
                #expect(events.map { $0["kind"] as? String } == ["resolved", "firing"] && events.allSatisfy { $0["notification"] as? String == "sent" })
                let deliveries = try await h.call(.get, "/api/v1/alerts/\(id)/deliveries", key: h.adminKey).data
                #expect(deliveries.count == 4 && deliveries.allSatisfy { $0["status"] as? String == "delivered" && $0["response_status"] as? Int == 200 })

                // A test notification reaches both destinations at once.
                let tested = try await h.call(.post, "/api/v1/alerts/\(id)/test", key: h.adminKey)
                #expect(tested.status == .ok && tested.data.count == 2 && tested.data.allSatisfy { $0["status"] as? String == "delivered" }, "\(tested.text)")
                try await receiver.waitForRequests(6)
                #expect(receiver.received.last?.json["kind"] as? String == "test" || receiver.received.last?.path == "/slack")

                // A destination that answers 500 and one that hangs: the test answers within the timeout, both
                // pending with the reason, and the rule's evaluations go on.
                receiver.script("/down", [.status(500)])
                receiver.script("/hang", [.hang])
                let patched = try await h.call(
                    .patch, "/api/v1/alerts/\(id)", key: h.adminKey,
                    json: #"{"notify": [{"url": "\#(receiver.url("/down"))"}, {"url": "\#(receiver.url("/hang"))"}]}"#)
                #expect(patched.status == .ok, "\(patched.text)")
                let started = ContinuousClock.now
                let failing = try await h.call(.post, "/api/v1/alerts/\(id)/test", key: h.adminKey)
                #expect(ContinuousClock.now - started < .seconds(30))
                let errors = Dictionary(
                    uniqueKeysWithValues: failing.data.map { (($0["url"] as? String) ?? "", ($0["last_error"] as? String) ?? "") })
                #expect(errors[receiver.url("/down")] == "answered 500", "\(failing.text)")
                #expect(errors[receiver.url("/hang")]?.contains("within 3 s") == true, "\(failing.text)")
                #expect(failing.data.allSatisfy { $0["status"] as? String == "pending" && $0["attempts"] as? Int == 1 })

                // Silence until a time, then end it.
                let until = "2999-01-01T00:00:00Z"
                let silenced = try await h.call(.patch, "/api/v1/alerts/\(id)", key: h.adminKey, json: #"{"silenced_until": "\#(until)"}"#)
                #expect((silenced.json["silenced_until"] as? String)?.hasPrefix("2999-01-01") == true, "\(silenced.text)")
                let unsilenced = try await h.call(.patch, "/api/v1/alerts/\(id)", key: h.adminKey, json: #"{"silenced_until": null}"#)
                #expect(unsilenced.json["silenced_until"] is NSNull)
                #expect(try await h.call(.get, "/api/v1/alerts", key: h.adminKey).data.count == 1)
                #expect(try await h.call(.delete, "/api/v1/alerts/\(id)", key: h.adminKey).status == .noContent)
                #expect(try await h.call(.get, "/api/v1/alerts/\(id)", key: h.adminKey).status == .notFound)
            }
        } catch {
            await receiver.stop()
            throw error
        }
        await receiver.stop()
    }

    @Test("bad rules are refused with the field named; loopback and private destinations are refused unless listed in tern.yaml")
    func refusals() async throws {
        try await withHarness { h in
            let cases: [(String, String)] = [
                (#"{"metric": "error_rate", "threshold": 0.1}"#, "name"),
                (#"{"name": "a", "threshold": 0.1}"#, "metric"),
                (#"{"name": "a", "metric": "error_rate"}"#, "threshold"),
                (#"{"name": "a b", "metric": "error_rate", "threshold": 0.1}"#, "name"),
                (#"{"name": "a", "metric": "error_rate", "threshold": 0.1, "silenced_until": "soon"}"#, "silenced_until"),
                (#"{"name": "a", "metric": "error_rate", "threshold": 0.1, "notify": [{"url": "http://127.0.0.1:9/x"}]}"#, "notify[0].url"),
                (#"{"name": "a", "metric": "error_rate", "threshold": 0.1, "notify": [{"url": "http://localhost/x"}]}"#, "notify[0].url"),
                (#"{"name": "a", "metric": "error_rate", "threshold": 0.1, "notify": [{"url": "http://[::1]/x"}]}"#, "notify[0].url"),
                (#"{"name": "a", "metric": "error_rate", "threshold": 0.1, "notify": [{"url": "http://169.254.169.254/latest"}]}"#, "notify[0].url"),
                (#"{"name": "a", "metric": "error_rate", "threshold": 0.1, "notify": [{"url": "http://10.1.2.3/x"}]}"#, "notify[0].url"),
            ]
            for (body, field) in cases {
                let reply = try await h.call(.post, "/api/v1/alerts", key: h.adminKey, json: body)
                #expect(reply.status == .badRequest && reply.errorField == field, "\(body): \(reply.text)")
            }
            let loopback = try await h.call(
                .post, "/api/v1/alerts", key: h.adminKey,
                json: #"{"name": "a", "metric": "error_rate", "threshold": 0.1, "notify": [{"url": "http://127.0.0.1:9/x"}]}"#)
            #expect((loopback.error["message"] as? String)?.contains("alerts.allowed_hosts") == true, "\(loopback.text)")
            // A public address is fine without a list.
            let fine = try await h.call(
                .post, "/api/v1/alerts", key: h.adminKey,
                json: #"{"name": "a", "metric": "error_rate", "threshold": 0.1, "notify": [{"url": "https://93.184.215.14/hook"}]}"#)
            #expect(fine.status == .created, "\(fine.text)")
            let viewer = try await h.createKey(name: "v", role: "viewer", as: h.adminKey)
            #expect(try await h.call(.post, "/api/v1/alerts/a/test", key: viewer).status == .forbidden)
        }
    }

    @Test("the destination policy: internal ranges (and IPv4-mapped IPv6) refused, listed names, addresses and ranges admitted, a list admits only its hosts")
    func policy() throws {
        let open = try WebhookPolicy(allowedHosts: [])
        let none: (String) -> [[UInt8]]? = { _ in nil }
        let publicHost: (String) -> [[UInt8]]? = { _ in [[93, 184, 215, 14]] }
        let privateHost: (String) -> [[UInt8]]? = { _ in [[192, 168, 1, 5]] }
        #expect(open.refusal(url: "https://hooks.slack.com/services/x", resolve: publicHost) == nil)
        #expect(open.refusal(url: "https://intranet.example/x", resolve: privateHost)?.contains("192.168.1.5") == true)
        for url in ["http://127.0.0.1/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://[fd00::1]/", "http://100.64.0.1/", "http://172.20.0.1/"] {
            #expect(open.refusal(url: url, resolve: none) != nil, "\(url)")
        }
        #expect(open.refusal(url: "ftp://x/", resolve: none) != nil)
        let listed = try WebhookPolicy(allowedHosts: ["127.0.0.1", "10.0.0.0/8", "intranet.example", "*.corp.example"])
        #expect(listed.refusal(url: "http://127.0.0.1:8080/x", resolve: none) == nil)
        #expect(listed.refusal(url: "http://10.200.3.4/x", resolve: none) == nil)
        #expect(listed.refusal(url: "https://intranet.example/x", resolve: privateHost) == nil)
        #expect(listed.refusal(url: "https://hooks.corp.example/x", resolve: privateHost) == nil)
        #expect(listed.refusal(url: "https://hooks.slack.com/x", resolve: publicHost)?.contains("not in alerts.allowed_hosts") == true)
        #expect(listed.refusal(url: "http://127.0.0.2/x", resolve: none) != nil)
        for bad in ["10.0.0.0/33", "a b", "*."] {
            #expect(throws: TernError.self, "\(bad)") { try WebhookPolicy(allowedHosts: [bad]) }
        }
    }
}
