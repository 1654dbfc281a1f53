import Foundation
public import TernCore

// Who grades: the chat models and embedding models that model-graded assertions call, resolved
// from the assertion's `provider` or a run's default grader.

/// A chat model to send judge prompts to: the client and the model name its requests carry.
public struct JudgeModel: Sendable {
    public var client: any ModelClient
    /// The `model` of the judge's requests (a logical model of the gateway, a provider's model...).
    public var model: String

    public init(client: any ModelClient, model: String) {
        self.client = client
        self.model = model
    }
}

/// Supplies the judges of model-graded assertions. The CLI and the server implement it over the
/// gateway in process, a Tern server over HTTP, or a provider directly; tests supply fakes.
///
/// `providerID` is the id the assertion names in `provider` (the string, or the `id` of
/// `{id, config}`; for `{text, embedding}` the entry of the kind asked for), or the judge prompt's
/// `config.model`; nil asks for the default grader. Throw `EvaluationError` with a message that
/// says what to configure when there is none.
public protocol GraderProvider: Sendable {
    /// The chat model for judge prompts.
    func judge(for providerID: String?) throws -> JudgeModel
    /// The embedding model for `similar` and `answer-relevance`.
    func embedder(for providerID: String?) throws -> any Embedder
    /// The judge for `providerID` with the `config` the assertion gives it (`{id, config}`), for
    /// providers whose connection settings live there (`apiBaseUrl`, `apiKeyEnvar`...). The
    /// default ignores `config` (its `temperature` and `max_tokens` still apply to judge requests).
    func judge(for providerID: String?, config: JSONValue?) throws -> JudgeModel
    /// The embedding model for `providerID` with its `config`; the default ignores `config`.
    func embedder(for providerID: String?, config: JSONValue?) throws -> any Embedder
}

extension GraderProvider {
    public func judge(for providerID: String?, config: JSONValue?) throws -> JudgeModel { try judge(for: providerID) }
    public func embedder(for providerID: String?, config: JSONValue?) throws -> any Embedder { try embedder(for: providerID) }
}

/// A grader provider over one client: every provider id is sent as the model name through
/// `client` (ids the client does not know fail at call time, with the client's error), nil uses
/// `defaultModel`. Embedding models are looked up by name among `embedders` (or `defaultEmbedder`'s
/// `modelName`); nil uses `defaultEmbedder`.
public struct StaticGraderProvider: GraderProvider {
    public var client: (any ModelClient)?
    public var defaultModel: String?
    public var embedders: [any Embedder]
    public var defaultEmbedder: (any Embedder)?
    /// Appended to "no grader" errors: how a user of this front end configures one (a CLI flag, a
    /// config key...).
    public var configurationHint: String

    public init(
        client: (any ModelClient)?, defaultModel: String? = nil, embedders: [any Embedder] = [],
        defaultEmbedder: (any Embedder)? = nil,
        configurationHint: String = "set `provider` on the assertion, or a default grader for the run"
    ) {
        self.client = client
        self.defaultModel = defaultModel
        self.embedders = embedders
        self.defaultEmbedder = defaultEmbedder
        self.configurationHint = configurationHint
    }

    public func judge(for providerID: String?) throws -> JudgeModel {
        guard let model = providerID ?? defaultModel else {
            throw EvaluationError("no grading model is configured: \(configurationHint)")
        }
        guard let client else {
            throw EvaluationError("no model client is configured to call the grading model \(model)")
        }
        return JudgeModel(client: client, model: model)
    }

    public func embedder(for providerID: String?) throws -> any Embedder {
        guard let providerID else {
            guard let defaultEmbedder else {
                throw EvaluationError("no embedding model is configured: \(configurationHint)")
            }
            return defaultEmbedder
        }
        let known = embedders + (defaultEmbedder.map { [$0] } ?? [])
        if let match = known.first(where: { $0.modelName == providerID }) { return match }
        let names = known.map(\.modelName)
        throw EvaluationError(
            "no embedding model named \(providerID) is configured"
                + (names.isEmpty ? "" : " (configured: \(names.joined(separator: ", ")))"))
    }
}

/// The grading provider an assertion names: `provider: ID`, `provider: {id, config}`, or
/// `provider: {text: ..., embedding: ...}` (promptfoo's per-kind form; each entry itself an id or
/// `{id, config}`).
struct GraderReference: Equatable {
    enum Kind: String { case text, embedding }

    var id: String?
    /// `temperature` and `max_tokens` (or `maxTokens`) are applied to judge requests.
    var config: JSONValue?

    /// The reference for `kind` in `provider`; a plain id or `{id, config}` applies to the
    /// assertion's main kind only (`primary`), the other kind then uses the default.
    init(_ provider: JSONValue?, kind: Kind, primary: Kind) throws {
        guard let provider, provider != .null else { return }
        if let id = provider.string {
            if kind == primary { self.id = id }
            return
        }
        guard let object = provider.object else {
            throw EvaluationError("`provider` must be a provider id, {id, config} or {text, embedding}, got \(provider.kindName)")
        }
        var entry = object
        if object["text"] != nil || object["embedding"] != nil {
            guard let value = object[kind.rawValue] else { return }
            if let id = value.string {
                self.id = id
                return
            }
            guard let nested = value.object else {
                throw EvaluationError("`provider.\(kind.rawValue)` must be a provider id or {id, config}, got \(value.kindName)")
            }
            entry = nested
        } else if kind != primary {
            return
        }
        guard let id = entry["id"]?.string else {
            throw EvaluationError("`provider` must have a string `id`")
        }
        self.id = id
        config = entry["config"]
    }

    init() {}

    /// The embedding model `spec` names for embeddings (`primary`: the kind a plain id names), else the default.
    static func embedder(_ spec: AssertionSpec, primary: Kind, _ graders: any GraderProvider) throws -> any Embedder {
        let reference = try GraderReference(spec.provider, kind: .embedding, primary: primary)
        return try graders.embedder(for: reference.id, config: reference.config)
    }

    var temperature: Double? { config?["temperature"]?.double }
    var maxTokens: Int? { config?["max_tokens"]?.int ?? config?["maxTokens"]?.int }
}

/// Retries of judge calls on transient errors (timeouts, 429, 5xx), as the experiment runner
/// retries the calls it grades.
public struct JudgeRetryPolicy: Sendable {
    public var retries: Int
    /// First backoff; doubled each retry.
    public var backoff: Duration

    public init(retries: Int = 2, backoff: Duration = .milliseconds(500)) {
        self.retries = max(0, retries)
        self.backoff = backoff
    }
}

/// What the model-graded evaluators share: the graders, the judge prompts and the retry policy.
public struct JudgeContext: Sendable {
    public var graders: any GraderProvider
    public var prompts: JudgePrompts
    public var retry: JudgeRetryPolicy

    public init(graders: any GraderProvider, prompts: JudgePrompts = JudgePrompts(), retry: JudgeRetryPolicy = JudgeRetryPolicy()) {
        self.graders = graders
        self.prompts = prompts
        self.retry = retry
    }
}

/// The judge calls of one assertion: renders judge prompts, calls the judge at temperature 0 and
/// keeps the calls' usage, which `finish` records on the result (errors included, so a run's
/// grading cost counts failed evaluations too).
struct JudgeSession {
    let context: JudgeContext
    let spec: AssertionSpec
    let reference: GraderReference
    private(set) var tokens: EvaluationTokenCounts?
    private(set) var cost: Double?
    private(set) var traceIDs: [String] = []

    init(_ context: JudgeContext, _ spec: AssertionSpec) throws {
        self.context = context
        self.spec = spec
        reference = try GraderReference(spec.provider, kind: .text, primary: .text)
    }

    /// Renders `prompt` with `variables` (the judge's own; the test's vars are available too,
    /// the judge's taking precedence) and returns the judge's answer.
    mutating func ask(_ prompt: JudgePrompt, _ variables: [String: JSONValue], vars: [String: JSONValue]) async throws -> String {
        let messages = try prompt.render(variables, vars: vars)
        let judge =
            try reference.id.map { try context.graders.judge(for: $0, config: reference.config) }
            ?? context.graders.judge(for: prompt.version.config.model, config: nil)
        let request = CompletionRequest(
            model: judge.model, messages: messages,
            temperature: reference.temperature ?? prompt.version.config.temperature ?? 0,
            maxTokens: reference.maxTokens ?? prompt.version.config.maxTokens,
            responseFormat: prompt.version.config.responseFormat)
        var delay = context.retry.backoff
        var attempt = 0
        while true {
            do {
                let result = try await judge.client.complete(request)
                record(result)
                guard !result.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw EvaluationError("the judge (\(judge.model)) returned an empty answer to \(prompt.label)")
                }
                return result.output
            } catch let error as CompletionError {
                guard error.retryable, attempt < context.retry.retries else {
                    throw EvaluationError("the judge call to \(judge.model) failed (\(prompt.label)): \(error.message)")
                }
            }
            attempt += 1
            try await Task.sleep(for: delay)
            delay *= 2
        }
    }

    /// Asks the judge of a one-step type: the assertion's `rubricPrompt`, or the prompt named by `step`.
    mutating func ask(_ step: JudgeStep, _ variables: [String: JSONValue], vars: [String: JSONValue]) async throws -> String {
        try await ask(context.prompts.prompt(step, of: [step], spec: spec), variables, vars: vars)
    }

    /// Records an embedding call made for this assertion (`answer-relevance`).
    mutating func record(_ usage: EmbeddingUsage?) {
        guard let usage else { return }
        let sum = tokens ?? EvaluationTokenCounts(input: 0, output: 0)
        tokens = EvaluationTokenCounts(input: sum.input + usage.inputTokens, output: sum.output)
        if let callCost = usage.cost { cost = (cost ?? 0) + callCost }
        traceIDs += usage.traceIDs
    }

    private mutating func record(_ result: CompletionResult) {
        let sum = tokens ?? EvaluationTokenCounts(input: 0, output: 0)
        tokens = EvaluationTokenCounts(input: sum.input + result.inputTokens, output: sum.output + result.outputTokens)
        if let callCost = result.cost { cost = (cost ?? 0) + callCost }
        if let traceID = result.traceID { traceIDs.append(traceID) }
    }

    /// `result` with this session's usage recorded.
    func finish(_ result: AssertionResult) -> AssertionResult {
        var copy = result
        copy.addGrading(tokens: tokens, cost: cost, traceIDs: traceIDs)
        return copy
    }

    /// Runs `body`, turning a failure into an error result that keeps the usage of the calls made.
    static func run(
        _ context: JudgeContext, _ spec: AssertionSpec,
        _ body: (inout JudgeSession) async throws -> AssertionResult
    ) async throws -> AssertionResult {
        var session = try JudgeSession(context, spec)
        do {
            // Not `session.finish(try await body(&session))`: that would read `session` before `body` ran.
            let result = try await body(&session)
            return session.finish(result)
        } catch let error as EvaluationError {
            return session.finish(.error(spec, error.message))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return session.finish(.error(spec, "the judge call failed: \(error)"))
        }
    }
}

/// What one embedding call used: its input tokens, cost (USD; nil when unknown, 0 when served from
/// the cache) and trace ids. `similar` and `answer-relevance` add it to the assertion's grading
/// usage, as judge calls are.
public struct EmbeddingUsage: Sendable, Equatable {
    public var inputTokens: Int
    public var cost: Double?
    public var traceIDs: [String]
    public var cached: Bool

    public init(inputTokens: Int, cost: Double?, traceIDs: [String] = [], cached: Bool = false) {
        self.inputTokens = inputTokens
        self.cost = cost
        self.traceIDs = traceIDs
        self.cached = cached
    }
}

/// An embedder that reports what each call used (TernCore's `Embedder` returns vectors only).
/// Embedders without usage (the in-process local model) need not adopt it.
public protocol MeteredEmbedder: Embedder {
    /// One vector per text, in order, and the call's usage.
    func embedMetered(_ texts: [String]) async throws -> ([[Float]], EmbeddingUsage)
}
