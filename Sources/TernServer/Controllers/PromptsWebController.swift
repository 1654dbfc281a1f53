import Foundation
import Hummingbird
import TernCore
import TernGateway
import TernWeb
import TernPrompts

/// The prompt registry in the web UI: the list, a prompt's versions and labels (moving a label,
/// rolling back), a version, a side-by-side diff, and the playground, which renders a version and
/// runs it through the in-process gateway against one or more models at once.
struct PromptsWebController {
    let web: WebController
    let gateway: Gateway

    var store: any TernStore { web.store }
    var renderer: WebRenderer { web.renderer }

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let router = RouteCollection(context: TernRequestContext.self)
        router.get("ui/{project}/prompts", use: getPrompts)
        router.get("ui/{project}/prompts/{name}", use: getPrompt)
        router.get("ui/{project}/prompts/{name}/versions/{version}", use: getPromptVersion)
        router.get("ui/{project}/prompts/{name}/diff", use: getPromptDiff)
        router.post("ui/{project}/prompts/{name}/labels", use: postPromptLabels)
        router.get("ui/{project}/prompts/{name}/playground", use: getPromptPlayground)
        router.post("ui/{project}/prompts/{name}/playground", use: postPromptPlayground)
        registerEditing(on: router)
        return router
    }

    static func base(_ chrome: Chrome, _ name: String) -> String { "/ui/\(Views.percent(chrome.project.slug))/prompts/\(Views.percent(name))" }

    /// The playground's models: chat-capable ones (embedding-only models such as the built-in local one are left out).
    var modelNames: [String] { gateway.registry.generative.map(\.name) }

    func loadHistory(_ chrome: Chrome, _ name: String) async throws -> [PromptVersion] {
        let history = try await store.prompts.history(projectID: chrome.project.id, name: name)
        guard !history.isEmpty else { throw TernError.notFound("prompt \(name)") }
        return history
    }

    /// The version a playground reference names: a version number (`3`, `v3`) or a label; by default
    /// the production version, else the newest. Returns the reference to keep in the form.
    func resolve(_ history: [PromptVersion], ref: String?) throws -> (PromptVersion, String) {
        let name = history[0].name
        guard let ref = ref?.trimmingCharacters(in: .whitespaces), !ref.isEmpty else {
            if let production = history.first(where: { $0.labels.contains("production") }) { return (production, "production") }
            return (history[0], String(history[0].version))
        }
        if let number = Int(ref.hasPrefix("v") ? String(ref.dropFirst()) : ref) {
            guard let version = history.first(where: { $0.version == number }) else { throw TernError.notFound("prompt \(name) version \(number)") }
            return (version, String(number))
        }
        if ref == "latest" { return (history[0], "latest") }
        guard let version = history.first(where: { $0.labels.contains(ref) }) else { throw TernError.notFound("prompt \(name) with label \(ref)") }
        return (version, ref)
    }

    /// Runs the version on each model at once through the gateway (prompt by reference, so each
    /// trace records the prompt and version), then reads tokens and cost from the stored traces.
    /// Edited messages (`edited`) are sent as they are, rendered here, with the version's model settings
    /// where the form sets none; the trace then names no prompt version.
    func run(
        _ version: PromptVersion, edited: PromptVersion? = nil, values: [String: JSONValue], models: [String], temperature: Double?,
        maxTokens: Int?, projectID: String, user: User
    ) async -> [PlaygroundResult] {
        let renderedMessages: JSONValue? = edited.flatMap { try? $0.render(values) }.map { rendered in
            let messages = rendered.text.map { [PromptMessage(role: "user", content: $0)] } ?? rendered.messages
            return .array(messages.map { ["role": .string($0.role), "content": .string($0.content)] })
        }
        // The signed-in user stands in for an API key: bound to this project, no key limits.
        let key = APIKey(id: "ui-playground", projectID: projectID, name: "playground", prefix: "ui", role: .member, createdAt: Date())
        let headers = [TernHeader.user: user.email, TernHeader.tags: "playground", TernHeader.cache: "no-cache"]
        let gateway = self.gateway
        var results = await withTaskGroup(of: (Int, PlaygroundResult).self) { group in
            for (index, model) in models.enumerated() {
                group.addTask {
                    var body: JSONValue = [
                        "model": .string(model), "messages": [],
                        "tern": ["prompt": .string(version.name), "version": .number(Double(version.version)), "variables": .object(values)],
                    ]
                    if let renderedMessages {
                        body = [
                            "model": .string(model), "messages": renderedMessages, "metadata": ["edited_from": .string("\(version.name)@\(version.version)")],
                        ]
                        if let value = version.config.temperature { body["temperature"] = .number(value) }
                        if let value = version.config.maxTokens { body["max_tokens"] = .number(Double(value)) }
                    }
                    if let temperature { body["temperature"] = .number(temperature) }
                    if let maxTokens { body["max_tokens"] = .number(Double(maxTokens)) }
                    let started = ContinuousClock.now
                    let reply = await gateway.handle(GatewayRequest(operation: .chat, body: body, key: key, headers: headers, origin: TraceOrigin.playground))
                    let elapsed = ContinuousClock.now - started
                    let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                    return (index, Self.result(model: model, reply: reply, latencyMs: ms))
                }
            }
            var out: [(Int, PlaygroundResult)] = []
            for await entry in group { out.append(entry) }
            return out.sorted { $0.0 < $1.0 }.map(\.1)
        }
        // The traces are written off the request path; wait (briefly) so cost and links are ready.
        await gateway.traces.flush(within: .seconds(5))
        for index in results.indices {
            guard let id = results[index].traceID, let detail = try? await store.traces.get(projectID: projectID, id: id) else { continue }
            let generations = detail.observations.filter { $0.type == .generation }
            let costs = generations.compactMap(\.cost)
            if !costs.isEmpty { results[index].cost = costs.reduce(0, +) }
            if results[index].inputTokens == nil, let usage = generations.compactMap(\.usage).first {
                results[index].inputTokens = usage.inputTokens
                results[index].outputTokens = usage.outputTokens
            }
        }
        return results
    }

    /// What a chat completion (or the gateway's error) says: the answer, tool calls, usage.
    static func result(model: String, reply: GatewayReply, latencyMs: Double) -> PlaygroundResult {
        let trace = reply.headers.first { $0.0 == TernHeader.traceID }?.1
        let deployment = reply.headers.first { $0.0 == TernHeader.deployment }?.1
        var result = PlaygroundResult(
            model: model, output: nil, error: nil, inputTokens: nil, outputTokens: nil, cost: nil, latencyMs: latencyMs,
            traceID: trace, deployment: deployment)
        guard case .data(let data) = reply.body, let json = try? JSONValue.parse(data) else {
            result.error = "the gateway answered with status \(reply.status) and no readable body"
            return result
        }
        guard reply.status == 200 else {
            result.error = "\(reply.status): " + (json["error"]?["message"]?.string ?? json.jsonString())
            return result
        }
        let message = json["choices"]?[0]?["message"]
        var parts: [String] = []
        if let content = message?["content"]?.string { parts.append(content) }
        for call in message?["tool_calls"]?.array ?? [] {
            parts.append("tool call \(call["function"]?["name"]?.string ?? "?")(\(call["function"]?["arguments"]?.string ?? ""))")
        }
        result.output = parts.joined(separator: "\n")
        result.inputTokens = json["usage"]?["prompt_tokens"]?.int
        result.outputTokens = json["usage"]?["completion_tokens"]?.int
        return result
    }
}

extension String {
    /// The string trimmed, or nil when that leaves nothing.
    var nonBlank: String? {
        let trimmed = trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }
}

// MARK: - Handlers

extension PromptsWebController {
    /// `GET /ui/{project}/prompts`
    @Sendable func getPrompts(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "prompts") { chrome in
            var rows: [(summary: PromptSummary, kind: PromptKind?)] = []
            for summary in try await store.prompts.list(projectID: chrome.project.id) {
                let latest = try await store.prompts.get(projectID: chrome.project.id, name: summary.name, version: summary.latestVersion)
                rows.append((summary, latest?.kind))
            }
            return web.html(renderer.render("prompts", Views.prompts(chrome: chrome, prompts: rows)))
        }
    }

    /// `GET /ui/{project}/prompts/{name}`
    @Sendable func getPrompt(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "prompts") { chrome in
            let name = try context.parameters.string("name")
            let history = try await loadHistory(chrome, name)
            let moves = try await store.prompts.labelMoves(projectID: chrome.project.id, name: name)
            let names = await web.actorNames(projectID: chrome.project.id)
            return web.html(renderer.render("prompt", Views.prompt(chrome: chrome, history: history, moves: moves, names: names)))
        }
    }

    /// `GET /ui/{project}/prompts/{name}/versions/{version}`
    @Sendable func getPromptVersion(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "prompts") { chrome in
            let name = try context.parameters.string("name")
            let text = try context.parameters.string("version")
            guard let number = Int(text.hasPrefix("v") ? String(text.dropFirst()) : text) else {
                throw TernError.invalid("version", "expected a version number, got \"\(text)\"")
            }
            guard let version = try await store.prompts.get(projectID: chrome.project.id, name: name, version: number) else {
                throw TernError.notFound("prompt \(name) version \(number)")
            }
            let latest = try await store.prompts.get(projectID: chrome.project.id, name: name, label: "latest")?.version ?? number
            let names = await web.actorNames(projectID: chrome.project.id)
            var page = Views.promptVersion(chrome: chrome, version: version, latest: latest, names: names)
            if let notice = Self.savedNotice(request.uri.queryParameters, version: version) {
                page.flash = Flash(kind: notice.kind, message: notice.message)
            }
            return web.html(renderer.render("prompt-version", page))
        }
    }

    /// `GET /ui/{project}/prompts/{name}/diff`
    @Sendable func getPromptDiff(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "prompts") { chrome in
            let name = try context.parameters.string("name")
            let history = try await loadHistory(chrome, name)
            let parameters = request.uri.queryParameters
            func pick(_ key: String, _ fallback: Int) throws -> PromptVersion {
                guard let text = parameters.get(key), !text.isEmpty else { return history.first { $0.version == fallback } ?? history[0] }
                guard let number = Int(text.hasPrefix("v") ? String(text.dropFirst()) : text) else {
                    throw TernError.invalid(key, "expected a version number, got \"\(text)\"")
                }
                guard let version = history.first(where: { $0.version == number }) else {
                    throw TernError.invalid(key, "\(name) has no version \(number) (versions 1-\(history[0].version))")
                }
                return version
            }
            let head = try pick("head", history[0].version)
            let base = try pick("base", history.first { $0.version < head.version }?.version ?? head.version)
            return web.html(renderer.render("prompt-diff", Views.promptDiff(chrome: chrome, base: base, head: head, versions: history)))
        }
    }

    /// `POST /ui/{project}/prompts/{name}/labels`
    @Sendable func postPromptLabels(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "prompts", form: true) { chrome in
            let name = try context.parameters.string("name")
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.editor(request, form, to: "moving a label")
            guard let label = form.text("label") else { throw TernError.invalid("label", "name the label to move, e.g. production") }
            guard let text = form.text("version"), let version = Int(text) else { throw TernError.invalid("version", "choose the version the label points at") }
            _ = try await store.prompts.setLabel(projectID: chrome.project.id, name: name, label: label, version: version, author: "user:\(user.id)")
            return WebController.redirect("\(Self.base(chrome, name))#label-moves")
        }
    }

    /// `GET /ui/{project}/prompts/{name}/playground`
    @Sendable func getPromptPlayground(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "prompts") { chrome in
            let name = try context.parameters.string("name")
            let history = try await loadHistory(chrome, name)
            let parameters = request.uri.queryParameters
            let (version, reference) = try resolve(history, ref: parameters.get("ref") ?? parameters.get("version") ?? parameters.get("label"))
            var input = PlaygroundInput()
            input.models = parameters.getAll("model").filter { !$0.isEmpty }
            return web.html(
                renderer.render(
                    "playground",
                    Views.playground(
                        chrome: chrome, version: version, history: history, reference: reference, models: modelNames, input: input, results: nil, error: nil)))
        }
    }

    /// `POST /ui/{project}/prompts/{name}/playground`
    @Sendable func postPromptPlayground(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "prompts", form: true) { chrome in
            let name = try context.parameters.string("name")
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.editor(request, form, to: "running the playground")
            let history = try await loadHistory(chrome, name)
            let (version, reference) = try resolve(history, ref: form["ref"])
            var input = PlaygroundInput(
                models: form.all("model").filter { !$0.isEmpty }, temperature: form["temperature"] ?? "",
                maxTokens: form["max_tokens"] ?? "")
            // The messages (or text) as edited in the form; variables follow the edited templates.
            var edited = version
            func field(_ name: String) -> String? { form[name].map { $0.replacingOccurrences(of: "\r\n", with: "\n") } }
            if version.kind == .chat {
                edited.messages = version.messages.enumerated().map { index, message in
                    PromptMessage(role: message.role, content: field("msg.\(index).content") ?? message.content)
                }
            } else {
                edited.text = field("prompt_text") ?? version.text
            }
            if edited.messages != version.messages || edited.text != version.text {
                var variables: [String] = []
                for template in edited.templates {
                    for name in PromptTemplate.variables(in: template) where !variables.contains(name) { variables.append(name) }
                }
                edited.variables = variables
                input.edited = edited
            }
            let current = input.edited ?? version
            for variable in current.variables { input.values[variable] = form["var.\(variable)"] ?? "" }
            func page(error: String?, results: [PlaygroundResult]?) -> Response {
                web.html(
                    renderer.render(
                        "playground",
                        Views.playground(
                            chrome: chrome, version: version, history: history, reference: reference, models: modelNames, input: input,
                            results: results, error: error)), status: error == nil ? .ok : .badRequest)
            }
            // Empty fields count as missing, so the message names every variable still to fill in.
            var values: [String: JSONValue] = [:]
            for (variable, value) in input.values where !value.isEmpty { values[variable] = .string(value) }
            do {
                _ = try current.render(values)
            } catch let error as TernError {
                return page(error: error.message, results: nil)
            }
            guard !input.models.isEmpty else { return page(error: "Choose at least one model to run.", results: nil) }
            let known = Set(modelNames)
            if let unknown = input.models.first(where: { !known.contains($0) }) {
                return page(error: "The gateway has no model \"\(unknown)\" (models: \(modelNames.joined(separator: ", "))).", results: nil)
            }
            var temperature: Double?
            if let text = input.temperature.nonBlank {
                guard let value = Double(text), (0...2).contains(value) else {
                    return page(error: "Temperature: expected a number from 0 to 2, got \"\(text)\".", results: nil)
                }
                temperature = value
            }
            var maxTokens: Int?
            if let text = input.maxTokens.nonBlank {
                guard let value = Int(text), value >= 1 else {
                    return page(error: "Max tokens: expected a positive whole number, got \"\(text)\".", results: nil)
                }
                maxTokens = value
            }
            let results = await run(
                version, edited: input.edited, values: values, models: input.models, temperature: temperature, maxTokens: maxTokens,
                projectID: chrome.project.id, user: user)
            return page(error: nil, results: results)
        }
    }
}
