public import Foundation
public import TernCore

/// One model call of an experiment cell.
public struct CompletionRequest: Sendable, Equatable, Codable {
    public var model: String
    /// Chat prompts; a text prompt is sent as one user message.
    public var messages: [PromptMessage]
    public var temperature: Double?
    public var maxTokens: Int?
    public var tools: JSONValue?
    public var responseFormat: JSONValue?
    public var topP: Double?
    /// Other request body parameters (`seed`, `stop`...), sent as given.
    public var parameters: [String: JSONValue]?

    public init(
        model: String, messages: [PromptMessage], temperature: Double? = nil, maxTokens: Int? = nil, tools: JSONValue? = nil,
        responseFormat: JSONValue? = nil, topP: Double? = nil, parameters: [String: JSONValue]? = nil
    ) {
        self.model = model
        self.messages = messages
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.tools = tools
        self.responseFormat = responseFormat
        self.topP = topP
        self.parameters = parameters
    }

    /// A stable key for the response cache: the request's canonical JSON, hashed.
    public var cacheKey: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Secrets.hash(String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self))
    }
}

public struct CompletionResult: Sendable, Codable, Equatable {
    public var output: String
    public var toolCalls: JSONValue?
    public var inputTokens: Int
    public var outputTokens: Int
    public var cost: Double?
    public var latencyMs: Double
    public var traceID: String?

    public init(
        output: String, toolCalls: JSONValue? = nil, inputTokens: Int = 0, outputTokens: Int = 0, cost: Double? = nil, latencyMs: Double,
        traceID: String? = nil
    ) {
        self.output = output
        self.toolCalls = toolCalls
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cost = cost
        self.latencyMs = latencyMs
        self.traceID = traceID
    }
}

/// A failed call; `retryable` ones (timeouts, 429, 5xx) are tried again with backoff.
public struct CompletionError: Error, Sendable, Equatable {
    public var message: String
    public var retryable: Bool

    public init(_ message: String, retryable: Bool) {
        self.message = message
        self.retryable = retryable
    }
}

/// What experiments call: the gateway in process, a Tern server over HTTP, or a provider directly.
public protocol ModelClient: Sendable {
    func complete(_ request: CompletionRequest) async throws -> CompletionResult
}

/// An on-disk cache of completions, so rerunning unchanged cells costs nothing. One file per
/// request hash; writes go through a temporary file and a rename.
public struct ResponseDiskCache: Sendable {
    public let directory: URL

    public init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func url(_ key: String) -> URL { directory.appendingPathComponent(String(key.prefix(2))).appendingPathComponent(key + ".json") }

    public func get(_ request: CompletionRequest) -> CompletionResult? { value(CompletionResult.self, key: request.cacheKey) }

    public func put(_ request: CompletionRequest, _ result: CompletionResult) { store(result, key: request.cacheKey) }

    /// `request` answered from the cache (at no cost, with the trace id of the call that made the
    /// answer) or by `client`, whose answer is then kept.
    public func answer(_ request: CompletionRequest, by client: any ModelClient) async throws -> CompletionResult {
        if var cached = get(request) {
            cached.cost = 0
            return cached
        }
        let result = try await client.complete(request)
        put(request, result)
        return result
    }

    /// A key for anything else kept in the cache (embeddings): the canonical JSON of `request`, hashed.
    public static func key(_ request: JSONValue) -> String {
        Secrets.hash(String(decoding: request.canonicalData(), as: UTF8.self))
    }

    /// A value kept under `key`, nil when there is none (or it does not decode).
    public func value<T: Decodable>(_ type: T.Type, key: String) -> T? {
        guard let data = try? Data(contentsOf: url(key)) else { return nil }
        return try? JSONDecoder().decode(T.self, from: data)
    }

    /// Keeps `value` under `key` (written to a temporary file, then moved into place).
    public func store<T: Encodable>(_ value: T, key: String) {
        let target = url(key)
        try? FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = target.appendingPathExtension("tmp-\(UUID().uuidString)")
        guard let data = try? JSONEncoder().encode(value), (try? data.write(to: temporary)) != nil else { return }
        _ = try? FileManager.default.replaceItemAt(target, withItemAt: temporary)
        if FileManager.default.fileExists(atPath: temporary.path) { try? FileManager.default.moveItem(at: temporary, to: target) }
    }
}

/// Assertions and the pass threshold of a test.
public struct ExperimentChecks: Sendable, Equatable {
    public var assertions: [AssertionSpec]
    public var threshold: Double?

    public init(assertions: [AssertionSpec], threshold: Double? = nil) {
        self.assertions = assertions
        self.threshold = threshold
    }
}

/// Settings of one model column that override the prompt's (a provider's `temperature`, its tools...).
public struct ModelCallOptions: Sendable, Equatable {
    public var temperature: Double?
    public var maxTokens: Int?
    public var topP: Double?
    public var tools: JSONValue?
    public var responseFormat: JSONValue?
    public var parameters: [String: JSONValue]?

    public init(
        temperature: Double? = nil, maxTokens: Int? = nil, topP: Double? = nil, tools: JSONValue? = nil,
        responseFormat: JSONValue? = nil, parameters: [String: JSONValue]? = nil
    ) {
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.topP = topP
        self.tools = tools
        self.responseFormat = responseFormat
        self.parameters = parameters
    }
}

/// A run: prompt versions x models (x repeats) over the items of a dataset version.
public struct ExperimentPlan: Sendable {
    public var items: [DatasetItem]
    public var prompts: [PromptVersion]
    public var models: [String]
    public var repeats: Int
    public var assertions: [AssertionSpec]
    public var threshold: Double?
    /// Per-item assertions (promptfoo's per-test `assert` and `threshold`), by item id; they replace
    /// `assertions` and `threshold` for that item.
    public var itemChecks: [String: ExperimentChecks] = [:]
    /// Per-model settings, by model name; they win over the prompt's configuration.
    public var modelOptions: [String: ModelCallOptions] = [:]

    /// The assertions and threshold that apply to `item`.
    public func checks(for item: DatasetItem) -> ExperimentChecks {
        itemChecks[item.id] ?? ExperimentChecks(assertions: assertions, threshold: threshold)
    }

    public init(
        items: [DatasetItem], prompts: [PromptVersion], models: [String], repeats: Int = 1, assertions: [AssertionSpec] = [],
        threshold: Double? = nil
    ) {
        self.items = items
        self.prompts = prompts
        self.models = models
        self.repeats = max(1, repeats)
        self.assertions = assertions
        self.threshold = threshold
    }

    public var cellCount: Int { items.count * prompts.count * models.count * repeats }
}

public struct ExperimentOptions: Sendable {
    public var concurrency: Int
    public var retries: Int
    /// First backoff; doubled each retry, with jitter.
    public var backoff: Duration
    public var cache: ResponseDiskCache?

    public init(concurrency: Int = 4, retries: Int = 2, backoff: Duration = .milliseconds(250), cache: ResponseDiskCache? = nil) {
        self.concurrency = max(1, concurrency)
        self.retries = max(0, retries)
        self.backoff = backoff
        self.cache = cache
    }
}

/// The outcome of one cell: the call, its evaluation, and where it came from.
public struct ExperimentCellResult: Sendable, Codable, Equatable {
    public var itemID: String
    public var promptName: String
    public var promptVersion: Int
    public var model: String
    public var repetition: Int
    public var golden: Bool
    public var output: String?
    public var inputTokens: Int
    public var outputTokens: Int
    public var cost: Double?
    public var latencyMs: Double?
    public var cached: Bool
    public var attempts: Int
    /// A failed call or prompt rendering (the cell counts as an error).
    public var error: String?
    public var evaluation: AssertionResult?
    public var traceID: String?

    public var passed: Bool { error == nil && (evaluation?.pass ?? true) && !(evaluation?.isError ?? false) }
}

/// Totals over a run.
public struct ExperimentSummary: Sendable, Codable, Equatable {
    public var cells = 0
    public var passed = 0
    public var failed = 0
    public var errors = 0
    public var cached = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var cost = 0.0
    public var goldenFailed = 0
    /// Tokens and cost of the judge calls of model-graded assertions (not in `cost`).
    public var gradingInputTokens = 0
    public var gradingOutputTokens = 0
    public var gradingCost = 0.0

    public init() {}

    public var passRate: Double { cells == 0 ? 0 : Double(passed) / Double(cells) }

    mutating func add(_ result: ExperimentCellResult) {
        count(
            error: result.error != nil || result.evaluation?.isError == true, passed: result.passed, cached: result.cached,
            inputTokens: result.inputTokens, outputTokens: result.outputTokens, cost: result.cost, golden: result.golden)
        if let evaluation = result.evaluation { addGrading(evaluation) }
    }

    /// Adds the judge calls' tokens and cost of an evaluation.
    mutating func addGrading(_ evaluation: AssertionResult) {
        gradingInputTokens += evaluation.gradingTokens?.input ?? 0
        gradingOutputTokens += evaluation.gradingTokens?.output ?? 0
        gradingCost += evaluation.gradingCost ?? 0
    }

    /// Counts one cell: an error, a pass or a failure, and what it used.
    mutating func count(error: Bool, passed: Bool, cached: Bool, inputTokens: Int, outputTokens: Int, cost: Double?, golden: Bool) {
        cells += 1
        if error { errors += 1 } else if passed { self.passed += 1 } else { failed += 1 }
        if cached { self.cached += 1 }
        self.inputTokens += inputTokens
        self.outputTokens += outputTokens
        self.cost += cost ?? 0
        if golden, !passed || error { goldenFailed += 1 }
    }
}

/// Runs a plan with bounded concurrency, retries and the response cache, handing each result to
/// `onResult` as soon as it is ready (results are not kept, so memory stays flat on big datasets).
///
/// When the plan's assertions include a row type (`select-best`, see `MultiOutputEvaluator`), the
/// cells of a test row (one item and repetition through every prompt and model) are evaluated
/// together once the row's last cell is in, and handed to `onResult` then, in prompt and model order.
public enum ExperimentRunner {
    public static func run(
        _ plan: ExperimentPlan, client: any ModelClient, registry: EvaluatorRegistry, options: ExperimentOptions = ExperimentOptions(),
        onResult: @escaping @Sendable (ExperimentCellResult) async throws -> Void
    ) async throws -> ExperimentSummary {
        struct Cell: Sendable {
            var item: DatasetItem
            var itemIndex: Int
            var prompt: PromptVersion
            var model: String
            var repetition: Int
            /// The cell's place in its row: prompt, then model.
            var slot: Int
        }
        enum Finished: Sendable {
            case cell(ExperimentCellResult, RowCell?)
            case row([ExperimentCellResult])
        }
        let byRow = registry.needsRow(plan.assertions) || plan.itemChecks.values.contains { registry.needsRow($0.assertions) }
        let rowSize = plan.prompts.count * plan.models.count
        // Cells in a fixed order: item, then prompt, model and repetition.
        var cells = plan.items.enumerated().lazy.flatMap { itemIndex, item in
            plan.prompts.enumerated().lazy.flatMap { promptIndex, prompt in
                plan.models.enumerated().lazy.flatMap { modelIndex, model in
                    (0..<plan.repeats).lazy.map {
                        Cell(
                            item: item, itemIndex: itemIndex, prompt: prompt, model: model, repetition: $0,
                            slot: promptIndex * plan.models.count + modelIndex)
                    }
                }
            }
        }.makeIterator()
        var summary = ExperimentSummary()
        try await withThrowingTaskGroup(of: Finished.self) { group in
            var running = 0
            var rows: [RowKey: [RowCell]] = [:]
            func startNext() -> Bool {
                guard let cell = cells.next() else { return false }
                group.addTask {
                    var (result, input) = await call(
                        cell.item, prompt: cell.prompt, model: cell.model, repetition: cell.repetition, plan: plan,
                        client: client, options: options)
                    if !byRow, let input {
                        let checks = plan.checks(for: cell.item)
                        result.evaluation = await registry.evaluate(specs: checks.assertions, threshold: checks.threshold, input: input)
                    }
                    return .cell(
                        result,
                        byRow
                            ? RowCell(
                                key: RowKey(item: cell.itemIndex, repetition: cell.repetition), item: cell.item, slot: cell.slot,
                                result: result, input: input) : nil)
                }
                running += 1
                return true
            }
            func report(_ result: ExperimentCellResult) async throws {
                summary.add(result)
                try await onResult(result)
            }
            while running < options.concurrency, startNext() {}
            while let finished = try await group.next() {
                // A cancelled run stops: no new cells, and the cut-short ones are not reported.
                if Task.isCancelled {
                    group.cancelAll()
                    throw CancellationError()
                }
                running -= 1
                switch finished {
                case .cell(let result, nil):
                    try await report(result)
                case .cell(_, let member?):
                    rows[member.key, default: []].append(member)
                    if rows[member.key]?.count == rowSize, let row = rows.removeValue(forKey: member.key) {
                        // The row's evaluation (a judge call) takes a slot like a cell.
                        let checks = plan.checks(for: member.item)
                        group.addTask { .row(await evaluateRow(row, checks: checks, registry: registry)) }
                        running += 1
                        continue
                    }
                case .row(let results):
                    for result in results { try await report(result) }
                }
                _ = startNext()
            }
        }
        return summary
    }

    struct RowKey: Hashable, Sendable {
        var item: Int
        var repetition: Int
    }

    /// A finished cell waiting for the rest of its row.
    struct RowCell: Sendable {
        var key: RowKey
        var item: DatasetItem
        var slot: Int
        var result: ExperimentCellResult
        var input: EvaluationCase?
    }

    /// Evaluates a complete row: the cells that have an output, together, in slot order.
    static func evaluateRow(_ row: [RowCell], checks: ExperimentChecks, registry: EvaluatorRegistry) async -> [ExperimentCellResult] {
        let sorted = row.sorted { $0.slot < $1.slot }
        let inputs = sorted.compactMap(\.input)
        var evaluations = await registry.evaluateRow(specs: checks.assertions, threshold: checks.threshold, inputs: inputs).makeIterator()
        return sorted.map { cell in
            var result = cell.result
            if cell.input != nil { result.evaluation = evaluations.next() }
            return result
        }
    }

    /// Makes a cell's call; returns its result and, when the plan has assertions and the call an
    /// output, the case to evaluate.
    static func call(
        _ item: DatasetItem, prompt: PromptVersion, model: String, repetition: Int, plan: ExperimentPlan, client: any ModelClient,
        options: ExperimentOptions
    ) async -> (ExperimentCellResult, EvaluationCase?) {
        var result = ExperimentCellResult(
            itemID: item.id, promptName: prompt.name, promptVersion: prompt.version, model: model, repetition: repetition, golden: item.golden,
            output: nil, inputTokens: 0, outputTokens: 0, cost: nil, latencyMs: nil, cached: false, attempts: 0, error: nil, evaluation: nil, traceID: nil)
        let request: CompletionRequest
        do {
            let rendered = try prompt.render(item.input)
            let messages = prompt.kind == .chat ? rendered.messages : [PromptMessage(role: "user", content: rendered.text ?? "")]
            let overrides = plan.modelOptions[model] ?? ModelCallOptions()
            request = CompletionRequest(
                model: model, messages: messages, temperature: overrides.temperature ?? prompt.config.temperature,
                maxTokens: overrides.maxTokens ?? prompt.config.maxTokens, tools: overrides.tools ?? prompt.tools,
                responseFormat: overrides.responseFormat ?? prompt.config.responseFormat, topP: overrides.topP, parameters: overrides.parameters)
        } catch {
            result.error = "\(error)"
            return (result, nil)
        }
        // Repetitions are distinct samples: only the first is served from the cache.
        var completion: CompletionResult?
        if repetition == 0, let cached = options.cache?.get(request) {
            completion = cached
            result.cached = true
        }
        if completion == nil {
            var delay = options.backoff
            for attempt in 0...options.retries {
                result.attempts = attempt + 1
                do {
                    let answer = try await client.complete(request)
                    completion = answer
                    if repetition == 0 { options.cache?.put(request, answer) }
                    result.error = nil
                    break
                } catch let error as CompletionError {
                    result.error = error.message
                    guard error.retryable, attempt < options.retries else { break }
                } catch {
                    result.error = "\(error)"
                    break
                }
                let jitter = Double.random(in: 0.5...1.5)
                try? await Task.sleep(for: delay * jitter)
                delay *= 2
            }
        }
        guard let completion else { return (result, nil) }
        result.output = completion.output
        result.inputTokens = completion.inputTokens
        result.outputTokens = completion.outputTokens
        result.cost = result.cached ? 0 : completion.cost
        result.latencyMs = completion.latencyMs
        result.traceID = completion.traceID
        guard !plan.checks(for: item).assertions.isEmpty else { return (result, nil) }
        var metadata = item.metadata
        if let tools = request.tools { metadata["tools"] = tools }
        let input = EvaluationCase(
            output: completion.output, vars: item.input, expected: item.expectedOutput,
            prompt: request.messages.map(\.content).joined(separator: "\n"), latencyMs: completion.latencyMs, cost: completion.cost,
            tokens: EvaluationTokenCounts(input: completion.inputTokens, output: completion.outputTokens), metadata: metadata)
        return (result, input)
    }
}

/// Whether two runs' pass rates differ beyond chance, on the items both ran (paired).
public enum Significance {
    /// McNemar's test on the discordant pairs: `b` items passed in A only, `c` in B only. Exact
    /// two-sided binomial p-value below 26 discordant pairs, chi-square with continuity correction above.
    public static func mcNemar(b: Int, c: Int) -> Double {
        let n = b + c
        guard n > 0 else { return 1 }
        if n < 26 {
            let k = min(b, c)
            var tail = 0.0
            for i in 0...k { tail += binomial(n, i) }
            return min(1, 2 * tail / pow(2, Double(n)))
        }
        let statistic = pow(abs(Double(b - c)) - 1, 2) / Double(n)
        return chiSquareOneDegreeSurvival(statistic)
    }

    static func binomial(_ n: Int, _ k: Int) -> Double {
        var result = 1.0
        for i in 0..<k { result = result * Double(n - i) / Double(i + 1) }
        return result
    }

    /// P(X > x) for a chi-square with one degree of freedom: erfc(sqrt(x / 2)).
    static func chiSquareOneDegreeSurvival(_ x: Double) -> Double {
        guard x > 0 else { return 1 }
        return erfc((x / 2).squareRoot())
    }
}
