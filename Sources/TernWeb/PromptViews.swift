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

    public static func prompts(chrome: Chrome, prompts: [(summary: PromptSummary, kind: PromptKind?)]) -> [String: Any] {
        var context = chrome.pageContext(title: "Prompts")
        context["rows"] = prompts.map { entry -> [String: Any] in
            let summary = entry.summary
            let base = promptBase(chrome, summary.name)
            return [
                "name": summary.name, "href": base, "latest": summary.latestVersion,
                "latestHref": "\(base)/versions/\(summary.latestVersion)",
                "labels": labelChips(summary.labels, base: base),
                "updated": Format.time(summary.updatedAt), "kind": entry.kind?.rawValue ?? "",
            ]
        }
        return context
    }

    /// Production first, then staging, then the others by name.
    static func labelRank(_ label: String) -> String {
        switch label {
        case "production": "0"
        case "staging": "1"
        default: "2" + label
        }
    }

    static func labelChips(_ labels: [String: Int], base: String) -> [[String: Any]] {
        labels.filter { $0.key != "latest" }.sorted { labelRank($0.key) < labelRank($1.key) }
            .map { ["label": $0.key, "version": $0.value, "href": "\(base)/versions/\($0.value)", "labelClass": labelClass($0.key)] }
    }

    static func labelClass(_ label: String) -> String {
        switch label {
        case "production": "label-production"
        case "staging": "label-staging"
        default: "label-custom"
        }
    }

    // MARK: A prompt

    public static func prompt(chrome: Chrome, history: [PromptVersion], moves: [PromptLabelMove], names: [String: String]) -> [String: Any] {
        let latest = history.first!
        var context = chrome.pageContext(title: latest.name)
        let base = promptBase(chrome, latest.name)
        context["name"] = latest.name
        context["base"] = base
        context["kind"] = latest.kind.rawValue
        context["latest"] = latest.version
        context["versionsCount"] = history.count == 1 ? "1 version" : "\(history.count) versions"
        var labels: [String: Int] = [:]
        for version in history { for label in version.labels { labels[label] = version.version } }
        context["labels"] = labelChips(labels, base: base)
        context["versions"] = history.enumerated().map { index, version -> [String: Any] in
            let previous = index + 1 < history.count ? history[index + 1].version : nil
            return [
                "version": version.version, "href": "\(base)/versions/\(version.version)",
                "labels": version.labels.sorted().map { ["label": $0, "labelClass": labelClass($0)] },
                "commit": version.commitMessage ?? "", "author": actor(version.author, names), "created": Format.time(version.createdAt),
                "model": version.config.model ?? "",
                "diffHref": previous.map { url("\(base)/diff", [("base", String($0)), ("head", String(version.version))]) } ?? false,
                "playgroundHref": url("\(base)/playground", [("version", String(version.version))]),
            ]
        }
        context["versionOptions"] = history.map {
            [
                "value": $0.version, "label": "v\($0.version)" + ($0.commitMessage.map { " – " + String($0.prefix(60)) } ?? ""),
                "selected": $0.version == latest.version,
            ] as [String: Any]
        }
        let known = Array(Set(standardLabels + labels.keys.filter { $0 != "latest" })).sorted {
            (standardLabels.firstIndex(of: $0) ?? 9, $0) < (standardLabels.firstIndex(of: $1) ?? 9, $1)
        }
        context["labelOptions"] = known.map { ["value": $0, "current": labels[$0].map { "v\($0)" } ?? "unset"] as [String: Any] }
        context["moves"] = moves.map { move -> [String: Any] in
            [
                "label": move.label, "labelClass": labelClass(move.label), "from": move.fromVersion.map { "v\($0)" } ?? "–", "to": "v\(move.toVersion)",
                "fromHref": move.fromVersion.map { "\(base)/versions/\($0)" } ?? false, "toHref": "\(base)/versions/\(move.toVersion)",
                "author": actor(move.author, names), "time": Format.time(move.movedAt),
                // Rolling back moves the label to where it was before this move, when that is not where it is now.
                "rollback": move.fromVersion.flatMap { from in labels[move.label] == from ? nil : ["version": from, "label": move.label] as [String: Any] }
                    ?? false,
            ]
        }
        context["compareBase"] = history.count > 1 ? history[1].version : latest.version
        context["compareHead"] = latest.version
        return context
    }

    // MARK: A version

    public static func promptVersion(chrome: Chrome, version: PromptVersion, latest: Int, names: [String: String]) -> [String: Any] {
        var context = chrome.pageContext(title: "\(version.name) v\(version.version)")
        let base = promptBase(chrome, version.name)
        context["name"] = version.name
        context["base"] = base
        context["version"] = version.version
        context["kind"] = version.kind.rawValue
        context["isLatest"] = version.version == latest
        context["labels"] = version.labels.sorted().map { ["label": $0, "labelClass": labelClass($0)] }
        context["commit"] = version.commitMessage ?? false
        context["author"] = actor(version.author, names)
        context["created"] = Format.time(version.createdAt)
        context["variables"] = version.variables
        context["hasVariables"] = !version.variables.isEmpty
        context["text"] = version.kind == .text ? highlighted(version.text ?? "") : false
        context["messages"] =
            version.kind == .chat
            ? version.messages.map { ["role": $0.role, "html": highlighted($0.content)] as [String: Any] } : false
        var config: [[String: Any]] = []
        if let model = version.config.model { config.append(["label": "Model", "value": model]) }
        if let temperature = version.config.temperature { config.append(["label": "Temperature", "value": Format.score(temperature)]) }
        if let tokens = version.config.maxTokens { config.append(["label": "Max tokens", "value": Format.integer(tokens)]) }
        if let format = version.config.responseFormat { config.append(["label": "Response format", "value": pretty(format.jsonString())]) }
        context["config"] = config
        context["hasConfig"] = !config.isEmpty
        context["tools"] = version.tools.map { pretty($0.jsonString()) } ?? false
        context["previousDiff"] =
            version.version > 1
            ? url("\(base)/diff", [("base", String(version.version - 1)), ("head", String(version.version))]) : false
        context["nextHref"] = version.version < latest ? "\(base)/versions/\(version.version + 1)" : false
        context["previousVersion"] = version.version - 1
        context["previousHref"] = version.version > 1 ? "\(base)/versions/\(version.version - 1)" : false
        context["playgroundHref"] = url("\(base)/playground", [("version", String(version.version))])
        context["editHref"] = url("\(base)/versions/new", [("from", String(version.version))])
        context["experimentHref"] = url("/ui/\(chrome.project.slug)/experiments/new", [("prompt", "\(version.name)@\(version.version)")])
        return context
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

    public static func promptDiff(chrome: Chrome, base: PromptVersion, head: PromptVersion, versions: [PromptVersion]) -> [String: Any] {
        var context = chrome.pageContext(title: "\(head.name): v\(base.version) → v\(head.version)")
        let root = promptBase(chrome, head.name)
        context["name"] = head.name
        context["base"] = root
        context["baseVersion"] = base.version
        context["headVersion"] = head.version
        let lines = TextDiff.lines(base.diffText, head.diffText)
        let rows = sideBySide(lines)
        context["rows"] = rows.map { row -> [String: Any] in
            func side(_ value: (number: Int, text: String, changed: Bool)?, _ kind: String) -> [String: Any] {
                guard let value else { return ["number": "", "text": "", "cls": "empty"] }
                return ["number": value.number, "text": value.text, "cls": value.changed ? kind : "same"]
            }
            return ["left": side(row.left, "del"), "right": side(row.right, "add")]
        }
        let removedCount = lines.filter { if case .removed = $0 { true } else { false } }.count
        let addedCount = lines.filter { if case .added = $0 { true } else { false } }.count
        context["added"] = addedCount
        context["removed"] = removedCount
        context["identical"] = addedCount == 0 && removedCount == 0
        context["baseOptions"] = versions.map { ["value": $0.version, "selected": $0.version == base.version] as [String: Any] }
        context["headOptions"] = versions.map { ["value": $0.version, "selected": $0.version == head.version] as [String: Any] }
        context["swapHref"] = url("\(root)/diff", [("base", String(head.version)), ("head", String(base.version))])
        context["baseMeta"] = "\(base.commitMessage ?? "no message") · \(Format.time(base.createdAt))"
        context["headMeta"] = "\(head.commitMessage ?? "no message") · \(Format.time(head.createdAt))"
        return context
    }

    // MARK: Playground

    public static func playground(
        chrome: Chrome, version: PromptVersion, history: [PromptVersion], reference: String, models: [String],
        input: PlaygroundInput, results: [PlaygroundResult]?, error: String?
    ) -> [String: Any] {
        var context = chrome.pageContext(title: "Playground · \(version.name)")
        let base = promptBase(chrome, version.name)
        context["name"] = version.name
        context["base"] = base
        context["version"] = version.version
        context["reference"] = reference
        var labels: [String: Int] = [:]
        for entry in history { for label in entry.labels { labels[label] = entry.version } }
        var references: [[String: Any]] = labels.keys.sorted().map { label in
            ["value": label, "label": "\(label) → v\(labels[label]!)", "selected": reference == label]
        }
        references += history.map { entry in
            [
                "value": String(entry.version), "label": "v\(entry.version)" + (entry.commitMessage.map { " – " + String($0.prefix(50)) } ?? ""),
                "selected": reference == String(entry.version),
            ]
        }
        context["references"] = references
        context["variables"] = version.variables.map { name -> [String: Any] in
            ["name": name, "value": input.values[name] ?? "", "missing": error != nil && (input.values[name] ?? "").isEmpty]
        }
        context["hasVariables"] = !version.variables.isEmpty
        context["template"] =
            version.kind == .text
            ? ["kind": "text", "html": highlighted(version.text ?? "")] as [String: Any]
            : ["kind": "chat", "html": false] as [String: Any]
        context["messages"] = version.kind == .chat ? version.messages.map { ["role": $0.role, "html": highlighted($0.content)] as [String: Any] } : false
        let chosen = input.models.isEmpty ? [version.config.model.flatMap { models.contains($0) ? $0 : nil } ?? models.first].compactMap { $0 } : input.models
        context["models"] = models.map { ["name": $0, "checked": chosen.contains($0), "id": "model-" + percent($0)] as [String: Any] }
        context["hasModels"] = !models.isEmpty
        context["temperature"] = input.temperature
        context["maxTokens"] = input.maxTokens
        context["defaultTemperature"] = version.config.temperature.map(Format.score) ?? "model default"
        context["defaultMaxTokens"] = version.config.maxTokens.map(String.init) ?? "model default"
        if let error { context["error"] = error }
        if let results {
            context["results"] = results.map { result -> [String: Any] in
                [
                    "model": result.model, "ok": result.error == nil, "output": result.output ?? "", "error": result.error ?? "",
                    "tokens": result.inputTokens.map { i in "\(Format.integer(i)) → \(Format.integer(result.outputTokens ?? 0))" } ?? "–",
                    "cost": Format.cost(result.cost), "latency": Format.duration(result.latencyMs), "deployment": result.deployment ?? false,
                    "traceHref": result.traceID.map { "/ui/\(chrome.project.slug)/traces/\(percent($0))" } ?? false,
                ]
            }
            context["hasResults"] = true
        }
        return context
    }
}
