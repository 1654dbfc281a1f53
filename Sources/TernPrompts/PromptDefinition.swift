public import TernCore

extension PromptVersion {
    /// A prompt as people write it (the REST body, or a `prompts/*.yaml` file):
    /// `name`, `prompt` (text) or `messages` ([{role, content}]), `tools`, `variables` (inferred from
    /// the templates when absent), `config` {`model`, `temperature`, `max_tokens`, `response_format`},
    /// `commit_message`. Errors name the key, prefixed with `path`.
    public static func definition(_ value: JSONValue, projectID: String, author: String, path: String = "") throws -> PromptVersion {
        let (version, problems) = definitionProblems(value, projectID: projectID, author: author, path: path)
        if let first = problems.first { throw first }
        return version!
    }

    /// The version and every problem found: the first problem of its structure (a key that is not
    /// understood stops the reading), or else every check of the version (`problems()`), so a form
    /// can show them all at once. Errors name the key, prefixed with `path`.
    public static func definitionProblems(
        _ value: JSONValue, projectID: String, author: String, path: String = ""
    ) -> (version: PromptVersion?, problems: [TernError]) {
        func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }
        let version: PromptVersion
        do {
            version = try draft(value, projectID: projectID, author: author, path: path)
        } catch let error as TernError {
            return (nil, [error])
        } catch {
            return (nil, [TernError.invalid(path.isEmpty ? nil : path, "\(error)")])
        }
        let problems = version.problems().map { error in TernError.invalid(error.field.map(key) ?? (path.isEmpty ? nil : path), error.message) }
        return (version, problems)
    }

    /// The version the definition describes, unchecked beyond its structure.
    static func draft(_ value: JSONValue, projectID: String, author: String, path: String) throws -> PromptVersion {
        func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }
        guard let object = value.object else { throw TernError.invalid(path.isEmpty ? nil : path, "expected an object describing a prompt") }
        let known: Set<String> = ["name", "type", "prompt", "messages", "tools", "variables", "config", "commit_message", "labels"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw TernError.invalid(key(unknown), "unknown key; expected one of \(known.sorted().joined(separator: ", "))")
        }
        guard let name = value["name"]?.string else { throw TernError.invalid(key("name"), "required") }
        let text = value["prompt"]?.string
        var messages: [PromptMessage] = []
        if let list = value["messages"] {
            guard let items = list.array else { throw TernError.invalid(key("messages"), "expected a list of {role, content}") }
            for (index, item) in items.enumerated() {
                guard let role = item["role"]?.string, let content = item["content"]?.string else {
                    throw TernError.invalid(key("messages[\(index)]"), "expected {role, content} with string values")
                }
                messages.append(PromptMessage(role: role, content: content))
            }
        }
        if value["prompt"] != nil, text == nil { throw TernError.invalid(key("prompt"), "expected a string") }
        let declared = value["type"]?.string
        let kind: PromptKind
        switch (declared, text, messages.isEmpty) {
        case ("text"?, _, _), (nil, _?, true): kind = .text
        case ("chat"?, _, _), (nil, nil, false): kind = .chat
        case (nil, _?, false): throw TernError.invalid(key("messages"), "give either prompt (text) or messages (chat), not both")
        case (nil, nil, true): throw TernError.invalid(key("prompt"), "required: prompt (text) or messages (chat)")
        case let (other?, _, _): throw TernError.invalid(key("type"), "expected text or chat, got \"\(other)\"")
        }
        var variables: [String]
        if let list = value["variables"] {
            guard let items = list.array, items.allSatisfy({ $0.string != nil }) else { throw TernError.invalid(key("variables"), "expected a list of names") }
            variables = items.compactMap(\.string)
        } else {
            variables = []
            for template in kind == .text ? [text ?? ""] : messages.map(\.content) {
                for name in PromptTemplate.variables(in: template) where !variables.contains(name) { variables.append(name) }
            }
        }
        var config = PromptModelConfig()
        if let settings = value["config"] {
            guard settings.object != nil else { throw TernError.invalid(key("config"), "expected an object") }
            let allowed: Set<String> = ["model", "temperature", "max_tokens", "response_format"]
            if let unknown = settings.object!.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw TernError.invalid(key("config.\(unknown)"), "unknown key; expected one of \(allowed.sorted().joined(separator: ", "))")
            }
            if let model = settings["model"] {
                guard let text = model.string else { throw TernError.invalid(key("config.model"), "expected a string") }; config.model = text
            }
            if let temperature = settings["temperature"] {
                guard let number = temperature.double else { throw TernError.invalid(key("config.temperature"), "expected a number") }
                config.temperature = number
            }
            if let tokens = settings["max_tokens"] {
                guard let number = tokens.int else { throw TernError.invalid(key("config.max_tokens"), "expected an integer") }
                config.maxTokens = number
            }
            config.responseFormat = settings["response_format"]
        }
        if let tools = value["tools"], tools.array == nil { throw TernError.invalid(key("tools"), "expected a list of tool definitions") }
        if let message = value["commit_message"], message.string == nil { throw TernError.invalid(key("commit_message"), "expected a string") }
        return PromptVersion(
            projectID: projectID, name: name, kind: kind, text: kind == .text ? text : nil, messages: kind == .chat ? messages : [],
            tools: value["tools"], variables: variables, config: config, commitMessage: value["commit_message"]?.string, author: author,
            createdAt: Timestamp.now())
    }
}
