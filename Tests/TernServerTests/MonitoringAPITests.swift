import Foundation
import TernCore
import TernMonitor
import TernTestSupport
import Testing

/// `GET /api/v1/monitoring/gaps`: gaps between segments from the stored traces, equal to the statistics
/// computed from the raw values.
@Suite("Monitoring API: gaps")
struct MonitoringAPITests {
    @Test(
        "latency by language flags the slow language; the figures equal the statistics of the raw values; error rates use the z-test",
        arguments: StoreKind.available)
    func gaps(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let start = Timestamp.date(Timestamp.micros(Date().addingTimeInterval(-3600)))
            var items: [TraceBatchItem] = []
            var raw: [String: [Double]] = [:]
            for (language, base, count) in [("en", 100.0, 60), ("de", 180.0, 40), ("fr", 104.0, 35), ("ja", 90.0, 10)] {
                for index in 0..<count {
                    let latency = base + Double((index * 37) % 23) - 11
                    raw[language, default: []].append(latency)
                    var trace = Trace(
                        id: "\(language)-\(index)", projectID: h.project.id, startTime: start,
                        endTime: start.addingTimeInterval(latency / 1000))
                    trace.language = language
                    let failed = language == "de" && index % 4 == 0
                    items.append(
                        TraceBatchItem(
                            trace: trace,
                            observations: [
                                Observation(
                                    id: "o-\(language)-\(index)", traceID: trace.id, projectID: h.project.id, type: .generation, startTime: start,
                                    endTime: trace.endTime, model: "m", level: failed ? .error : .default)
                            ]))
                }
            }
            try await h.store.traces.insert(items)
            let reply = try await h.call(.get, "/api/v1/monitoring/gaps?metric=latency&by=language", key: h.adminKey)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.json["test"] as? String == "Welch's t-test" && reply.json["correction"] as? String == "Benjamini-Hochberg")
            let segments = try #require(reply.json["segments"] as? [[String: Any]])
            let byName = Dictionary(uniqueKeysWithValues: segments.map { ($0["segment"] as? String ?? "", $0) })
            // Against the rest (the slow German traffic included), English is fast and German slow: both significant.
            #expect(byName["de"]?["flagged"] as? Bool == true && (byName["de"]?["gap"] as? Double ?? 0) > 50)
            #expect(byName["en"]?["flagged"] as? Bool == true && (byName["en"]?["gap"] as? Double ?? 0) < 0)
            // A minimum gap of 50 ms keeps only the German one.
            let wide = try await h.call(.get, "/api/v1/monitoring/gaps?metric=latency&by=language&min_gap=50", key: h.adminKey)
            let flagged = (wide.json["segments"] as? [[String: Any]] ?? []).filter { $0["flagged"] as? Bool == true }.compactMap { $0["segment"] as? String }
            #expect(flagged == ["de"], "\(wide.text)")
            #expect(byName["ja"]?["p_value"] is NSNull && byName["ja"]?["note"] as? String == "fewer than 30 values")
            // The same analysis of the raw values, in the server's order (largest segment first).
            let order = segments.compactMap { $0["segment"] as? String }
            let expected = SegmentGaps.analyse(order.map { SegmentSummary(segment: $0, values: raw[$0] ?? []) }, kind: .mean)
            for (row, want) in zip(segments, expected) {
                let mean = try #require(row["mean"] as? Double)
                #expect(abs(mean - want.mean) < 1e-6, "\(row)")
                if let p = row["p_value"] as? Double, let wantP = want.pValue {
                    #expect(abs(p - wantP) <= 1e-6 * max(wantP, 1e-300) + 1e-12, "\(row) vs \(want)")
                } else {
                    #expect(want.pValue == nil)
                }
            }
            let errors = try await h.call(.get, "/api/v1/monitoring/gaps?metric=error_rate&by=language&min_count=10", key: h.adminKey)
            #expect(errors.json["kind"] as? String == "rate" && errors.json["test"] as? String == "two-proportion z-test", "\(errors.text)")
            let de = (errors.json["segments"] as? [[String: Any]])?.first { $0["segment"] as? String == "de" }
            #expect(de?["mean"] as? Double == 0.25 && de?["flagged"] as? Bool == true, "\(errors.text)")
            // Trace filters apply: only German traffic leaves one segment and nothing to compare it with.
            let filtered = try await h.call(.get, "/api/v1/monitoring/gaps?metric=latency&by=language&language=de", key: h.adminKey)
            #expect((filtered.json["segments"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test("drift between a reference window and the current one: latency and language drift, tokens do not", arguments: StoreKind.available)
    func drift(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let now = Timestamp.date(Timestamp.micros(Date()))
            var items: [TraceBatchItem] = []
            for index in 0..<200 {
                for (window, shift) in [("ref", -2 * 86_400.0), ("cur", -3600.0)] {
                    let start = now.addingTimeInterval(shift + Double(index))
                    let latency = (window == "ref" ? 100.0 : 160.0) + Double((index * 13) % 40)
                    var trace = Trace(
                        id: "\(window)-\(index)", projectID: h.project.id, input: "question", output: "answer", startTime: start,
                        endTime: start.addingTimeInterval(latency / 1000))
                    trace.language = window == "ref" ? ["en", "de"][index % 2] : ["en", "de", "ja"][index % 3]
                    items.append(
                        TraceBatchItem(
                            trace: trace,
                            observations: [
                                Observation(
                                    id: "o-\(window)-\(index)", traceID: trace.id, projectID: h.project.id, type: .generation, startTime: start,
                                    endTime: trace.endTime, model: "m", usage: TokenUsage(inputTokens: 10 + index % 7, outputTokens: 5 + index % 5))
                            ]))
                }
            }
            try await h.store.traces.insert(items)
            let from = Int(now.addingTimeInterval(-3 * 86_400).timeIntervalSince1970), to = Int(now.addingTimeInterval(-86_400).timeIntervalSince1970)
            let current = Int(now.addingTimeInterval(-7200).timeIntervalSince1970)
            let reply = try await h.call(
                .get, "/api/v1/monitoring/drift?reference_from=\(from)&reference_to=\(to)&from=\(current)&column=latency_ms,language,input_tokens",
                key: h.adminKey)
            #expect(reply.status == .ok, "\(reply.text)")
            let columns = try #require(reply.json["columns"] as? [[String: Any]])
            let byName = Dictionary(uniqueKeysWithValues: columns.map { ($0["column"] as? String ?? "", $0) })
            #expect(byName["latency_ms"]?["stattest"] as? String == "ks" && byName["latency_ms"]?["drift_detected"] as? Bool == true)
            #expect(byName["language"]?["stattest"] as? String == "chisquare" && byName["language"]?["drift_detected"] as? Bool == true)
            #expect(byName["input_tokens"]?["drift_detected"] as? Bool == false)
            #expect((reply.json["reference"] as? [String: Any])?["rows"] as? Int == 200 && (reply.json["current"] as? [String: Any])?["rows"] as? Int == 200)
            #expect(reply.json["dataset_drift"] as? Bool == true)
            let bad = try await h.call(.get, "/api/v1/monitoring/drift?reference_from=\(from)&reference_to=\(to)&column=colour", key: h.adminKey)
            #expect(bad.status == .badRequest && bad.errorField == "column")
            let missing = try await h.call(.get, "/api/v1/monitoring/drift?from=\(current)", key: h.adminKey)
            #expect(missing.status == .badRequest && missing.errorField == "reference_from")
        }
    }

    @Test("bad parameters are refused naming the parameter")
    func refusals() async throws {
        try await withHarness(.sqlite) { h in
            for (query, field) in [
                ("by=language", "metric"), ("metric=latency", "by"), ("metric=speed&by=language", "metric"), ("metric=latency&by=colour", "by"),
                ("metric=latency&by=language&alpha=2", "alpha"), ("metric=latency&by=language&min_count=1", "min_count"),
                ("metric=latency&by=language&modle=x", "modle"),
            ] {
                let reply = try await h.call(.get, "/api/v1/monitoring/gaps?\(query)", key: h.adminKey)
                #expect(reply.status == .badRequest && reply.errorField == field, "\(query): \(reply.text)")
            }
        }
    }
}
