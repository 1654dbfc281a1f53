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
        if let first = problems().first { throw first }
    }

    /// Every problem of this version, in field order (a form shows them all at once).
    public func problems() -> [TernError] {
        var out: [TernError] = []
        do { try Validate.promptName(name) } catch let error as TernError { out.append(error) } catch {}
        switch kind {
        case .text:
            if text?.isEmpty ?? true { out.append(TernError.invalid("text", "a text prompt needs its text")) }
        case .chat:
            if messages.isEmpty { out.append(TernError.invalid("messages", "a chat prompt needs at least one message")) }
            for (index, message) in messages.enumerated() where !["system", "user", "assistant", "tool", "developer"].contains(message.role) {
                out.append(
                    TernError.invalid("messages[\(index)].role", "expected system, user, assistant, tool or developer, got \"\(message.role)\""))
            }
        }
        if let variable = variables.first(where: { !PromptTemplate.isVariableName($0) }) {
            out.append(
                TernError.invalid("variables", "\"\(variable)\" is not a variable name (letters, digits, _ and ., starting with a letter or _)"))
        } else {
            let used = Set(templates.flatMap { PromptTemplate.variables(in: $0) })
            let undeclared = used.subtracting(variables).sorted()
            if !undeclared.isEmpty {
                out.append(
                    TernError.invalid(
                        "variables", "the template uses undeclared variables: \(undeclared.joined(separator: ", ")); declare them or remove them"))
            }
        }
        if let temperature = config.temperature, !(0...2).contains(temperature) {
            out.append(TernError.invalid("config.temperature", "expected 0-2, got \(temperature)"))
        }
        if let maxTokens = config.maxTokens, maxTokens < 1 { out.append(TernError.invalid("config.max_tokens", "expected a positive integer")) }
        return out
    }

}

/// `{{name}}` templates: the variables a template uses (filling them in is TernPrompts' `render`).
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

    /// Calls `body` with each `{{ name }}` placeholder of a valid variable name and its range, in order.
    public static func forEachPlaceholder(_ template: String, _ body: (String, Range<String.Index>) -> Void) {
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
