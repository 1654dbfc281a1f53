import Foundation
import HTTPTypes
import TernCore
import TernMonitor
import TernServer
import TernTestSupport
import Testing

@Suite("Web UI: experiments", .timeLimit(.minutes(5)))
struct ExperimentsWebTests {
    @Test(
        "experiment traffic stays out of the dashboard, traces, sessions and users (API and pages) until included; the run still links to it",
        arguments: StoreKind.available)
    func internalTraffic(kind: StoreKind) async throws {
        try await withGateway(kind, models: experimentModels) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            // One production call by a user, then a 2 x 4 run (8 experiment traces).
            let call = try await g.chat("echo-a", text: "hello from ada", extra: #","user":"ada""#, headers: [HTTPField.Name(TernHeader.session)!: "s-ada"])
            #expect(call.status == .ok, "\(call.text)")
            let id = try await ExperimentFixture.start(
                h, #"{"name": "internal", "dataset": "words", "prompts": ["qa@1", "qa@2"], "models": ["echo-a"], "assert": [\#(ExperimentFixture.assertion)]}"#)
            #expect(try await ExperimentFixture.finished(h, id).json["status"] as? String == "completed")
            await h.gateway.traces.flush()
            let cells = try await ExperimentFixture.cells(h, id)
            let cellTrace = try #require(cells.first?["trace_id"] as? String)
            #expect(try await h.store.traces.get(projectID: h.project.id, id: cellTrace)?.trace.environment == "experiment")

            #expect(try await h.call(.get, "/api/v1/traces", key: h.adminKey).data.count == 1, "the production call only")
            #expect(try await h.call(.get, "/api/v1/traces?include_internal=true&limit=100", key: h.adminKey).data.count == 9)
            #expect(try await h.call(.get, "/api/v1/traces?environment=experiment&limit=100", key: h.adminKey).data.count == 8)
            #expect(try await h.call(.get, "/api/v1/traces?include_internal=maybe", key: h.adminKey).errorField == "include_internal")
            while try await MetricsEngine.refresh(h.store.metrics) > 0 {}
            let metrics = try await h.call(.get, "/api/v1/metrics", key: h.adminKey)
            #expect((metrics.json["totals"] as? [String: Any])?["traces"] as? Int == 1, "\(metrics.text.prefix(300))")
            #expect(metrics.json["source"] as? String == "rollup", "production traffic is what the rollups hold")
            let everything = try await h.call(.get, "/api/v1/metrics?include_internal=true", key: h.adminKey)
            #expect((everything.json["totals"] as? [String: Any])?["traces"] as? Int == 9)
            #expect(everything.json["source"] as? String == "scan")

            let cookie = try await WebUITests.signIn(h)
            let dashboard = try await h.call(.get, "/ui/default/dashboard", headers: [.cookie: cookie])
            #expect(dashboard.text.contains(#"id="include-internal""#) && !dashboard.text.contains(#"value="true" checked"#))
            #expect(dashboard.text.contains(#"id="kpi-traces">1<"#), "\(dashboard.text.prefix(200))")
            let dashboardAll = try await h.call(.get, "/ui/default/dashboard?include_internal=true", headers: [.cookie: cookie])
            #expect(dashboardAll.text.contains(#"id="kpi-traces">9<"#) && dashboardAll.text.contains(#"value="true" checked"#))
            let traces = try await h.call(.get, "/ui/default/traces", headers: [.cookie: cookie])
            #expect(traces.text.components(separatedBy: #"class="trace-link""#).count == 2)
            let tracesAll = try await h.call(.get, "/ui/default/traces?include_internal=true", headers: [.cookie: cookie])
            #expect(tracesAll.text.components(separatedBy: #"class="trace-link""#).count == 10)
            let sessions = try await h.call(.get, "/ui/default/sessions", headers: [.cookie: cookie])
            #expect(sessions.text.contains("s-ada") && !sessions.text.contains("experiment:\(id)"))
            #expect(try await h.call(.get, "/ui/default/sessions?include_internal=true", headers: [.cookie: cookie]).text.contains("experiment:\(id)"))
            let users = try await h.call(.get, "/ui/default/users", headers: [.cookie: cookie])
            #expect(users.text.contains(#"id="include-internal""#))
            // The run's matrix links to its traces, and they open.
            let matrix = try await h.call(.get, "/ui/default/experiments/\(id)", headers: [.cookie: cookie])
            #expect(matrix.text.contains(#"href="/ui/default/traces/\#(cellTrace)""#))
            #expect(try await h.call(.get, "/ui/default/traces/\(cellTrace)", headers: [.cookie: cookie]).status == .ok)
        }
    }

    @Test("runs list, a run's matrix with trace links and charts, and the comparison; outputs are escaped", arguments: StoreKind.available)
    func pages(kind: StoreKind) async throws {
        try await withGateway(kind, models: experimentModels) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            // An item whose output (the echoed prompt) is markup.
            let hostile = try await h.call(
                .post, "/api/v1/datasets/words/items", key: h.adminKey,
                json: #"{"items": [{"id": "zz<i>evil</i>", "input": {"word": "<script>alert(1)</script>"}, "expected_output": "an <b>escaped</b> answer"}]}"#)
            #expect(hostile.status == .created, "\(hostile.text)")
            var ids: [String] = []
            for prompt in ["qa@1", "qa@2"] {
                let id = try await ExperimentFixture.start(
                    h,
                    """
                    {"name": "<b>run</b> \(prompt)", "dataset": "words", "prompts": ["\(prompt)"], "models": ["echo-a", "echo-b"],
                     "assert": [\(ExperimentFixture.assertion)]}
                    """)
                #expect(try await ExperimentFixture.finished(h, id).json["status"] as? String == "completed")
                ids.append(id)
            }
            let cookie = try await WebUITests.signIn(h)

            let list = try await h.call(.get, "/ui/default/experiments", headers: [.cookie: cookie])
            #expect(list.status == .ok, "\(list.text.prefix(800))")
            #expect(list.text.contains(#"id="experiments-table""#))
            #expect(list.text.contains(#"href="/ui/default/experiments/\#(ids[0])""#))
            #expect(list.text.contains("&lt;b&gt;run&lt;/b&gt; qa@1") && !list.text.contains("<b>run</b>"))
            #expect(list.text.contains("words@2"))
            #expect(list.text.contains(#"id="nav-experiments" href="/ui/default/experiments""#))

            let matrix = try await h.call(.get, "/ui/default/experiments/\(ids[0])", headers: [.cookie: cookie])
            #expect(matrix.status == .ok, "\(matrix.text.prefix(800))")
            #expect(matrix.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(matrix.text.contains(#"id="experiment-matrix""#))
            #expect(matrix.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the output is shown, escaped")
            #expect(!matrix.text.contains("<script>alert(1)"), "and never as markup")
            #expect(!matrix.text.contains("<i>evil</i>"))
            let cells = try await ExperimentFixture.cells(h, ids[0])
            let traceID = try #require(cells.first?["trace_id"] as? String)
            #expect(matrix.text.contains(#"href="/ui/default/traces/\#(traceID)""#), "cells link to their traces")
            #expect(matrix.text.contains("PASS") && matrix.text.contains("FAIL"))
            // Each row shows the item's input and expected output beside the answers; failures say why.
            #expect(matrix.text.contains(#"<td class="item-input">alpha</td>"#), "\(matrix.text)")
            #expect(matrix.text.contains(#"<td class="item-expected"><span class="muted">–</span></td>"#))
            #expect(matrix.text.contains(#"<td class="item-expected">an &lt;b&gt;escaped&lt;/b&gt; answer</td>"#))
            let failures = matrix.text.components(separatedBy: #"<span class="badge error">FAIL</span>"#).count - 1
            #expect(failures > 0 && matrix.text.components(separatedBy: #"class="cell-reason""#).count - 1 == failures)
            #expect(matrix.text.contains("Cost by prompt and model, answers and grading"))
            #expect(matrix.text.contains("<svg"), "pass rate and cost charts")
            #expect(matrix.text.contains("qa@1") && matrix.text.contains("echo-b"))
            let trace = try await h.call(.get, "/ui/default/traces/\(traceID)", headers: [.cookie: cookie])
            #expect(trace.status == .ok)

            let compare = try await h.call(.get, "/ui/default/experiments/compare?base=\(ids[0])&head=\(ids[1])", headers: [.cookie: cookie])
            #expect(compare.status == .ok, "\(compare.text.prefix(800))")
            #expect(compare.text.contains(#"id="significance""#) && compare.text.contains("McNemar"))
            #expect(compare.text.contains(#"id="regression-count">4<"#), "beta and gamma regress under both models")
            let regressions = try #require(compare.text.range(of: #"id="regressions""#))
            let improvements = try #require(compare.text.range(of: #"id="improvements""#))
            #expect(regressions.lowerBound < improvements.lowerBound, "regressions come first")
            #expect(!compare.text.contains("<script>alert(1)") && !compare.text.contains("<b>run</b>"))
            let unknown = try await h.call(.get, "/ui/default/experiments/compare?base=\(ids[0])&head=nope", headers: [.cookie: cookie])
            #expect(unknown.status == .notFound)
            // Without a choice the pickers offer the newest run as head and the one before it as base (not one run twice),
            // on the compare page and in the list's compare form.
            let picker = try await h.call(.get, "/ui/default/experiments/compare", headers: [.cookie: cookie])
            #expect(picker.status == .ok)
            for page in [picker.text, list.text] {
                func chosen(_ name: String) -> String? {
                    guard let select = page.range(of: #"<select name="\#(name)""#) else { return nil }
                    let rest = page[select.upperBound...]
                    let end = rest.range(of: "</select>")?.lowerBound ?? rest.endIndex
                    guard let option = rest[..<end].range(of: #"" selected>"#) else { return nil }
                    let before = rest[..<option.lowerBound]
                    return before.range(of: #"value=""#, options: .backwards).map { String(before[$0.upperBound...]) }
                }
                #expect(
                    chosen("head") == ids[1] && chosen("base") == ids[0],
                    "head \(String(describing: chosen("head"))), base \(String(describing: chosen("base")))")
            }
        }
    }

    @Test(
        "a run started by form goes through the API's checks and the same service; errors come back by field with every choice kept; cancel by form",
        arguments: StoreKind.available)
    func startByForm(kind: StoreKind) async throws {
        try await withGateway(kind, models: experimentModels) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            let cookie = try await WebUITests.signIn(h)
            let user = try #require(try await h.store.users.get(email: "ada@example.com"))
            let list = try await Web.get(h, "/ui/default/experiments", cookie: cookie)
            #expect(list.text.contains(#"id="new-run" href="/ui/default/experiments/new""#))
            #expect(list.text.contains("Start one here"), "no runs yet")

            let form = try await Web.get(h, "/ui/default/experiments/new?prompt=qa%401", cookie: cookie)
            #expect(form.status == .ok, "\(form.text.prefix(600))")
            #expect(form.text.contains(#"<option value="words" selected>words (v1)</option>"#), "the first dataset with items")
            #expect(form.text.contains(#"value="qa@1" id="run-prompt-qa%401" checked"#), "the version linked from is ticked")
            #expect(form.text.contains(#"value="qa@2" id="run-prompt-qa%402">"#))
            for model in ["echo-a", "echo-b", "echo-slow", "judge"] { #expect(form.text.contains(#"name="model" value="\#(model)""#)) }
            let token = try Web.csrf(form.text)

            func fields(_ changes: [(String, String)] = [], without: Set<String> = []) -> [(String, String)] {
                let base: [(String, String)] = [
                    ("csrf", token), ("name", ""), ("dataset", "words"), ("dataset_version", ""), ("prompt", "qa@1"), ("prompt", "qa@2"),
                    ("prompt_refs", ""), ("model", "echo-a"), ("assert", "[\(ExperimentFixture.assertion)]"), ("grader", ""), ("embedder", ""),
                    ("threshold", ""), ("repeats", "1"), ("max_concurrency", "2"),
                ]
                let replaced = Set(changes.map(\.0))
                return base.filter { !replaced.contains($0.0) && !without.contains($0.0) } + changes
            }
            func refused(_ pairs: [(String, String)], field marker: String, says text: String) async throws -> Harness.Reply {
                let reply = try await Web.post(h, "/ui/default/experiments", cookie: cookie, pairs)
                #expect(reply.status == .badRequest, "\(reply.text.prefix(600))")
                #expect(reply.text.contains(#"id="run-errors""#))
                let error = PromptEditWebTests.fieldError(reply.text, after: marker)
                #expect(error?.contains(text) == true, "under \(marker): \(error ?? "no error")")
                return reply
            }
            // Errors: each under its field, with everything chosen still there.
            let noModel = try await refused(fields(without: ["model"]), field: #"id="run-models""#, says: "required: a non-empty list")
            #expect(noModel.text.contains(#"value="qa@2" id="run-prompt-qa%402" checked"#), "ticked versions stay ticked")
            #expect(PromptEditWebTests.field(noModel.text, "assert") == "[\(ExperimentFixture.assertion)]")
            #expect(PromptEditWebTests.field(noModel.text, "max_concurrency") == "2")
            let type = try await refused(
                fields([("assert", #"[{"type": "smells-nice"}]"#), ("model", "echo-b")]), field: #"id="run-assert""#,
                says: "assert[0].type: unknown assertion type &quot;smells-nice&quot;")
            #expect(type.text.contains(#"value="echo-b" id="run-model-echo-b" checked"#))
            #expect(!type.text.contains(#"id="run-model-all-minilm-l6-v2""#), "the built-in embedding model answers no prompts")
            #expect(type.text.contains("default: all-minilm-l6-v2, in process"), "runs without an embedding model use the local one")
            _ = try await refused(fields([("assert", "[{oops")]), field: #"id="run-assert""#, says: "not valid JSON")
            _ = try await refused(fields([("repeats", "many")]), field: #"id="run-repeats""#, says: "expected a whole number")
            _ = try await refused(fields([("repeats", "99")]), field: #"id="run-repeats""#, says: "expected a whole number 1-20")
            _ = try await refused(fields([("dataset_version", "9")]), field: #"id="run-dataset-version""#, says: "versions 1-1, not 9")
            _ = try await refused(fields([("prompt_refs", "qa:nowhere")]), field: #"id="run-prompt-refs""#, says: "no prompt version &quot;qa:nowhere&quot;")
            _ = try await refused(
                fields([("assert", #"[{"type": "llm-rubric", "value": "polite"}]"#)]), field: #"id="run-grader""#,
                says: "needs a judge model")
            _ = try await refused(fields([("max_concurrency", "0")]), field: #"id="run-concurrency""#, says: "1-64")
            // Every error at once: the form's own (a number that is not one) and the API's (a missing model, a bad version).
            let many = try await refused(
                fields([("repeats", "many"), ("dataset_version", "9"), ("max_concurrency", "0")], without: ["model"]), field: #"id="run-repeats""#,
                says: "expected a whole number")
            #expect(PromptEditWebTests.fieldError(many.text, after: #"id="run-models""#)?.contains("required: a non-empty list") == true)
            #expect(PromptEditWebTests.fieldError(many.text, after: #"id="run-dataset-version""#)?.contains("versions 1-1, not 9") == true)
            #expect(many.text.contains(#"<div class="field-error" role="alert">options.max_concurrency: expected a whole number 1-64</div>"#))
            #expect(try await Web.post(h, "/ui/default/experiments", cookie: cookie, fields([("csrf", "forged")])).status == .forbidden)
            #expect(try await h.store.experiments.list(projectID: h.project.id, before: nil, limit: 10).isEmpty, "no run was started")

            // A valid form starts the run as the user and opens its page.
            let started = try await Web.post(h, "/ui/default/experiments", cookie: cookie, fields())
            #expect(started.status == .seeOther, "\(started.text.prefix(800))")
            let location = try #require(started.headers[.location])
            let id = String(try #require(location.split(separator: "/").last))
            #expect(location == "/ui/default/experiments/\(id)")
            let finished = try await ExperimentFixture.finished(h, id)
            #expect(finished.json["status"] as? String == "completed", "\(finished.text)")
            let run = try #require(try await h.store.experiments.get(projectID: h.project.id, id: id))
            #expect(run.createdBy == "user:\(user.id)")
            #expect(run.name == "qa@1, qa@2 × echo-a on words", "a name made from the choices")
            #expect(run.prompts == ["qa@1", "qa@2"] && run.models == ["echo-a"] && run.repeats == 1 && run.datasetVersion == 1)
            #expect(run.options["max_concurrency"]?.int == 2)
            #expect(run.totals.cells == 8 && run.totals.passed == 5, "qa@1 passes alpha, beta, gamma; qa@2 alpha and delta")
            let cells = try await ExperimentFixture.cells(h, id)
            let page = try await Web.get(h, location, cookie: cookie)
            #expect(page.text.contains(#"id="experiment-matrix""#) && !page.text.contains("data-refresh-seconds"), "a finished run does not reload")
            for cell in cells {
                let trace = try #require(cell["trace_id"] as? String)
                #expect(page.text.contains(#"href="/ui/default/traces/\#(trace)""#))
                #expect(try await h.store.traces.get(projectID: h.project.id, id: trace) != nil, "the trace is written once the run has completed")
            }
            #expect(
                page.text.contains(
                    #"id="rerun" href="/ui/default/experiments/new?dataset=words&amp;dataset_version=1&amp;prompt=qa%401&amp;prompt=qa%402&amp;model=echo-a"#))
            let again = try await Web.get(h, "/ui/default/experiments/new?dataset=words&prompt=qa%402&model=echo-b&repeats=2", cookie: cookie)
            #expect(
                again.text.contains(#"value="qa@2" id="run-prompt-qa%402" checked"#) && !again.text.contains(#"value="qa@1" id="run-prompt-qa%401" checked"#))
            #expect(again.text.contains(#"value="echo-b" id="run-model-echo-b" checked"#) && PromptEditWebTests.field(again.text, "repeats") == "2")

            // A second run (v2 only) offers the comparison with the first.
            let second = try await Web.post(
                h, "/ui/default/experiments", cookie: cookie, fields([("name", "v2 <b>only</b>")], without: ["prompt"]) + [("prompt", "qa@2")])
            let secondID = String(try #require(second.headers[.location]?.split(separator: "/").last))
            #expect(try await ExperimentFixture.finished(h, secondID).json["status"] as? String == "completed")
            let secondPage = try await Web.get(h, "/ui/default/experiments/\(secondID)", cookie: cookie)
            #expect(secondPage.text.contains(#"id="compare-previous" href="/ui/default/experiments/compare?base=\#(id)&amp;head=\#(secondID)""#))
            #expect(secondPage.text.contains("v2 &lt;b&gt;only&lt;/b&gt;"))

            // A run in progress reloads itself and can be cancelled by form.
            g.stub.script(model: "echo-slow", [.reply(), .hang])
            let before = g.stub.requests.count
            let slow = try await Web.post(
                h, "/ui/default/experiments", cookie: cookie,
                fields([("model", "echo-slow"), ("max_concurrency", "1"), ("assert", "")], without: ["prompt"]) + [("prompt", "qa@1")])
            let slowID = String(try #require(slow.headers[.location]?.split(separator: "/").last))
            try await g.stub.waitForRequests(before + 2)  // the first cell is done, the second hangs
            let running = try await Web.get(h, "/ui/default/experiments/\(slowID)", cookie: cookie)
            #expect(running.text.contains(#"data-refresh-seconds="2""#) && running.text.contains(#"id="cancel-form""#))
            #expect(running.text.contains("qa@1 · echo-slow (running, "), "the bar of an unfinished column says so")
            #expect(try await Web.post(h, "/ui/default/experiments/\(slowID)/cancel", cookie: cookie, [("csrf", "forged")]).status == .forbidden)
            let cancelled = try await Web.post(h, "/ui/default/experiments/\(slowID)/cancel", cookie: cookie, [("csrf", token)])
            #expect(cancelled.status == .seeOther && cancelled.headers[.location] == "/ui/default/experiments/\(slowID)")
            let stopped = try await ExperimentFixture.finished(h, slowID)
            #expect(stopped.json["status"] as? String == "cancelled")
            #expect(stopped.json["error"] as? String == "cancelled by user:\(user.id)")
        }
    }
}
