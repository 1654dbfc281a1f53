public import TernCore

/// The "new run" form as typed, so a form sent back with errors keeps every choice.
public struct RunDraft: Sendable, Equatable {
    public var name = ""
    public var dataset = ""
    public var datasetVersion = ""
    /// Ticked prompt versions, `name@version`.
    public var prompts: [String] = []
    /// Other references (`name@version`, `name:label`, `name`), separated by commas or spaces.
    public var promptRefs = ""
    public var models: [String] = []
    /// The assertions, as JSON text.
    public var assert = ""
    public var grader = ""
    public var embedder = ""
    public var threshold = ""
    public var repeats = "1"
    public var concurrency = "4"

    public init() {}

    /// Every prompt reference of the draft: the ticked versions, then the others, each once.
    public var allPrompts: [String] {
        var out: [String] = []
        for reference in prompts + PromptDraft.list(promptRefs) where !out.contains(reference) { out.append(reference) }
        return out
    }
}

/// A prompt offered by the run form: its newest versions, and whether older ones were left out.
public struct RunFormPrompt: Sendable {
    public var name: String
    public var versions: [PromptVersion]
    public var more: Bool

    public init(name: String, versions: [PromptVersion], more: Bool) {
        self.name = name
        self.versions = versions
        self.more = more
    }
}

extension ExperimentViews {
    /// `errors` maps a form field (`name`, `dataset`, `dataset_version`, `prompts`, `models`, `assert`,
    /// `grader`, `embedder`, `threshold`, `repeats`, `max_concurrency`, `form`) to its message.
    /// `models` answer prompts (and judge); `embeddingModels` may embed (nil: `models`); `defaultEmbedder`
    /// is what a run without one uses (the gateway's built-in local model), named on the "none" choice.
    public static func newRun(
        chrome: Chrome, draft: RunDraft, datasets: [Dataset], prompts: [RunFormPrompt], models: [String],
        embeddingModels: [String]? = nil, defaultEmbedder: String? = nil, errors: [String: String]
    ) -> [String: Any] {
        var context = chrome.pageContext(title: "New experiment run")
        context["listHref"] = base(chrome)
        context["form"] = [
            "name": draft.name, "datasetVersion": draft.datasetVersion, "promptRefs": draft.promptRefs, "assert": draft.assert,
            "threshold": draft.threshold, "repeats": draft.repeats, "concurrency": draft.concurrency,
        ]
        context["datasets"] = datasets.map { dataset -> [String: Any] in
            [
                "name": dataset.name, "selected": dataset.name == draft.dataset,
                "label": dataset.latestVersion == 0 ? "\(dataset.name) (empty)" : "\(dataset.name) (v\(dataset.latestVersion))",
            ]
        }
        context["hasDatasets"] = !datasets.isEmpty
        context["prompts"] = prompts.map { prompt -> [String: Any] in
            [
                "name": prompt.name, "more": prompt.more,
                "versions": prompt.versions.map { version -> [String: Any] in
                    let value = "\(version.name)@\(version.version)"
                    return [
                        "value": value, "version": version.version, "id": "run-prompt-" + Views.percent(value), "checked": draft.prompts.contains(value),
                        "labels": version.labels.sorted().map { ["label": $0, "labelClass": Views.labelClass($0)] },
                        "commit": version.commitMessage.map { String($0.prefix(60)) } ?? "",
                    ]
                },
            ]
        }
        context["hasPrompts"] = !prompts.isEmpty
        context["models"] = models.map { ["name": $0, "id": "run-model-" + Views.percent($0), "checked": draft.models.contains($0)] as [String: Any] }
        context["hasModels"] = !models.isEmpty
        func choices(_ chosen: String, _ names: [String], none: String) -> [[String: Any]] {
            [["value": "", "label": none, "selected": chosen.isEmpty] as [String: Any]]
                + names.map { ["value": $0, "label": $0, "selected": $0 == chosen] as [String: Any] }
        }
        context["graders"] = choices(draft.grader, models, none: "none (assertions name their provider)")
        context["embedders"] = choices(
            draft.embedder, embeddingModels ?? models,
            none: defaultEmbedder.map { "default: \($0), in process" } ?? "none")
        context["err"] = errors
        context["hasErrors"] = !errors.isEmpty
        context["errorCount"] = errors.count == 1 ? "1 field needs" : "\(errors.count) fields need"
        return context
    }
}
