import Foundation
import HTTPTypes
import Hummingbird
import TernCore
import TernWeb
import TernPrompts

/// Creating prompts and prompt versions in the web UI. The form becomes the body `POST /api/v1/prompts`
/// takes and goes through the same `PromptVersion.definition` and `push`, so the rules are the API's;
/// an error comes back next to its field with everything the user typed.
extension PromptsWebController {
    func registerEditing(on router: RouteCollection<TernRequestContext>) {
        // Prompt names cannot start with a dot, so this path never hides a prompt's page.
        router.get("ui/{project}/prompts/.new", use: getPromptsNew)
        router.post("ui/{project}/prompts", use: postPrompts)
        router.get("ui/{project}/prompts/{name}/versions/new", use: getPromptVersionsNew)
        router.post("ui/{project}/prompts/{name}/versions", use: postPromptVersions)
    }

    static func versionNumber(_ text: String?, field: String) throws -> Int? {
        guard let text, !text.isEmpty else { return nil }
        guard let number = Int(text.hasPrefix("v") ? String(text.dropFirst()) : text), number >= 1 else {
            throw TernError.invalid(field, "expected a version number, got \"\(text)\"")
        }
        return number
    }

    /// Saves the form as a new prompt (`existing` nil) or a new version of `existing` (newest first).
    /// "Add message" and "Remove" (the form without its script) come back with a row more or less.
    func save(_ chrome: Chrome, form: WebForm, user: User, existing: [PromptVersion]?) async throws -> Response {
        var draft = Self.draft(form)
        if let name = existing?.first?.name { draft.name = name }
        func page(_ errors: [String: String], status: HTTPResponse.Status = .badRequest) -> Response {
            web.html(
                renderer.render(
                    "prompt-edit",
                    Views.promptEditor(
                        chrome: chrome, draft: draft, history: existing ?? [], models: modelNames,
                        errors: errors)), status: status)
        }
        if form["add"] == "message" {
            draft.messages.append(PromptDraft.Message(role: "user", content: ""))
            return page([:], status: .ok)
        }
        if let text = form["remove"], let index = Int(text), draft.messages.indices.contains(index) {
            draft.messages.remove(at: index)
            return page([:], status: .ok)
        }
        let version: PromptVersion
        let prompts = store.prompts
        switch Self.version(draft, projectID: chrome.project.id, author: "user:\(user.id)", checkLabel: { try type(of: prompts).checkLabel($0) }) {
        case .failure(let errors): return page(errors.fields)
        case .success(let built): version = built
        }
        if existing == nil, try await store.prompts.get(projectID: chrome.project.id, name: version.name, label: "latest") != nil {
            return page(["name": "a prompt named \(version.name) exists already; open it and save a new version there"])
        }
        let labels = draft.allLabels
        let base = Self.base(chrome, version.name)
        // Saving what the form started from unchanged makes nothing (the labels still move to it).
        if let from = draft.base, let start = existing?.first(where: { $0.version == from }), start.sameContent(as: version) {
            for label in labels {
                _ = try await store.prompts.setLabel(
                    projectID: chrome.project.id, name: version.name, label: label, version: start.version,
                    author: version.author)
            }
            return WebController.redirect(Views.url("\(base)/versions/\(start.version)", [("unchanged", "1")]))
        }
        let (stored, created) = try await store.prompts.push(version, labels: labels)
        return WebController.redirect(Views.url("\(base)/versions/\(stored.version)", [(created ? "created" : "unchanged", "1")]))
    }

    /// What the page says after a save: `?created=1` or `?unchanged=1` on the version page.
    static func savedNotice(_ parameters: Parameters, version: PromptVersion) -> (kind: String, message: String)? {
        if parameters.get("created") == "1" { return ("ok", "Saved as v\(version.version).") }
        if parameters.get("unchanged") == "1" {
            return ("", "Nothing changed: v\(version.version) already has this content, so no new version was made.")
        }
        return nil
    }

    // MARK: - The form

    /// The form as typed. Message rows come in the order of their fields (rows added by the script
    /// carry higher numbers; removed ones leave gaps).
    static func draft(_ form: WebForm) -> PromptDraft {
        var draft = PromptDraft()
        draft.name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
        draft.kind = form["kind"] ?? "chat"
        draft.text = form["text"] ?? ""
        var rows: [String] = []
        for field in form.fields where field.name.hasPrefix("message.") {
            let parts = field.name.split(separator: ".")
            guard parts.count == 3, !rows.contains(String(parts[1])) else { continue }
            rows.append(String(parts[1]))
        }
        draft.messages = rows.map { PromptDraft.Message(role: form["message.\($0).role"] ?? "user", content: form["message.\($0).content"] ?? "") }
        draft.tools = form["tools"] ?? ""
        draft.variables = form["variables"] ?? ""
        draft.model = form["model"] ?? ""
        draft.temperature = form["temperature"] ?? ""
        draft.maxTokens = form["max_tokens"] ?? ""
        draft.responseFormat = form["response_format"] ?? ""
        draft.commitMessage = form["commit_message"] ?? ""
        draft.labels = form.all("label")
        draft.otherLabels = form["labels_other"] ?? ""
        draft.base = form["base"].flatMap { Int($0) }
        return draft
    }

    struct FieldErrors: Error {
        var fields: [String: String]
    }

    /// The version the draft describes: its fields made into the API's prompt definition and checked
    /// by it. Errors are keyed by form field; what only the form can get wrong (JSON that does not
    /// parse, a number that is not one) is reported for every field at once.
    static func version(
        _ draft: PromptDraft, projectID: String, author: String, checkLabel: (String) throws -> Void
    )
        -> Result<PromptVersion, FieldErrors>
    {
        var errors: [String: String] = [:]
        var body: [String: JSONValue] = ["name": .string(draft.name)]
        guard draft.kind == "chat" || draft.kind == "text" else {
            return .failure(FieldErrors(fields: ["kind": "choose chat or text, got \"\(draft.kind)\""]))
        }
        body["type"] = .string(draft.kind)
        // Rows left empty are not messages; `rows` maps each message back to its row.
        var rows: [Int] = []
        if draft.kind == "text" {
            body["prompt"] = .string(draft.text)
        } else {
            var messages: [JSONValue] = []
            for (index, message) in draft.messages.enumerated() where message.content.nonBlank != nil {
                messages.append(["role": .string(message.role), "content": .string(message.content)])
                rows.append(index)
            }
            body["messages"] = .array(messages)
        }
        func json(_ text: String, _ field: String, expect: String, check: (JSONValue) -> Bool) -> JSONValue? {
            guard text.nonBlank != nil else { return nil }
            guard let value = try? JSONValue.parse(Data(text.utf8)) else {
                errors[field] = "not valid JSON; expected \(expect)"
                return nil
            }
            guard check(value) else {
                errors[field] = "expected \(expect)"
                return nil
            }
            return value
        }
        body["tools"] = json(draft.tools, "tools", expect: "a list of tool definitions, [{\"type\": \"function\", ...}]") { $0.array != nil }
        let variables = PromptDraft.list(draft.variables)
        if !variables.isEmpty { body["variables"] = .array(variables.map(JSONValue.string)) }
        var config: [String: JSONValue] = [:]
        if let model = draft.model.nonBlank { config["model"] = .string(model) }
        if let text = draft.temperature.nonBlank {
            if let value = Double(text) {
                config["temperature"] = .number(value)
            } else {
                errors["temperature"] = "expected a number from 0 to 2, got \"\(text)\""
            }
        }
        if let text = draft.maxTokens.nonBlank {
            if let value = Int(text) {
                config["max_tokens"] = .number(Double(value))
            } else {
                errors["max_tokens"] = "expected a whole number, got \"\(text)\""
            }
        }
        config["response_format"] = json(draft.responseFormat, "response_format", expect: "an object such as {\"type\": \"json_object\"}") { $0.object != nil }
        if !config.isEmpty { body["config"] = .object(config) }
        if let message = draft.commitMessage.nonBlank { body["commit_message"] = .string(message) }
        for label in draft.allLabels {
            do { try checkLabel(label) } catch let error as TernError { errors["labels"] = error.message } catch { errors["labels"] = "\(error)" }
        }
        // The API's checks run on the rest even when a field could not be read, so the name, say, is
        // reported together with a tools list that does not parse.
        let (version, problems) = PromptVersion.definitionProblems(.object(body), projectID: projectID, author: author)
        if let version, problems.isEmpty, errors.isEmpty { return .success(version) }
        for error in problems {
            let field = formField(error.field, rows: rows)
            if errors[field] == nil { errors[field] = error.message }
        }
        return .failure(FieldErrors(fields: errors))
    }

    /// The form field an API error names: `messages[2].role` is the row the third message came from.
    static func formField(_ field: String?, rows: [Int]) -> String {
        guard let field else { return "form" }
        if field.hasPrefix("messages["), let close = field.firstIndex(of: "]"),
            let index = Int(field[field.index(field.startIndex, offsetBy: 9)..<close]), rows.indices.contains(index)
        {
            return "message.\(rows[index])"
        }
        if field.hasPrefix("config.") { return String(field.dropFirst("config.".count)) }
        switch field {
        case "prompt", "text": return "text"
        case "type": return "kind"
        case "name", "messages", "variables", "tools", "commit_message", "labels": return field
        default: return "form"
        }
    }
}

// MARK: - Handlers

extension PromptsWebController {
    /// `GET /ui/{project}/prompts/.new`
    @Sendable func getPromptsNew(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "prompts") { chrome in
            var draft = PromptDraft()
            draft.name = request.uri.queryParameters.get("name") ?? ""
            return web.html(renderer.render("prompt-edit", Views.promptEditor(chrome: chrome, draft: draft, history: [], models: modelNames, errors: [:])))
        }
    }

    /// `POST /ui/{project}/prompts`
    @Sendable func postPrompts(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "prompts", form: true) { chrome in
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.editor(request, form, to: "creating a prompt")
            return try await save(chrome, form: form, user: user, existing: nil)
        }
    }

    /// `GET /ui/{project}/prompts/{name}/versions/new`
    @Sendable func getPromptVersionsNew(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "prompts") { chrome in
            let name = try context.parameters.string("name")
            let history = try await loadHistory(chrome, name)
            let from = try Self.versionNumber(request.uri.queryParameters.get("from"), field: "from")
            let start: PromptVersion
            if let from {
                guard let found = history.first(where: { $0.version == from }) else {
                    throw TernError.invalid("from", "\(name) has no version \(from) (versions 1-\(history[0].version))")
                }
                start = found
            } else {
                start = history[0]
            }
            return web.html(
                renderer.render(
                    "prompt-edit",
                    Views.promptEditor(
                        chrome: chrome, draft: PromptDraft(from: start), history: history, models: modelNames, errors: [:])))
        }
    }

    /// `POST /ui/{project}/prompts/{name}/versions`
    @Sendable func postPromptVersions(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "prompts", form: true) { chrome in
            let name = try context.parameters.string("name")
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.editor(request, form, to: "saving a prompt version")
            let history = try await loadHistory(chrome, name)
            return try await save(chrome, form: form, user: user, existing: history)
        }
    }
}
