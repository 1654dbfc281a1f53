import Foundation
import HTTPTypes
import NIOCore
import TernCore
import TernGateway
import TernServer
import TernStoreSQLite
import TernTestSupport
import Testing
import TernMonitor

/// Regression tests of issue 14's defects: every number that enters is range-checked (400 naming the
/// field) and no stored value can make a read trap or fail; each reproduction ran against the server
/// before the fix and killed it (SIGILL) or made reads answer 500.
@Suite("Hardening: numbers that enter")
struct NumberBoundsTests {
    static let ingestCases: [(body: String, field: String)] = [
        (#"{"batch":[{"id":"c1","type":"trace-create","timestamp":1e300,"body":{"id":"tc1"}}]}"#, "batch[0].timestamp"),
        (#"{"batch":[{"id":"c2","type":"trace-create","body":{"id":"tc2","start_time":1e300}}]}"#, "batch[0].body.start_time"),
        (#"{"batch":[{"id":"c3","type":"trace-create","body":{"id":"tc3","start_time":-1e300}}]}"#, "batch[0].body.start_time"),
        (#"{"batch":[{"id":"c4","type":"trace-create","body":{"id":"tc4","end_time":1e300}}]}"#, "batch[0].body.end_time"),
        (#"{"batch":[{"id":"c5","type":"generation-create","body":{"id":"g5","trace_id":"tc5","end_time":-1e300}}]}"#, "batch[0].body.end_time"),
        (
            #"{"batch":[{"id":"c6","type":"generation-create","body":{"id":"g6","trace_id":"tc6","completion_start_time":1e300}}]}"#,
            "batch[0].body.completion_start_time"
        ),
        (#"{"batch":[{"id":"c7","type":"span-create","timestamp":9.3e15,"body":{"id":"s7","trace_id":"tc7"}}]}"#, "batch[0].timestamp"),
        (#"{"batch":[{"id":"c8","type":"score-create","timestamp":1e300,"body":{"trace_id":"tc8","name":"q","value":1}}]}"#, "batch[0].timestamp"),
        (
            #"{"batch":[{"id":"c9","type":"score-create","body":{"trace_id":"tc9","name":"q","value":1,"timestamp":-1e300}}]}"#,
            "batch[0].body.timestamp"
        ),
        (
            #"{"batch":[{"id":"c10","type":"generation-create","body":{"id":"g10","trace_id":"tc10","usage":{"input":8.99e15,"output":1}}}]}"#,
            "batch[0].body.usage.input"
        ),
        (
            #"{"batch":[{"id":"c11","type":"generation-create","body":{"id":"g11","trace_id":"tc11","usage":{"prompt_tokens":-1,"completion_tokens":1}}}]}"#,
            "batch[0].body.usage.prompt_tokens"
        ),
        (#"{"batch":[{"id":"c12","type":"generation-create","body":{"id":"g12","trace_id":"tc12","cost":1.7e308}}]}"#, "batch[0].body.cost"),
        (#"{"batch":[{"id":"c13","type":"generation-create","body":{"id":"g13","trace_id":"tc13","cost":-5}}]}"#, "batch[0].body.cost"),
        (#"{"batch":[{"id":"c14","type":"score-create","body":{"trace_id":"tc14","name":"q","value":1.7e308}}]}"#, "batch[0].body.value"),
    ]

    @Test(
        "ingest refuses out-of-range times, token counts, costs and scores per event, naming the field, and stores nothing of them",
        arguments: StoreKind.available)
    func ingest(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            for (body, field) in Self.ingestCases {
                let reply = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: body)
                #expect(reply.status.code == 207, "\(body): \(reply.text)")
                let errors = reply.json["errors"] as? [[String: Any]] ?? []
                #expect(errors.count == 1 && (reply.json["successes"] as? [Any])?.isEmpty == true, "\(body): \(reply.text)")
                #expect(errors.first?["field"] as? String == field, "\(body): \(reply.text)")
                #expect(errors.first?["status"] as? Int == 400, "\(body): \(reply.text)")
            }
            #expect(try await h.store.traces.count(projectID: h.project.id) == 0, "nothing half-written")
            #expect(try await h.call(.get, "/healthz").status == .ok)
        }
    }

    @Test(
        "query parameters out of range answer 400 naming the parameter: traces, sessions, metrics, from-traces, the UI",
        arguments: StoreKind.available)
    func queries(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let cases: [(String, String)] = [
                ("/api/v1/traces?from=1e300", "from"), ("/api/v1/traces?to=nan", "to"), ("/api/v1/traces?from=inf", "from"),
                ("/api/v1/traces?from=-1", "from"), ("/api/v1/traces?to=99999-01-01T00:00:00Z", "to"),
                ("/api/v1/sessions?from=1e300", "from"), ("/api/v1/metrics?from=-1e300&to=2026-01-01", "from"),
                ("/api/v1/metrics?from=2026-01-01&to=1e300", "to"), ("/api/v1/traces?min_latency_ms=1e300", "min_latency_ms"),
                ("/api/v1/traces?max_cost=inf", "max_cost"), ("/api/v1/traces?limit=99999999999999999999", "limit"),
            ]
            for (path, field) in cases {
                let reply = try await h.call(.get, path, key: h.adminKey)
                #expect(reply.status == .badRequest, "\(path): \(reply.text)")
                #expect(reply.errorField == field, "\(path): \(reply.text)")
            }
            _ = try await h.call(.post, "/api/v1/datasets", key: h.adminKey, json: #"{"name":"x"}"#)
            let fromTraces = try await h.call(.post, "/api/v1/datasets/x/from-traces", key: h.adminKey, json: #"{"filter":{"from":"1e300"}}"#)
            #expect(fromTraces.status == .badRequest, "\(fromTraces.text)")
            #expect(fromTraces.errorField == "filter.from", "\(fromTraces.text)")
            let limit = try await h.call(.post, "/api/v1/datasets/x/from-traces", key: h.adminKey, json: #"{"filter":{"status":"ok"},"limit":-5}"#)
            #expect(limit.errorField == "limit", "\(limit.text)")

            // The web UI reads the same filters: a viewer's page answers 400, and the server lives on.
            _ = try await h.call(
                .post, "/api/v1/users", key: h.adminKey,
                json: #"{"email": "vi@example.com", "role": "viewer", "password": "correct horse battery"}"#)
            let login = try await h.call(.post, "/api/v1/auth/login", json: #"{"email":"vi@example.com","password":"correct horse battery"}"#)
            let cookie = try #require(login.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            let page = try await h.call(.get, "/ui/default/traces?from=1e300", headers: [.cookie: cookie])
            #expect(page.status == .badRequest, "\(page.text.prefix(300))")
            #expect(try await h.call(.get, "/healthz").status == .ok)
        }
    }

    @Test("OTLP/JSON times beyond 64 bits or out of range and huge token counts answer 400 naming the field", arguments: StoreKind.available)
    func otlp(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            func span(start: String, tokens: String = "10") -> String {
                """
                {"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",
                 "spanId":"b7ad6b7169203331","name":"chat","startTimeUnixNano":\(start),"endTimeUnixNano":"1767225600000000000",
                 "attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},
                               {"key":"gen_ai.usage.input_tokens","value":{"intValue":\(tokens)}}]}]}]}]}
                """
            }
            let cases: [(String, String)] = [
                (span(start: #""1000000000000000000000000000000""#), "resourceSpans[0].scopeSpans.spans[0].startTimeUnixNano"),
                (span(start: "1e30"), "resourceSpans[0].scopeSpans.spans[0].startTimeUnixNano"),
                (span(start: #""soon""#), "resourceSpans[0].scopeSpans.spans[0].startTimeUnixNano"),
                (span(start: #""1767225600000000000""#, tokens: #""8990000000000000""#), "span b7ad6b7169203331: attribute gen_ai.usage.input_tokens"),
            ]
            for (body, field) in cases {
                let reply = try await h.call(.post, "/v1/traces", key: h.adminKey, json: body)
                #expect(reply.status == .badRequest, "\(reply.text)")
                // /v1/ answers in OpenAI's error shape: the field is `param`.
                #expect(reply.error["param"] as? String == field, "\(reply.text)")
            }
            #expect(try await h.store.traces.count(projectID: h.project.id) == 0)
            let ok = try await h.call(.post, "/v1/traces", key: h.adminKey, json: span(start: #""1767225600000000000""#))
            #expect(ok.status == .ok, "\(ok.text)")
        }
    }

    @Test("a model change through the API with out-of-range timeouts, cooldowns, prices or weights is refused", arguments: StoreKind.available)
    func modelSettings(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let base =
                #"{"name":"m","deployments":[{"name":"d","provider":"local","model":"all-minilm-l6-v2"XX}],"routing":{"split":{SPLIT},"rules":[],"fallbacks":[],"strategy":"weighted","retries":1,"allowed_fails":3,"cooldown_seconds":COOL}YY}"#
            let cases: [(String, String, String, String, String)] = [
                (#","timeout_seconds":1e300"#, "", "", "30", "model.deployments[0].timeout_seconds"),
                ("", "", "", "1e300", "model.routing.cooldown_seconds"),
                (#","price":{"input_per_mtok":1e300,"output_per_mtok":1}"#, "", "", "30", "model.deployments[0].price.input_per_mtok"),
                ("", "", #""d":1e300"#, "30", "model.routing.split.d"),
                ("", #","cache":{"enabled":true,"ttl_seconds":-1}"#, "", "30", "model.cache.ttl_seconds"),
            ]
            for (deployment, model, split, cooldown, field) in cases {
                let body = base.replacingOccurrences(of: "XX", with: deployment).replacingOccurrences(of: "YY", with: model)
                    .replacingOccurrences(of: "SPLIT", with: split).replacingOccurrences(of: "COOL", with: cooldown)
                let reply = try await h.call(.put, "/api/v1/models/m", key: h.adminKey, json: body)
                #expect(reply.status == .badRequest, "\(body): \(reply.text)")
                #expect(reply.errorField == field, "\(body): \(reply.text)")
            }
        }
    }
}

@Suite("Hardening: totals that overflow")
struct OverflowTests {
    @Test(
        "1,100 generations of 8.99e15 tokens are refused; stored rows near the 64-bit limit and costs of 1.7e308 leave metrics, the dashboard and the trace list answering",
        arguments: StoreKind.available)
    func overflowingTotals(kind: StoreKind) async throws {
        try await withHarness(kind, configure: { $0.server.maxBodyBytes = 1 << 20 }) { h in
            for part in 0..<2 {
                let events = (0..<550).map {
                    #"{"id":"e\#(part)-\#($0)","type":"generation-create","body":{"id":"g\#(part)-\#($0)","trace_id":"big","model":"gpt-4o","usage":{"input":8.99e15,"output":8.99e15}}}"#
                }.joined(separator: ",")
                let reply = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: #"{"batch":[\#(events)]}"#)
                #expect(reply.status.code == 207, "\(reply.text.prefix(300))")
                #expect((reply.json["errors"] as? [Any])?.count == 550)
            }
            #expect(try await h.store.traces.count(projectID: h.project.id) == 0)

            // Rows written before the bounds existed (straight through the store): sums past Int64 and Double.
            let now = Date().addingTimeInterval(-60)
            var items: [TraceBatchItem] = []
            for index in 0..<3 {
                let id = "old-\(index)"
                let observation = Observation(
                    id: "o\(index)", traceID: id, projectID: h.project.id, type: .generation, startTime: now,
                    endTime: now.addingTimeInterval(1), model: "gpt-4o",
                    usage: TokenUsage(inputTokens: 4_000_000_000_000_000_000, outputTokens: 4_000_000_000_000_000_000),
                    cost: 1.7e308)
                items.append(
                    TraceBatchItem(
                        trace: Trace(id: id, projectID: h.project.id, startTime: now, endTime: now.addingTimeInterval(1)),
                        observations: [observation]))
            }
            try await h.store.traces.insert(items)
            await MonitoringJob(store: h.store, logger: h.logs.logger(label: "job")).run(detect: { _ in nil })
            let range = "from=\(Int(now.timeIntervalSince1970) - 3600)&to=\(Int(now.timeIntervalSince1970) + 3600)"
            for path in [
                "/api/v1/metrics?\(range)", "/api/v1/metrics?\(range)&group_by=model", "/api/v1/metrics?\(range)&model=gpt-4o",
                "/api/v1/traces", "/api/v1/traces?sort=cost", "/api/v1/sessions",
            ] {
                let answer = try await h.call(.get, path, key: h.adminKey)
                #expect(answer.status == .ok, "\(path): \(answer.text.prefix(300))")
            }
            let metrics = try await h.call(.get, "/api/v1/metrics?\(range)", key: h.adminKey)
            let totals = metrics.json["totals"] as? [String: Any] ?? [:]
            if kind == .sqlite {
                #expect(((totals["input_tokens"] as? NSNumber)?.doubleValue ?? 0) > 9e18, "saturated, not wrapped: \(totals)")
            } else {
                // PostgreSQL's observation token columns are 32-bit: the store keeps at most 2^31-1 a call.
                #expect(((totals["input_tokens"] as? NSNumber)?.doubleValue ?? 0) >= 3 * 2_147_483_647.0, "\(totals)")
            }
            #expect(((totals["cost"] as? NSNumber)?.doubleValue).map { $0.isFinite && $0 > 1e308 } == true, "\(totals)")

            _ = try await h.call(
                .post, "/api/v1/users", key: h.adminKey,
                json: #"{"email": "ad@example.com", "role": "admin", "password": "correct horse battery"}"#)
            let login = try await h.call(.post, "/api/v1/auth/login", json: #"{"email":"ad@example.com","password":"correct horse battery"}"#)
            let cookie = try #require(login.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            for page in ["/ui/default/dashboard", "/ui/default/traces", "/ui/default/traces?sort=cost", "/ui/default/sessions", "/ui/default/users"] {
                #expect(try await h.call(.get, page, headers: [.cookie: cookie]).status == .ok, "\(page)")
            }
        }
    }

    @Test("SQLite: a trace whose stored total cost is infinite (two costs of 1.7e308 added) still lists, sorts and sums")
    func infiniteStoredCost() async throws {
        try await withHarness(.sqlite) { h in
            let now = Date().addingTimeInterval(-60)
            try await h.store.traces.insert([TraceBatchItem(trace: Trace(id: "inf", projectID: h.project.id, startTime: now), observations: [])])
            let sqlite = try #require(h.store as? SQLiteStore)
            try await sqlite.execute(sql: "UPDATE traces SET total_cost = 9e999, input_tokens = 9223372036854775807 WHERE id = 'inf'")
            await MonitoringJob(store: h.store, logger: h.logs.logger(label: "job")).run(detect: { _ in nil })
            let range = "from=\(Int(now.timeIntervalSince1970) - 3600)&to=\(Int(now.timeIntervalSince1970) + 3600)"
            for path in [
                "/api/v1/traces", "/api/v1/traces?sort=cost", "/api/v1/metrics?\(range)", "/api/v1/metrics?\(range)&model=x",
                "/api/v1/traces/inf", "/api/v1/sessions",
            ] {
                let answer = try await h.call(.get, path, key: h.adminKey)
                #expect(answer.status == .ok, "\(path): \(answer.text.prefix(300))")
            }
        }
    }
}
