import Foundation
import TernCore
import TernMonitor
import TernTestSupport
import Testing

/// `/api/v1/monitoring/drift-monitors`: a scheduled check of the last day against the day before, its reports,
/// an alert on the share of drifted columns, and the refusals.
@Suite("Drift monitors API")
struct DriftMonitorsAPITests {
    /// Two days of traffic: the older day's answers are short and fast, the last day's long and slow.
    static func seed(_ h: Harness, now: Date) async throws {
        var items: [TraceBatchItem] = []
        for index in 0..<80 {
            let recent = index < 40
            let start = now.addingTimeInterval(recent ? -Double(index + 1) * 2_000 : -86_400 - Double(index - 39) * 2_000)
            let end = start.addingTimeInterval(recent ? 3 + Double(index % 7) * 0.1 : 0.3 + Double(index % 7) * 0.01)
            let observation = Observation(
                id: "o\(index)", traceID: "t\(index)", projectID: h.project.id, type: .generation, name: "chat", startTime: start, endTime: end,
                model: "gpt-4o-mini", usage: TokenUsage(inputTokens: 50, outputTokens: recent ? 400 + index : 40 + index))
            items.append(
                TraceBatchItem(
                    trace: Trace(
                        id: "t\(index)", projectID: h.project.id, input: "question \(index)",
                        output: String(repeating: "x", count: recent ? 2_000 + index : 200 + index), startTime: start, endTime: end),
                    observations: [observation]))
        }
        try await h.store.traces.insert(items)
    }

    @Test("a monitor's check finds the longer, slower day, keeps the report, and an alert on drift_share fires", arguments: StoreKind.available)
    func monitor(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let now = Date()
            try await Self.seed(h, now: now)
            let created = try await h.call(
                .post, "/api/v1/monitoring/drift-monitors", key: h.adminKey,
                json:
                    #"{"name": "daily", "window_seconds": 86400, "reference": "previous_window", "columns": ["latency_ms", "output_chars", "output_tokens", "model"], "every_seconds": 3600}"#
            )
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json["reference"] as? String == "previous_window" && (created.json["columns"] as? [String])?.count == 4)
            let report = try await h.call(.post, "/api/v1/monitoring/drift-monitors/daily/run", key: h.adminKey)
            #expect(report.status == .created, "\(report.text)")
            #expect(report.json["reference_rows"] as? Int == 40 && report.json["current_rows"] as? Int == 40, "\(report.text)")
            #expect(Set(report.json["drifted"] as? [String] ?? []) == ["latency_ms", "output_chars", "output_tokens"], "\(report.text)")
            #expect(report.json["share_drifted"] as? Double == 0.75 && report.json["dataset_drift"] as? Bool == true)
            let columns = (report.json["report"] as? [String: Any])?["columns"] as? [[String: Any]]
            #expect(columns?.first { $0["column"] as? String == "latency_ms" }?["stattest"] as? String == "ks")

            // Scheduled: due at once (never ran), not again within the hour.
            let monitor = try #require(try await h.store.driftMonitors.get(projectID: h.project.id, name: "daily"))
            #expect(!monitor.isDue(at: now.addingTimeInterval(60)) && monitor.isDue(at: now.addingTimeInterval(3_700)))
            #expect(try await DriftMonitoring.tick(store: h.store, now: now.addingTimeInterval(3_700)).count == 1)
            let reports = try await h.call(.get, "/api/v1/monitoring/drift-monitors/daily/reports", key: h.adminKey).data
            #expect(reports.count == 2)
            let list = try await h.call(.get, "/api/v1/monitoring/drift-monitors", key: h.adminKey).data
            #expect((list.first?["latest"] as? [String: Any])?["share_drifted"] as? Double == 0.75)

            let alert = try await h.call(
                .post, "/api/v1/alerts", key: h.adminKey, json: #"{"name": "drift", "metric": "drift_share", "threshold": 0.5, "monitor": "daily"}"#)
            #expect(alert.status == .created, "\(alert.text)")
            let fired = try await #require(h.alerts).evaluate()
            #expect(fired.first?.kind == .firing && fired.first?.message.contains("drifted: ") == true, "\(fired)")

            // An empty window: a report that says so, no share.
            let fixed = try await h.call(
                .post, "/api/v1/monitoring/drift-monitors", key: h.adminKey,
                json: #"{"name": "old", "reference": {"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}}"#)
            #expect(fixed.status == .created, "\(fixed.text)")
            let empty = try await h.call(.post, "/api/v1/monitoring/drift-monitors/old/run", key: h.adminKey)
            #expect(empty.json["share_drifted"] is NSNull && ((empty.json["report"] as? [String: Any])?["note"] as? String)?.contains("reference") == true)

            for (body, field) in [
                (#"{"window_seconds": 86400}"#, "name"), (#"{"name": "x", "window_seconds": 5}"#, "window_seconds"),
                (#"{"name": "x", "reference": "yesterday"}"#, "reference"), (#"{"name": "x", "columns": ["vibes"]}"#, "columns"),
                (#"{"name": "x", "colour": 1}"#, "colour"), (#"{"name": "x", "filter": {"colour": "red"}}"#, "filter.colour"),
            ] {
                let reply = try await h.call(.post, "/api/v1/monitoring/drift-monitors", key: h.adminKey, json: body)
                #expect(reply.status == .badRequest && reply.errorField == field, "\(body): \(reply.text)")
            }
            let paused = try await h.call(.patch, "/api/v1/monitoring/drift-monitors/daily", key: h.adminKey, json: #"{"enabled": false}"#)
            #expect(paused.json["enabled"] as? Bool == false && paused.json["window_seconds"] as? Int == 86400)
            #expect(try await h.call(.delete, "/api/v1/monitoring/drift-monitors/daily", key: h.adminKey).status == .noContent)
            #expect(try await h.store.driftMonitors.reports(projectID: h.project.id, monitorID: monitor.id, limit: 5).isEmpty)
        }
    }

    @Test(
        "scores (score.NAME), trace metadata keys, finish reasons and tools drift between windows; unknown columns are refused",
        arguments: StoreKind.available)
    func scoresMetadataOutcomes(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let now = Date()
            var items: [TraceBatchItem] = []
            var scores: [Score] = []
            for index in 0..<80 {
                let recent = index < 40
                let start = now.addingTimeInterval(recent ? -Double(index + 1) * 2_000 : -86_400 - Double(index - 39) * 2_000)
                let id = "t\(index)"
                var observations = [
                    Observation(
                        id: "g\(index)", traceID: id, projectID: h.project.id, type: .generation, name: "chat", startTime: start,
                        endTime: start.addingTimeInterval(1), model: "gpt-4o-mini",
                        metadata: ["finish_reason": .string(recent && index % 2 == 0 ? "length" : "stop")])
                ]
                if recent, index % 2 == 1 {
                    observations.append(
                        Observation(id: "s\(index)", traceID: id, projectID: h.project.id, type: .tool, name: "search", startTime: start))
                }
                let tier = recent ? (index % 5 == 0 ? "free" : "pro") : (index % 2 == 0 ? "free" : "pro")
                items.append(
                    TraceBatchItem(
                        trace: Trace(
                            id: id, projectID: h.project.id, metadata: ["account": ["tier": .string(tier)]], input: "q", output: "a", startTime: start,
                            endTime: start.addingTimeInterval(1)),
                        observations: observations))
                scores.append(
                    Score(
                        id: "sc\(index)", projectID: h.project.id, traceID: id, name: "quality", dataType: .numeric,
                        numericValue: (recent ? 0.4 : 0.9) + Double(index % 7) * 0.01, source: .api, createdAt: now))
            }
            try await h.store.traces.insert(items)
            try await h.store.scores.insert(scores)
            let day = now.addingTimeInterval(-86_400), before = now.addingTimeInterval(-2 * 86_400)
            func iso(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }
            let window = "reference_from=\(iso(before))&reference_to=\(iso(day))&from=\(iso(day))&to=\(iso(now))"
            let reply = try await h.call(
                .get, "/api/v1/monitoring/drift?\(window)&column=score.quality,metadata.account.tier,finish_reason,model", key: h.adminKey)
            #expect(reply.status == .ok, "\(reply.text)")
            let columns = Dictionary(
                uniqueKeysWithValues: (reply.json["columns"] as? [[String: Any]] ?? []).map { ($0["column"] as? String ?? "", $0) })
            #expect(columns["score.quality"]?["type"] as? String == "numeric" && columns["score.quality"]?["drift_detected"] as? Bool == true)
            #expect(columns["metadata.account.tier"]?["drift_detected"] as? Bool == true, "\(reply.text)")
            #expect(columns["finish_reason"]?["drift_detected"] as? Bool == true, "\(reply.text)")
            #expect(columns["model"]?["drift_detected"] as? Bool == false)
            // Every feature by default: the scores are among them; tools are used in the current window only.
            let all = try await h.call(.get, "/api/v1/monitoring/drift?\(window)", key: h.adminKey)
            let names = Set((all.json["columns"] as? [[String: Any]] ?? []).compactMap { $0["column"] as? String })
            #expect(names.isSuperset(of: ["score.quality", "finish_reason", "latency_ms"]), "\(names)")
            #expect((all.json["skipped"] as? [[String: Any]] ?? []).contains { $0["column"] as? String == "tool" }, "\(all.text)")
            let monitor = try await h.call(
                .post, "/api/v1/monitoring/drift-monitors", key: h.adminKey,
                json: #"{"name": "outcomes", "columns": ["score.quality", "metadata.account.tier", "finish_reason"]}"#)
            #expect(monitor.status == .created, "\(monitor.text)")
            let report = try await h.call(.post, "/api/v1/monitoring/drift-monitors/outcomes/run", key: h.adminKey)
            #expect(Set(report.json["drifted"] as? [String] ?? []) == ["score.quality", "metadata.account.tier", "finish_reason"], "\(report.text)")
            for query in ["column=score.", "column=vibes"] {
                let bad = try await h.call(.get, "/api/v1/monitoring/drift?\(window)&\(query)", key: h.adminKey)
                #expect(bad.status == .badRequest && bad.errorField == "column", "\(query): \(bad.text)")
            }
        }
    }
}
