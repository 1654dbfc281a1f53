import Foundation
import HTTPTypes
import TernCore
import TernMonitor
import TernTestSupport
import Testing

/// `/api/v1/watchers`: a watcher scores live gateway traffic once per trace; versions, validation, the queue.
@Suite("Watchers API")
struct WatchersAPITests {
    @Test(
        "a watcher created through the API scores each gateway call once, shows its queue, and a change of its assertions is a new version",
        arguments: StoreKind.available)
    func lifecycle(kind: StoreKind) async throws {
        try await withGateway(kind) { g in
            let h = g.h
            let created = try await h.call(
                .post, "/api/v1/watchers", key: h.adminKey,
                json: #"{"name": "greets", "assertions": [{"type": "icontains", "value": "hello"}]}"#)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            #expect(created.json["version"] as? Int == 1 && created.json["sampling_rate"] as? Double == 1 && created.json["idle_seconds"] as? Int == 180)

            for text in ["first", "second"] { #expect(try await g.chat(text: text).status == .ok) }
            await h.gateway.traces.flush()
            let runner = try #require(h.watchers)
            let now = Date().addingTimeInterval(5)
            try await runner.scan(now: now)
            while try await runner.work(now: now) > 0 {}

            let shown = try await h.call(.get, "/api/v1/watchers/greets", key: h.adminKey)
            let queue = try #require(shown.json["queue"] as? [String: Any])
            #expect(queue["done"] as? Int == 2 && queue["pending"] as? Int == 0 && queue["failed"] as? Int == 0, "\(shown.text)")
            let jobs = try await h.call(.get, "/api/v1/watchers/\(id)/jobs?status=done", key: h.adminKey)
            #expect(jobs.data.count == 2)
            for job in jobs.data {
                let traceID = try #require(job["trace_id"] as? String)
                let scores = try await h.store.scores.list(projectID: h.project.id, traceID: traceID)
                #expect(scores.count == 1 && scores[0].source == .watcher && scores[0].name == "greets" && scores[0].numericValue == 1)
                #expect(scores[0].id == job["score_id"] as? String)
            }
            // /metrics shows each watcher's queue.
            try await runner.refreshGauges(now: now)
            let metrics = try await h.call(.get, "/metrics").text
            let done = metrics.split(separator: "\n").first {
                $0.hasPrefix("tern_watcher_jobs{") && $0.contains(#"watcher="greets""#) && $0.contains(#"status="done""#)
            }
            #expect(done.map { $0.hasSuffix(" 2.0") || $0.hasSuffix(" 2") } == true, "\(metrics)")
            #expect(metrics.contains("tern_watcher_lag_seconds{"))
            // Scanning again scores nothing twice.
            try await runner.scan(now: now.addingTimeInterval(1))
            #expect(try await runner.work(now: now.addingTimeInterval(1)) == 0)

            // New assertions: version 2; renaming or pausing is not a new version.
            let patched = try await h.call(
                .patch, "/api/v1/watchers/\(id)", key: h.adminKey, json: #"{"assertions": [{"type": "icontains", "value": "bye"}]}"#)
            #expect(patched.status == .ok && patched.json["version"] as? Int == 2, "\(patched.text)")
            let paused = try await h.call(.patch, "/api/v1/watchers/\(id)", key: h.adminKey, json: #"{"enabled": false, "name": "greets-2"}"#)
            #expect(paused.json["version"] as? Int == 2 && paused.json["enabled"] as? Bool == false && paused.json["name"] as? String == "greets-2")
            #expect(try await h.call(.get, "/api/v1/watchers", key: h.adminKey).data.count == 1)

            // A backfill of version 2 over the past hour: both calls again, under the new assertions.
            let from = Date().addingTimeInterval(-3_600).formatted(.iso8601)
            let started = try await h.call(.post, "/api/v1/watchers/\(id)/backfill", key: h.adminKey, json: #"{"from": "\#(from)"}"#)
            #expect(started.status == .accepted && started.json["status"] as? String == "running" && started.json["version"] as? Int == 2, "\(started.text)")
            try await runner.advanceBackfills()
            while try await runner.work() > 0 {}
            let backfills = try await h.call(.get, "/api/v1/watchers/\(id)/backfills", key: h.adminKey).data
            #expect(backfills.count == 1 && backfills[0]["status"] as? String == "done" && backfills[0]["progress"] as? Double == 1, "\(backfills)")
            #expect((backfills[0]["jobs"] as? [String: Any])?["done"] as? Int == 2 && backfills[0]["queued"] as? Int == 2)
            let cancelled = try await h.call(
                .post, "/api/v1/watchers/\(id)/backfills/\(backfills[0]["id"] as? String ?? "")/cancel", key: h.adminKey)
            #expect(cancelled.json["status"] as? String == "done", "a finished backfill stays finished")
            for (body, field) in [
                (#"{}"#, "from"), (#"{"from": "yesterday"}"#, "from"), (#"{"from": 1e300}"#, "from"),
                (#"{"from": "\#(from)", "sampling_rate": 2}"#, "sampling_rate"), (#"{"from": "\#(from)", "every": 1}"#, "every"),
                (#"{"from": "2999-01-01T00:00:00Z"}"#, "from"),
            ] {
                let refused = try await h.call(.post, "/api/v1/watchers/\(id)/backfill", key: h.adminKey, json: body)
                #expect(refused.status == .badRequest && refused.text.contains("\"\(field)\""), "\(body): \(refused.text)")
            }
            #expect(try await h.call(.delete, "/api/v1/watchers/\(id)", key: h.adminKey).status == .noContent)
            #expect(try await h.call(.get, "/api/v1/watchers/\(id)", key: h.adminKey).status == .notFound)
            // Its scores stay: one per version (the live one, and the backfill's).
            let traceID = try #require(jobs.data.first?["trace_id"] as? String)
            let kept = try await h.store.scores.list(projectID: h.project.id, traceID: traceID)
            #expect(kept.compactMap(\.author).sorted() == ["greets v1", "greets-2 v2"] && kept.allSatisfy { $0.source == .watcher }, "\(kept)")
        }
    }

    @Test("invalid watcher definitions are refused with the field named")
    func validation() async throws {
        try await withHarness(.sqlite) { h in
            func refusal(_ body: String) async throws -> String? {
                let reply = try await h.call(.post, "/api/v1/watchers", key: h.adminKey, json: body)
                #expect(reply.status == .badRequest, "\(body): \(reply.text)")
                return reply.errorField
            }
            #expect(try await refusal(#"{"assertions": [{"type": "contains", "value": "x"}]}"#) == "name")
            #expect(try await refusal(#"{"name": "w"}"#) == "assertions")
            #expect(try await refusal(#"{"name": "w", "assertions": [{"value": "x"}]}"#) == "assertions")
            #expect(try await refusal(#"{"name": "w", "assertions": [{"type": "contains"}], "sampling_rate": 0}"#) == "sampling_rate")
            #expect(try await refusal(#"{"name": "w", "assertions": [{"type": "contains"}], "idle_seconds": 0.5}"#) == "idle_seconds")
            #expect(try await refusal(#"{"name": "w", "assertions": [{"type": "contains"}], "filter": {"modle": "x"}}"#) == "filter.modle")
            #expect(try await refusal(#"{"name": "w", "assertions": [{"type": "contains"}], "sampling": 1}"#) == "sampling")
            #expect(try await refusal(#"{"name": "bad name!", "assertions": [{"type": "contains"}]}"#) == "name")
            let first = try await h.call(.post, "/api/v1/watchers", key: h.adminKey, json: #"{"name": "w", "assertions": [{"type": "contains"}]}"#)
            #expect(first.status == .created)
            let again = try await h.call(.post, "/api/v1/watchers", key: h.adminKey, json: #"{"name": "w", "assertions": [{"type": "contains"}]}"#)
            #expect(again.status == .conflict && again.errorField == "name")
        }
    }
}
