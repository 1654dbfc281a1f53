import Foundation
import TernCore
import TernWeb
import Testing

@Suite("Prompt and run forms")
struct EditorViewTests {
    static let chrome = Chrome(
        project: Project(id: "p1", slug: "default", name: "Default", createdAt: Date(timeIntervalSince1970: 0)),
        projects: [], userName: "Ada", csrf: "token", active: "prompts")

    static func version(_ number: Int, labels: [String] = []) -> PromptVersion {
        PromptVersion(
            projectID: "p1", name: "support", version: number, kind: .chat,
            messages: [PromptMessage(role: "system", content: "Hi </textarea><b>{{ company }}</b>"), PromptMessage(role: "user", content: "{{q}}")],
            tools: [["type": "function", "function": ["name": "lookup"]]], variables: ["company", "q"],
            config: PromptModelConfig(model: "bot", temperature: 0.2, maxTokens: 64, responseFormat: ["type": "json_object"]),
            commitMessage: "old message", author: "user:1", createdAt: Date(timeIntervalSince1970: 0), labels: labels)
    }

    @Test("a draft from a version holds its content as typed text; the commit message and labels start empty")
    func draftFromVersion() throws {
        let draft = PromptDraft(from: Self.version(3, labels: ["production"]))
        #expect(draft.name == "support" && draft.kind == "chat" && draft.base == 3)
        #expect(
            draft.messages == [
                PromptDraft.Message(role: "system", content: "Hi </textarea><b>{{ company }}</b>"), PromptDraft.Message(role: "user", content: "{{q}}"),
            ])
        #expect(draft.temperature == "0.2" && draft.maxTokens == "64" && draft.model == "bot" && draft.variables == "company, q")
        #expect(try JSONValue.parse(Data(draft.tools.utf8)) == [["type": "function", "function": ["name": "lookup"]]])
        #expect(try JSONValue.parse(Data(draft.responseFormat.utf8)) == ["type": "json_object"])
        #expect(draft.commitMessage.isEmpty && draft.labels.isEmpty && draft.otherLabels.isEmpty)
        var whole = draft
        whole.temperature = ""
        #expect(
            PromptDraft(
                from: PromptVersion(
                    projectID: "p", name: "t", kind: .text, text: "x", variables: [],
                    config: PromptModelConfig(temperature: 1), author: "a", createdAt: Date())
            ).temperature == "1")
        #expect(PromptDraft.list(" a, b\nc,,d ") == ["a", "b", "c", "d"])
        whole.labels = ["production"]
        whole.otherLabels = "canary, production staging"
        #expect(whole.allLabels == ["production", "canary", "staging"])
    }

    @Test("the form shows each error next to its field and every value escaped")
    func editorPage() throws {
        var draft = PromptDraft(from: Self.version(1))
        draft.messages.append(PromptDraft.Message(role: "wizard", content: "<script>x</script>"))
        let history = [Self.version(2, labels: ["staging"]), Self.version(1, labels: ["production"])]
        let context = Views.promptEditor(
            chrome: Self.chrome, draft: draft, history: history, models: ["bot", "<b>m</b>"],
            errors: ["message.2": "bad <role>", "variables": "undeclared: x"])
        let page = try WebRenderer().render("prompt-edit", context)
        #expect(!page.contains("<script>x") && !page.contains("</textarea><b>") && !page.contains("<b>m</b>"))
        #expect(page.contains("\nHi &lt;/textarea&gt;&lt;b&gt;{{ company }}&lt;/b&gt;</textarea>"), "the content follows a line break")
        #expect(page.contains(#"<option value="wizard" selected>wizard</option>"#), "an unknown role stays, chosen")
        #expect(page.contains(#"<div class="field-error" role="alert">bad &lt;role&gt;</div>"#))
        let variables = try #require(page.range(of: #"id="prompt-variables""#))
        let error = try #require(page.range(of: "undeclared: x"))
        #expect(variables.upperBound < error.lowerBound, "the variables error follows its field")
        #expect(page.components(separatedBy: #"class="field-error""#).count == 3, "two errors, no others")
        #expect(page.contains("2 fields need fixing"))
        #expect(page.contains(#"id="older-base""#) && page.contains("the newest version is v2"))
        #expect(page.contains(#"action="/ui/default/prompts/support/versions""#) && page.contains(#"name="base" value="1""#))
        #expect(page.contains("now v1") && page.contains("now v2"))

        let fresh = try WebRenderer().render("prompt-edit", Views.promptEditor(chrome: Self.chrome, draft: PromptDraft(), history: [], models: [], errors: [:]))
        #expect(fresh.contains(#"action="/ui/default/prompts""#) && fresh.contains(#"id="prompt-name""#) && !fresh.contains("field-error\" role"))
        #expect(!fresh.contains(#"name="base""#) && !fresh.contains("older-base"))
    }
}
