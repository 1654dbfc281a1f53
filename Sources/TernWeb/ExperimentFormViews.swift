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
    public struct NewRunView: ViewModel {
        /// What was typed in the text fields.
        public struct Form: ViewModel {
            public var name: String
            public var datasetVersion: String
            public var promptRefs: String
            public var assert: String
            public var threshold: String
            public var repeats: String
            public var concurrency: String
        }

        public struct DatasetChoice: ViewModel {
            public var name: String
            public var selected: Bool
            public var label: String
        }

        public struct Label: ViewModel {
            public var label: String
            public var labelClass: String
        }

        public struct VersionChoice: ViewModel {
            public var value: String
            public var version: Int
            public var id: String
            public var checked: Bool
            public var labels: [Label]
            public var commit: String
        }

        public struct PromptChoice: ViewModel {
            public var name: String
            public var more: Bool
            public var versions: [VersionChoice]
        }

        public struct ModelChoice: ViewModel {
            public var name: String
            public var id: String
            public var checked: Bool
        }

        public var listHref: String
        public var form: Form
        public var datasets: [DatasetChoice]
        public var hasDatasets: Bool
        public var prompts: [PromptChoice]
        public var hasPrompts: Bool
        public var models: [ModelChoice]
        public var hasModels: Bool
        public var graders: [Option]
        public var embedders: [Option]
        /// Error messages by form field (`err.dataset_version`).
        public var err: [String: String]
        public var hasErrors: Bool
        public var errorCount: String
    }

    /// `errors` maps a form field (`name`, `dataset`, `dataset_version`, `prompts`, `models`, `assert`,
    /// `grader`, `embedder`, `threshold`, `repeats`, `max_concurrency`, `form`) to its message.
    /// `models` answer prompts (and judge); `embeddingModels` may embed (nil: `models`); `defaultEmbedder`
    /// is what a run without one uses (the gateway's built-in local model), named on the "none" choice.
    public static func newRun(
        chrome: Chrome, draft: RunDraft, datasets: [Dataset], prompts: [RunFormPrompt], models: [String],
        embeddingModels: [String]? = nil, defaultEmbedder: String? = nil, errors: [String: String]
    ) -> Page<NewRunView> {
        func choices(_ chosen: String, _ names: [String], none: String) -> [Option] {
            [Option(value: "", label: none, selected: chosen.isEmpty)] + names.map { Option(value: $0, label: $0, selected: $0 == chosen) }
        }
        return chrome.page(
            "New experiment run",
            NewRunView(
                listHref: base(chrome),
                form: NewRunView.Form(
                    name: draft.name, datasetVersion: draft.datasetVersion, promptRefs: draft.promptRefs, assert: draft.assert,
                    threshold: draft.threshold, repeats: draft.repeats, concurrency: draft.concurrency),
                datasets: datasets.map { dataset in
                    NewRunView.DatasetChoice(
                        name: dataset.name, selected: dataset.name == draft.dataset,
                        label: dataset.latestVersion == 0 ? "\(dataset.name) (empty)" : "\(dataset.name) (v\(dataset.latestVersion))")
                },
                hasDatasets: !datasets.isEmpty,
                prompts: prompts.map { prompt in
                    NewRunView.PromptChoice(
                        name: prompt.name, more: prompt.more,
                        versions: prompt.versions.map { version in
                            let value = "\(version.name)@\(version.version)"
                            return NewRunView.VersionChoice(
                                value: value, version: version.version, id: "run-prompt-" + Views.percent(value), checked: draft.prompts.contains(value),
                                labels: version.labels.sorted().map { NewRunView.Label(label: $0, labelClass: Views.labelClass($0)) },
                                commit: version.commitMessage.map { String($0.prefix(60)) } ?? "")
                        })
                },
                hasPrompts: !prompts.isEmpty,
                models: models.map { NewRunView.ModelChoice(name: $0, id: "run-model-" + Views.percent($0), checked: draft.models.contains($0)) },
                hasModels: !models.isEmpty, graders: choices(draft.grader, models, none: "none (assertions name their provider)"),
                embedders: choices(
                    draft.embedder, embeddingModels ?? models, none: defaultEmbedder.map { "default: \($0), in process" } ?? "none"),
                err: errors, hasErrors: !errors.isEmpty, errorCount: errors.count == 1 ? "1 field needs" : "\(errors.count) fields need"))
    }
}
