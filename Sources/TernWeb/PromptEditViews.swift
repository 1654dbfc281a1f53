public import TernCore

/// The prompt form as typed: every field a string, so a form sent back with errors shows exactly
/// what the user wrote (message rows, JSON that did not parse, labels) and nothing is lost.
public struct PromptDraft: Sendable, Equatable {
    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String

        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    public var name = ""
    /// `chat` or `text`.
    public var kind = "chat"
    public var text = ""
    public var messages: [Message] = [Message(role: "system", content: ""), Message(role: "user", content: "")]
    /// OpenAI tool definitions, as JSON text.
    public var tools = ""
    /// Declared variables, separated by commas or spaces.
    public var variables = ""
    public var model = ""
    public var temperature = ""
    public var maxTokens = ""
    /// OpenAI `response_format`, as JSON text.
    public var responseFormat = ""
    public var commitMessage = ""
    /// The standard labels ticked (`production`, `staging`).
    public var labels: [String] = []
    /// Other labels, separated by commas or spaces.
    public var otherLabels = ""
    /// The version the form was filled from (a new version's starting point).
    public var base: Int?

    public init() {}

    /// A draft holding `version`'s content, for a new version that starts from it. The commit
    /// message and labels start empty: they describe the new version.
    public init(from version: PromptVersion) {
        name = version.name
        kind = version.kind.rawValue
        text = version.text ?? ""
        messages = version.messages.map { Message(role: $0.role, content: $0.content) }
        if messages.isEmpty { messages = [Message(role: "user", content: "")] }
        tools = version.tools.map { Views.pretty($0.jsonString()) } ?? ""
        variables = version.variables.joined(separator: ", ")
        model = version.config.model ?? ""
        temperature = version.config.temperature.map { Self.number($0) } ?? ""
        maxTokens = version.config.maxTokens.map(String.init) ?? ""
        responseFormat = version.config.responseFormat.map { Views.pretty($0.jsonString()) } ?? ""
        base = version.version
    }

    /// `0.2` rather than `0.20000000000000001`, `1` rather than `1.0`.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// Names separated by commas, spaces or line breaks.
    public static func list(_ text: String) -> [String] {
        text.split { $0 == "," || $0.isWhitespace }.map(String.init)
    }

    /// Every label the draft asks for: the ticked ones, then the others, each once.
    public var allLabels: [String] {
        var out: [String] = []
        for label in labels + Self.list(otherLabels) where !out.contains(label) { out.append(label) }
        return out
    }
}

/// The page context of the prompt form (a new prompt, or a new version of one).
extension Views {
    public static let messageRoles = ["system", "user", "assistant", "tool", "developer"]

    public struct PromptEditorView: ViewModel {
        public struct OlderBase: ViewModel {
            public var from: Int
            public var latest: Int
            public var latestHref: String
        }

        /// What was typed in the text fields.
        public struct Draft: ViewModel {
            public var name: String
            public var text: String
            public var tools: String
            public var variables: String
            public var model: String
            public var temperature: String
            public var maxTokens: String
            public var responseFormat: String
            public var commitMessage: String
            public var otherLabels: String
        }

        public struct Message: ViewModel {
            public var index: Int
            public var content: String
            public var error: String?
            public var roles: [Option]
        }

        public struct LabelChoice: ViewModel {
            public var value: String
            public var checked: Bool
            public var labelClass: String
            public var current: String
        }

        public var isNew: Bool
        public var name: String
        public var base: String
        public var action: String
        public var cancelHref: String
        public var baseVersion: Int?
        public var olderBase: OlderBase?
        public var draft: Draft
        public var isChat: Bool
        public var isText: Bool
        public var messages: [Message]
        public var templateRoles: [Option]
        public var models: [String]
        public var labelChoices: [LabelChoice]
        /// Error messages by form field (`err.max_tokens`).
        public var err: [String: String]
        public var hasErrors: Bool
        public var errorCount: String
        public var notice: String?
    }

    /// `errors` maps a form field (`name`, `text`, `messages`, `message.N`, `tools`, `variables`,
    /// `model`, `temperature`, `max_tokens`, `response_format`, `commit_message`, `labels`) to its
    /// message; each is shown next to its field. `history` is empty for a new prompt.
    public static func promptEditor(
        chrome: Chrome, draft: PromptDraft, history: [PromptVersion], models: [String], errors: [String: String],
        notice: String? = nil
    ) -> Page<PromptEditorView> {
        let isNew = history.isEmpty
        let base = promptBase(chrome, draft.name)
        var olderBase: PromptEditorView.OlderBase?
        if let latest = history.first?.version, let from = draft.base, from != latest {
            olderBase = PromptEditorView.OlderBase(from: from, latest: latest, latestHref: url("\(base)/versions/new", [("from", String(latest))]))
        }
        return chrome.page(
            isNew ? "New prompt" : "New version · \(draft.name)",
            PromptEditorView(
                isNew: isNew, name: draft.name, base: base, action: isNew ? "/ui/\(chrome.project.slug)/prompts" : "\(base)/versions",
                cancelHref: isNew ? "/ui/\(chrome.project.slug)/prompts" : (draft.base.map { "\(base)/versions/\($0)" } ?? base),
                baseVersion: draft.base, olderBase: olderBase,
                draft: PromptEditorView.Draft(
                    name: draft.name, text: draft.text, tools: draft.tools, variables: draft.variables, model: draft.model,
                    temperature: draft.temperature, maxTokens: draft.maxTokens, responseFormat: draft.responseFormat,
                    commitMessage: draft.commitMessage, otherLabels: draft.otherLabels),
                isChat: draft.kind != "text", isText: draft.kind == "text",
                messages: draft.messages.enumerated().map { index, message in
                    var roles = messageRoles
                    // A role the form did not offer (a forged or old value) stays visible, with its error.
                    if !roles.contains(message.role) { roles.append(message.role) }
                    return PromptEditorView.Message(
                        index: index, content: message.content, error: errors["message.\(index)"],
                        roles: roles.map { Option(value: $0, label: $0, selected: $0 == message.role) })
                },
                templateRoles: messageRoles.map { Option(value: $0, label: $0, selected: $0 == "user") }, models: models,
                labelChoices: standardLabels.map { label in
                    let current = history.first { $0.labels.contains(label) }?.version
                    return PromptEditorView.LabelChoice(
                        value: label, checked: draft.labels.contains(label), labelClass: labelClass(label),
                        current: current.map { "now v\($0)" } ?? "unset")
                },
                err: errors, hasErrors: !errors.isEmpty, errorCount: errors.count == 1 ? "1 field needs" : "\(errors.count) fields need",
                notice: notice))
    }
}
