import Foundation
public import TernCore

/// One model's answer in the prompt playground.
public struct PlaygroundResult: Sendable {
    public var model: String
    public var output: String?
    public var error: String?
    public var inputTokens: Int?
    public var outputTokens: Int?
    public var cost: Double?
    public var latencyMs: Double
    public var traceID: String?
    public var deployment: String?

    public init(
        model: String, output: String?, error: String?, inputTokens: Int?, outputTokens: Int?, cost: Double?, latencyMs: Double,
        traceID: String?, deployment: String?
    ) {
        self.model = model
        self.output = output
        self.error = error
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cost = cost
        self.latencyMs = latencyMs
        self.traceID = traceID
        self.deployment = deployment
    }
}

/// What the playground form holds: the version, the values typed in, the models chosen.
public struct PlaygroundInput: Sendable {
    public var values: [String: String]
    public var models: [String]
    public var temperature: String
    public var maxTokens: String
    /// The prompt as edited in the playground (nil: as the version has it).
    public var edited: PromptVersion?

    public init(values: [String: String] = [:], models: [String] = [], temperature: String = "", maxTokens: String = "") {
        self.values = values
        self.models = models
        self.temperature = temperature
        self.maxTokens = maxTokens
    }
}

/// Page contexts of the prompt registry: list, a prompt, a version, a diff, the playground.
extension Views {
    /// Labels offered in the move form besides those already in use.
    public static let standardLabels = ["production", "staging"]

    /// `names` turns stored actors (`user:<id>`, `key:<id>`) into what people recognise.
    static func actor(_ actor: String, _ names: [String: String]) -> String { names[actor] ?? actor }

    static func promptBase(_ chrome: Chrome, _ name: String) -> String { "/ui/\(chrome.project.slug)/prompts/\(percent(name))" }

    // MARK: List

    /// A label on a version, linked to it.
    public struct LabelChip: ViewModel {
        public var label: String
        public var version: Int?
        public var href: String?
        public var labelClass: String

        init(label: String, version: Int? = nil, href: String? = nil) {
            self.label = label
            self.version = version
            self.href = href
            self.labelClass = Views.labelClass(label)
        }
    }

    public struct PromptsView: ViewModel {
        public struct Row: ViewModel {
            public var name: String
            public var href: String
            public var latest: Int
            public var latestHref: String
            public var labels: [LabelChip]
            public var updated: String
            public var kind: String
        }

        public var rows: [Row]
    }

    public static func prompts(chrome: Chrome, prompts: [(summary: PromptSummary, kind: PromptKind?)]) -> Page<PromptsView> {
        let rows = prompts.map { entry -> PromptsView.Row in
            let summary = entry.summary
            let base = promptBase(chrome, summary.name)
            return PromptsView.Row(
                name: summary.name, href: base, latest: summary.latestVersion, latestHref: "\(base)/versions/\(summary.latestVersion)",
                labels: labelChips(summary.labels, base: base), updated: Format.time(summary.updatedAt), kind: entry.kind?.rawValue ?? "")
        }
        return chrome.page("Prompts", PromptsView(rows: rows))
    }

    /// Production first, then staging, then the others by name.
    static func labelRank(_ label: String) -> String {
        switch label {
        case "production": "0"
        case "staging": "1"
        default: "2" + label
        }
    }

    static func labelChips(_ labels: [String: Int], base: String) -> [LabelChip] {
        labels.filter { $0.key != "latest" }.sorted { labelRank($0.key) < labelRank($1.key) }
            .map { LabelChip(label: $0.key, version: $0.value, href: "\(base)/versions/\($0.value)") }
    }

    static func labelClass(_ label: String) -> String {
        switch label {
        case "production": "label-production"
        case "staging": "label-staging"
        default: "label-custom"
        }
    }

    // MARK: A prompt

    public struct PromptView: ViewModel {
        public struct VersionRow: ViewModel {
            public var version: Int
            public var href: String
            public var labels: [LabelChip]
            public var commit: String
            public var author: String
            public var created: String
            public var model: String
            public var diffHref: String?
            public var playgroundHref: String
        }

        public struct LabelOption: ViewModel {
            public var value: String
            /// The version the label is on now (`v3`), or `unset`.
            public var current: String
        }

        public struct Rollback: ViewModel {
            public var version: Int
            public var label: String
        }

        public struct Move: ViewModel {
            public var label: String
            public var labelClass: String
            public var from: String
            public var to: String
            public var fromHref: String?
            public var toHref: String
            public var author: String
            public var time: String
            /// Moving the label back to where it was before this move, when that is not where it is now.
            public var rollback: Rollback?
        }

        public var name: String
        public var base: String
        public var kind: String
        public var latest: Int
        public var versionsCount: String
        public var labels: [LabelChip]
        public var versions: [VersionRow]
        public var versionOptions: [Option]
        public var labelOptions: [LabelOption]
        public var moves: [Move]
        public var compareBase: Int
        public var compareHead: Int
    }

    public static func prompt(chrome: Chrome, history: [PromptVersion], moves: [PromptLabelMove], names: [String: String]) -> Page<PromptView> {
        let latest = history.first!
        let base = promptBase(chrome, latest.name)
        var labels: [String: Int] = [:]
        for version in history { for label in version.labels { labels[label] = version.version } }
        let known = Array(Set(standardLabels + labels.keys.filter { $0 != "latest" })).sorted {
            (standardLabels.firstIndex(of: $0) ?? 9, $0) < (standardLabels.firstIndex(of: $1) ?? 9, $1)
        }
        return chrome.page(
            latest.name,
            PromptView(
                name: latest.name, base: base, kind: latest.kind.rawValue, latest: latest.version,
                versionsCount: history.count == 1 ? "1 version" : "\(history.count) versions", labels: labelChips(labels, base: base),
                versions: history.enumerated().map { index, version in
                    let previous = index + 1 < history.count ? history[index + 1].version : nil
                    return PromptView.VersionRow(
                        version: version.version, href: "\(base)/versions/\(version.version)",
                        labels: version.labels.sorted().map { LabelChip(label: $0) }, commit: version.commitMessage ?? "",
                        author: actor(version.author, names), created: Format.time(version.createdAt), model: version.config.model ?? "",
                        diffHref: previous.map { url("\(base)/diff", [("base", String($0)), ("head", String(version.version))]) },
                        playgroundHref: url("\(base)/playground", [("version", String(version.version))]))
                },
                versionOptions: history.map {
                    Option(
                        value: String($0.version), label: "v\($0.version)" + ($0.commitMessage.map { " – " + String($0.prefix(60)) } ?? ""),
                        selected: $0.version == latest.version)
                },
                labelOptions: known.map { PromptView.LabelOption(value: $0, current: labels[$0].map { "v\($0)" } ?? "unset") },
                moves: moves.map { move in
                    PromptView.Move(
                        label: move.label, labelClass: labelClass(move.label), from: move.fromVersion.map { "v\($0)" } ?? "–",
                        to: "v\(move.toVersion)", fromHref: move.fromVersion.map { "\(base)/versions/\($0)" }, toHref: "\(base)/versions/\(move.toVersion)",
                        author: actor(move.author, names), time: Format.time(move.movedAt),
                        rollback: move.fromVersion.flatMap { from in labels[move.label] == from ? nil : PromptView.Rollback(version: from, label: move.label) })
                },
                compareBase: history.count > 1 ? history[1].version : latest.version, compareHead: latest.version))
    }

    // MARK: A version

    /// A chat message of a template, its placeholders marked.
    public struct TemplateMessage: ViewModel {
        public var role: String
        public var html: String
    }

    public struct PromptVersionView: ViewModel {
        public var name: String
        public var base: String
        public var version: Int
        public var kind: String
        public var isLatest: Bool
        public var labels: [LabelChip]
        public var commit: String?
        public var author: String
        public var created: String
        public var variables: [String]
        public var hasVariables: Bool
        public var text: String?
        public var messages: [TemplateMessage]?
        public var config: [Fact]
        public var hasConfig: Bool
        public var tools: String?
        public var previousDiff: String?
        public var nextHref: String?
        public var previousVersion: Int
        public var previousHref: String?
        public var playgroundHref: String
        public var editHref: String
        public var experimentHref: String
    }

    public static func promptVersion(chrome: Chrome, version: PromptVersion, latest: Int, names: [String: String]) -> Page<PromptVersionView> {
        let base = promptBase(chrome, version.name)
        var config: [Fact] = []
        if let model = version.config.model { config.append(Fact(label: "Model", value: model)) }
        if let temperature = version.config.temperature { config.append(Fact(label: "Temperature", value: Format.score(temperature))) }
        if let tokens = version.config.maxTokens { config.append(Fact(label: "Max tokens", value: Format.integer(tokens))) }
        if let format = version.config.responseFormat { config.append(Fact(label: "Response format", value: pretty(format.jsonString()))) }
        return chrome.page(
            "\(version.name) v\(version.version)",
            PromptVersionView(
                name: version.name, base: base, version: version.version, kind: version.kind.rawValue, isLatest: version.version == latest,
                labels: version.labels.sorted().map { LabelChip(label: $0) }, commit: version.commitMessage, author: actor(version.author, names),
                created: Format.time(version.createdAt), variables: version.variables, hasVariables: !version.variables.isEmpty,
                text: version.kind == .text ? highlighted(version.text ?? "") : nil,
                messages: version.kind == .chat ? version.messages.map { TemplateMessage(role: $0.role, html: highlighted($0.content)) } : nil,
                config: config, hasConfig: !config.isEmpty, tools: version.tools.map { pretty($0.jsonString()) },
                previousDiff: version.version > 1
                    ? url("\(base)/diff", [("base", String(version.version - 1)), ("head", String(version.version))]) : nil,
                nextHref: version.version < latest ? "\(base)/versions/\(version.version + 1)" : nil, previousVersion: version.version - 1,
                previousHref: version.version > 1 ? "\(base)/versions/\(version.version - 1)" : nil,
                playgroundHref: url("\(base)/playground", [("version", String(version.version))]),
                editHref: url("\(base)/versions/new", [("from", String(version.version))]),
                experimentHref: url("/ui/\(chrome.project.slug)/experiments/new", [("prompt", "\(version.name)@\(version.version)")])))
    }

    /// A template as HTML: the text escaped, `{{ variable }}` placeholders marked.
    public static func highlighted(_ template: String) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            out += HTML.escape(String(rest[..<open.lowerBound]))
            let placeholder = HTML.escape(String(rest[open.lowerBound..<close.upperBound]))
            out += PromptTemplate.isVariableName(name) ? "<mark class=\"var\" title=\"variable \(HTML.escape(name))\">\(placeholder)</mark>" : placeholder
            rest = rest[close.upperBound...]
        }
        return out + HTML.escape(String(rest))
    }

    // MARK: Diff

    /// One row of a side-by-side diff; a side without a line is nil.
    public struct DiffRow: Sendable, Equatable {
        public var left: (number: Int, text: String, changed: Bool)?
        public var right: (number: Int, text: String, changed: Bool)?

        public static func == (a: DiffRow, b: DiffRow) -> Bool {
            a.left?.number == b.left?.number && a.left?.text == b.left?.text && a.left?.changed == b.left?.changed
                && a.right?.number == b.right?.number && a.right?.text == b.right?.text && a.right?.changed == b.right?.changed
        }
    }

    /// Aligns a line diff in two columns: unchanged lines side by side, a run of removed lines
    /// beside the run of added lines that replaces it.
    public static func sideBySide(_ lines: [TextDiff.Line]) -> [DiffRow] {
        var rows: [DiffRow] = []
        var leftNumber = 0
        var rightNumber = 0
        var removed: [String] = []
        var added: [String] = []
        func flush() {
            for index in 0..<max(removed.count, added.count) {
                var row = DiffRow()
                if index < removed.count { leftNumber += 1; row.left = (leftNumber, removed[index], true) }
                if index < added.count { rightNumber += 1; row.right = (rightNumber, added[index], true) }
                rows.append(row)
            }
            removed = []
            added = []
        }
        for line in lines {
            switch line {
            case .same(let text):
                flush()
                leftNumber += 1
                rightNumber += 1
                rows.append(DiffRow(left: (leftNumber, text, false), right: (rightNumber, text, false)))
            case .removed(let text): removed.append(text)
            case .added(let text): added.append(text)
            }
        }
        flush()
        return rows
    }

    public struct PromptDiffView: ViewModel {
        public struct Side: ViewModel {
            public struct Piece: ViewModel {
                public var text: String
                public var changed: Bool
            }

            public var number: String
            public var text: String
            /// `same`, `del`, `add` or `empty` (the CSS class).
            public var cls: String
            /// A changed line facing its counterpart: its words, the changed ones marked.
            public var pieces: [Piece]?
        }

        public struct Row: ViewModel {
            public var left: Side
            public var right: Side
        }

        public var name: String
        public var base: String
        public var baseVersion: Int
        public var headVersion: Int
        public var rows: [Row]
        public var added: Int
        public var removed: Int
        public var identical: Bool
        public var baseOptions: [Option]
        public var headOptions: [Option]
        public var swapHref: String
        public var baseMeta: String
        public var headMeta: String
    }

    public static func promptDiff(chrome: Chrome, base: PromptVersion, head: PromptVersion, versions: [PromptVersion]) -> Page<PromptDiffView> {
        let root = promptBase(chrome, head.name)
        let lines = TextDiff.lines(base.diffText, head.diffText)
        func side(_ value: (number: Int, text: String, changed: Bool)?, _ kind: String) -> PromptDiffView.Side {
            guard let value else { return PromptDiffView.Side(number: "", text: "", cls: "empty") }
            return PromptDiffView.Side(number: String(value.number), text: value.text, cls: value.changed ? kind : "same")
        }
        /// A removed line beside an added one: the words that changed within them are marked.
        func row(_ diff: DiffRow) -> PromptDiffView.Row {
            var left = side(diff.left, "del")
            var right = side(diff.right, "add")
            if let old = diff.left, let new = diff.right, old.changed, new.changed, let words = TextDiff.words(old.text, new.text),
                words.old.contains(where: { !$0.changed }) || words.new.contains(where: { !$0.changed })
            {
                left.pieces = words.old.map { PromptDiffView.Side.Piece(text: $0.text, changed: $0.changed) }
                right.pieces = words.new.map { PromptDiffView.Side.Piece(text: $0.text, changed: $0.changed) }
            }
            return PromptDiffView.Row(left: left, right: right)
        }
        let removedCount = lines.filter { if case .removed = $0 { true } else { false } }.count
        let addedCount = lines.filter { if case .added = $0 { true } else { false } }.count
        return chrome.page(
            "\(head.name): v\(base.version) → v\(head.version)",
            PromptDiffView(
                name: head.name, base: root, baseVersion: base.version, headVersion: head.version,
                rows: sideBySide(lines).map(row), added: addedCount,
                removed: removedCount, identical: addedCount == 0 && removedCount == 0,
                baseOptions: versions.map { Option(value: String($0.version), label: "v\($0.version)", selected: $0.version == base.version) },
                headOptions: versions.map { Option(value: String($0.version), label: "v\($0.version)", selected: $0.version == head.version) },
                swapHref: url("\(root)/diff", [("base", String(head.version)), ("head", String(base.version))]),
                baseMeta: "\(base.commitMessage ?? "no message") · \(Format.time(base.createdAt))",
                headMeta: "\(head.commitMessage ?? "no message") · \(Format.time(head.createdAt))"))
    }

    // MARK: Playground

    public struct PlaygroundView: ViewModel {
        public struct Variable: ViewModel {
            public var name: String
            public var value: String
            public var missing: Bool
        }

        public struct Template: ViewModel {
            public var kind: String
            public var html: String?
        }

        public struct ModelChoice: ViewModel {
            public var name: String
            public var checked: Bool
            public var id: String
        }

        public struct Result: ViewModel {
            public var model: String
            public var ok: Bool
            public var output: String
            public var error: String
            public var tokens: String
            public var cost: String
            public var latency: String
            public var deployment: String?
            public var traceHref: String?
        }

        public struct EditableMessage: ViewModel {
            public var index: Int
            public var role: String
            public var content: String
        }

        public var name: String
        public var base: String
        public var version: Int
        public var reference: String
        public var references: [Option]
        /// The messages (or the text) as the form shows them, editable; a run uses them as shown.
        public var editMessages: [EditableMessage]
        public var editText: String?
        /// True when the run used edited messages rather than the version's.
        public var edited: Bool
        public var variables: [Variable]
        public var hasVariables: Bool
        public var template: Template
        public var messages: [TemplateMessage]?
        public var models: [ModelChoice]
        public var hasModels: Bool
        public var temperature: String
        public var maxTokens: String
        public var defaultTemperature: String
        public var defaultMaxTokens: String
        public var error: String?
        public var results: [Result]?
        public var hasResults: Bool
    }

    public static func playground(
        chrome: Chrome, version: PromptVersion, history: [PromptVersion], reference: String, models: [String],
        input: PlaygroundInput, results: [PlaygroundResult]?, error: String?
    ) -> Page<PlaygroundView> {
        let base = promptBase(chrome, version.name)
        var labels: [String: Int] = [:]
        for entry in history { for label in entry.labels { labels[label] = entry.version } }
        var references = labels.keys.sorted().map { label in
            Option(value: label, label: "\(label) → v\(labels[label]!)", selected: reference == label)
        }
        references += history.map { entry in
            Option(
                value: String(entry.version), label: "v\(entry.version)" + (entry.commitMessage.map { " – " + String($0.prefix(50)) } ?? ""),
                selected: reference == String(entry.version))
        }
        let chosen = input.models.isEmpty ? [version.config.model.flatMap { models.contains($0) ? $0 : nil } ?? models.first].compactMap { $0 } : input.models
        let shown = input.edited ?? version
        return chrome.page(
            "Playground · \(version.name)",
            PlaygroundView(
                name: version.name, base: base, version: version.version, reference: reference, references: references,
                editMessages: shown.kind == .chat
                    ? shown.messages.enumerated().map { PlaygroundView.EditableMessage(index: $0.offset, role: $0.element.role, content: $0.element.content) }
                    : [],
                editText: shown.kind == .text ? shown.text ?? "" : nil, edited: input.edited != nil,
                variables: shown.variables.map { name in
                    PlaygroundView.Variable(name: name, value: input.values[name] ?? "", missing: error != nil && (input.values[name] ?? "").isEmpty)
                },
                hasVariables: !shown.variables.isEmpty,
                template: version.kind == .text
                    ? PlaygroundView.Template(kind: "text", html: highlighted(version.text ?? "")) : PlaygroundView.Template(kind: "chat", html: nil),
                messages: version.kind == .chat ? version.messages.map { TemplateMessage(role: $0.role, html: highlighted($0.content)) } : nil,
                models: models.map { PlaygroundView.ModelChoice(name: $0, checked: chosen.contains($0), id: "model-" + percent($0)) },
                hasModels: !models.isEmpty, temperature: input.temperature, maxTokens: input.maxTokens,
                defaultTemperature: version.config.temperature.map(Format.score) ?? "model default",
                defaultMaxTokens: version.config.maxTokens.map(String.init) ?? "model default", error: error,
                results: results.map {
                    $0.map { result in
                        PlaygroundView.Result(
                            model: result.model, ok: result.error == nil, output: result.output ?? "", error: result.error ?? "",
                            tokens: result.inputTokens.map { i in "\(Format.integer(i)) → \(Format.integer(result.outputTokens ?? 0))" } ?? "–",
                            cost: Format.cost(result.cost), latency: Format.duration(result.latencyMs), deployment: result.deployment,
                            traceHref: result.traceID.map { "/ui/\(chrome.project.slug)/traces/\(percent($0))" })
                    }
                },
                hasResults: results != nil))
    }
}
