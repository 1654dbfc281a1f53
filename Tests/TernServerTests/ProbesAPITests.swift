import Foundation
import HTTPTypes
import TernCore
import TernMonitor
import TernTestSupport
import Testing

/// `/api/v1/probes`: canary runs through the gateway, each compared with the run before, and an alert on the change.
@Suite("Probes API", .timeLimit(.minutes(5)))
struct ProbesAPITests {
    @Test(
        "a probe's runs go through the gateway uncached; when the model starts refusing the next run shows the change, and an alert fires",
        arguments: StoreKind.available)
    func canary(kind: StoreKind) async throws {
        try await withGateway(kind, models: experimentModels) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            let created = try await h.call(
                .post, "/api/v1/probes", key: h.adminKey,
                json:
                    #"{"name": "canary", "dataset": "words", "prompts": ["qa@1"], "models": ["echo-a"], "assert": [{"type": "contains", "value": "Q"}], "every_seconds": 600}"#
            )
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json["every_seconds"] as? Int == 600 && created.json["created_by"] as? String != nil)

            let first = try await h.call(.post, "/api/v1/probes/canary/run?wait=60", key: h.adminKey)
            #expect(first.status == .accepted && first.json["status"] as? String == "completed", "\(first.text)")
            let again = try await h.call(.post, "/api/v1/probes/canary/run?wait=60", key: h.adminKey)
            #expect(again.json["status"] as? String == "completed")
            #expect(g.stub.requests(model: "echo-a").count == 8, "no answer came from a cache")
            let steady = try await h.call(.get, "/api/v1/probes/canary", key: h.adminKey)
            let steadyShift = try #require(steady.json["shift"] as? [String: Any], "\(steady.text)")
            #expect(steadyShift["changed"] as? Bool == false && steadyShift["pairs"] as? Int == 4 && steady.json["latest_pass_rate"] as? Double == 1)

            // The provider changes the model behind the name: it refuses.
            g.stub.script(model: "echo-a", Array(repeating: .reply(text: "I'm sorry, but I can't help with that request at all."), count: 4))
            let third = try await h.call(.post, "/api/v1/probes/canary/run?wait=60", key: h.adminKey)
            #expect(third.json["status"] as? String == "completed")
            let runs = try await h.call(.get, "/api/v1/probes/canary/runs", key: h.adminKey).data
            #expect(runs.count == 3 && runs.map { $0["status"] as? String } == ["completed", "completed", "completed"])
            let shift = try #require(runs[0]["shift"] as? [String: Any], "\(runs)")
            #expect(shift["changed"] as? Bool == true && shift["head_refusal_rate"] as? Double == 1 && shift["regressions"] as? Int == 4, "\(shift)")
            #expect((shift["reasons"] as? [String])?.contains { $0.hasPrefix("refusal rate 0% -> 100%") } == true)
            #expect((runs[1]["shift"] as? [String: Any])?["changed"] as? Bool == false)

            // An alert on the change.
            let alert = try await h.call(
                .post, "/api/v1/alerts", key: h.adminKey, json: #"{"name": "model-changed", "metric": "probe_changed", "threshold": 0.5, "probe": "canary"}"#)
            #expect(alert.status == .created, "\(alert.text)")
            let fired = try await #require(h.alerts).evaluate()
            #expect(fired.count == 1 && fired[0].kind == .firing && fired[0].message.contains("refusal rate"), "\(fired)")
            let passRate = try await #require(h.alerts).measure(
                AlertRule(
                    id: "x", projectID: h.project.id, name: "x", definition: AlertDefinition(metric: .probePassRate, threshold: 0.9, probe: "canary"),
                    createdAt: Date(), updatedAt: Date()), now: Date())
            #expect(passRate.value == 0)

            for (body, field) in [
                (#"{"dataset": "words", "prompts": ["qa@1"], "models": ["echo-a"]}"#, "name"),
                (#"{"name": "x", "dataset": "nope", "prompts": ["qa@1"], "models": ["echo-a"]}"#, "dataset"),
                (#"{"name": "x", "dataset": "words", "prompts": ["qa@1"], "models": ["echo-a"], "every_seconds": 5}"#, "every_seconds"),
                (#"{"name": "x", "dataset": "words", "prompts": ["qa@1"], "models": ["echo-a"], "colour": 1}"#, "colour"),
            ] {
                let reply = try await h.call(.post, "/api/v1/probes", key: h.adminKey, json: body)
                #expect(reply.status == .badRequest && reply.errorField == field, "\(body): \(reply.text)")
            }
            let paused = try await h.call(.patch, "/api/v1/probes/canary", key: h.adminKey, json: #"{"enabled": false, "every_seconds": 3600}"#)
            #expect(paused.json["enabled"] as? Bool == false && paused.json["every_seconds"] as? Int == 3600)
            #expect(try await h.call(.delete, "/api/v1/probes/canary", key: h.adminKey).status == .noContent)
            #expect(try await h.call(.get, "/api/v1/probes/canary", key: h.adminKey).status == .notFound)
        }
    }

    @Test("a probe is due when enabled and its interval passed since its last run")
    func due() {
        let now = Date()
        var probe = Probe(id: "p", projectID: "x", name: "p", experiment: .object([:]), everySeconds: 600, createdBy: "key:k", createdAt: now, updatedAt: now)
        #expect(probe.isDue(at: now))
        probe.lastRunAt = now
        #expect(!probe.isDue(at: now.addingTimeInterval(599)) && probe.isDue(at: now.addingTimeInterval(600)))
        probe.enabled = false
        #expect(!probe.isDue(at: now.addingTimeInterval(6000)))
    }
}
