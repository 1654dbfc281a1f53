import Foundation
import HTTPTypes
import NIOCore
import TernCore
import TernServer
import TernTestSupport
import Testing

/// Creating prompts and prompt versions with the web UI's forms (server side).
@Suite("Web UI: prompt and version forms")
struct PromptEditWebTests {

    /// The fields of a complete chat prompt form; `extra` are appended (repeated names allowed).
    static func chatForm(_ token: String, name: String? = "support", _ extra: [(String, String)] = []) -> [(String, String)] {
        var pairs: [(String, String)] = [("csrf", token), ("kind", "chat")]
        if let name { pairs.append(("name", name)) }
        pairs += [
            ("message.0.role", "system"), ("message.0.content", "You help customers of {{ company }}.\r\nBe brief."),
            ("message.1.role", "user"), ("message.1.content", "{{question}}"),
            ("variables", "company, question"), ("model", "support-bot"), ("temperature", "0.3"), ("max_tokens", "256"),
            ("response_format", #"{"type": "json_object"}"#),
            ("tools", #"[{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}]"#),
            ("commit_message", "first version"), ("text", ""),
        ]
        return pairs + extra
    }

    /// The value of the form field `name` on a page (an input's value or a textarea's text), unescaped.
    static func field(_ page: String, _ name: String) -> String? {
        guard let start = page.range(of: #"name="\#(name)""#) else { return nil }
        let tagEnd = page[start.upperBound...].firstIndex(of: ">")!
        let tagStart = page[..<start.lowerBound].range(of: "<", options: .backwards)!.lowerBound
        let tag = page[tagStart..<tagEnd]
        let raw: Substring
        if tag.hasPrefix("<textarea") {
            let body = page[page.index(after: tagEnd)...]
            raw = body[..<body.range(of: "</textarea>")!.lowerBound].dropFirst()  // the line break after the tag
        } else {
            guard let value = tag.range(of: #"value=""#) else { return "" }
            raw = tag[value.upperBound...].prefix { $0 != "\"" }
        }
        return raw.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }

    /// The error shown under the field (the first `field-error` after the field's name).
    static func fieldError(_ page: String, after marker: String) -> String? {
        guard let start = page.range(of: marker), let error = page[start.upperBound...].range(of: #"<div class="field-error" role="alert">"#) else {
            return nil
        }
        return String(page[error.upperBound...].prefix { $0 != "<" })
    }

    @Test(
        "a new chat prompt is created by form with messages, tools, variables, model settings, a commit message and labels; the author is the user",
        arguments: StoreKind.available)
    func create(kind: StoreKind) async throws {
        try await withGateway(kind) { g in
            let h = g.h
            let cookie = try await WebUITests.signIn(h)
            let list = try await Web.get(h, "/ui/default/prompts", cookie: cookie)
            #expect(list.text.contains(#"id="new-prompt" href="/ui/default/prompts/.new""#))
            let page = try await Web.get(h, "/ui/default/prompts/.new", cookie: cookie)
            #expect(page.status == .ok, "\(page.text.prefix(600))")
            #expect(page.text.contains(#"id="prompt-form""#) && page.text.contains(#"action="/ui/default/prompts""#))
            #expect(page.text.contains(#"<option value="support-bot">"#), "the gateway's models are offered")
            #expect(page.text.contains(#"id="message-template""#))
            let token = try Web.csrf(page.text)

            let created = try await Web.post(
                h, "/ui/default/prompts", cookie: cookie, Self.chatForm(token, [("label", "staging"), ("labels_other", "canary")]))
            #expect(created.status == .seeOther, "\(created.text.prefix(1200))")
            #expect(created.headers[.location] == "/ui/default/prompts/support/versions/1?created=1")
            let user = try #require(try await h.store.users.get(email: "ada@example.com"))
            let stored = try #require(try await h.store.prompts.get(projectID: h.project.id, name: "support", version: 1))
            #expect(stored.kind == .chat)
            #expect(
                stored.messages == [
                    PromptMessage(role: "system", content: "You help customers of {{ company }}.\nBe brief."),
                    PromptMessage(role: "user", content: "{{question}}"),
                ])
            #expect(stored.variables == ["company", "question"])
            #expect(stored.config == PromptModelConfig(model: "support-bot", temperature: 0.3, maxTokens: 256, responseFormat: ["type": "json_object"]))
            #expect(stored.tools?.array?.first?["function"]?["name"]?.string == "lookup_order")
            #expect(stored.commitMessage == "first version")
            #expect(stored.author == "user:\(user.id)")
            #expect(Set(stored.labels) == ["staging", "canary"])
            let moves = try await h.store.prompts.labelMoves(projectID: h.project.id, name: "support")
            #expect(moves.allSatisfy { $0.author == "user:\(user.id)" } && moves.count == 2)

            let shown = try await Web.get(h, "/ui/default/prompts/support/versions/1?created=1", cookie: cookie)
            #expect(shown.text.contains("Saved as v1."))
            #expect(shown.text.contains("Ada (ada@example.com)"), "the author is the signed-in user")
            #expect(shown.text.contains(#"id="version-edit" href="/ui/default/prompts/support/versions/new?from=1""#))
            #expect(shown.text.contains(#"href="/ui/default/experiments/new?prompt=support%401""#))

            // A text prompt whose variables are left to the template.
            let text = try await Web.post(
                h, "/ui/default/prompts", cookie: cookie,
                [
                    ("csrf", token), ("name", "summary"), ("kind", "text"), ("text", "Summarise {{ document }} in {{n}} words."), ("variables", ""),
                    ("message.0.role", "user"), ("message.0.content", "kept but unused"),
                ])
            #expect(text.status == .seeOther, "\(text.text.prefix(800))")
            let summary = try #require(try await h.store.prompts.get(projectID: h.project.id, name: "summary", version: 1))
            #expect(summary.kind == .text && summary.text == "Summarise {{ document }} in {{n}} words." && summary.messages.isEmpty)
            #expect(summary.variables == ["document", "n"], "empty variables are those the template uses, as in the API")
            #expect(summary.config == PromptModelConfig() && summary.tools == nil && summary.commitMessage == nil)

            // The same through the API gives the same version: the form is the API's definition.
            let api = try await h.call(
                .post, "/api/v1/prompts", key: h.adminKey,
                json: """
                    {"name": "summary", "prompt": "Summarise {{ document }} in {{n}} words."}
                    """)
            #expect(api.status == .ok && (api.json["created"] as? Bool) == false, "\(api.text)")
        }
    }

    @Test("errors come back next to their fields with everything typed; nothing is stored", arguments: StoreKind.available)
    func errors(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let cookie = try await WebUITests.signIn(h)
            let token = try Web.csrf(try await Web.get(h, "/ui/default/prompts/.new", cookie: cookie).text)
            func post(_ pairs: [(String, String)]) async throws -> Harness.Reply {
                let reply = try await Web.post(h, "/ui/default/prompts", cookie: cookie, pairs)
                #expect(reply.status == .badRequest, "\(reply.text.prefix(600))")
                #expect(reply.text.contains(#"id="prompt-errors""#))
                PromptDatasetWebTests.expectEscaped(reply, "the prompt form")
                return reply
            }
            // A bad name: the error under the name, every other field as typed.
            let hostile = "</textarea><script>alert(1)</script>"
            var pairs = Self.chatForm(token, name: "bad name!")
            pairs = pairs.map { $0.0 == "message.1.content" ? ($0.0, "{{question}} \(hostile)") : $0 }
            pairs = pairs.map { $0.0 == "tools" ? ($0.0, #"[{"type": "function", "#) : $0 }
            let badName = try await post(pairs)
            #expect(Self.fieldError(badName.text, after: #"id="prompt-name""#)?.contains("prompt names use letters") == true, "\(badName.text)")
            #expect(Self.field(badName.text, "name") == "bad name!")
            #expect(Self.fieldError(badName.text, after: #"id="prompt-tools""#)?.contains("not valid JSON") == true, "all form-level errors at once")
            #expect(Self.field(badName.text, "message.1.content") == "{{question}} \(hostile)", "the message is kept, escaped")
            #expect(Self.field(badName.text, "message.0.content") == "You help customers of {{ company }}.\nBe brief.")
            #expect(Self.field(badName.text, "tools") == #"[{"type": "function", "#)
            #expect(Self.field(badName.text, "response_format") == #"{"type": "json_object"}"#)
            #expect(Self.field(badName.text, "temperature") == "0.3" && Self.field(badName.text, "commit_message") == "first version")

            // Every problem at once: a bad name, an undeclared variable, a temperature out of range, zero tokens and an unknown role.
            let many = try await post(
                Self.chatForm(token, name: "bad name!").map { pair -> (String, String) in
                    switch pair.0 {
                    case "variables": (pair.0, "company")
                    case "temperature": (pair.0, "3")
                    case "max_tokens": (pair.0, "0")
                    case "message.1.role": (pair.0, "wizard")
                    default: pair
                    }
                })
            #expect(Self.fieldError(many.text, after: #"id="prompt-name""#)?.contains("prompt names use letters") == true)
            #expect(Self.fieldError(many.text, after: #"id="prompt-variables""#)?.contains("undeclared variables: question") == true, "\(many.text)")
            // Temperature and max tokens share a row; their errors follow it.
            #expect(many.text.contains(#"<div class="field-error" role="alert">expected 0-2, got 3.0</div>"#) || many.text.contains("expected 0-2, got 3"))
            #expect(many.text.contains(#"<div class="field-error" role="alert">expected a positive integer</div>"#), "\(many.text)")
            #expect(many.text.components(separatedBy: #"class="field-error""#).count - 1 >= 5, "one error per field, all shown")
            // An undeclared variable is named under the variables field.
            let undeclared = try await post(Self.chatForm(token).map { $0.0 == "variables" ? ($0.0, "company") : $0 })
            #expect(Self.fieldError(undeclared.text, after: #"id="prompt-variables""#)?.contains("undeclared variables: question") == true)
            #expect(Self.field(undeclared.text, "variables") == "company")
            // A temperature out of range (the API's rule) and one that is not a number (the form's).
            let hot = try await post(Self.chatForm(token).map { $0.0 == "temperature" ? ($0.0, "3") : $0 })
            #expect(Self.fieldError(hot.text, after: #"id="prompt-temperature""#)?.contains("expected 0-2, got 3") == true)
            let word = try await post(Self.chatForm(token).map { $0.0 == "temperature" ? ($0.0, "warm") : $0 })
            #expect(Self.fieldError(word.text, after: #"id="prompt-temperature""#)?.contains("expected a number") == true)
            let tokens = try await post(Self.chatForm(token).map { $0.0 == "max_tokens" ? ($0.0, "0") : $0 })
            #expect(Self.fieldError(tokens.text, after: #"id="prompt-max-tokens""#)?.contains("positive") == true)
            // A role the form does not offer is reported on its row, and kept.
            let role = try await post(Self.chatForm(token).map { $0.0 == "message.1.role" ? ($0.0, "wizard") : $0 })
            #expect(role.text.contains(#"<option value="wizard" selected>wizard</option>"#))
            #expect(role.text.contains(#"class="message-row invalid""#) && role.text.contains("got &quot;wizard&quot;"))
            // No message with content, a text prompt without text, a reserved label, a response format that is not an object.
            let empty = try await post([("csrf", token), ("name", "x"), ("kind", "chat"), ("message.0.role", "user"), ("message.0.content", "  ")])
            #expect(Self.fieldError(empty.text, after: #"id="messages-section""#)?.contains("at least one message") == true)
            let noText = try await post([("csrf", token), ("name", "x"), ("kind", "text"), ("text", "")])
            #expect(Self.fieldError(noText.text, after: #"id="prompt-text""#)?.contains("needs its text") == true)
            let latest = try await post(Self.chatForm(token, [("labels_other", "latest")]))
            #expect(Self.fieldError(latest.text, after: #"id="prompt-labels-other""#)?.contains("latest always points") == true)
            let format = try await post(Self.chatForm(token).map { $0.0 == "response_format" ? ($0.0, #""json_object""#) : $0 })
            #expect(Self.fieldError(format.text, after: #"id="prompt-response-format""#)?.contains("an object") == true)
            let kind = try await post(Self.chatForm(token).map { $0.0 == "kind" ? ($0.0, "poem") : $0 })
            #expect(kind.text.contains("choose chat or text"))
            #expect(try await h.store.prompts.list(projectID: h.project.id).isEmpty, "nothing was stored")

            // A name in use: create a version on its page instead.
            #expect(try await Web.post(h, "/ui/default/prompts", cookie: cookie, Self.chatForm(token)).status == .seeOther)
            let taken = try await post(Self.chatForm(token).map { $0.0 == "commit_message" ? ($0.0, "again") : $0 })
            #expect(Self.fieldError(taken.text, after: #"id="prompt-name""#)?.contains("exists already") == true)
            #expect(try await h.store.prompts.history(projectID: h.project.id, name: "support").count == 1)
        }
    }

    @Test("without the script, Add message and Remove post the form back with a row more or less and store nothing", arguments: StoreKind.available)
    func rowsWithoutScript(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let cookie = try await WebUITests.signIn(h)
            let token = try Web.csrf(try await Web.get(h, "/ui/default/prompts/.new", cookie: cookie).text)
            let added = try await Web.post(h, "/ui/default/prompts", cookie: cookie, Self.chatForm(token, [("add", "message")]))
            #expect(added.status == .ok)
            #expect(added.text.components(separatedBy: #"<div class="message-row">"#).count == 5, "three rows and the script's template")
            #expect(Self.field(added.text, "message.2.content") == "")
            #expect(Self.field(added.text, "message.1.content") == "{{question}}")
            #expect(!added.text.contains(#"id="prompt-errors""#))
            // Rows numbered with gaps (the script removed one) keep their order; Remove drops the one named.
            let removed = try await Web.post(
                h, "/ui/default/prompts", cookie: cookie,
                [
                    ("csrf", token), ("name", "gaps"), ("kind", "chat"), ("message.0.role", "system"), ("message.0.content", "first"),
                    ("message.4.role", "user"), ("message.4.content", "second"), ("message.7.role", "assistant"), ("message.7.content", "third"),
                    ("remove", "1"),
                ])
            #expect(removed.status == .ok)
            #expect(Self.field(removed.text, "message.0.content") == "first" && Self.field(removed.text, "message.1.content") == "third")
            #expect(Self.field(removed.text, "message.2.content") == nil)
            #expect(try await h.store.prompts.list(projectID: h.project.id).isEmpty)
            let gaps = try await Web.post(
                h, "/ui/default/prompts", cookie: cookie,
                [
                    ("csrf", token), ("name", "gaps"), ("kind", "chat"), ("message.0.role", "system"), ("message.0.content", "first"),
                    ("message.4.role", "user"), ("message.4.content", "second"), ("message.7.role", "assistant"), ("message.7.content", "third"),
                ])
            #expect(gaps.status == .seeOther)
            #expect(try await h.store.prompts.get(projectID: h.project.id, name: "gaps", version: 1)?.messages.map(\.content) == ["first", "second", "third"])
        }
    }

    @Test(
        "a new version starts from the version shown; unchanged content makes none and says so; labels move; CSRF and roles are checked",
        arguments: StoreKind.available)
    func newVersion(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await PromptDatasetWebTests.pushPrompts(h)  // support v1 (production, hostile markup) and v2 (staging)
            let cookie = try await WebUITests.signIn(h)
            let prompt = try await Web.get(h, "/ui/default/prompts/support", cookie: cookie)
            #expect(prompt.text.contains(#"id="new-version" href="/ui/default/prompts/support/versions/new""#))
            let form = try await Web.get(h, "/ui/default/prompts/support/versions/new?from=1", cookie: cookie)
            #expect(form.status == .ok, "\(form.text.prefix(600))")
            PromptDatasetWebTests.expectEscaped(form, "the new version form")
            #expect(Self.field(form.text, "message.0.content") == "You help <script>alert(1)</script> customers of {{ company }}.")
            #expect(form.text.contains("You help &lt;script&gt;alert(1)&lt;/script&gt; customers"), "prefilled, escaped")
            #expect(Self.field(form.text, "message.1.content") == "{{ question }}")
            #expect(Self.field(form.text, "model") == "support-bot" && Self.field(form.text, "temperature") == "0.2")
            #expect(Self.field(form.text, "variables") == "company, question")
            #expect(Self.field(form.text, "base") == "1" && Self.field(form.text, "commit_message") == "")
            #expect(form.text.contains(#"id="older-base""#), "it says the newest version is v2")
            #expect(form.text.contains("now v1") && form.text.contains("now v2"), "where production and staging point now")
            let playground = try await Web.get(h, "/ui/default/prompts/support/playground?ref=1", cookie: cookie)
            #expect(playground.text.contains(#"id="playground-edit" href="/ui/default/prompts/support/versions/new?from=1""#))
            let latestForm = try await Web.get(h, "/ui/default/prompts/support/versions/new", cookie: cookie)
            #expect(Self.field(latestForm.text, "base") == "2" && !latestForm.text.contains(#"id="older-base""#))
            #expect(try await Web.get(h, "/ui/default/prompts/support/versions/new?from=9", cookie: cookie).status == .badRequest)
            #expect(try await Web.get(h, "/ui/default/prompts/nope/versions/new", cookie: cookie).status == .notFound)
            let token = try Web.csrf(form.text)

            func versionForm(base: Int, system: String, _ extra: [(String, String)] = []) -> [(String, String)] {
                [
                    ("csrf", token), ("base", String(base)), ("kind", "chat"), ("message.0.role", "system"), ("message.0.content", system),
                    ("message.1.role", "user"), ("message.1.content", "{{ question }}"), ("variables", "company, question"), ("model", "support-bot"),
                    ("temperature", "0.2"),
                ] + extra
            }
            let v2System = "You help customers of {{ company }} kindly."
            // Saved unchanged from v2 (only a commit message typed): no version, and the page says so.
            let same = try await Web.post(
                h, "/ui/default/prompts/support/versions", cookie: cookie,
                versionForm(base: 2, system: v2System, [("commit_message", "no edits")]))
            #expect(same.status == .seeOther)
            #expect(same.headers[.location] == "/ui/default/prompts/support/versions/2?unchanged=1")
            #expect(try await h.store.prompts.history(projectID: h.project.id, name: "support").count == 2)
            let said = try await Web.get(h, try #require(same.headers[.location]), cookie: cookie)
            #expect(said.text.contains("Nothing changed: v2 already has this content, so no new version was made."))
            // Unchanged from v1 (not the newest): still nothing, and a label asked for moves to v1.
            let old = try await Web.post(
                h, "/ui/default/prompts/support/versions", cookie: cookie,
                versionForm(base: 1, system: "You help <script>alert(1)</script> customers of {{ company }}.", [("labels_other", "canary")]))
            #expect(old.headers[.location] == "/ui/default/prompts/support/versions/1?unchanged=1")
            #expect(try await h.store.prompts.history(projectID: h.project.id, name: "support").count == 2)
            #expect(try await h.store.prompts.get(projectID: h.project.id, name: "support", label: "canary")?.version == 1)

            // A change makes v3 with the user as author, and production moves to it.
            let changed = try await Web.post(
                h, "/ui/default/prompts/support/versions", cookie: cookie,
                versionForm(
                    base: 2, system: "You help customers of {{ company }} briefly.",
                    [("commit_message", "briefer"), ("label", "production"), ("name", "someone-else")]))
            #expect(changed.headers[.location] == "/ui/default/prompts/support/versions/3?created=1", "\(changed.text.prefix(600))")
            let v3 = try #require(try await h.store.prompts.get(projectID: h.project.id, name: "support", version: 3))
            let user = try #require(try await h.store.users.get(email: "ada@example.com"))
            #expect(v3.author == "user:\(user.id)" && v3.commitMessage == "briefer" && v3.labels == ["production"])
            #expect(v3.messages.first?.content == "You help customers of {{ company }} briefly.")
            #expect(
                try await h.store.prompts.get(projectID: h.project.id, name: "someone-else", label: "latest") == nil,
                "the name comes from the URL, not the form")
            let diff = try await Web.get(h, "/ui/default/prompts/support/diff?base=2&head=3", cookie: cookie)
            #expect(diff.text.contains(#"<td class="code add">You help customers of {{ company }} <mark>briefly</mark>.</td>"#), "the changed word is marked")

            // An error keeps the form and stores nothing.
            let bad = try await Web.post(
                h, "/ui/default/prompts/support/versions", cookie: cookie,
                versionForm(base: 3, system: "Hi {{ nobody }}"))
            #expect(bad.status == .badRequest)
            #expect(Self.fieldError(bad.text, after: #"id="prompt-variables""#)?.contains("nobody") == true)
            #expect(Self.field(bad.text, "message.0.content") == "Hi {{ nobody }}" && Self.field(bad.text, "base") == "3")
            #expect(bad.text.contains("New version of support"))

            // Forged or expired forms, and viewers, change nothing.
            var forged = versionForm(base: 3, system: "forged")
            forged[0] = ("csrf", "forged")
            #expect(try await Web.post(h, "/ui/default/prompts/support/versions", cookie: cookie, forged).status == .forbidden)
            #expect(try await Web.post(h, "/ui/default/prompts", cookie: cookie, Self.chatForm("forged", name: "forged")).status == .forbidden)
            let viewer = try await Web.signIn(h, email: "vic@example.com", role: "viewer", next: "/ui/default/prompts")
            let viewerToken = try Web.csrf(try await Web.get(h, "/ui/default/prompts/support/versions/new", cookie: viewer).text)
            let refused = try await Web.post(
                h, "/ui/default/prompts/support/versions", cookie: viewer,
                [("csrf", viewerToken)] + Array(versionForm(base: 3, system: "viewer").dropFirst()))
            #expect(refused.status == .forbidden && refused.text.contains("viewer role"))
            #expect(try await h.store.prompts.history(projectID: h.project.id, name: "support").count == 3)
            #expect(try await h.store.prompts.get(projectID: h.project.id, name: "forged", label: "latest") == nil)
        }
    }
}
