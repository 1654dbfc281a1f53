public import Foundation
public import TernCore

// `tern eval` configuration: a file close to promptfoo's promptfooconfig.yaml (`prompts`,
// `providers`, `tests`, `defaultTest`, `evaluateOptions`), plus Tern's `dataset:` and `golden:`.
// The same parser reads promptfoo configs as they are (`tern eval --from-promptfoo`); what Tern
// cannot run is refused by name rather than ignored. Errors name the file, line and key path,
// like `tern.yaml` errors: `tern-eval.yaml:7: providers[1].config.temprature: unknown key...`.

/// Which dialect a file is read as.
public enum EvalConfigFlavor: String, Sendable {
    /// `tern-eval.yaml`: promptfoo's keys plus `dataset`, `golden` and Tern logical model names as providers.
    case tern
    /// A promptfoo config as it is: Tern's extensions are refused.
    case promptfoo
}

/// Where a value came from, for errors found after parsing (unknown assertion types, missing variables).
public struct EvalLocation: Sendable, Equatable, Codable {
    public var source: String
    public var path: String?
    public var line: Int?

    public init(source: String, path: String?, line: Int?) {
        self.source = source
        self.path = path
        self.line = line
    }

    init(_ node: ConfigNode, source: String) {
        self.init(source: source, path: node.path.isEmpty ? nil : node.path, line: node.lineNumber)
    }

    public func error(_ message: String) -> ConfigError {
        ConfigError(source: source, path: path, line: line, message: message)
    }
}

/// A prompt template: text, or chat messages, with `{{ variable }}` placeholders.
public struct EvalPrompt: Sendable, Equatable {
    /// Shown in tables and reports: the label, else the file it came from, else its text.
    public var label: String
    /// Identifies the prompt across runs (baselines): the label when one is given, else its position.
    public var key: String
    /// The template as written (chat prompts as JSON).
    public var raw: String
    public var kind: PromptKind
    public var text: String?
    public var messages: [PromptMessage]
    public var location: EvalLocation

    /// The templates' variables, in order of first use.
    public var variables: [String] {
        var out: [String] = []
        for template in kind == .text ? [text ?? ""] : messages.map(\.content) {
            for name in PromptTemplate.variables(in: template) where !out.contains(name) { out.append(name) }
        }
        return out
    }
}

/// A model to run the prompts against.
public struct EvalProvider: Sendable, Equatable {
    public enum API: String, Sendable, Equatable, Codable {
        /// OpenAI-compatible `POST /chat/completions`.
        case openAIChat = "openai-chat"
        /// OpenAI-compatible `POST /completions` (legacy text completions).
        case openAICompletion = "openai-completion"
        /// Anthropic `POST /v1/messages`.
        case anthropicMessages = "anthropic-messages"
        /// A logical model of a Tern server's gateway (`--server`), `POST /v1/chat/completions`.
        case ternGateway = "tern"
        /// promptfoo's `echo`: the output is the rendered prompt (no call).
        case echo
        /// OpenAI-compatible `POST /embeddings` (promptfoo's `openai:embedding:MODEL`; grading only).
        case openAIEmbedding = "openai-embedding"
        /// A logical embedding model of a Tern server's gateway, `POST /v1/embeddings` (grading only).
        case ternGatewayEmbedding = "tern-embedding"
    }

    /// As written (`openai:chat:gpt-4o-mini`, `anthropic:messages:claude-sonnet-4-5`, `support-bot`).
    public var id: String
    public var label: String?
    public var api: API
    /// The upstream model (or the Tern logical model).
    public var model: String
    public var apiBaseURL: String?
    public var apiHost: String?
    public var apiKeyEnvar: String?
    public var apiKeyRequired: Bool
    public var headers: [String: String]
    public var options: ModelCallOptions
    public var location: EvalLocation

    public var displayName: String { label ?? id }
}

/// One assertion with where it was written.
public struct EvalAssertion: Sendable, Equatable {
    public var spec: AssertionSpec
    public var location: EvalLocation
}

/// A test case: variables, assertions, and what else promptfoo's test objects carry.
public struct EvalTest: Sendable, Equatable {
    public var description: String?
    public var vars: [String: JSONValue]
    public var assertions: [EvalAssertion]
    public var threshold: Double?
    public var metadata: [String: JSONValue]
    /// A human-validated item: with `golden: require-all` (or `--require-golden`) it must pass.
    public var golden: Bool
    /// promptfoo's `options.prefix` / `options.suffix` (CSV `__prefix`, `__suffix`).
    public var prefix: String?
    public var suffix: String?
    /// promptfoo's `options.provider`: the grader of the model-graded assertions that name none,
    /// as `{text, embedding}` (a plain id is the judge, or the embedding model when it is one).
    public var gradingProvider: JSONValue?
    /// promptfoo's `options.rubricPrompt`: the judge prompt of the model-graded assertions that give none.
    public var rubricPrompt: JSONValue?
    /// The expected output of a stored dataset item (comparison assertions fall back to it).
    public var expected: String?
    /// The id of a stored dataset item.
    public var itemID: String?
    public var location: EvalLocation

    public init(
        description: String? = nil, vars: [String: JSONValue] = [:], assertions: [EvalAssertion] = [], threshold: Double? = nil,
        metadata: [String: JSONValue] = [:], golden: Bool = false, prefix: String? = nil, suffix: String? = nil, expected: String? = nil,
        itemID: String? = nil, location: EvalLocation
    ) {
        self.description = description
        self.vars = vars
        self.assertions = assertions
        self.threshold = threshold
        self.metadata = metadata
        self.golden = golden
        self.prefix = prefix
        self.suffix = suffix
        self.expected = expected
        self.itemID = itemID
        self.location = location
    }

    /// Identifies the test across runs (baselines): the dataset item id, else the description when
    /// it is unique in the run, else a hash of the variables.
    public func key(uniqueDescription: Bool) -> String {
        if let itemID { return "item:" + itemID }
        if let description, !description.isEmpty, uniqueDescription { return description }
        return "vars:" + String(Secrets.hash(String(decoding: JSONValue.object(vars).canonicalData(), as: UTF8.self)).prefix(16))
    }

    /// This test with `defaults` (promptfoo's `defaultTest`) under it: variables and metadata
    /// merged (the test's win), the default assertions first, the test's threshold and options
    /// over the default's. Then, as promptfoo does, `options.provider` and `options.rubricPrompt`
    /// are copied onto each model-graded assertion that has no `provider` / `rubricPrompt` of its own.
    public func merged(over defaults: EvalTest?) -> EvalTest {
        var out = self
        if let defaults {
            out.vars = defaults.vars.merging(vars) { _, own in own }
            out.metadata = defaults.metadata.merging(metadata) { _, own in own }
            out.assertions = defaults.assertions + assertions
            out.threshold = threshold ?? defaults.threshold
            out.prefix = prefix ?? defaults.prefix
            out.suffix = suffix ?? defaults.suffix
            out.golden = golden || defaults.golden
            out.gradingProvider = gradingProvider ?? defaults.gradingProvider
            out.rubricPrompt = rubricPrompt ?? defaults.rubricPrompt
        }
        if out.gradingProvider != nil || out.rubricPrompt != nil {
            for index in out.assertions.indices {
                out.assertions[index].spec = out.assertions[index].spec.withGrading(provider: out.gradingProvider, rubricPrompt: out.rubricPrompt)
            }
        }
        return out
    }
}

/// `dataset: NAME[@version]`: the items of a dataset stored on a Tern server.
public struct EvalDatasetReference: Sendable, Equatable {
    public var name: String
    public var version: Int?
    public var location: EvalLocation
}

/// A parsed `tern eval` configuration.
public struct EvalConfig: Sendable {
    public var source: String
    public var flavor: EvalConfigFlavor
    public var description: String?
    public var tags: [String: String] = [:]
    public var prompts: [EvalPrompt] = []
    public var providers: [EvalProvider] = []
    /// The tests with `defaultTest` applied and array variables expanded.
    public var tests: [EvalTest] = []
    /// `defaultTest`, kept for dataset items loaded later.
    public var defaultTest: EvalTest?
    public var dataset: EvalDatasetReference?
    public var maxConcurrency: Int?
    public var repeatCount: Int?
    /// `evaluateOptions.cache: false` turns the response cache off.
    public var cache: Bool?
    /// `evaluateOptions.timeoutMs`, per call.
    public var timeoutSeconds: Double?
    /// `evaluateOptions.showProgressBar: false` hides the progress bar.
    public var showProgressBar = true
    /// `golden: require-all`.
    public var goldenRequireAll = false
    /// `env:`: variables that override the process environment for this run.
    public var environment: [String: String] = [:]
    /// `outputPath`: written like `-o` files.
    public var outputPaths: [String] = []
    /// The file as JSON, echoed in JSON results.
    public var raw: JSONValue = .null

    /// Reads and checks a config file. Files it names (`file://`) are read relative to its folder.
    public static func load(path: String, flavor: EvalConfigFlavor) throws -> EvalConfig {
        let url = URL(fileURLWithPath: path)
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigError(source: path, path: nil, line: nil, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(yaml: text, source: path, directory: url.deletingLastPathComponent(), flavor: flavor)
    }

    /// Parses config text; `directory` is where `file://` paths start.
    public static func parse(yaml: String, source: String, directory: URL, flavor: EvalConfigFlavor) throws -> EvalConfig {
        guard let root = try ConfigNode.parse(yaml: yaml, source: source) else {
            throw ConfigError(source: source, path: nil, line: nil, message: "the file is empty; it needs prompts, providers and tests")
        }
        var parser = EvalConfigParser(source: source, directory: directory, flavor: flavor)
        return try parser.config(root)
    }

    /// Tests made from stored dataset items, `defaultTest` applied.
    public func tests(fromDataset items: [DatasetItem]) -> [EvalTest] {
        let location = dataset?.location ?? EvalLocation(source: source, path: "dataset", line: nil)
        return items.map { item in
            EvalTest(
                description: item.id, vars: item.input, metadata: item.metadata, golden: item.golden, expected: item.expectedOutput,
                itemID: item.id, location: location
            ).merged(over: defaultTest)
        }
    }

    /// Refuses what cannot run before anything is called: assertion types no evaluator handles,
    /// and prompt variables a test does not set. Errors name where the assertion or test was written.
    public func validate(tests: [EvalTest], registry: EvaluatorRegistry) throws {
        let known = Set(registry.knownTypes)
        let columns = prompts.count * providers.count
        func check(_ spec: AssertionSpec, _ location: EvalLocation, nested: Bool = false) throws {
            if spec.type == "assert-set" {
                for child in spec.assertions ?? [] { try check(child, location, nested: true) }
                return
            }
            if registry.rowEvaluator(for: spec.type) != nil {
                guard !nested else {
                    throw location.error("\(spec.type) compares a test's outputs and must be a top-level assertion, not inside an assert-set")
                }
                guard columns >= 2 else {
                    throw location.error(
                        "\(spec.type) compares the outputs of a test through every prompt x provider and needs at least two; this config has \(columns)")
                }
            }
            guard known.contains(spec.baseType) else {
                var message = "unknown assertion type \"\(spec.type)\""
                if let note = EvalConfigParser.unsupportedAssertionNote(spec.baseType) { message += ": \(note)" }
                message += ". Types this build evaluates (all but assert-set also with not-): \(registry.knownTypes.joined(separator: ", "))"
                throw location.error(message)
            }
        }
        for test in tests {
            for assertion in test.assertions { try check(assertion.spec, assertion.location) }
            for prompt in prompts {
                let missing = prompt.variables.filter { EvalPlanBuilder.lookup($0, in: test.vars) == nil && !EvalPlanBuilder.reserved.contains($0) }
                guard missing.isEmpty else {
                    throw test.location.error(
                        "prompt \"\(prompt.label)\" uses \(missing.map { "{{\($0)}}" }.joined(separator: ", ")), which this test does not set"
                            + " (give it in vars, defaultTest.vars or a CSV column)")
                }
            }
        }
    }
}
