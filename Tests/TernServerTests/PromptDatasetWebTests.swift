import Foundation
import HTTPTypes
import NIOCore
import TernCore
import TernServer
import TernTestSupport
import Testing

/// The prompt and dataset pages of the web UI, rendered on the server.
@Suite("Web UI: prompts and datasets (server side)")
struct PromptDatasetWebTests {
    static func expectEscaped(_ page: Harness.Reply, _ path: String) {
        for raw in ["<script>alert", "<img src=x", "</textarea><script>", "<b>bold</b>"] {
            #expect(!page.text.contains(raw), "\(path) shows \(raw) unescaped")
        }
    }

    static func pushPrompts(_ h: Harness) async throws {
        let first = try await h.call(
            .post, "/api/v1/prompts", key: h.adminKey,
            json: """
                {"name": "support", "messages": [{"role": "system", "content": "You help <script>alert(1)</script> customers of {{ company }}."},
                                                 {"role": "user", "content": "{{ question }}"}],
                 "config": {"model": "support-bot", "temperature": 0.2}, "commit_message": "first <b>bold</b> try", "labels": ["production"]}
                """)
        #expect(first.status == .created, "\(first.text)")
        let second = try await h.call(
            .post, "/api/v1/prompts", key: h.adminKey,
            json: """
                {"name": "support", "messages": [{"role": "system", "content": "You help customers of {{ company }} kindly."},
                                                 {"role": "user", "content": "{{ question }}"}],
                 "config": {"model": "support-bot", "temperature": 0.2}, "commit_message": "kinder", "labels": ["staging"]}
                """)
        #expect(second.status == .created, "\(second.text)")
    }

    @Test("prompt pages render and escape; diff is side by side; a label moves by form with CSRF and rolls back", arguments: StoreKind.available)
    func prompts(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.pushPrompts(h)
            let cookie = try await WebUITests.signIn(h)
            let list = try await Web.get(h, "/ui/default/prompts", cookie: cookie)
            #expect(list.status == .ok, "\(list.text.prefix(400))")
            #expect(list.text.contains(#"id="prompts-table""#))
            #expect(list.text.contains("production → v1") && list.text.contains("staging → v2"))
            #expect(list.text.contains(#"id="nav-prompts" href="/ui/default/prompts" aria-current="page""#), "the nav links the section")
            for path in [
                "/ui/default/prompts", "/ui/default/prompts/support", "/ui/default/prompts/support/versions/1", "/ui/default/prompts/support/versions/2",
                "/ui/default/prompts/support/diff?base=1&head=2", "/ui/default/prompts/support/diff", "/ui/default/prompts/support/playground",
                "/ui/default/prompts/support/playground?ref=staging",
            ] {
                let page = try await Web.get(h, path, cookie: cookie)
                #expect(page.status == .ok, "\(path): \(page.text.prefix(400))")
                Self.expectEscaped(page, path)
            }
            let version = try await Web.get(h, "/ui/default/prompts/support/versions/1", cookie: cookie)
            #expect(
                version.text.contains(
                    "You help &lt;script&gt;alert(1)&lt;/script&gt; customers of <mark class=\"var\" title=\"variable company\">{{ company }}</mark>"))
            #expect(version.text.contains("first &lt;b&gt;bold&lt;/b&gt; try"))
            #expect(version.text.contains(#"<code class="chip">company</code>"#))
            #expect(version.text.contains("support-bot"))

            let diff = try await Web.get(h, "/ui/default/prompts/support/diff?base=1&head=2", cookie: cookie)
            #expect(
                diff.text.contains(#"<td class="code del">You help <mark>&lt;script&gt;alert(1)&lt;/script&gt; </mark>customers of {{ company }}.</td>"#),
                "the removed words are marked within the line, escaped: \(diff.text)")
            #expect(diff.text.contains(#"<td class="code add">You help customers of {{ company }}<mark> kindly</mark>.</td>"#))
            #expect(diff.text.contains(#"<colgroup><col class="ln"><col><col class="ln"><col></colgroup>"#), "a narrow line-number gutter")
            #expect(diff.text.contains(#"<td class="code same">{{ question }}</td>"#))
            #expect(try await Web.get(h, "/ui/default/prompts/support/diff?base=9", cookie: cookie).status == .badRequest)
            #expect(try await Web.get(h, "/ui/default/prompts/nope", cookie: cookie).status == .notFound)

            // Moving production to v2 by form, then rolling back from the history.
            let page = try await Web.get(h, "/ui/default/prompts/support", cookie: cookie)
            let token = try Web.csrf(page.text)
            let moved = try await Web.post(
                h, "/ui/default/prompts/support/labels", cookie: cookie, [("csrf", token), ("label", "production"), ("version", "2")])
            #expect(moved.status == .seeOther, "\(moved.text.prefix(300))")
            #expect(try await h.store.prompts.get(projectID: h.project.id, name: "support", label: "production")?.version == 2)
            let user = try #require(try await h.store.users.get(email: "ada@example.com"))
            let moves = try await h.store.prompts.labelMoves(projectID: h.project.id, name: "support")
            #expect(moves.first?.author == "user:\(user.id)" && moves.first?.fromVersion == 1 && moves.first?.toVersion == 2)
            let after = try await Web.get(h, "/ui/default/prompts/support", cookie: cookie)
            #expect(after.text.contains("Roll back to v1"))
            #expect(after.text.contains("Ada (ada@example.com)"), "authors are shown by name")
            let rolled = try await Web.post(
                h, "/ui/default/prompts/support/labels", cookie: cookie, [("csrf", token), ("label", "production"), ("version", "1")])
            #expect(rolled.status == .seeOther)
            #expect(try await h.store.prompts.get(projectID: h.project.id, name: "support", label: "production")?.version == 1)

            // A forged form changes nothing.
            let forged = try await Web.post(
                h, "/ui/default/prompts/support/labels", cookie: cookie, [("csrf", "forged"), ("label", "production"), ("version", "2")])
            #expect(forged.status == .forbidden)
            #expect(try await h.store.prompts.get(projectID: h.project.id, name: "support", label: "production")?.version == 1)
            let latest = try await Web.post(h, "/ui/default/prompts/support/labels", cookie: cookie, [("csrf", token), ("label", "latest"), ("version", "1")])
            #expect(latest.status == .badRequest)
            #expect(latest.text.contains("latest"))
        }
    }

    @Test(
        "the playground renders the prompt, runs it on several models at once through the gateway and shows output, tokens, cost and trace",
        arguments: StoreKind.available)
    func playground(kind: StoreKind) async throws {
        try await withGateway(kind) { g in
            let h = g.h
            try await Self.pushPrompts(h)
            let cookie = try await WebUITests.signIn(h)
            let page = try await Web.get(h, "/ui/default/prompts/support/playground?version=1", cookie: cookie)
            #expect(page.status == .ok)
            #expect(page.text.contains(#"name="var.company""#) && page.text.contains(#"name="var.question""#), "fields for the variables")
            #expect(page.text.contains(#"value="support-bot" id="model-support-bot" checked"#), "the version's model is preselected")
            #expect(
                page.text.contains(#"value="claude-direct""#) && !page.text.contains(#"value="all-minilm-l6-v2""#),
                "chat models are offered; the built-in embedding model is not")
            let token = try Web.csrf(page.text)
            g.stub.script(model: "gpt-4o-mini", [.reply(text: "<script>alert(7)</script> Sure, Acme ships <img src=x onerror=alert(8)>.")])

            let run = try await Web.post(
                h, "/ui/default/prompts/support/playground", cookie: cookie,
                [
                    ("csrf", token), ("ref", "1"), ("var.company", "Acme"), ("var.question", "When do you ship?"),
                    ("model", "support-bot"), ("model", "claude-direct"), ("max_tokens", "64"),
                ])
            #expect(run.status == .ok, "\(run.text.prefix(600))")
            Self.expectEscaped(run, "playground results")
            #expect(run.text.contains("&lt;script&gt;alert(7)&lt;/script&gt; Sure, Acme ships &lt;img src=x onerror=alert(8)&gt;."))
            #expect(run.text.contains("Hello from claude-3-5-haiku-latest"))
            #expect(run.text.contains("10 → 5"), "tokens of each answer")
            #expect(run.text.contains("$0.0200"), "cost from the trace: 10 tokens at $1000/M in, 5 at $2000/M out")
            #expect(run.text.components(separatedBy: #"class="result-trace""#).count == 3, "a trace link per model")
            #expect(run.text.contains(#"value="Acme""#) == false && run.text.contains("\nAcme</textarea>"), "the values stay in the form")

            let upstream = try #require(g.stub.requests(model: "gpt-4o-mini").last)
            let messages = upstream.body["messages"]?.array ?? []
            #expect(messages.first?["content"]?.string == "You help <script>alert(1)</script> customers of Acme.")
            #expect(messages.last?["content"]?.string == "When do you ship?")
            #expect(upstream.body["max_tokens"]?.int == 64)
            #expect(upstream.body["temperature"]?.double == 0.2, "the version's settings apply")
            #expect(g.stub.requests(model: "claude-3-5-haiku-latest").count == 1)

            // Each link opens the trace, which records the prompt version.
            let links = run.text.components(separatedBy: #"class="result-trace" href=""#).dropFirst().map { String($0.prefix { $0 != "\"" }) }
            #expect(links.count == 2)
            for link in links {
                let id = String(try #require(link.split(separator: "/").last))
                let detail = try #require(try await h.store.traces.get(projectID: h.project.id, id: id))
                #expect(detail.observations.first?.promptName == "support")
                #expect(detail.observations.first?.promptVersion == 1)
                #expect(detail.trace.tags.contains("playground"))
                #expect(detail.trace.userID == "ada@example.com")
                #expect(try await Web.get(h, link, cookie: cookie).status == .ok)
            }

            // The messages themselves are editable: the run sends them as edited, with a new variable filled in.
            let editedRun = try await Web.post(
                h, "/ui/default/prompts/support/playground", cookie: cookie,
                [
                    ("csrf", token), ("ref", "1"), ("msg.0.role", "system"), ("msg.0.content", "Answer for {{ company }} in {{ tongue }}.\r\nBe brief."),
                    ("msg.1.role", "user"), ("msg.1.content", "{{question}}"), ("var.company", "Acme"), ("var.question", "Hours?"),
                    ("var.tongue", "French"), ("model", "support-bot"),
                ])
            #expect(editedRun.status == .ok, "\(editedRun.text.prefix(600))")
            #expect(editedRun.text.contains(#"id="playground-edited""#), "the page says the run used the edited messages")
            #expect(editedRun.text.contains("\nAnswer for {{ company }} in {{ tongue }}.\nBe brief.</textarea>"), "the edit stays in the form")
            #expect(editedRun.text.contains(#"name="var.tongue""#), "the new variable gets its field")
            let sent = try #require(g.stub.requests(model: "gpt-4o-mini").last)
            #expect(sent.body["messages"]?.array?.first?["content"]?.string == "Answer for Acme in French.\nBe brief.")
            #expect(sent.body["messages"]?.array?.last?["content"]?.string == "Hours?")
            #expect(sent.body["temperature"]?.double == 0.2, "the version's settings still apply")
            let editedLink = try #require(
                editedRun.text.components(separatedBy: #"class="result-trace" href=""#).dropFirst().first.map { String($0.prefix { $0 != "\"" }) })
            let editedTrace = try #require(try await h.store.traces.get(projectID: h.project.id, id: String(editedLink.split(separator: "/").last!)))
            #expect(editedTrace.observations.first?.promptName == nil, "an edited prompt is not version 1")
            #expect(editedTrace.trace.metadata?["edited_from"]?.string == "support@1")

            // Missing variables are named; nothing is sent.
            let before = g.stub.requests.count
            let missing = try await Web.post(
                h, "/ui/default/prompts/support/playground", cookie: cookie,
                [
                    ("csrf", token), ("ref", "production"), ("var.company", ""), ("var.question", "Hi"), ("model", "support-bot"),
                ])
            #expect(missing.status == .badRequest)
            #expect(missing.text.contains(#"id="playground-error""#) && missing.text.contains("needs values for: company"), "\(missing.text.prefix(2000))")
            let noModel = try await Web.post(
                h, "/ui/default/prompts/support/playground", cookie: cookie,
                [
                    ("csrf", token), ("ref", "1"), ("var.company", "A"), ("var.question", "Hi"),
                ])
            #expect(noModel.status == .badRequest)
            #expect(noModel.text.contains("Choose at least one model"))
            let forged = try await Web.post(
                h, "/ui/default/prompts/support/playground", cookie: cookie,
                [
                    ("csrf", "nope"), ("ref", "1"), ("var.company", "A"), ("var.question", "Hi"), ("model", "support-bot"),
                ])
            #expect(forged.status == .forbidden)
            #expect(g.stub.requests.count == before, "refused runs call no model")

            // An upstream error is shown in its column, the other model still answers.
            g.stub.script(model: "gpt-4o-mini", [.status(400, message: "bad <b>bold</b> request")])
            let failed = try await Web.post(
                h, "/ui/default/prompts/support/playground", cookie: cookie,
                [
                    ("csrf", token), ("ref", "1"), ("var.company", "A"), ("var.question", "Hi"), ("model", "support-bot"), ("model", "claude-direct"),
                ])
            #expect(failed.status == .ok)
            #expect(failed.text.contains("result-error"))
            #expect(failed.text.contains("bad &lt;b&gt;bold&lt;/b&gt; request"))
            #expect(failed.text.contains("Hello from claude-3-5-haiku-latest"))
        }
    }

    static func seedDataset(_ h: Harness) async throws {
        #expect(
            try await h.call(.post, "/api/v1/datasets", key: h.adminKey, json: #"{"name": "qa", "description": "questions <b>bold</b>"}"#).status == .created)
        let items = try await h.call(
            .post, "/api/v1/datasets/qa/items", key: h.adminKey,
            json: """
                {"items": [
                  {"id": "a1", "input": {"question": "<script>alert(1)</script> where is my order?"}, "expected_output": "</textarea><script>alert(2)</script>",
                   "metadata": {"task": "qa", "language": "en", "domain": "<img src=x onerror=alert(3)>"}},
                  {"id": "a2", "input": {"question": "where is my order?"}, "expected_output": "In transit.", "metadata": {"task": "qa", "language": "en"}, "golden": true},
                  {"id": "a3", "input": {"question": "where is my order??"}, "metadata": {"task": "qa", "language": "de"}},
                  {"id": "a4", "input": {"question": "Wie spät ist es?", "n": 3}, "metadata": {"task": "chat", "language": "de"}}
                ], "message": "seed"}
                """)
        #expect(items.status == .created, "\(items.text)")
    }

    @Test("dataset pages render and escape; editing, adding, golden and removing make versions; CSRF is checked", arguments: StoreKind.available)
    func datasets(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.seedDataset(h)
            let cookie = try await WebUITests.signIn(h)
            let user = try #require(try await h.store.users.get(email: "ada@example.com"))
            for path in [
                "/ui/default/datasets", "/ui/default/datasets/qa", "/ui/default/datasets/qa?version=1", "/ui/default/datasets/qa/items/a1",
                "/ui/default/datasets/qa/items/new", "/ui/default/datasets/qa/import", "/ui/default/datasets/qa/stats",
            ] {
                let page = try await Web.get(h, path, cookie: cookie)
                #expect(page.status == .ok, "\(path): \(page.text.prefix(400))")
                Self.expectEscaped(page, path)
            }
            let list = try await Web.get(h, "/ui/default/datasets", cookie: cookie)
            #expect(list.text.contains(#"<a class="dataset-link" href="/ui/default/datasets/qa">qa</a>"#))
            #expect(list.text.contains("25.0% (1)"), "golden share")
            let page = try await Web.get(h, "/ui/default/datasets/qa", cookie: cookie)
            #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt; where is my order?"))
            #expect(page.text.components(separatedBy: #"class="item-row""#).count == 5)
            #expect(page.text.contains(#"class="badge ok""#), "the golden item is marked")
            let itemPage = try await Web.get(h, "/ui/default/datasets/qa/items/a4", cookie: cookie)
            #expect(itemPage.text.contains(#"name="input.0.json" value="1""#), "non-string values are edited as JSON")

            let stats = try await Web.get(h, "/ui/default/datasets/qa/stats", cookie: cookie)
            #expect(stats.text.contains(#"id="stat-items">4<"#))
            #expect(stats.text.contains(#"id="stat-golden">25.0%<"#))
            #expect(stats.text.contains("Items by language"))
            #expect(stats.text.contains("<svg"), "charts")
            #expect(
                stats.text.contains(#"href="/ui/default/datasets/qa/items/a2">a2</a>"#)
                    || stats.text.contains(#"href="/ui/default/datasets/qa/items/a3">a3</a>"#),
                "near-duplicate examples link their items")
            #expect(try await Web.get(h, "/ui/default/datasets/qa?version=7", cookie: cookie).status == .badRequest)

            // Edit a1: its expected output and golden flag; a new version records who validated it.
            let token = try Web.csrf(page.text)
            let edited = try await Web.post(
                h, "/ui/default/datasets/qa/items/a1", cookie: cookie,
                [
                    ("csrf", token), ("input.0.name", "question"), ("input.0.value", "where is my order?\r\nplease"), ("expected", "Shipped."),
                    ("task", "qa"), ("language", "en"), ("domain", "retail"), ("metadata", ""), ("golden", "1"), ("message", "fix a1"),
                ])
            #expect(edited.status == .seeOther, "\(edited.text.prefix(400))")
            #expect(edited.headers[.location] == "/ui/default/datasets/qa?saved=2#item-a1")
            let versions = try await h.store.datasets.versions(projectID: h.project.id, dataset: "qa")
            #expect(versions.first?.version == 2 && versions.first?.changed == 1 && versions.first?.message == "fix a1")
            #expect(versions.first?.author == "user:\(user.id)")
            let a1 = try #require(
                try await h.store.datasets.items(projectID: h.project.id, dataset: "qa", version: 2, after: nil, limit: 10).first { $0.id == "a1" })
            #expect(a1.input["question"] == .string("where is my order?\nplease"), "textarea line breaks are normalised")
            #expect(a1.expectedOutput == "Shipped." && a1.domain == "retail" && a1.golden && a1.validatedBy == "user:\(user.id)")
            let old = try #require(
                try await h.store.datasets.items(projectID: h.project.id, dataset: "qa", version: 1, after: nil, limit: 10).first { $0.id == "a1" })
            #expect(old.expectedOutput == "</textarea><script>alert(2)</script>", "version 1 is unchanged")
            let saved = try await Web.get(h, "/ui/default/datasets/qa?saved=2", cookie: cookie)
            #expect(saved.text.contains("Saved as version 2."))
            #expect(saved.text.contains("Ada (ada@example.com)"), "who validated")

            // Saving a golden item unchanged makes no version and keeps who validated it.
            let same = try await Web.post(
                h, "/ui/default/datasets/qa/items/a2", cookie: cookie,
                [
                    ("csrf", token), ("input.0.name", "question"), ("input.0.value", "where is my order?"), ("expected", "In transit."),
                    ("task", "qa"), ("language", "en"), ("golden", "1"),
                ])
            #expect(same.headers[.location] == "/ui/default/datasets/qa?saved=unchanged#item-a2")
            #expect(try await Web.get(h, "/ui/default/datasets/qa?saved=unchanged", cookie: cookie).text.contains("Nothing changed"))

            // Unmark golden, add an item, remove one: one version each.
            #expect(
                try await Web.post(h, "/ui/default/datasets/qa/items/a2/golden", cookie: cookie, [("csrf", token), ("golden", "unmark")]).status == .seeOther)
            let added = try await Web.post(
                h, "/ui/default/datasets/qa/items", cookie: cookie,
                [
                    ("csrf", token), ("input.0.name", "question"), ("input.0.value", "Do you ship to Mars?"), ("new.name", "tone"), ("new.value", "formal"),
                    ("expected", ""), ("task", "qa"),
                ])
            #expect(added.status == .seeOther)
            #expect(try await Web.post(h, "/ui/default/datasets/qa/items/a3/remove", cookie: cookie, [("csrf", token)]).status == .seeOther)
            let latest = try await h.store.datasets.items(projectID: h.project.id, dataset: "qa", version: nil, after: nil, limit: 10)
            #expect(try await h.store.datasets.versions(projectID: h.project.id, dataset: "qa").first?.version == 5)
            #expect(latest.count == 4)
            #expect(latest.first { $0.id == "a2" }?.golden == false)
            #expect(latest.contains { $0.input == ["question": "Do you ship to Mars?", "tone": "formal"] && $0.expectedOutput == nil && $0.task == "qa" })
            #expect(!latest.contains { $0.id == "a3" })
            let invalid = try await Web.post(
                h, "/ui/default/datasets/qa/items/a1", cookie: cookie,
                [
                    ("csrf", token), ("input.0.name", "question"), ("input.0.value", "x"), ("metadata", "not json"),
                ])
            #expect(invalid.status == .badRequest)
            #expect(invalid.text.contains("metadata: expected a JSON object"))

            // Forged forms change nothing.
            let forged = try await Web.post(
                h, "/ui/default/datasets/qa/items/a1", cookie: cookie,
                [
                    ("csrf", "forged"), ("input.0.name", "question"), ("input.0.value", "hacked"),
                ])
            #expect(forged.status == .forbidden)
            #expect(try await Web.post(h, "/ui/default/datasets/qa/items/a1/golden", cookie: cookie, [("csrf", "x")]).status == .forbidden)
            #expect(try await h.store.datasets.versions(projectID: h.project.id, dataset: "qa").first?.version == 5)

            // Export of an earlier version.
            let export = try await Web.get(h, "/ui/default/datasets/qa/export?format=jsonl&version=1", cookie: cookie)
            #expect(export.status == .ok)
            #expect(export.headers[.contentDisposition] == #"attachment; filename="qa-v1.jsonl""#)
            #expect(export.text.split(separator: "\n").count == 4)
            let csv = try await Web.get(h, "/ui/default/datasets/qa/export?format=csv", cookie: cookie)
            #expect(csv.text.hasPrefix("id,"))
            // Creating a dataset from the list.
            let created = try await Web.post(h, "/ui/default/datasets", cookie: cookie, [("csrf", token), ("name", "fresh"), ("description", "new")])
            #expect(created.status == .seeOther && created.headers[.location] == "/ui/default/datasets/fresh")
            #expect(try await Web.get(h, "/ui/default/datasets/fresh", cookie: cookie).text.contains("No items in this version."))
        }
    }

    @Test("items come 50 a page with a next link; an earlier version shows its own items and no forms", arguments: StoreKind.available)
    func pagesAndVersions(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            #expect(try await h.call(.post, "/api/v1/datasets", key: h.adminKey, json: #"{"name": "big"}"#).status == .created)
            let items = (0..<55).map { String(format: #"{"id": "i%03d", "input": {"q": "question %d"}}"#, $0, $0) }.joined(separator: ",")
            #expect(try await h.call(.post, "/api/v1/datasets/big/items", key: h.adminKey, json: #"{"items": [\#(items)]}"#).status == .created)
            #expect(
                try await h.call(
                    .post, "/api/v1/datasets/big/items", key: h.adminKey,
                    json: #"{"items": [{"id": "i000", "input": {"q": "changed"}}], "remove": ["i054"]}"#
                ).status == .created)
            let cookie = try await WebUITests.signIn(h)
            let first = try await Web.get(h, "/ui/default/datasets/big", cookie: cookie)
            #expect(first.text.components(separatedBy: #"class="item-row""#).count == 51)
            #expect(first.text.contains("changed"))
            let next = try #require(
                first.text.range(of: #"id="next-page" class="button secondary" href=""#).map { r in
                    String(first.text[r.upperBound...].prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
                })
            #expect(next == "/ui/default/datasets/big?cursor=i049")
            let second = try await Web.get(h, next, cookie: cookie)
            #expect(second.text.components(separatedBy: #"class="item-row""#).count == 5, "i050-i053")
            #expect(!second.text.contains(#"id="next-page""#))
            #expect(second.text.contains("First page"))

            let old = try await Web.get(h, "/ui/default/datasets/big?version=1", cookie: cookie)
            #expect(old.text.contains("question 0") && !old.text.contains("changed"), "version 1 shows its own items")
            #expect(old.text.contains("earlier, immutable version"))
            #expect(!old.text.contains("golden-form") && !old.text.contains(#"id="add-item""#), "no forms on an earlier version")
            let oldNext = try await Web.get(h, "/ui/default/datasets/big?version=1&cursor=i049", cookie: cookie)
            #expect(oldNext.text.components(separatedBy: #"class="item-row""#).count == 6, "i050-i054 in version 1")
            #expect(old.text.contains(#"href="/ui/default/datasets/big/export?format=jsonl&amp;version=1""#))
        }
    }

    @Test("import: a CSV upload is mapped column by column, previewed and imported as one version", arguments: StoreKind.available)
    func importCSV(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            #expect(try await h.call(.post, "/api/v1/datasets", key: h.adminKey, json: #"{"name": "imp"}"#).status == .created)
            let cookie = try await WebUITests.signIn(h)
            let page = try await Web.get(h, "/ui/default/datasets/imp/import", cookie: cookie)
            let token = try Web.csrf(page.text)
            let csv = "question,answer,task,notes\r\n\"Where, exactly?\",Here,qa,<script>alert(1)</script>\r\nWhen?,Now,qa,skip me\r\n"
            let boundary = "----TernBoundary7"
            let body = """
                --\(boundary)\r
                Content-Disposition: form-data; name="csrf"\r
                \r
                \(token)\r
                --\(boundary)\r
                Content-Disposition: form-data; name="file"; filename="qa.csv"\r
                Content-Type: text/csv\r
                \r
                \(csv)\r
                --\(boundary)\r
                Content-Disposition: form-data; name="format"\r
                \r
                auto\r
                --\(boundary)--\r

                """
            let preview = try await h.call(
                .post, "/ui/default/datasets/imp/import", body: ByteBuffer(string: body),
                headers: [.cookie: cookie, .contentType: "multipart/form-data; boundary=\(boundary)"])
            #expect(preview.status == .ok, "\(preview.text.prefix(600))")
            #expect(preview.text.contains(#"id="import-mapping""#))
            #expect(preview.text.contains(#"<input type="hidden" name="column.1" value="answer">"#))
            #expect(!preview.text.contains("<script>alert(1)"), "the hidden copy of the file is escaped")
            #expect(preview.text.contains("2 items"))

            // Map answer as the expected output and ignore notes.
            let imported = try await Web.post(
                h, "/ui/default/datasets/imp/import/confirm", cookie: cookie,
                [
                    ("csrf", token), ("format", "csv"), ("message", "from csv"), ("data", csv.replacingOccurrences(of: "\r\n", with: "\n")),
                    ("column.0", "question"), ("role.0", "input"), ("column.1", "answer"), ("role.1", "expected"),
                    ("column.2", "task"), ("role.2", "metadata"), ("column.3", "notes"), ("role.3", "ignore"), ("step", "import"),
                ])
            #expect(imported.status == .seeOther, "\(imported.text.prefix(600))")
            let items = try await h.store.datasets.items(projectID: h.project.id, dataset: "imp", version: nil, after: nil, limit: 10)
            #expect(items.count == 2)
            #expect(Set(items.map(\.input)) == [["question": "Where, exactly?"], ["question": "When?"]])
            #expect(Set(items.compactMap(\.expectedOutput)) == ["Here", "Now"])
            #expect(items.allSatisfy { $0.task == "qa" && $0.input["notes"] == nil })
            #expect(try await h.store.datasets.versions(projectID: h.project.id, dataset: "imp").first?.message == "from csv")

            // Two expected columns are refused with a clear message; JSONL pasted imports directly after a preview.
            let twice = try await Web.post(
                h, "/ui/default/datasets/imp/import/confirm", cookie: cookie,
                [
                    ("csrf", token), ("format", "csv"), ("data", csv), ("column.0", "question"), ("role.0", "expected"), ("column.1", "answer"),
                    ("role.1", "expected"), ("column.2", "task"), ("role.2", "metadata"), ("column.3", "notes"), ("role.3", "input"), ("step", "import"),
                ])
            #expect(twice.status == .badRequest)
            #expect(twice.text.contains("only one column can be the expected output"))
            let bad = try await Web.post(
                h, "/ui/default/datasets/imp/import/confirm", cookie: cookie,
                [
                    ("csrf", token), ("format", "jsonl"), ("data", "{\"input\": 3}"), ("step", "import"),
                ])
            #expect(bad.status == .badRequest)
            #expect(bad.text.contains("line 1.input"))
            let forged = try await Web.post(
                h, "/ui/default/datasets/imp/import/confirm", cookie: cookie,
                [
                    ("csrf", "no"), ("format", "jsonl"), ("data", "{\"input\": \"x\"}"), ("step", "import"),
                ])
            #expect(forged.status == .forbidden)
            #expect(try await h.store.datasets.versions(projectID: h.project.id, dataset: "imp").count == 1)
        }
    }

    @Test("add to dataset from the trace view: the trace becomes an item with its input, expected output, segments and source", arguments: StoreKind.available)
    func addTrace(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await WebUITests.ingestHostile(h)
            let cookie = try await WebUITests.signIn(h)
            let trace = try await Web.get(h, "/ui/default/traces/evil", cookie: cookie)
            #expect(trace.text.contains(#"id="add-to-dataset""#))
            #expect(trace.text.contains(#"action="/ui/default/traces/evil/dataset""#))
            #expect(trace.text.contains("&lt;svg onload=alert(3)&gt;</textarea>"), "the answer is offered as the expected output, escaped")
            let token = try Web.csrf(trace.text)
            let added = try await Web.post(
                h, "/ui/default/traces/evil/dataset", cookie: cookie,
                [
                    ("csrf", token), ("dataset", ""), ("new_dataset", "from-prod"), ("expected", "A better answer"),
                ])
            #expect(added.status == .seeOther, "\(added.text.prefix(300))")
            #expect(added.headers[.location] == "/ui/default/traces/evil?added=from-prod&added_version=1#add-to-dataset")
            let items = try await h.store.datasets.items(projectID: h.project.id, dataset: "from-prod", version: nil, after: nil, limit: 10)
            #expect(items.count == 1)
            #expect(items.first?.sourceTraceID == "evil")
            #expect(items.first?.input["input"] == .string("<script>window.__xss=1</script>"))
            #expect(items.first?.expectedOutput == "A better answer")
            let after = try await Web.get(h, "/ui/default/traces/evil?added=from-prod&added_version=1", cookie: cookie)
            #expect(after.text.contains(#"id="added-to-dataset""#))
            #expect(after.text.contains(#"<option value="from-prod" selected>"#))
            // Again into the same dataset: nothing changes; a forged form adds nothing.
            let again = try await Web.post(
                h, "/ui/default/traces/evil/dataset", cookie: cookie, [("csrf", token), ("dataset", "from-prod"), ("expected", "A better answer")])
            #expect(again.headers[.location] == "/ui/default/traces/evil?added=from-prod&added_version=unchanged#add-to-dataset")
            let forged = try await Web.post(h, "/ui/default/traces/calm/dataset", cookie: cookie, [("csrf", "x"), ("dataset", "from-prod")])
            #expect(forged.status == .forbidden)
            #expect(try await h.store.datasets.versions(projectID: h.project.id, dataset: "from-prod").count == 1)
            let dataset = try await Web.get(h, "/ui/default/datasets/from-prod", cookie: cookie)
            #expect(dataset.text.contains(#"<a class="source-trace" href="/ui/default/traces/evil""#))
            Self.expectEscaped(dataset, "dataset from traces")
            #expect(!dataset.text.contains("<script>window"))
        }
    }
}
