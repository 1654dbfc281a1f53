import Foundation
import HTTPTypes
import TernCore
import TernIngest
import TernServer
import TernTestSupport
import Testing

@Suite("Ingest API")
struct IngestTests {
    static let batch = """
        {"batch": [
          {"id": "e1", "type": "trace-create", "timestamp": "2026-11-27T10:00:00.000Z",
           "body": {"id": "t1", "name": "checkout", "user_id": "ada", "session_id": "s1", "tags": ["web"], "metadata": {"task": "faq"},
                    "input": {"question": "Where is my order?"}, "output": "On its way"}},
          {"id": "e2", "type": "generation-create",
           "body": {"id": "o1", "trace_id": "t1", "name": "answer", "model": "gpt-4o-mini", "start_time": "2026-11-27T10:00:00.100Z",
                    "end_time": "2026-11-27T10:00:01.100Z", "usage": {"prompt_tokens": 1000, "completion_tokens": 500},
                    "model_parameters": {"temperature": 0.2}, "input": [{"role": "user", "content": "Where is my order?"}], "output": "On its way"}},
          {"id": "e3", "type": "span-create", "body": {"id": "o2", "trace_id": "t1", "parent_observation_id": "o1", "name": "lookup",
                                                     "start_time": 1795773600.2, "end_time": 1795773600.3}},
          {"id": "e4", "type": "score-create", "body": {"trace_id": "t1", "name": "helpful", "value": 0.9, "source": "model", "comment": "good"}},
          {"id": "e5", "type": "generation-create", "body": {"name": "no trace"}},
          {"id": "e6", "type": "score-create", "body": {"trace_id": "t1", "name": "tone", "value": "grumpy"}},
          {"id": "e7", "type": "teleport", "body": {}}
        ]}
        """

    @Test("a batch: traces, observations and scores stored; bad events reported one by one; a retry adds nothing", arguments: StoreKind.available)
    func ingest(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            _ = try await h.store.scoreConfigs.create(
                ScoreConfig(
                    id: TernID.make(), projectID: h.project.id, name: "tone", dataType: .categorical, categories: ["polite", "rude"], createdAt: Date()))
            let reply = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: Self.batch)
            #expect(reply.status.code == 207)
            let successes = (reply.json["successes"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(successes == ["e1", "e2", "e3", "e4"])
            let errors = reply.json["errors"] as? [[String: Any]] ?? []
            #expect(errors.map { $0["id"] as? String } == ["e5", "e6", "e7"])
            #expect(errors.first?["field"] as? String == "batch[4].body.trace_id")
            #expect(errors.first?["status"] as? Int == 400)
            #expect((errors[1]["message"] as? String)?.contains("polite, rude") == true, "score configs validate new scores")
            #expect(errors[2]["field"] as? String == "batch[6].type")

            let detail = try #require(try await h.store.traces.get(projectID: h.project.id, id: "t1"))
            #expect(detail.trace.name == "checkout")
            #expect(detail.trace.userID == "ada")
            #expect(detail.trace.input == #"{"question":"Where is my order?"}"#)
            #expect(detail.observations.map(\.id) == ["o1", "o2"])
            let generation = detail.observations[0]
            #expect(generation.type == .generation)
            #expect(generation.usage == TokenUsage(inputTokens: 1000, outputTokens: 500))
            // gpt-4o-mini from the price table: 1000 x $0.15/M + 500 x $0.60/M.
            #expect(abs((generation.cost ?? 0) - 0.00045) < 1e-12)
            #expect(detail.observations[1].parentID == "o1")
            #expect(detail.observations[1].type == .span)
            let scores = try await h.store.scores.list(projectID: h.project.id, traceID: "t1")
            #expect(scores.map(\.name) == ["helpful"])
            #expect(scores.first?.source == .model)
            #expect(scores.first?.numericValue == 0.9)
            #expect(scores.first?.id == "e4", "an entity without an id takes its event's id")

            let retry = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: Self.batch)
            #expect(retry.status.code == 207)
            #expect(try await h.store.traces.count(projectID: h.project.id) == 1)
            #expect(try await h.store.traces.get(projectID: h.project.id, id: "t1")?.observations.count == 2)
            #expect(try await h.store.scores.count(projectID: h.project.id) == 1)
        }
    }

    @Test("the 207 answer is compact JSON with sorted keys; ids and messages are escaped")
    func answerEncoding() async throws {
        try await withHarness(.sqlite) { h in
            let id = #"e\"/8 \u00e9\n\\x"#  // JSON escapes: a quote, a slash, é, a newline, a backslash
            let batch = #"{"batch": [{"id": "ok1", "type": "trace-create", "body": {"id": "t-enc"}}, {"id": "\#(id)", "type": "nope\"", "body": {}}]}"#
            let reply = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: batch)
            #expect(reply.status.code == 207)
            #expect(reply.headers[.contentType] == "application/json; charset=utf-8")
            let errors = reply.json["errors"] as? [[String: Any]] ?? []
            #expect(errors.count == 1)
            #expect(errors.first?["id"] as? String == "e\"/8 \u{e9}\n\\x")
            #expect(errors.first?["field"] as? String == "batch[1].type")
            #expect((errors.first?["message"] as? String)?.contains(#"nope""#) == true)
            #expect((reply.json["successes"] as? [[String: Any]])?.first?["id"] as? String == "ok1")
            // Byte for byte what JSONSerialization writes for the same value with sorted keys and unescaped slashes.
            let object = try JSONSerialization.jsonObject(with: Data(reply.text.utf8))
            let canonical = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            #expect(reply.text == String(decoding: canonical, as: UTF8.self))
        }
    }

    @Test("limits and bad input: batch size, missing batch, malformed JSON, viewers")
    func badInput() async throws {
        try await withHarness { h in
            // One event over the limit is refused whole; exactly the limit is accepted.
            func batch(_ count: Int, prefix: String) -> String {
                let events = (0..<count).map { #"{"id":"\#(prefix)\#($0)","type":"trace-create","body":{"id":"\#(prefix)\#($0)"}}"# }
                return #"{"batch":[\#(events.joined(separator: ","))]}"#
            }
            let tooMany = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: batch(IngestBatchMapper.maxEvents + 1, prefix: "over"))
            #expect(tooMany.status == .contentTooLarge)
            #expect(tooMany.errorField == "batch")
            #expect(try await h.store.traces.count(projectID: h.project.id) == 0, "an oversized batch stores nothing")
            let full = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: batch(IngestBatchMapper.maxEvents, prefix: "full"))
            #expect(full.status.code == 207, "\(full.text.prefix(300))")
            #expect((full.json["successes"] as? [Any])?.count == IngestBatchMapper.maxEvents)
            #expect(try await h.store.traces.count(projectID: h.project.id) == IngestBatchMapper.maxEvents)
            #expect(try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: #"{"events":[]}"#).errorField == "batch")
            #expect(try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: #"{"batch": ["#).errorCode == "malformed_json")
            let viewer = try await h.createKey(name: "v", role: "viewer", as: h.adminKey)
            #expect(try await h.call(.post, "/api/v1/ingest", key: viewer, json: #"{"batch":[]}"#).status == .forbidden)
        }
    }
}

@Suite("Scores API")
struct ScoresAPITests {
    @Test("score configs are created and enforced; scores land on the trace with their author")
    func scores() async throws {
        try await withHarness { h in
            _ = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: #"{"batch":[{"id":"e1","type":"trace-create","body":{"id":"t1"}}]}"#)
            let config = try await h.call(
                .post, "/api/v1/score-configs", key: h.adminKey,
                json: #"{"name":"quality","data_type":"numeric","min_value":1,"max_value":5}"#)
            #expect(config.status == .created)
            let bad = try await h.call(.post, "/api/v1/score-configs", key: h.adminKey, json: #"{"name":"tone","data_type":"categorical"}"#)
            #expect(bad.errorField == "categories")
            let duplicate = try await h.call(.post, "/api/v1/score-configs", key: h.adminKey, json: #"{"name":"quality","data_type":"boolean"}"#)
            #expect(duplicate.status == .conflict)
            #expect(try await h.call(.get, "/api/v1/score-configs", key: h.adminKey).data.count == 1)

            let ok = try await h.call(.post, "/api/v1/scores", key: h.adminKey, json: #"{"trace_id":"t1","name":"quality","value":4,"comment":"fine"}"#)
            #expect(ok.status == .created)
            #expect(ok.json["source"] as? String == "api")
            #expect((ok.json["author"] as? String)?.hasPrefix("key:") == true)
            let outOfRange = try await h.call(.post, "/api/v1/scores", key: h.adminKey, json: #"{"trace_id":"t1","name":"quality","value":9}"#)
            #expect(outOfRange.status == .badRequest)
            #expect(outOfRange.errorField == "value")
            let noTrace = try await h.call(.post, "/api/v1/scores", key: h.adminKey, json: #"{"trace_id":"nope","name":"quality","value":3}"#)
            #expect(noTrace.status == .notFound)
            let detail = try await h.call(.get, "/api/v1/traces/t1", key: h.adminKey)
            let scores = detail.json["scores"] as? [[String: Any]]
            #expect(scores?.count == 1)
            #expect(scores?.first?["numeric_value"] as? Double == 4)
            let viewer = try await h.createKey(name: "v", role: "viewer", as: h.adminKey)
            #expect(try await h.call(.post, "/api/v1/scores", key: viewer, json: #"{"trace_id":"t1","name":"quality","value":3}"#).status == .forbidden)
        }
    }

    @Test("without a score config the first score of a name fixes its type, through the API, ingest batches and the UI form", arguments: StoreKind.available)
    func firstScoreFixesType(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            _ = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: #"{"batch":[{"id":"e1","type":"trace-create","body":{"id":"t1"}}]}"#)
            let first = try await h.call(.post, "/api/v1/scores", key: h.adminKey, json: #"{"trace_id":"t1","name":"accuracy","value":0.8}"#)
            #expect(first.status == .created)
            let text = try await h.call(.post, "/api/v1/scores", key: h.adminKey, json: #"{"trace_id":"t1","name":"accuracy","value":"good"}"#)
            #expect(text.status == .badRequest)
            #expect(text.errorField == "value")
            #expect((text.error["message"] as? String)?.contains("score \"accuracy\" holds numeric values") == true, "\(text.text)")
            let declared = try await h.call(
                .post, "/api/v1/scores", key: h.adminKey, json: #"{"trace_id":"t1","name":"accuracy","value":"good","data_type":"categorical"}"#)
            #expect(declared.status == .badRequest && declared.errorField == "data_type", "declaring another type does not change it")
            let flag = try await h.call(.post, "/api/v1/scores", key: h.adminKey, json: #"{"trace_id":"t1","name":"accuracy","value":true}"#)
            #expect(flag.errorField == "value")
            #expect(try await h.call(.post, "/api/v1/scores", key: h.adminKey, json: #"{"trace_id":"t1","name":"accuracy","value":1}"#).status == .created)
            #expect(try await h.call(.post, "/api/v1/scores", key: h.adminKey, json: #"{"trace_id":"t1","name":"verdict","value":"good"}"#).status == .created)

            // In one batch, the first score of a new name fixes it for the events after it.
            let batch = try await h.call(
                .post, "/api/v1/ingest", key: h.adminKey,
                json: """
                    {"batch":[
                      {"id":"s1","type":"score-create","body":{"trace_id":"t1","name":"tone","value":"polite"}},
                      {"id":"s2","type":"score-create","body":{"trace_id":"t1","name":"tone","value":3}},
                      {"id":"s3","type":"score-create","body":{"trace_id":"t1","name":"accuracy","value":"bad"}},
                      {"id":"s4","type":"score-create","body":{"trace_id":"t1","name":"tone","value":"curt"}}
                    ]}
                    """)
            #expect(batch.status.code == 207)
            #expect((batch.json["successes"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["s1", "s4"])
            let errors = batch.json["errors"] as? [[String: Any]] ?? []
            #expect(errors.compactMap { $0["field"] as? String } == ["batch[1].body.value", "batch[2].body.value"])
            let stored = try await h.store.scores.list(projectID: h.project.id, traceID: "t1")
            #expect(
                Dictionary(grouping: stored, by: \.name).mapValues { Set($0.map(\.dataType)) } == [
                    "accuracy": [.numeric], "verdict": [.categorical], "tone": [.categorical],
                ])
        }
    }
}

@Suite("Retention")
struct RetentionTests {
    @Test("retention days are set per project and the job deletes what is older")
    func retention() async throws {
        try await withHarness { h in
            let old = Date().addingTimeInterval(-10 * 86_400).timeIntervalSince1970
            _ = try await h.call(
                .post, "/api/v1/ingest", key: h.adminKey,
                json: """
                    {"batch":[{"id":"e1","type":"trace-create","body":{"id":"old","start_time":\(old)}},
                              {"id":"e2","type":"trace-create","body":{"id":"new"}}]}
                    """)
            let bad = try await h.call(.patch, "/api/v1/projects/default", key: h.adminKey, json: #"{"retention_days":0}"#)
            #expect(bad.errorField == "retention_days")
            let set = try await h.call(.patch, "/api/v1/projects/default", key: h.adminKey, json: #"{"retention_days":7}"#)
            #expect(set.json["retention_days"] as? Int == 7)
            let deleted = try await Retention.enforce(h.store)
            #expect(deleted["default"] == 1)
            #expect(try await h.store.traces.get(projectID: h.project.id, id: "old") == nil)
            #expect(try await h.store.traces.get(projectID: h.project.id, id: "new") != nil)
            let forever = try await h.call(.patch, "/api/v1/projects/default", key: h.adminKey, json: #"{"retention_days":null}"#)
            #expect(forever.json["retention_days"] == nil)
        }
    }
}
