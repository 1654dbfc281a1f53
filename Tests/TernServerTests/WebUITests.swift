import Foundation
import HTTPTypes
import TernCore
import TernServer
import TernTestSupport
import Testing
import TernMonitor

@Suite("Web UI (server side)")
struct WebUITests {

    /// Creates a user and signs in through the form; returns the session cookie.
    static func signIn(_ h: Harness) async throws -> String {
        try await Web.signIn(h, email: "ada@example.com", name: "Ada")
    }

    /// Both traces name their language, so the server's background language detection cannot change
    /// them while a test runs (a trace added to a dataset twice must be the same item both times).
    static func ingestHostile(_ h: Harness) async throws {
        let batch = """
            {"batch": [
              {"id": "e1", "type": "trace-create", "body": {"id": "evil", "name": "<img src=x onerror=alert(1)>", "user_id": "<b>u</b>",
               "session_id": "s-1", "tags": ["<i>t</i>"], "metadata": {"note": "</script><script>alert(2)</script>", "language": "en"},
               "input": "<script>window.__xss=1</script>", "output": [{"role": "assistant", "content": "<svg onload=alert(3)>"}]}},
              {"id": "e2", "type": "generation-create", "body": {"id": "g1", "trace_id": "evil", "name": "<u>gen</u>", "model": "gpt-4o-mini",
               "start_time": "2026-11-28T01:00:00Z", "end_time": "2026-11-28T01:00:01Z", "usage": {"input": 10, "output": 5},
               "input": [{"role": "user", "content": "refund <em>please</em>"}],
               "output": {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "refund", "arguments": "{\\"id\\": \\"<x>\\"}"}}]}}},
              {"id": "e3", "type": "trace-create", "body": {"id": "calm", "name": "chat", "session_id": "s-1", "input": "hello", "output": "hi",
               "metadata": {"language": "en"}}}
            ]}
            """
        let reply = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: batch)
        #expect(reply.status.code == 207)
        #expect((reply.json["errors"] as? [Any])?.isEmpty == true, "\(reply.text)")
    }

    @Test("signed-out visitors are sent to sign in; a wrong password says so; the form signs in", arguments: StoreKind.available)
    func signInFlow(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let dashboard = try await h.call(.get, "/ui/default/dashboard")
            #expect(dashboard.status == .seeOther)
            #expect(dashboard.headers[.location] == "/ui/login?next=%2Fui%2Fdefault%2Fdashboard")
            #expect(try await h.call(.get, "/").headers[.location] == "/ui/")
            // The UI's entry point sends a signed-out visitor to sign in (not back to itself).
            #expect(try await h.call(.get, "/ui/").headers[.location] == "/ui/login")
            let login = try await h.call(.get, "/ui/login")
            #expect(login.status == .ok)
            #expect(login.text.contains(#"id="login-email""#))
            #expect(login.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            let wrong = try await h.call(
                .post, "/ui/login", body: .init(string: "email=nobody%40example.com&password=x"),
                headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.text.contains(#"class="flash error""#))
            let cookie = try await Self.signIn(h)
            let page = try await h.call(.get, "/ui/default/dashboard", headers: [.cookie: cookie])
            #expect(page.status == .ok, "\(page.text.prefix(500))")
            #expect(page.text.contains(#"id="dashboard""#))
            #expect(try await h.call(.get, "/ui/", headers: [.cookie: cookie]).headers[.location] == "/ui/default/dashboard")
            // An open redirect through next= is refused.
            let offsite = try await h.call(
                .post, "/ui/login", body: .init(string: "email=ada%40example.com&password=correct+horse+battery&next=%2F%2Fevil.example"),
                headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(offsite.headers[.location] == "/ui/")
            #expect(try await h.call(.get, "/ui/nope/dashboard", headers: [.cookie: cookie]).status == .notFound)
        }
    }

    @Test("an address under /ui that no page answers gets the UI's 404 page, not the API's JSON; real pages still answer")
    func unknownPages() async throws {
        try await withHarness { h in
            let cookie = try await Self.signIn(h)
            for path in ["/ui/default/nope", "/ui/nope/deeper/still", "/ui/default/traces/x/y/z", "/ui/<script>"] {
                let page = try await Web.get(h, path.replacingOccurrences(of: "<script>", with: "%3Cscript%3E"), cookie: cookie)
                #expect(page.status == .notFound, "\(path)")
                #expect(page.headers[.contentType]?.hasPrefix("text/html") == true, "\(path): \(page.headers)")
                #expect(page.text.contains("There is no page at") && !page.text.contains("<script>"), "\(path): \(page.text.prefix(300))")
            }
            #expect(try await Web.get(h, "/ui/default/dashboard", cookie: cookie).status == .ok)
            #expect(try await Web.get(h, "/ui/default/prompts", cookie: cookie).status == .ok)
            #expect(try await Web.get(h, "/ui/default/experiments/compare", cookie: cookie).status == .ok)
            #expect(try await h.call(.get, "/api/v1/nope", key: h.adminKey).headers[.contentType]?.hasPrefix("application/json") == true)
        }
    }

    @Test("an empty project's dashboard and trace list say how to send the first trace, with the server's URL; a trace replaces that")
    func firstTrace() async throws {
        try await withGateway { g in
            let h = g.h
            let cookie = try await Self.signIn(h)
            for path in ["/ui/default/dashboard", "/ui/default/traces"] {
                let page = try await h.call(.get, path, headers: [.cookie: cookie])
                #expect(page.text.contains(#"id="first-trace""#), "\(path)")
                #expect(page.text.contains("tern keys create --name app --project default"))
                #expect(page.text.contains(#"base_url="http://localhost/v1""#), "the URL the browser reached: \(page.text)")
                #expect(page.text.contains(#"model="claude-direct""#), "a model of the gateway, not the embedding model")
                #expect(page.text.contains("http://localhost/v1/traces") && page.text.contains("http://localhost/api/v1/ingest"))
                #expect(!page.text.contains("No traces match these filters"))
            }
            let filtered = try await h.call(.get, "/ui/default/traces?model=nope", headers: [.cookie: cookie])
            #expect(
                !filtered.text.contains(#"id="first-trace""#) && filtered.text.contains("No traces match these filters"),
                "a filter that matches nothing is not an empty project")
            #expect(try await g.chat().status == .ok)
            await h.gateway.traces.flush()
            while try await MetricsEngine.refresh(h.store.metrics) > 0 {}
            for path in ["/ui/default/dashboard", "/ui/default/traces"] {
                #expect(!(try await h.call(.get, path, headers: [.cookie: cookie]).text.contains(#"id="first-trace""#)), "\(path)")
            }
        }
    }

    @Test("a gateway trace keeps its conversation as messages: the list previews the last user message, not the system prompt")
    func conversationPreview() async throws {
        try await withGateway { g in
            let h = g.h
            let reply = try await h.call(
                .post, "/v1/chat/completions", key: h.adminKey,
                json:
                    #"{"model": "support-bot", "messages": [{"role": "system", "content": "You are the shop's assistant."}, {"role": "user", "content": "Where is my parcel?"}]}"#
            )
            #expect(reply.status == .ok)
            let traces = try await g.traces()
            let input = try #require(traces.first?.trace.input)
            let messages = try JSONValue.parse(Data(input.utf8)).array ?? []
            #expect(messages.map { $0["role"]?.string } == ["system", "user"], "\(input)")
            let cookie = try await Self.signIn(h)
            let page = try await h.call(.get, "/ui/default/traces", headers: [.cookie: cookie])
            let cell = try #require(page.text.components(separatedBy: #"class="trace-input""#).dropFirst().first)
            let preview = String(cell.split(separator: ">", maxSplits: 1).last?.prefix { $0 != "<" } ?? "")
            #expect(preview == "Where is my parcel?", "\(cell.prefix(300))")
        }
    }

    @Test("a trace's page opens with its status, its error and its own input and output, before the details")
    func traceHeader() async throws {
        try await withHarness { h in
            let batch = #"""
                {"batch": [
                  {"id": "e1", "type": "trace-create", "body": {"id": "t-err", "name": "checkout", "input": "Cancel my order", "output": "Sorry, something broke"}},
                  {"id": "e2", "type": "generation-create", "body": {"id": "g1", "trace_id": "t-err", "name": "llm", "model": "gpt-4o",
                   "level": "ERROR", "status_message": "upstream timed out after 30 s"}},
                  {"id": "e3", "type": "trace-create", "body": {"id": "t-ok", "name": "fine", "input": "Hi"}}
                ]}
                """#
            #expect(try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: batch).status.code == 207)
            let cookie = try await Self.signIn(h)
            let page = try await h.call(.get, "/ui/default/traces/t-err", headers: [.cookie: cookie])
            #expect(page.text.contains(#"<span id="trace-status" class="badge error">error</span>"#))
            #expect(page.text.contains(#"id="trace-status-message""#) && page.text.contains("llm: upstream timed out after 30 s"), "\(page.text)")
            let input = try #require(page.text.range(of: #"id="trace-input""#)?.lowerBound)
            let output = try #require(page.text.range(of: #"id="trace-output""#)?.lowerBound)
            let details = try #require(page.text.range(of: "<h2>Trace</h2>")?.lowerBound)
            #expect(input < details && output < details, "input and output come first")
            let fine = try await h.call(.get, "/ui/default/traces/t-ok", headers: [.cookie: cookie])
            #expect(fine.text.contains(#"class="badge ok">ok</span>"#) && !fine.text.contains(#"id="trace-status-message""#))
        }
    }

    @Test("the dashboard's segment splits every chart named by it; by model unless another is picked; an unknown segment falls back")
    func dashboardSegment() async throws {
        try await withHarness { h in
            let batch = #"{"batch": [{"id": "e1", "type": "trace-create", "body": {"id": "t1", "name": "a", "metadata": {"language": "de"}}}]}"#
            #expect(try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: batch).status.code == 207)
            while try await MetricsEngine.refresh(h.store.metrics) > 0 {}
            let cookie = try await Self.signIn(h)
            let byModel = try await h.call(.get, "/ui/default/dashboard", headers: [.cookie: cookie])
            for title in ["Traces over time by model", "Cost by model", "Traces by model"] { #expect(byModel.text.contains("<h2>\(title)</h2>"), "\(title)") }
            #expect(byModel.text.contains(#"<option value="model" selected>"#))
            let byLanguage = try await h.call(.get, "/ui/default/dashboard?segment=language", headers: [.cookie: cookie])
            for title in ["Traces over time by language", "Cost by language", "Traces by language"] {
                #expect(byLanguage.text.contains("<h2>\(title)</h2>"), "\(title)")
            }
            #expect(!byLanguage.text.contains("by model</h2>"))
            #expect(byLanguage.text.contains("de · "), "the groups are the segment's values")
            let unknown = try await h.call(.get, "/ui/default/dashboard?segment=colour", headers: [.cookie: cookie])
            #expect(unknown.status == .ok && unknown.text.contains("<h2>Cost by model</h2>"))
        }
    }

    @Test("the trace list's time range (presets and custom, UTC) and its column chooser, kept in the URL")
    func traceRangeAndColumns() async throws {
        try await withHarness { h in
            let now = Date().timeIntervalSince1970
            let batch = """
                {"batch": [
                  {"id": "e1", "type": "trace-create", "body": {"id": "recent", "name": "recent", "input": "Hi", "output": "Hello there", "timestamp": \(now - 600)}},
                  {"id": "e2", "type": "trace-create", "body": {"id": "old", "name": "old", "input": "Hi", "timestamp": \(now - 10 * 86_400)}},
                  {"id": "e3", "type": "score-create", "body": {"trace_id": "recent", "name": "helpful", "value": 0.9}}
                ]}
                """
            #expect(try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: batch).status.code == 207)
            let cookie = try await Self.signIn(h)
            func rows(_ query: String) async throws -> (Harness.Reply, Int) {
                let page = try await h.call(.get, "/ui/default/traces\(query)", headers: [.cookie: cookie])
                #expect(page.status == .ok, "\(query): \(page.text.prefix(300))")
                return (page, page.text.components(separatedBy: #"class="trace-link""#).count - 1)
            }
            #expect(try await rows("").1 == 2)
            let (day, dayCount) = try await rows("?range=24h")
            #expect(dayCount == 1 && day.text.contains(#"<option value="24h" selected>"#))
            #expect(day.text.contains(#"class="range-custom" hidden"#), "custom fields stay hidden for a preset")
            let from = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: now - 11 * 86_400)).prefix(16)
            let to = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: now - 9 * 86_400)).prefix(16)
            let (custom, customCount) = try await rows("?range=custom&from=\(from)&to=\(to)")
            #expect(customCount == 1 && custom.text.contains(">old</"), "the custom range finds the old trace only")
            #expect(
                custom.text.contains(#"id="trace-from" type="datetime-local" name="from" value="\#(from)""#)
                    && !custom.text.contains(#"class="range-custom" hidden"#))
            #expect(try await h.call(.get, "/ui/default/traces?range=fortnight", headers: [.cookie: cookie]).status == .badRequest)

            // Columns: the defaults, then output and scores asked for, tokens and tags left out.
            let (plain, _) = try await rows("")
            #expect(plain.text.contains("<th>Model</th>") && !plain.text.contains("<th>Output</th>") && !plain.text.contains("<th>Scores</th>"))
            let (chosen, _) = try await rows("?col=output&col=scores&col=model")
            #expect(chosen.text.contains("<th>Output</th>") && chosen.text.contains("<th>Scores</th>") && chosen.text.contains("<th>Model</th>"))
            #expect(!chosen.text.contains(">Tokens</th>") && !chosen.text.contains("<th>Tags</th>"))
            #expect(chosen.text.contains(#"<td class="trace-output">Hello there</td>"#))
            #expect(chosen.text.contains(#"<td class="trace-scores">helpful 0.9</td>"#), "\(chosen.text)")
            #expect(chosen.text.contains(#"<input type="checkbox" name="col" value="output" checked>"#))
            #expect(chosen.text.contains(#"<input type="checkbox" name="col" value="tags">"#))
        }
    }

    @Test("the project switcher goes to the chosen project's dashboard; a viewer cannot score through the form")
    func switcherAndViewerScores() async throws {
        try await withHarness { h in
            try await Self.ingestHostile(h)
            _ = try await h.store.projects.create(slug: "b", name: "B")
            let member = try await Self.signIn(h)
            #expect(try await Web.get(h, "/ui/switch?project=b", cookie: member).headers[.location] == "/ui/b/dashboard")
            #expect(try await Web.get(h, "/ui/switch", cookie: member).headers[.location] == "/ui/default/dashboard")
            let odd = try await Web.get(h, "/ui/switch?project=%2F%2Fevil.example%2Fx", cookie: member)
            #expect(odd.headers[.location] == "/ui/%2F%2Fevil.example%2Fx/dashboard", "the slug is one path segment, never another host")
            #expect(try await Web.get(h, "/ui/b/dashboard", cookie: member).status == .ok)

            let viewer = try await Web.signIn(h, email: "vic@example.com", name: "Vic", role: "viewer")
            let page = try await Web.get(h, "/ui/default/traces/evil", cookie: viewer)
            #expect(page.status == .ok)
            let refused = try await Web.post(
                h, "/ui/default/traces/evil/scores", cookie: viewer, [("csrf", try Web.csrf(page.text)), ("name", "q"), ("value", "1")])
            #expect(refused.status == .forbidden, "\(refused.text.prefix(300))")
            #expect(refused.text.contains("viewers cannot score traces"))
            #expect(try await h.store.scores.list(projectID: h.project.id, traceID: "evil").isEmpty)
        }
    }

    @Test("every page renders and escapes user content; the score form adds a human score with a CSRF token", arguments: StoreKind.available)
    func pages(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.ingestHostile(h)
            while try await MetricsEngine.refresh(h.store.metrics) > 0 {}
            let cookie = try await Self.signIn(h)
            // Each page shows the hostile values it lists escaped: a page that dropped them would fail too.
            let name = "&lt;img src=x onerror=alert(1)&gt;", user = "&lt;b&gt;u&lt;/b&gt;", tag = "&lt;i&gt;t&lt;/i&gt;"
            let input = "&lt;script&gt;window.__xss=1&lt;/script&gt;"
            let pages: [(path: String, escaped: [String])] = [
                ("/ui/default/dashboard?range=30d&segment=tag", [tag]),  // the hostile trace starts 2026-11-28
                ("/ui/default/traces", [name, user, tag, input]),
                ("/ui/default/traces?q=xss&sort=cost", [name, user, input]),
                ("/ui/default/traces/evil", [name, user, tag, input, "&lt;u&gt;gen&lt;/u&gt;", "refund &lt;em&gt;please&lt;/em&gt;"]),
                ("/ui/default/sessions?range=90d", [user]),
                ("/ui/default/sessions/s-1", [name, user, input]),
                ("/ui/default/users?range=90d", [user]),
                ("/ui/default/dashboard?range=1h&bucket=minute&segment=tag", []),
                ("/ui/default/settings/keys", []), ("/ui/default/settings/members", []), ("/ui/default/settings/models", []),
            ]
            for (path, escaped) in pages {
                let page = try await h.call(.get, path, headers: [.cookie: cookie])
                #expect(page.status == .ok, "\(path): \(page.text.prefix(300))")
                for raw in ["<script>window", "<img src=x", "<b>u</b>", "<i>t</i>", "<svg onload", "<em>please", "<u>gen", "</script><script>alert(2)"] {
                    #expect(!page.text.contains(raw), "\(path) shows \(raw) unescaped")
                }
                for text in escaped {
                    #expect(page.text.contains(text), "\(path) does not show \(text)")
                }
            }
            let detail = try await h.call(.get, "/ui/default/traces/evil", headers: [.cookie: cookie])
            #expect(detail.text.contains("&lt;script&gt;window.__xss=1&lt;/script&gt;"))
            #expect(detail.text.contains(#"id="observation-tree""#))
            #expect(detail.text.contains("tool call"), "tool calls are rendered")
            #expect(!detail.text.contains("· &lt;img"), "a message without a name does not borrow the trace's name")
            #expect(detail.text.components(separatedBy: "refund &lt;em&gt;please").count == 2, "a child observation shows its own input only")
            #expect(detail.text.contains("&lt;svg onload=alert(3)&gt;"), "chat messages are rendered as text")
            let session = try await h.call(.get, "/ui/default/sessions/s-1", headers: [.cookie: cookie])
            #expect(session.text.components(separatedBy: "class=\"trace-link\"").count == 3, "both traces of the session, in order")

            let csrf = try Web.csrf(detail.text)
            let form = "csrf=\(csrf)&name=helpfulness&value=0.8&comment=clear+answer"
            let added = try await h.call(
                .post, "/ui/default/traces/evil/scores", body: .init(string: form),
                headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"])
            #expect(added.status == .seeOther, "\(added.text.prefix(300))")
            let scores = try await h.store.scores.list(projectID: h.project.id, traceID: "evil")
            #expect(scores.map(\.name) == ["helpfulness"])
            #expect(scores.first?.numericValue == 0.8)
            #expect(scores.first?.source == .human)
            #expect(scores.first?.comment == "clear answer")
            #expect(scores.first?.author == "user:ada@example.com")
            let forged = try await h.call(
                .post, "/ui/default/traces/evil/scores", body: .init(string: "csrf=forged&name=x&value=1"),
                headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"])
            #expect(forged.status == .forbidden)
            #expect(try await h.store.scores.count(projectID: h.project.id) == 1)
            let wrongType = try await h.call(
                .post, "/ui/default/traces/evil/scores", body: .init(string: "csrf=\(csrf)&name=helpfulness&value=good"),
                headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"])
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.text.contains("holds numeric values"), "the form says why: \(wrongType.text.prefix(300))")
            #expect(try await h.store.scores.count(projectID: h.project.id) == 1)
            let bad = try await h.call(.get, "/ui/default/traces?status=maybe", headers: [.cookie: cookie])
            #expect(bad.status == .badRequest)
            #expect(bad.text.contains("status"))
        }
    }
}
