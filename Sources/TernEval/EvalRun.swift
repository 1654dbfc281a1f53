public import Foundation
import Synchronization
public import TernCore
import TernPrompts

// Running an eval config: prompts x providers x tests (x repeat) through the ExperimentRunner
// (bounded concurrency, retries, on-disk response cache), each output checked with the test's
// assertions, and the results gathered into an `EvalOutcome` for the table, the files and the exit code.

/// The outcome of a run, in the order of the config: what every report is made from.
public struct EvalOutcome: Sendable, Codable, Equatable {
    public struct Prompt: Sendable, Codable, Equatable {
        public var label: String
        public var key: String
        public var raw: String
    }

    public struct Provider: Sendable, Codable, Equatable {
        public var id: String
        public var label: String?
        public var model: String
    }

    /// A prompt x provider pair: one column of the matrix.
    public struct Column: Sendable, Codable, Equatable {
        public var prompt: Int
        public var provider: Int
        public var label: String
        /// Identifies the column across runs (baselines): prompt key and provider label or id.
        public var key: String
    }

    public struct Test: Sendable, Codable, Equatable {
        public var key: String
        public var description: String?
        public var vars: [String: JSONValue]
        public var golden: Bool
        public var assertions: [AssertionSpec]
        public var threshold: Double?

        /// For tables: the description, else the variables.
        public var label: String {
            if let description, !description.isEmpty { return description }
            return vars.keys.sorted().map { "\($0)=\(EvaluationTemplate.text(of: vars[$0]!))" }.joined(separator: " ")
        }
    }

    public enum Status: String, Sendable, Codable, Equatable {
        case pass, fail, error

        public var word: String { rawValue.uppercased() }
    }

    /// One call and its checks.
    public struct Cell: Sendable, Codable, Equatable {
        public var test: Int
        public var column: Int
        public var repetition: Int
        public var status: Status
        public var score: Double
        /// Why it failed or errored ("All assertions passed" when it passed).
        public var reason: String
        public var output: String?
        /// The prompt as sent (chat prompts as JSON).
        public var prompt: String?
        public var latencyMs: Double?
        public var inputTokens: Int
        public var outputTokens: Int
        public var cost: Double?
        public var cached: Bool
        public var attempts: Int
        public var traceID: String?
        public var grading: AssertionResult?
    }

    /// The run's id (`eval-` and a time-ordered UUID): its name in the run history (`.tern/evals`,
    /// `--baseline ID`, `tern eval show ID`) and `evalId` in the JSON output.
    public var id: String
    public var description: String?
    public var startedAt: Date
    public var prompts: [Prompt]
    public var providers: [Provider]
    public var columns: [Column]
    public var tests: [Test]
    /// Sorted by test, column, repetition.
    public var cells: [Cell]
    /// A test's cells in a column (its repetitions), found by binary search in the sorted cells.
    public func cells(test: Int, column: Int) -> ArraySlice<Cell> {
        var low = 0
        var high = cells.count
        while low < high {
            let middle = (low + high) / 2
            if (cells[middle].test, cells[middle].column) < (test, column) { low = middle + 1 } else { high = middle }
        }
        var end = low
        while end < cells.count, cells[end].test == test, cells[end].column == column { end += 1 }
        return cells[low..<end]
    }

    /// Counts over all cells (cells, passed, failed, errors, tokens, cost, cached, golden failures).
    public var stats: ExperimentSummary
    public var durationMs: Double
    public var repeatCount: Int
    /// Judge prompts that replaced the built-in ones (prompt name -> `name@version`), e.g. a Tern server's.
    public var judgePrompts: [String: String] = [:]

    /// The counts of `cells`, golden tests given by index.
    public static func summary(_ cells: [Cell], golden: Set<Int>) -> ExperimentSummary {
        var summary = ExperimentSummary()
        for cell in cells {
            summary.count(
                error: cell.status == .error, passed: cell.status == .pass, cached: cell.cached, inputTokens: cell.inputTokens,
                outputTokens: cell.outputTokens, cost: cell.cost, golden: golden.contains(cell.test))
        }
        return summary
    }

    /// A test's result in a column over its repetitions: an error if any errored, a failure if any
    /// failed, else a pass; nil when the pair did not run.
    public func status(test: Int, column: Int) -> Status? {
        let matching = cells(test: test, column: column)
        guard !matching.isEmpty else { return nil }
        if matching.contains(where: { $0.status == .error }) { return .error }
        if matching.contains(where: { $0.status == .fail }) { return .fail }
        return .pass
    }
}

/// How a run runs.
public struct EvalRunOptions: Sendable {
    public var maxConcurrency: Int
    public var repeatCount: Int
    public var cache: ResponseDiskCache?
    public var retries: Int
    public var backoff: Duration

    public init(maxConcurrency: Int = 4, repeatCount: Int = 1, cache: ResponseDiskCache? = nil, retries: Int = 2, backoff: Duration = .milliseconds(500)) {
        self.maxConcurrency = max(1, maxConcurrency)
        self.repeatCount = max(1, repeatCount)
        self.cache = cache
        self.retries = max(0, retries)
        self.backoff = backoff
    }
}

/// The client of one provider, and what identifies its answers in the response cache (the
/// endpoint and model, so a changed base URL is not served another endpoint's answers).
public struct EvalProviderClient: Sendable {
    public var client: any ModelClient
    public var identity: String

    public init(client: any ModelClient, identity: String) {
        self.client = client
        self.identity = identity
    }
}

/// Sends each call to its column's client (the plan names columns by their cache identity).
struct EvalRouter: ModelClient {
    let clients: [String: any ModelClient]

    func complete(_ request: CompletionRequest) async throws -> CompletionResult {
        guard let client = clients[request.model] else { throw CompletionError("no client for \(request.model)", retryable: false) }
        return try await client.complete(request)
    }
}

/// Turns configs and tests into an ExperimentPlan.
enum EvalPlanBuilder {
    /// Variables Tern adds to every item when tests use prefixes or suffixes.
    static let reserved: Set<String> = ["__prefix", "__suffix"]

    /// A variable by name, or by dotted path into an object (`{{ order.id }}`).
    static func lookup(_ name: String, in vars: [String: JSONValue]) -> JSONValue? {
        if let value = vars[name] { return value }
        let parts = name.split(separator: ".").map(String.init)
        guard parts.count > 1, var current = vars[parts[0]] else { return nil }
        for part in parts.dropFirst() {
            if let index = Int(part), let next = current[index] { current = next } else if let next = current[part] { current = next } else { return nil }
        }
        return current
    }

    static func promptVersion(_ prompt: EvalPrompt, index: Int, wrap: Bool) -> PromptVersion {
        var text = prompt.text
        var messages = prompt.messages
        if wrap {
            if prompt.kind == .text {
                text = "{{__prefix}}" + (text ?? "") + "{{__suffix}}"
            } else if let last = messages.lastIndex(where: { $0.role == "user" }) {
                messages[last].content = "{{__prefix}}" + messages[last].content + "{{__suffix}}"
            }
        }
        var version = PromptVersion(
            projectID: "local", name: String(index), version: 1, kind: prompt.kind, text: text, messages: messages,
            variables: [], author: "tern eval", createdAt: Date(timeIntervalSince1970: 0))
        var variables: [String] = []
        for template in version.templates {
            for name in PromptTemplate.variables(in: template) where !variables.contains(name) { variables.append(name) }
        }
        version.variables = variables
        return version
    }

    /// The item's variables: the test's, dotted paths the prompts use, and prefix and suffix.
    static func input(_ test: EvalTest, prompts: [PromptVersion], wrap: Bool) -> [String: JSONValue] {
        var input = test.vars
        for prompt in prompts {
            for name in prompt.variables where input[name] == nil {
                if let value = lookup(name, in: test.vars) { input[name] = value }
            }
        }
        if wrap {
            input["__prefix"] = .string(test.prefix ?? "")
            input["__suffix"] = .string(test.suffix ?? "")
        }
        return input
    }
}

public enum EvalRunner {
    /// Runs every prompt x provider x test (x repeat). `clients` holds one client per provider, in
    /// config order. `progress` hears of each finished call (done, total).
    public static func run(
        config: EvalConfig, tests: [EvalTest], clients: [EvalProviderClient], registry: EvaluatorRegistry, options: EvalRunOptions,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws -> EvalOutcome {
        precondition(clients.count == config.providers.count, "one client per provider")
        let started = Date()
        let clock = ContinuousClock.now
        let wrap = tests.contains { $0.prefix != nil || $0.suffix != nil }
        let versions = config.prompts.enumerated().map { EvalPlanBuilder.promptVersion($1, index: $0, wrap: wrap) }
        // Column names for the plan: cache identities, made unique.
        var identities: [String] = []
        for client in clients {
            var identity = client.identity
            while identities.contains(identity) { identity += "#" }
            identities.append(identity)
        }
        let items = tests.enumerated().map { index, test in
            DatasetItem(
                id: String(index), input: EvalPlanBuilder.input(test, prompts: versions, wrap: wrap), expectedOutput: test.expected,
                metadata: test.metadata, golden: test.golden)
        }
        var plan = ExperimentPlan(items: items, prompts: versions, models: identities, repeats: options.repeatCount)
        for (index, test) in tests.enumerated() {
            plan.itemChecks[String(index)] = ExperimentChecks(assertions: test.assertions.map(\.spec), threshold: test.threshold)
        }
        for (index, provider) in config.providers.enumerated() { plan.modelOptions[identities[index]] = provider.options }
        let router = EvalRouter(clients: Dictionary(uniqueKeysWithValues: zip(identities, clients.map(\.client))))
        let collected = Mutex<[ExperimentCellResult]>([])
        let total = plan.cellCount
        let experimentOptions = ExperimentOptions(concurrency: options.maxConcurrency, retries: options.retries, backoff: options.backoff, cache: options.cache)
        let summary = try await ExperimentRunner.run(plan, client: router, registry: registry, options: experimentOptions) { result in
            let done = collected.withLock { results in
                results.append(result)
                return results.count
            }
            progress?(done, total)
        }
        let providerIndex = Dictionary(uniqueKeysWithValues: identities.enumerated().map { ($1, $0) })
        var outcome = outcomeShell(config: config, tests: tests, started: started)
        outcome.repeatCount = options.repeatCount
        var rendered: [String: String] = [:]
        outcome.cells = collected.withLock { $0 }.map { result in
            let test = Int(result.itemID) ?? 0
            let prompt = Int(result.promptName) ?? 0
            let column = prompt * config.providers.count + (providerIndex[result.model] ?? 0)
            let renderKey = "\(test)/\(prompt)"
            if rendered[renderKey] == nil { rendered[renderKey] = renderedPrompt(versions[prompt], items[test].input) }
            return cell(result, test: test, column: column, prompt: rendered[renderKey])
        }.sorted { ($0.test, $0.column, $0.repetition) < ($1.test, $1.column, $1.repetition) }
        outcome.stats = summary
        let elapsed = ContinuousClock.now - clock
        outcome.durationMs = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return outcome
    }

    /// The outcome's description of prompts, providers, columns and tests, with no cells.
    static func outcomeShell(config: EvalConfig, tests: [EvalTest], started: Date) -> EvalOutcome {
        let prompts = config.prompts.map { EvalOutcome.Prompt(label: $0.label, key: $0.key, raw: $0.raw) }
        let providers = config.providers.map { EvalOutcome.Provider(id: $0.id, label: $0.label, model: $0.model) }
        var columns: [EvalOutcome.Column] = []
        for (promptIndex, prompt) in config.prompts.enumerated() {
            for (providerIndex, provider) in config.providers.enumerated() {
                let label = config.prompts.count == 1 ? provider.displayName : "\(prompt.label) | \(provider.displayName)"
                columns.append(EvalOutcome.Column(prompt: promptIndex, provider: providerIndex, label: label, key: "\(prompt.key) | \(provider.displayName)"))
            }
        }
        var descriptions: [String: Int] = [:]
        for test in tests { if let description = test.description { descriptions[description, default: 0] += 1 } }
        let outcomeTests = tests.map { test in
            EvalOutcome.Test(
                key: test.key(uniqueDescription: descriptions[test.description ?? ""] == 1), description: test.description, vars: test.vars,
                golden: test.golden, assertions: test.assertions.map(\.spec), threshold: test.threshold)
        }
        return EvalOutcome(
            id: "eval-" + TernID.makeTimeOrdered(at: started), description: config.description, startedAt: started, prompts: prompts, providers: providers,
            columns: columns,
            tests: outcomeTests, cells: [], stats: ExperimentSummary(), durationMs: 0, repeatCount: 1)
    }

    static func renderedPrompt(_ version: PromptVersion, _ input: [String: JSONValue]) -> String? {
        guard let rendered = try? version.render(input) else { return nil }
        if let text = rendered.text { return text }
        return JSONValue.array(rendered.messages.map { ["role": .string($0.role), "content": .string($0.content)] }).jsonString()
    }

    static func cell(_ result: ExperimentCellResult, test: Int, column: Int, prompt: String?) -> EvalOutcome.Cell {
        let status: EvalOutcome.Status
        let reason: String
        if let error = result.error {
            status = .error
            reason = error
        } else if let evaluation = result.evaluation {
            status = evaluation.isError ? .error : evaluation.pass ? .pass : .fail
            reason = evaluation.reason
        } else {
            status = .pass
            reason = "No assertions"
        }
        return EvalOutcome.Cell(
            test: test, column: column, repetition: result.repetition, status: status, score: result.error == nil ? (result.evaluation?.score ?? 1) : 0,
            reason: reason, output: result.output, prompt: prompt, latencyMs: result.latencyMs, inputTokens: result.inputTokens,
            outputTokens: result.outputTokens, cost: result.cost, cached: result.cached, attempts: result.attempts, traceID: result.traceID,
            grading: result.evaluation)
    }
}
