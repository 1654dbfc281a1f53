import Foundation
import HTTPTypes
import TernCore
import TernServer
import TernTestSupport
import Testing
import TernMonitor

@Suite("Trace explorer and metrics API")
struct ExplorerTests {
    /// Ingests a small spread of traces over two hours through the public API.
    static func ingest(_ h: Harness) async throws {
        var events: [String] = []
        for index in 0..<12 {
            let start = 1_795_773_600.0 + Double(index) * 600  // every 10 minutes from 2026-11-27T10:00Z
            let model = index % 3 == 0 ? "gpt-4o" : "gpt-4o-mini"
            // Every trace names its language, so the server's background detection never changes these results.
            let language = index % 2 == 0 ? #", "language": "fr""# : #", "language": "en""#
            events.append(
                """
                {"id": "t\(index)", "type": "trace-create", "body": {"id": "t\(index)", "name": "\(index % 4 == 0 ? "search" : "chat")",
                 "user_id": "user-\(index % 3)", "session_id": "s\(index % 2)", "tags": ["\(index % 2 == 0 ? "even" : "odd")"],
                 "metadata": {"task": "\(index % 2 == 0 ? "qa" : "summary")", "domain": "retail"\(language)}, "timestamp": \(start),
                 "input": "question <script>alert(\(index))</script>", "output": "answer \(index)"}}
                """)
            events.append(
                """
                {"id": "g\(index)", "type": "generation-create", "body": {"id": "g\(index)", "trace_id": "t\(index)", "model": "\(model)",
                 "start_time": \(start), "end_time": \(start + 0.1 * Double(index + 1)), "usage": {"input": \(100 * (index + 1)), "output": 10},
                 "level": "\(index == 5 ? "ERROR" : "DEFAULT")"}}
                """)
            events.append(
                """
                {"id": "sp\(index)", "type": "span-create", "body": {"id": "sp\(index)", "trace_id": "t\(index)", "parent_observation_id": "g\(index)",
                 "name": "tool", "start_time": \(start + 0.01), "end_time": \(start + 0.02)}}
                """)
        }
        let reply = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: #"{"batch": [\#(events.joined(separator: ","))]}"#)
        #expect(reply.status.code == 207)
        #expect((reply.json["errors"] as? [Any])?.isEmpty == true, "\(reply.text)")
        #expect(try await h.call(.post, "/api/v1/scores", key: h.adminKey, json: #"{"trace_id": "t3", "name": "quality", "value": 0.25}"#).status == .created)
    }

    @Test("GET /api/v1/traces filters, sorts and pages; detail carries the observation tree", arguments: StoreKind.available)
    func explorer(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.ingest(h)
            func ids(_ query: String) async throws -> [String] {
                let reply = try await h.call(.get, "/api/v1/traces?\(query)", key: h.adminKey)
                #expect(reply.status == .ok, "\(query): \(reply.text)")
                return reply.data.compactMap { $0["id"] as? String }
            }
            #expect(try await ids("model=gpt-4o") == ["t9", "t6", "t3", "t0"])
            #expect(try await ids("status=error") == ["t5"])
            #expect(try await ids("tag=odd&user_id=user-0") == ["t9", "t3"])
            #expect(try await ids("metadata.task=qa&name=search") == ["t8", "t4", "t0"])
            #expect(try await ids("task=summary&language=fr").isEmpty)
            #expect(try await ids("language=fr&session_id=s0&limit=2") == ["t10", "t8"])
            #expect(try await ids("score.quality.max=0.5") == ["t3"])
            #expect(try await ids("min_latency_ms=1000") == ["t11", "t10", "t9"])
            #expect(try await ids("q=answer%2011") == ["t11"])
            #expect(try await ids("sort=latency&limit=3") == ["t11", "t10", "t9"])
            #expect(try await ids("sort=cost&order=asc&limit=2&model=gpt-4o-mini") == ["t1", "t2"])
            #expect(try await ids("from=2026-11-27T10:55:00Z&to=2026-11-27T11:25:00Z") == ["t8", "t7", "t6"])

            let page = try await h.call(.get, "/api/v1/traces?limit=5&sort=latency", key: h.adminKey)
            let next = try #require(page.json["next_cursor"] as? String)
            let rest = try await h.call(.get, "/api/v1/traces?limit=5&sort=latency&cursor=\(next)", key: h.adminKey)
            #expect(rest.data.compactMap { $0["id"] as? String } == ["t6", "t5", "t4", "t3", "t2"])
            let first = try #require(page.data.first)
            #expect(first["model"] as? String == "gpt-4o-mini")
            #expect(first["task"] as? String == "summary")
            #expect(first["domain"] as? String == "retail")
            #expect(first["observation_count"] as? Int == 2)
            #expect(first["input_tokens"] as? Int == 1200)

            let bad = try await h.call(.get, "/api/v1/traces?colour=blue", key: h.adminKey)
            #expect(bad.status == .badRequest)
            #expect(bad.errorField == "colour")
            #expect(try await h.call(.get, "/api/v1/traces?sort=size", key: h.adminKey).errorField == "sort")
            #expect(try await h.call(.get, "/api/v1/traces?min_cost=lots", key: h.adminKey).errorField == "min_cost")

            let sessions = try await h.call(.get, "/api/v1/sessions?limit=5", key: h.adminKey)
            #expect(sessions.data.compactMap { $0["id"] as? String } == ["s1", "s0"], "most recently active first")
            #expect(sessions.data.first?["trace_count"] as? Int == 6)
            #expect(try await h.call(.get, "/api/v1/sessions?user_id=user-1", key: h.adminKey).data.map { $0["trace_count"] as? Int } == [2, 2])

            let detail = try await h.call(.get, "/api/v1/traces/t4", key: h.adminKey)
            let tree = try #require(detail.json["tree"] as? [[String: Any]])
            #expect(tree.map { $0["id"] as? String } == ["g4"])
            #expect(((tree[0]["children"] as? [[String: Any]]) ?? []).map { $0["id"] as? String } == ["sp4"])
            #expect((tree[0]["children"] as? [[String: Any]])?.first?["depth"] as? Int == 1)
        }
    }

    @Test("GET /api/v1/metrics: series and groups, from rollups once refreshed, and clear errors", arguments: StoreKind.available)
    func metrics(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.ingest(h)
            while try await MetricsEngine.refresh(h.store.metrics) > 0 {}
            let range = "from=2026-11-27T10:00:00Z&to=2026-11-27T12:00:00Z"
            let reply = try await h.call(.get, "/api/v1/metrics?\(range)&bucket=hour&group_by=model", key: h.adminKey)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.json["source"] as? String == "rollup")
            let totals = try #require(reply.json["totals"] as? [String: Any])
            #expect(totals["traces"] as? Int == 12)
            #expect(totals["errors"] as? Int == 1)
            #expect(totals["input_tokens"] as? Int == (1...12).reduce(0) { $0 + 100 * $1 })
            let series = try #require(reply.json["series"] as? [[String: Any]])
            #expect(series.count == 2)
            #expect(series.compactMap { ($0["metrics"] as? [String: Any])?["traces"] as? Int } == [6, 6])
            let groups = try #require(reply.json["groups"] as? [[String: Any]])
            #expect(groups.compactMap { $0["key"] as? String } == ["gpt-4o-mini", "gpt-4o"])
            #expect((groups[1]["totals"] as? [String: Any])?["traces"] as? Int == 4)
            let scores = (totals["scores"] as? [String: Any])?["quality"] as? [String: Any]
            #expect(scores?["mean"] as? Double == 0.25)

            let filtered = try await h.call(.get, "/api/v1/metrics?\(range)&bucket=minute&model=gpt-4o&group_by=language", key: h.adminKey)
            #expect(filtered.json["source"] as? String == "scan")
            #expect((filtered.json["series"] as? [Any])?.count == 120)
            let french = (filtered.json["groups"] as? [[String: Any]] ?? []).first { $0["key"] as? String == "fr" }
            #expect((french?["totals"] as? [String: Any])?["traces"] as? Int == 2, "t0 and t6 said French in their metadata")
            let english = (filtered.json["groups"] as? [[String: Any]] ?? []).first { $0["key"] as? String == "en" }
            #expect((english?["totals"] as? [String: Any])?["traces"] as? Int == 2)

            #expect(try await h.call(.get, "/api/v1/metrics?\(range)&bucket=fortnight", key: h.adminKey).errorField == "bucket")
            #expect(try await h.call(.get, "/api/v1/metrics?\(range)&group_by=colour", key: h.adminKey).errorField == "group_by")
            #expect(try await h.call(.get, "/api/v1/metrics?from=2020-01-01&to=2026-01-01&bucket=minute", key: h.adminKey).errorField == "bucket")
        }
    }

    @Test("the server's language detection files short greetings under `und`, not under nl or fi", arguments: StoreKind.available)
    func greetingsAreUndetermined(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let inputs = [
                "g1": #"[{"role": "system", "content": "You are a helpful assistant for our shop."}, {"role": "user", "content": "Hi"}]"#,
                "g2": "hello", "g3": "Hallo!",
                "s1": "Could you tell me where my order is? It was due to arrive yesterday.",
                "n1": "1234",
            ]
            let events = inputs.keys.sorted().map { id in
                #"{"id": "e-\#(id)", "type": "trace-create", "body": {"id": "\#(id)", "input": \#(JSONValue.string(inputs[id]!).jsonString())}}"#
            }
            let reply = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: #"{"batch": [\#(events.joined(separator: ","))]}"#)
            #expect(reply.status.code == 207 && (reply.json["errors"] as? [Any])?.isEmpty == true, "\(reply.text)")
            let detect = TernServerOptions(config: TernConfig()).detectLanguage
            while try await MetricsEngine.detectLanguages(h.store.metrics, detect: detect) > 0 {}
            var languages: [String: String?] = [:]
            for id in inputs.keys { languages[id] = try await h.store.traces.get(projectID: h.project.id, id: id)?.trace.language }
            #expect(languages == ["g1": "und", "g2": "und", "g3": "und", "s1": "en", "n1": nil])
            let undetermined = try await h.call(.get, "/api/v1/traces?language=und", key: h.adminKey)
            #expect(Set(undetermined.data.compactMap { $0["id"] as? String }) == ["g1", "g2", "g3"])
        }
    }

}
