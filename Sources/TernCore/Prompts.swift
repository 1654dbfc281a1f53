public import Foundation

/// One message of a chat prompt.
public struct PromptMessage: Sendable, Codable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// The model settings a prompt version carries.
public struct PromptModelConfig: Sendable, Codable, Equatable {
    /// A logical model of the gateway (or any model name a provider knows).
    public var model: String?
    public var temperature: Double?
    public var maxTokens: Int?
    /// OpenAI's `response_format`, as given.
    public var responseFormat: JSONValue?

    public init(model: String? = nil, temperature: Double? = nil, maxTokens: Int? = nil, responseFormat: JSONValue? = nil) {
        self.model = model
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.responseFormat = responseFormat
    }
}

public enum PromptKind: String, Sendable, Codable, Equatable {
    case text, chat
}

/// An immutable version of a named prompt.
public struct PromptVersion: Sendable, Codable, Equatable {
    public var projectID: String
    public var name: String
    public var version: Int
    public var kind: PromptKind
    /// Text prompts.
    public var text: String?
    /// Chat prompts.
    public var messages: [PromptMessage]
    /// OpenAI tool definitions, as given.
    public var tools: JSONValue?
    /// The variables the template may use (`{{name}}`), declared.
    public var variables: [String]
    public var config: PromptModelConfig
    public var commitMessage: String?
    public var author: String
    public var createdAt: Date
    /// Labels pointing at this version (`latest` is implied by being the newest).
    public var labels: [String]

    public init(
        projectID: String, name: String, version: Int = 0, kind: PromptKind, text: String? = nil, messages: [PromptMessage] = [],
        tools: JSONValue? = nil, variables: [String], config: PromptModelConfig = PromptModelConfig(), commitMessage: String? = nil,
        author: String, createdAt: Date, labels: [String] = []
    ) {
        self.projectID = projectID
        self.name = name
        self.version = version
        self.kind = kind
        self.text = text
        self.messages = messages
        self.tools = tools
        self.variables = variables
        self.config = config
        self.commitMessage = commitMessage
        self.author = author
        self.createdAt = createdAt
        self.labels = labels
    }

    /// Every template of the version: the text, or each message's content.
    public var templates: [String] { kind == .text ? [text ?? ""] : messages.map(\.content) }

    /// The content that makes two versions the same prompt (pushing it again makes no new version).
    public func sameContent(as other: PromptVersion) -> Bool {
        kind == other.kind && text == other.text && messages == other.messages && tools == other.tools && variables == other.variables
            && config == other.config
    }

    /// Checks the version before it is stored: a name, a template, declared variables only.
    public func validate() throws {
        try Validate.promptName(name)
        switch kind {
        case .text:
            guard let text, !text.isEmpty else { throw TernError.invalid("text", "a text prompt needs its text") }
        case .chat:
            guard !messages.isEmpty else { throw TernError.invalid("messages", "a chat prompt needs at least one message") }
            for (index, message) in messages.enumerated() {
                guard ["system", "user", "assistant", "tool", "developer"].contains(message.role) else {
                    throw TernError.invalid("messages[\(index)].role", "expected system, user, assistant, tool or developer, got \"\(message.role)\"")
                }
            }
        }
        for variable in variables where !PromptTemplate.isVariableName(variable) {
            throw TernError.invalid("variables", "\"\(variable)\" is not a variable name (letters, digits, _ and ., starting with a letter or _)")
        }
        let used = Set(templates.flatMap { PromptTemplate.variables(in: $0) })
        let undeclared = used.subtracting(variables).sorted()
        guard undeclared.isEmpty else {
            throw TernError.invalid("variables", "the template uses undeclared variables: \(undeclared.joined(separator: ", ")); declare them or remove them")
        }
        if let temperature = config.temperature, !(0...2).contains(temperature) {
            throw TernError.invalid("config.temperature", "expected 0-2, got \(temperature)")
        }
        if let maxTokens = config.maxTokens, maxTokens < 1 { throw TernError.invalid("config.max_tokens", "expected a positive integer") }
    }

    /// The version with variables filled in: text, or messages. Missing variables are an error
    /// naming them; values that are not strings are inserted as JSON.
    public func render(_ values: [String: JSONValue]) throws -> (text: String?, messages: [PromptMessage]) {
        let missing = variables.filter { values[$0] == nil }
        guard missing.isEmpty else {
            throw TernError.invalid("variables", "prompt \(name) v\(version) needs values for: \(missing.joined(separator: ", "))")
        }
        switch kind {
        case .text: return (PromptTemplate.render(text ?? "", values), [])
        case .chat: return (nil, messages.map { PromptMessage(role: $0.role, content: PromptTemplate.render($0.content, values)) })
        }
    }
}

/// `{{name}}` templates: the variables a template uses, and filling them in.
public enum PromptTemplate {
    public static func isVariableName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, CharacterSet.letters.contains(first) || first == "_" else { return false }
        return text.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "." }
    }

    /// The `{{ name }}` placeholders of a template, in order of first use.
    public static func variables(in template: String) -> [String] {
        var out: [String] = []
        forEachPlaceholder(template) { name, _ in
            if !out.contains(name) { out.append(name) }
        }
        return out
    }

    public static func render(_ template: String, _ values: [String: JSONValue]) -> String {
        var result = ""
        var last = template.startIndex
        forEachPlaceholder(template) { name, range in
            result += template[last..<range.lowerBound]
            if let value = values[name] { result += value.string ?? value.jsonString() } else { result += template[range] }
            last = range.upperBound
        }
        result += template[last...]
        return result
    }

    static func forEachPlaceholder(_ template: String, _ body: (String, Range<String.Index>) -> Void) {
        var searchStart = template.startIndex
        while let open = template.range(of: "{{", range: searchStart..<template.endIndex),
            let close = template.range(of: "}}", range: open.upperBound..<template.endIndex)
        {
            let name = template[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if isVariableName(name) { body(name, open.lowerBound..<close.upperBound) }
            searchStart = close.upperBound
        }
    }
}

/// A label moved to a version: the audit trail that makes rollback one command.
public struct PromptLabelMove: Sendable, Codable, Equatable {
    public var name: String
    public var label: String
    public var fromVersion: Int?
    public var toVersion: Int
    public var author: String
    public var movedAt: Date

    public init(name: String, label: String, fromVersion: Int?, toVersion: Int, author: String, movedAt: Date) {
        self.name = name
        self.label = label
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.author = author
        self.movedAt = movedAt
    }
}

/// A prompt in a list: its newest version and where its labels point.
public struct PromptSummary: Sendable, Codable, Equatable {
    public var name: String
    public var latestVersion: Int
    public var labels: [String: Int]
    public var updatedAt: Date

    public init(name: String, latestVersion: Int, labels: [String: Int], updatedAt: Date) {
        self.name = name
        self.latestVersion = latestVersion
        self.labels = labels
        self.updatedAt = updatedAt
    }
}

extension Validate {
    /// Prompt names: ASCII letters, digits, `-`, `_` and `.`, 1-200 characters (they appear in URLs).
    public static func promptName(_ name: String) throws {
        try urlName(name, kind: "prompt")
    }

    /// Dataset names follow the same rule as prompt names.
    public static func datasetName(_ name: String) throws {
        try urlName(name, kind: "dataset")
    }

    static func urlName(_ name: String, kind: String) throws {
        guard !name.isEmpty, name.count <= 200, !name.hasPrefix("."),
            name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) })
        else {
            throw TernError.invalid("name", "\(kind) names use letters, digits, -, _ and . (1-200 characters, not starting with .), got \"\(name)\"")
        }
    }
}

extension PromptVersion {
    /// A prompt as people write it (the REST body, or a `prompts/*.yaml` file):
    /// `name`, `prompt` (text) or `messages` ([{role, content}]), `tools`, `variables` (inferred from
    /// the templates when absent), `config` {`model`, `temperature`, `max_tokens`, `response_format`},
    /// `commit_message`. Errors name the key, prefixed with `path`.
    public static func definition(_ value: JSONValue, projectID: String, author: String, path: String = "") throws -> PromptVersion {
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
        let version = PromptVersion(
            projectID: projectID, name: name, kind: kind, text: kind == .text ? text : nil, messages: kind == .chat ? messages : [],
            tools: value["tools"], variables: variables, config: config, commitMessage: value["commit_message"]?.string, author: author,
            createdAt: Timestamp.now())
        do {
            try version.validate()
        } catch let error as TernError {
            throw TernError.invalid(error.field.map(key) ?? (path.isEmpty ? nil : path), error.message)
        }
        return version
    }
}
