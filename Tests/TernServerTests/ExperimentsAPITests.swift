import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import TernCore
import TernServer
import TernTestSupport
import Testing

/// Models of the experiment tests: echo-* answer with the rendered prompt (see StubUpstream).
let experimentModels = """
      echo-a:
        deployments:
          - {name: a, provider: openai, model: echo-a, price: {input_per_mtok: 1000, output_per_mtok: 2000}}
      echo-b:
        deployments:
          - {name: b, provider: openai, model: echo-b, price: {input_per_mtok: 500, output_per_mtok: 1000}}
      echo-slow:
        deployments:
          - {name: slow, provider: openai, model: echo-slow}
      judge:
        deployments:
          - {name: j, provider: openai, model: judge-model, price: {input_per_mtok: 100, output_per_mtok: 100}}
    """

/// A dataset and two prompt versions whose outputs differ per item in a known way.
///
/// Outputs are the rendered prompts: v1 "Q <word>", v2 "R <word>". The assertion passes
/// "Q alpha", "Q beta", "Q gamma", "R alpha" and "R delta", so from v1 to v2: alpha passes in both,
/// beta and gamma regress, delta improves.
struct ExperimentFixture {
    static let assertion = #"{"type": "regex", "value": "^(Q (alpha|beta|gamma)|R (alpha|delta))$"}"#

    static func seed(_ h: Harness) async throws {
        #expect(try await h.call(.post, "/api/v1/datasets", key: h.adminKey, json: #"{"name": "words"}"#).status == .created)
        let items = try await h.call(
            .post, "/api/v1/datasets/words/items", key: h.adminKey,
            json: """
                {"items": [{"id": "alpha", "input": {"word": "alpha"}}, {"id": "beta", "input": {"word": "beta"}},
                           {"id": "delta", "input": {"word": "delta"}}, {"id": "gamma", "input": {"word": "gamma"}}]}
                """)
        #expect(items.status == .created, "\(items.text)")
        for template in ["Q {{ word }}", "R {{ word }}"] {
            let push = try await h.call(.post, "/api/v1/prompts", key: h.adminKey, json: #"{"name": "qa", "prompt": "\#(template)"}"#)
            #expect(push.status == .created, "\(push.text)")
        }
    }

    /// Starts a run; returns its id.
    static func start(_ h: Harness, _ body: String) async throws -> String {
        let reply = try await h.call(.post, "/api/v1/experiments", key: h.adminKey, json: body)
        #expect(reply.status == .accepted, "\(reply.text)")
        #expect(reply.json["status"] as? String == "queued")
        return try #require(reply.json["id"] as? String)
    }

    /// Waits (server side, `?wait=`) until the run has finished.
    static func finished(_ h: Harness, _ id: String) async throws -> Harness.Reply {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let reply = try await h.call(.get, "/api/v1/experiments/\(id)?wait=20", key: h.adminKey)
            let status = reply.json["status"] as? String
            if ["completed", "failed", "cancelled"].contains(status ?? "") || ContinuousClock.now > deadline { return reply }
        }
    }

    /// Every cell of a run, through the keyset pages of the results endpoint.
    static func cells(_ h: Harness, _ id: String, pageSize: Int = 5) async throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var cursor: String?
        repeat {
            let reply = try await h.call(.get, "/api/v1/experiments/\(id)/results?limit=\(pageSize)" + (cursor.map { "&cursor=\($0)" } ?? ""), key: h.adminKey)
            #expect(reply.status == .ok, "\(reply.text)")
            all += reply.data
            cursor = reply.json["next_cursor"] as? String
        } while cursor != nil
        return all
    }

    /// McNemar's exact two-sided p-value, computed here from its definition (binomial, p = 1/2).
    static func exactMcNemar(b: Int, c: Int) -> Double {
        let n = b + c
        func choose(_ n: Int, _ k: Int) -> Double { k == 0 ? 1 : (1...k).reduce(1.0) { $0 * Double(n - $1 + 1) / Double($1) } }
        let tail = (0...min(b, c)).reduce(0.0) { $0 + choose(n, $1) } / pow(2, Double(n))
        return min(1, 2 * tail)
    }
}

@Suite("Experiments API", .timeLimit(.minutes(5)))
struct ExperimentsAPITests {
    @Test(
        "a 2 prompts x 2 models run over 4 items: every cell traced and costed through the gateway; summary, columns, pages",
        arguments: StoreKind.available)
    func endToEnd(kind: StoreKind) async throws {
        try await withGateway(kind, models: experimentModels) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            let id = try await ExperimentFixture.start(
                h,
                """
                {"name": "q vs r", "dataset": "words", "prompts": ["qa@1", "qa@2"], "models": ["echo-a", "echo-b"],
                 "assert": [\(ExperimentFixture.assertion)], "options": {"max_concurrency": 3}}
                """)
            let run = try await ExperimentFixture.finished(h, id)
            #expect(run.json["status"] as? String == "completed", "\(run.text)")
            let summary = try #require(run.json["summary"] as? [String: Any])
            #expect(summary["cells"] as? Int == 16 && summary["planned_cells"] as? Int == 16)
            #expect(summary["passed"] as? Int == 10 && summary["failed"] as? Int == 6 && summary["errors"] as? Int == 0)
            #expect(abs((summary["pass_rate"] as? Double ?? 0) - 10.0 / 16.0) < 1e-9)
            #expect(summary["input_tokens"] as? Int == 160 && summary["output_tokens"] as? Int == 80)
            // echo-a: 10 tokens at $1000/M + 5 at $2000/M = $0.02 a cell; echo-b half that.
            #expect(abs((summary["cost"] as? Double ?? 0) - 0.24) < 1e-9, "\(summary)")
            #expect((run.json["dataset"] as? [String: Any])?["version"] as? Int == 1)
            #expect(run.json["prompts"] as? [String] == ["qa@1", "qa@2"])
            let columns = try #require(run.json["columns"] as? [[String: Any]])
            #expect(columns.count == 4)
            let passedByColumn = Dictionary(
                uniqueKeysWithValues: columns.map {
                    ("\($0["prompt"] as? String ?? "")/\($0["model"] as? String ?? "")", ($0["summary"] as? [String: Any])?["passed"] as? Int ?? -1)
                })
            #expect(passedByColumn == ["qa@1/echo-a": 3, "qa@1/echo-b": 3, "qa@2/echo-a": 2, "qa@2/echo-b": 2])

            let cells = try await ExperimentFixture.cells(h, id)
            #expect(cells.count == 16)
            #expect(
                cells.map { $0["item_id"] as? String ?? "" } == ["alpha", "beta", "delta", "gamma"].flatMap { Array(repeating: $0, count: 4) },
                "pages come in matrix order")
            let outputs = Set(cells.compactMap { $0["output"] as? String })
            #expect(outputs.contains("Q alpha") && outputs.contains("R delta"))
            // Every cell is a traced, costed gateway call.
            await h.gateway.traces.flush()
            for cell in cells {
                let traceID = try #require(cell["trace_id"] as? String, "\(cell)")
                let trace = try #require(try await h.store.traces.get(projectID: h.project.id, id: traceID))
                let generation = try #require(trace.observations.first)
                #expect((generation.cost ?? 0) > 0)
                #expect(abs((generation.cost ?? 0) - (cell["cost"] as? Double ?? -1)) < 1e-12)
                #expect(trace.trace.tags.contains("experiment"))
                #expect(trace.trace.sessionID == "experiment:\(id)")
                #expect(trace.trace.metadata?["experiment_id"]?.string == id)
            }
            #expect(g.stub.requests.count == 16)

            let list = try await h.call(.get, "/api/v1/experiments", key: h.adminKey)
            #expect(list.data.map { $0["id"] as? String } == [id])
            let missing = try await h.call(.get, "/api/v1/experiments/nope", key: h.adminKey)
            #expect(missing.status == .notFound)
        }
    }

    @Test("runs of two versions of one prompt, as in the README (qa@1 and qa:production), compare without choosing a key", arguments: StoreKind.available)
    func compareVersionsOfOnePrompt(kind: StoreKind) async throws {
        try await withGateway(kind, models: experimentModels) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            #expect(
                try await h.call(.post, "/api/v1/prompts/qa/labels", key: h.adminKey, json: #"{"label": "production", "version": 2}"#).status == .created)
            var ids: [String] = []
            for name in ["first", "second"] {
                let id = try await ExperimentFixture.start(
                    h,
                    """
                    {"name": "\(name)", "dataset": "words", "prompts": ["qa@1", "qa:production"], "models": ["echo-a"], "assert": [\(ExperimentFixture.assertion)]}
                    """)
                #expect(try await ExperimentFixture.finished(h, id).json["status"] as? String == "completed")
                ids.append(id)
            }
            let reply = try await h.call(.get, "/api/v1/experiments/compare?base=\(ids[0])&head=\(ids[1])", key: h.adminKey)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.json["key"] as? String == "version_model")
            #expect(reply.json["pairs"] as? Int == 8 && reply.json["unmatched_base"] as? Int == 0, "4 items x 2 versions")
            let byPrompt = try await h.call(.get, "/api/v1/experiments/compare?base=\(ids[0])&head=\(ids[1])&by=prompt_model", key: h.adminKey)
            #expect(byPrompt.status == .badRequest && byPrompt.errorField == "by")
            #expect((byPrompt.error["message"] as? String)?.contains("version_model") == true, "the error names the key that works")
            // After production moves on to a new version, the second prompt pairs by its place in the run.
            #expect(
                try await h.call(.post, "/api/v1/prompts", key: h.adminKey, json: #"{"name": "qa", "prompt": "S {{ word }}", "labels": ["production"]}"#)
                    .status == .created)
            let moved = try await ExperimentFixture.start(
                h,
                """
                {"name": "third", "dataset": "words", "prompts": ["qa@1", "qa:production"], "models": ["echo-a"], "assert": [\(ExperimentFixture.assertion)]}
                """)
            #expect(try await ExperimentFixture.finished(h, moved).json["status"] as? String == "completed")
            let slots = try await h.call(.get, "/api/v1/experiments/compare?base=\(ids[0])&head=\(moved)", key: h.adminKey)
            #expect(slots.status == .ok && slots.json["key"] as? String == "slot_model", "\(slots.text)")
            #expect(slots.json["pairs"] as? Int == 8)
            #expect(((slots.json["regressions"] as? [[String: Any]]) ?? []).allSatisfy { ($0["column"] as? String)?.hasPrefix("prompt ") == true })
        }
    }

    @Test("compare: regressions, improvements, pass rates and McNemar's exact p-value on the discordant pairs", arguments: StoreKind.available)
    func compare(kind: StoreKind) async throws {
        try await withGateway(kind, models: experimentModels) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            func run(_ prompt: String) async throws -> String {
                let id = try await ExperimentFixture.start(
                    h,
                    """
                    {"name": "\(prompt)", "dataset": "words", "prompts": ["\(prompt)"], "models": ["echo-a"], "assert": [\(ExperimentFixture.assertion)]}
                    """)
                #expect(try await ExperimentFixture.finished(h, id).json["status"] as? String == "completed")
                return id
            }
            let base = try await run("qa@1")
            let head = try await run("qa@2")
            let reply = try await h.call(.get, "/api/v1/experiments/compare?base=\(base)&head=\(head)", key: h.adminKey)
            #expect(reply.status == .ok, "\(reply.text)")
            let json = reply.json
            #expect(json["key"] as? String == "prompt_model", "same prompt name and model: paired on both (the version is never in the key)")
            #expect(json["pairs"] as? Int == 4)
            #expect((json["regressions"] as? [[String: Any]])?.map { $0["item_id"] as? String } == ["beta", "gamma"])
            #expect((json["improvements"] as? [[String: Any]])?.map { $0["item_id"] as? String } == ["delta"])
            #expect(json["regression_count"] as? Int == 2 && json["improvement_count"] as? Int == 1)
            #expect(json["base_pass_rate"] as? Double == 0.75 && json["head_pass_rate"] as? Double == 0.5)
            let regression = try #require((json["regressions"] as? [[String: Any]])?.first)
            #expect((regression["base"] as? [String: Any])?["prompt"] as? String == "qa@1")
            #expect((regression["head"] as? [String: Any])?["output"] as? String == "R beta")
            #expect(regression["score_delta"] as? Double == -1)
            #expect((regression["head"] as? [String: Any])?["trace_id"] is String)
            let mcnemar = try #require(json["mcnemar"] as? [String: Any])
            #expect(mcnemar["method"] as? String == "exact")
            #expect(mcnemar["b"] as? Int == 2 && mcnemar["c"] as? Int == 1)
            let expected = ExperimentFixture.exactMcNemar(b: 2, c: 1)
            #expect(abs((mcnemar["p_value"] as? Double ?? -1) - expected) < 1e-12, "p = \(String(describing: mcnemar["p_value"])), expected \(expected)")
            #expect(json["significant"] as? Bool == false)
            #expect((json["summary"] as? String)?.contains("McNemar's exact test") == true, "\(json["summary"] ?? "")")

            let bad = try await h.call(.get, "/api/v1/experiments/compare?base=\(base)", key: h.adminKey)
            #expect(bad.status == .badRequest && bad.errorField == "head")
            let badKey = try await h.call(.get, "/api/v1/experiments/compare?base=\(base)&head=\(head)&by=nope", key: h.adminKey)
            #expect(badKey.status == .badRequest && badKey.errorField == "by")
            let unknown = try await h.call(.get, "/api/v1/experiments/compare?base=\(base)&head=nope", key: h.adminKey)
            #expect(unknown.status == .notFound && unknown.errorField == "head")
            let itself = try await h.call(.get, "/api/v1/experiments/compare?base=\(base)&head=\(base)", key: h.adminKey)
            #expect(itself.status == .badRequest && itself.errorField == "head", "\(itself.text)")
        }
    }

    @Test("validation errors name the field", arguments: StoreKind.available)
    func validation(kind: StoreKind) async throws {
        try await withGateway(kind, models: experimentModels) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            let valid = #""name": "x", "dataset": "words", "prompts": ["qa@1"], "models": ["echo-a"]"#
            let cases: [(String, String)] = [
                (#"{"dataset": "words", "prompts": ["qa@1"], "models": ["echo-a"]}"#, "name"),
                (#"{"name": "x", "dataset": "nope", "prompts": ["qa@1"], "models": ["echo-a"]}"#, "dataset"),
                (#"{\#(valid), "dataset_version": 7}"#, "dataset_version"),
                (#"{"name": "x", "dataset": "words", "prompts": ["qa@9"], "models": ["echo-a"]}"#, "prompts[0]"),
                (#"{"name": "x", "dataset": "words", "prompts": ["qa@1", "qa:staging"], "models": ["echo-a"]}"#, "prompts[1]"),
                (#"{"name": "x", "dataset": "words", "prompts": [], "models": ["echo-a"]}"#, "prompts"),
                (#"{"name": "x", "dataset": "words", "prompts": ["qa@1"], "models": ["echo-a", "gpt-9"]}"#, "models[1]"),
                (#"{"name": "x", "dataset": "words", "prompts": ["qa@1"], "models": ["echo-a", "all-minilm-l6-v2"]}"#, "models[1]"),
                (#"{\#(valid), "repeats": 0}"#, "repeats"),
                (#"{\#(valid), "assert": [{"type": "contains", "value": "Q"}, {"type": "containz"}]}"#, "assert[1].type"),
                (#"{\#(valid), "assert": [{"type": "assert-set", "assert": [{"type": "nope"}]}]}"#, "assert[0].assert[0].type"),
                (#"{\#(valid), "assert": [{"type": "llm-rubric", "value": "polite"}]}"#, "options.grader"),
                (#"{\#(valid), "assert": [{"type": "llm-rubric", "value": "polite", "provider": "gpt-9"}]}"#, "assert[0].provider"),
                (#"{\#(valid), "options": {"max_concurrency": 1000}}"#, "options.max_concurrency"),
                (#"{\#(valid), "options": {"grader": "gpt-9"}}"#, "options.grader"),
                (#"{\#(valid), "options": {"paralel": 2}}"#, "options.paralel"),
                (#"{\#(valid), "nmae": "typo"}"#, "nmae"),
            ]
            for (body, field) in cases {
                let reply = try await h.call(.post, "/api/v1/experiments", key: h.adminKey, json: body)
                #expect(reply.status == .badRequest, "\(body): \(reply.text)")
                #expect(reply.errorField == field, "\(body): \(reply.text)")
            }
            let viewer = try await h.createKey(name: "viewer", role: "viewer", as: h.adminKey)
            let forbidden = try await h.call(.post, "/api/v1/experiments", key: viewer, json: "{\(valid)}")
            #expect(forbidden.status == .forbidden)
            let list = try await h.call(.get, "/api/v1/experiments", key: h.adminKey)
            #expect(list.data.isEmpty, "nothing was stored")
        }
    }

    @Test("cancel stops a running run; its finished cells stay; cancelling again changes nothing", arguments: StoreKind.available)
    func cancel(kind: StoreKind) async throws {
        try await withGateway(kind, models: experimentModels) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            // The first answer comes at once; the second never comes (the cancel lands while it is in flight).
            g.stub.script(model: "echo-slow", [.reply(), .hang])
            let id = try await ExperimentFixture.start(
                h,
                """
                {"name": "slow", "dataset": "words", "prompts": ["qa@1"], "models": ["echo-slow"], "options": {"max_concurrency": 1}}
                """)
            try await g.stub.waitForRequests(2)  // the first cell is done, the second hangs
            let cancelled = try await h.call(.post, "/api/v1/experiments/\(id)/cancel", key: h.adminKey)
            #expect(cancelled.status == .ok, "\(cancelled.text)")
            #expect(cancelled.json["status"] as? String == "cancelled")
            let adminKeyID = try #require(try await h.store.apiKeys.list(projectID: h.project.id).first { $0.name == "admin" }?.id)
            #expect(cancelled.json["error"] as? String == "cancelled by key:\(adminKeyID)")
            let run = try await ExperimentFixture.finished(h, id)
            #expect(run.json["status"] as? String == "cancelled")
            #expect(run.json["finished_at"] is String)
            // The cell in flight was cut short and is not stored; the run stops starting cells.
            let deadline = ContinuousClock.now + .seconds(10)
            var cells = try await ExperimentFixture.cells(h, id)
            while cells.count < 1, ContinuousClock.now < deadline {
                await Task.yield()
                cells = try await ExperimentFixture.cells(h, id)
            }
            #expect(cells.count == 1, "\(cells)")
            #expect(g.stub.requests.count == 2)
            let again = try await h.call(.post, "/api/v1/experiments/\(id)/cancel", key: h.adminKey)
            #expect(again.json["status"] as? String == "cancelled")
        }
    }

    @Test(
        "model-graded assertions are judged through the gateway with the project's judge prompt; judge calls are traced and costed",
        arguments: StoreKind.available)
    func judged(kind: StoreKind) async throws {
        try await withGateway(kind, models: experimentModels) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            // The project's own llm-rubric judge prompt replaces the built-in one.
            let judgePrompt = try await h.call(
                .post, "/api/v1/prompts", key: h.adminKey,
                json: """
                    {"name": "tern-judge-llm-rubric", "messages": [{"role": "user", "content": "HOUSE RUBRIC {{ rubric }} FOR {{ output }}"}], "labels": ["production"]}
                    """)
            #expect(judgePrompt.status == .created, "\(judgePrompt.text)")
            g.stub.script(model: "judge-model", Array(repeating: .reply(text: #"{"reason": "reads fine", "pass": true, "score": 0.9}"#), count: 4))
            let id = try await ExperimentFixture.start(
                h,
                """
                {"name": "judged", "dataset": "words", "prompts": ["qa@1"], "models": ["echo-a"],
                 "assert": [{"type": "llm-rubric", "value": "is a short answer"}], "options": {"grader": "judge"}}
                """)
            let run = try await ExperimentFixture.finished(h, id)
            #expect(run.json["status"] as? String == "completed", "\(run.text)")
            let summary = try #require(run.json["summary"] as? [String: Any])
            #expect(summary["passed"] as? Int == 4)
            #expect((summary["grading_cost"] as? Double ?? 0) > 0, "\(summary)")
            #expect(summary["grading_input_tokens"] as? Int == 40)
            #expect(
                ((run.json["options"] as? [String: Any])?["judge_prompts"] as? [String: Any])?["tern-judge-llm-rubric"] as? String
                    == "tern-judge-llm-rubric@1")
            let judgeRequests = g.stub.requests(model: "judge-model")
            #expect(judgeRequests.count == 4)
            #expect(judgeRequests.allSatisfy { ($0.body["messages"]?[0]?["content"]?.string ?? "").hasPrefix("HOUSE RUBRIC is a short answer FOR Q ") })
            await h.gateway.traces.flush()
            for cell in try await ExperimentFixture.cells(h, id) {
                #expect(abs((cell["score"] as? Double ?? 0) - 0.9) < 1e-9)
                let evaluation = try #require(cell["assertions"] as? [String: Any])
                let judgeTrace = try #require((evaluation["gradingTraceIDs"] as? [String])?.first, "\(evaluation)")
                let trace = try #require(try await h.store.traces.get(projectID: h.project.id, id: judgeTrace))
                #expect(trace.trace.tags.contains("experiment-judge"))
                #expect((trace.observations.first?.cost ?? 0) > 0)
            }
        }
    }

    @Test(
        "similar embeds through the gateway: a priced embedding model's calls add to the grading cost and traces; without options.embedder the built-in local model is used",
        arguments: StoreKind.available)
    func embedded(kind: StoreKind) async throws {
        let models =
            experimentModels + """

                  paid-embedder:
                    deployments:
                      - {name: e, provider: openai, model: text-embedding-3-small, price: {input_per_mtok: 1000, output_per_mtok: 0}}
                """
        try await withGateway(kind, models: models) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            let id = try await ExperimentFixture.start(
                h,
                """
                {"name": "embedded", "dataset": "words", "prompts": ["qa@1"], "models": ["echo-a"],
                 "assert": [{"type": "similar", "value": "Q alpha", "threshold": 0.0}], "options": {"embedder": "paid-embedder"}}
                """)
            let run = try await ExperimentFixture.finished(h, id)
            #expect(run.json["status"] as? String == "completed", "\(run.text)")
            let summary = try #require(run.json["summary"] as? [String: Any])
            #expect((summary["grading_cost"] as? Double ?? 0) > 0, "embedding calls are costed: \(summary)")
            #expect((summary["grading_input_tokens"] as? Int ?? 0) > 0, "\(summary)")
            await h.gateway.traces.flush()
            for cell in try await ExperimentFixture.cells(h, id) {
                let evaluation = try #require(cell["assertions"] as? [String: Any])
                let traceID = try #require((evaluation["gradingTraceIDs"] as? [String])?.first, "\(evaluation)")
                let trace = try #require(try await h.store.traces.get(projectID: h.project.id, id: traceID))
                #expect(trace.observations.first?.type == .embedding)
                #expect(trace.observations.first?.model == "text-embedding-3-small")
            }

            guard InstalledModel.enabled else { return }
            try InstalledModel.requireInstalled()
            let local = try await ExperimentFixture.start(
                h,
                """
                {"name": "local", "dataset": "words", "prompts": ["qa@1"], "models": ["echo-a"],
                 "assert": [{"type": "similar", "value": "Q alpha", "threshold": 0.0}]}
                """)
            let localRun = try await ExperimentFixture.finished(h, local)
            #expect(localRun.json["status"] as? String == "completed", "\(localRun.text)")
            #expect((localRun.json["options"] as? [String: Any])?["embedder"] as? String == "all-minilm-l6-v2", "recorded in the run")
            let localSummary = try #require(localRun.json["summary"] as? [String: Any])
            #expect(localSummary["grading_cost"] as? Double ?? 0 == 0, "the local model costs nothing: \(localSummary)")
            #expect((localSummary["grading_input_tokens"] as? Int ?? 0) > 0)
            let scores = try await ExperimentFixture.cells(h, local).compactMap { $0["score"] as? Double }
            #expect(scores.count == 4 && scores.contains { $0 > 0.99 }, "Q alpha against itself: \(scores)")
        }
    }

    @Test(
        "a rerun of unchanged cells and judges is answered from the project's response cache at no cost; options.cache false calls again",
        arguments: StoreKind.available)
    func cached(kind: StoreKind) async throws {
        try await withGateway(kind, models: experimentModels) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            g.stub.script(model: "judge-model", Array(repeating: .reply(text: #"{"reason": "fine", "pass": true, "score": 1}"#), count: 8))
            let body = """
                {"name": "cached", "dataset": "words", "prompts": ["qa@1"], "models": ["echo-a"],
                 "assert": [{"type": "llm-rubric", "value": "short"}], "options": {"grader": "judge"}}
                """
            let first = try await ExperimentFixture.finished(h, try await ExperimentFixture.start(h, body))
            #expect(g.stub.requests(model: "echo-a").count == 4 && g.stub.requests(model: "judge-model").count == 4)
            let firstSummary = try #require(first.json["summary"] as? [String: Any])
            #expect((firstSummary["cost"] as? Double ?? 0) > 0 && (firstSummary["grading_cost"] as? Double ?? 0) > 0, "\(firstSummary)")

            let secondID = try await ExperimentFixture.start(h, body)
            let second = try await ExperimentFixture.finished(h, secondID)
            #expect(second.json["status"] as? String == "completed", "\(second.text)")
            #expect(g.stub.requests(model: "echo-a").count == 4 && g.stub.requests(model: "judge-model").count == 4, "nothing was asked again")
            let secondSummary = try #require(second.json["summary"] as? [String: Any])
            #expect(secondSummary["passed"] as? Int == 4)
            #expect(secondSummary["cost"] as? Double ?? 0 == 0 && secondSummary["grading_cost"] as? Double ?? 0 == 0, "\(secondSummary)")
            let firstTraces = Set(try await ExperimentFixture.cells(h, first.json["id"] as? String ?? "").compactMap { $0["trace_id"] as? String })
            let secondTraces = Set(try await ExperimentFixture.cells(h, secondID).compactMap { $0["trace_id"] as? String })
            #expect(secondTraces.count == 4 && secondTraces == firstTraces, "cached cells link to the traces of the calls that made them")

            let uncached = body.replacingOccurrences(of: #""grader": "judge""#, with: #""grader": "judge", "cache": false"#)
            let third = try await ExperimentFixture.finished(h, try await ExperimentFixture.start(h, uncached))
            #expect(third.json["status"] as? String == "completed")
            #expect(g.stub.requests(model: "echo-a").count == 8 && g.stub.requests(model: "judge-model").count == 8)

            let bad = try await h.call(
                .post, "/api/v1/experiments", key: h.adminKey,
                json: body.replacingOccurrences(of: #""grader": "judge""#, with: #""grader": "judge", "cache": "yes""#))
            #expect(bad.status == .badRequest && bad.errorField == "options.cache", "\(bad.text)")
        }
    }

    @Test("a run left running by a server that stopped is failed with a clear error when the server starts", arguments: StoreKind.available)
    func interrupted(kind: StoreKind) async throws {
        try await withHarness(
            kind,
            beforeStart: { test, project in
                // As a process that died left it: started, its last heartbeat long ago.
                let old = Date().addingTimeInterval(-3600)
                _ = try await test.store.experiments.create(
                    ExperimentRun(
                        id: "left-running", projectID: project.id, name: "old", datasetID: "d", datasetName: "words", datasetVersion: 1,
                        prompts: ["qa@1"], models: ["echo-a"], repeats: 1, assertions: [], options: [:], plannedCells: 4, createdAt: old, createdBy: "test"))
                _ = try await test.store.experiments.transition(projectID: project.id, id: "left-running", from: [.queued], to: .running, error: nil, at: old)
            }
        ) { h in
            let run = try await ExperimentFixture.finished(h, "left-running")
            #expect(run.json["status"] as? String == "failed", "\(run.text)")
            #expect((run.json["error"] as? String)?.hasPrefix("interrupted: the server stopped") == true)
        }
    }
}

@Suite("Experiments across a restart", .timeLimit(.minutes(5)))
struct ExperimentRestartTests {
    /// A JSON request to a live server.
    static func call(_ url: String, key: String, post body: String? = nil) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "authorization", value: "Bearer \(key)")
        if let body {
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let data = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    @Test("a graceful shutdown fails the runs in progress with a clear error, which the next server shows", arguments: StoreKind.available)
    func shutdown(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let store = test.store
            let seed = try await ExperimentSeed.make(store, words: ["a", "b", "c"], templates: ["Q {{ word }}"])
            let (project, key) = (seed.project, seed.key)
            let stub = try await StubUpstream.start()
            // Servers and the stub stop even when an expectation below throws.
            let servers = Mutex<[BackgroundServer]>([])
            try await withCleanup {
                stub.script(model: "echo-slow", [.hang])
                var config = TernConfig()
                config.dataDir = test.directory
                try config.apply(yaml: gatewayYAML(baseURL: stub.baseURL, models: experimentModels))
                let first = try await BackgroundServer.tern(store: store, config: config, environment: GatewayHarness.environment)
                servers.withLock { $0.append(first) }
                let started = try await Self.call(
                    "\(first.baseURL)/api/v1/experiments", key: key,
                    post: """
                        {"name": "slow", "dataset": "words", "prompts": ["qa@1"], "models": ["echo-slow"], "options": {"max_concurrency": 1}}
                        """)
                let id = try #require(started["id"] as? String, "\(started)")
                try await stub.waitForRequests(1)
                await first.stop()
                servers.withLock { $0 = [] }
                let stored = try #require(try await store.experiments.get(projectID: project.id, id: id))
                #expect(stored.status == .failed)
                #expect(stored.error == "interrupted: the server shut down while the run was in progress; start the run again")
                #expect(stored.finishedAt != nil)

                let second = try await BackgroundServer.tern(store: store, config: config, environment: GatewayHarness.environment)
                servers.withLock { $0 = [second] }
                let shown = try await Self.call("\(second.baseURL)/api/v1/experiments/\(id)", key: key)
                #expect(shown["status"] as? String == "failed")
                #expect((shown["error"] as? String)?.hasPrefix("interrupted") == true)
            } cleanup: {
                for server in servers.withLock({ $0 }) { await server.stop() }
                await stub.stop()
            }
        }
    }
}
