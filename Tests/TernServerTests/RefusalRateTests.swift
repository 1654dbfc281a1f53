import Foundation
import TernCore
import TernMonitor
import TernTestSupport
import Testing

/// The refusal rate: a gap between languages (the two-proportion z-test) and an alert rule on it, on both stores,
/// counted in SQL as `TraceMeasure.isRefusal` counts in Swift.
@Suite("Refusal rate")
struct RefusalRateTests {
    static let refusals = ["I'm sorry, but I can\u{2019}t help with that.", "I cannot assist with this request.", "As an AI, I won't do that."]
    static let answers = ["Your parcel ships today.", "Here is the invoice you asked for.", "Sorry for the wait: it is fixed now."]

    @Test("German answers refuse far more often: flagged by the gaps analysis; an alert on refusal_rate fires", arguments: StoreKind.available)
    func gapAndAlert(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let now = Date()
            var items: [TraceBatchItem] = []
            var outputs: [String] = []
            for index in 0..<80 {
                let german = index < 40
                let refuses = german ? index % 5 < 2 : index % 20 == 0
                let output = refuses ? Self.refusals[index % 3] : Self.answers[index % 3]
                outputs.append(output)
                let start = now.addingTimeInterval(-Double(index + 1) * 60)
                var trace = Trace(id: "t\(index)", projectID: h.project.id, input: "q", output: output, startTime: start, endTime: start.addingTimeInterval(1))
                trace.language = german ? "de" : "en"
                items.append(TraceBatchItem(trace: trace, observations: []))
            }
            // One trace without an output: not counted.
            items.append(TraceBatchItem(trace: Trace(id: "silent", projectID: h.project.id, startTime: now.addingTimeInterval(-30)), observations: []))
            try await h.store.traces.insert(items)
            let expectedDE = Double(outputs[0..<40].count { TraceMeasure.isRefusal($0) }) / 40
            let expectedEN = Double(outputs[40...].count { TraceMeasure.isRefusal($0) }) / 40
            #expect(expectedDE == 0.4 && expectedEN == 0.05, "typographic apostrophes count; \"Sorry for the wait\" is no refusal")

            let gaps = try await h.call(.get, "/api/v1/monitoring/gaps?metric=refusal_rate&by=language&min_count=10", key: h.adminKey)
            #expect(gaps.status == .ok, "\(gaps.text)")
            let segments = Dictionary(
                uniqueKeysWithValues: (gaps.json["segments"] as? [[String: Any]] ?? []).map { ($0["segment"] as? String ?? "", $0) })
            #expect(segments["de"]?["mean"] as? Double == expectedDE && segments["en"]?["mean"] as? Double == expectedEN, "\(gaps.text)")
            #expect(segments["de"]?["count"] as? Int == 40 && segments["de"]?["flagged"] as? Bool == true, "\(gaps.text)")
            #expect(gaps.json["test"] as? String == "two-proportion z-test")

            let rule = try await h.call(
                .post, "/api/v1/alerts", key: h.adminKey,
                json: #"{"name": "refusals", "metric": "refusal_rate", "threshold": 0.1, "window_seconds": 86400}"#)
            #expect(rule.status == .created, "\(rule.text)")
            let fired = try await #require(h.alerts).evaluate()
            #expect(fired.first?.kind == .firing, "\(fired)")
            let stored = try #require(try await h.store.alerts.get(projectID: h.project.id, name: "refusals"))
            let measured = try await #require(h.alerts).measure(stored, now: Date())
            #expect(measured.count == 80 && measured.value == (expectedDE + expectedEN) / 2, "\(measured)")
            let bad = try await h.call(.get, "/api/v1/monitoring/gaps?metric=refusals_per_hour&by=language", key: h.adminKey)
            #expect(bad.status == .badRequest && bad.errorField == "metric")
        }
    }
}
