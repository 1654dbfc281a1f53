public import Foundation
import Synchronization
public import TernCore
public import TernProviders

// Graders for `tern eval`: the judge and embedding models of model-graded assertions, named as
// promptfoo names them (the assertion's `provider`, else the test's or defaultTest's
// `options.provider`, else `--grader`), parsed like `providers` and called like them.

extension GraderReference.Kind {
    /// The kinds of model a model-graded type calls, and the kind a plain `provider` id on it
    /// names; nil for types that call no model.
    static func grading(_ baseType: String) -> (kinds: [Self], primary: Self)? {
        switch baseType {
        case "llm-rubric", "g-eval", "factuality", "model-graded-factuality", "model-graded-closedqa", "context-faithfulness", "select-best":
            return ([.text], .text)
        case "answer-relevance":
            return ([.text, .embedding], .text)
        case "similar", "similar:cosine":
            return ([.embedding], .embedding)
        default:
            return nil
        }
    }

    /// The kind a plain id in `options.provider` names: embedding models by their id, else the judge.
    static func of(id: String) -> Self {
        id.hasPrefix("openai:embedding:") || id.hasPrefix("openai:embeddings:") ? .embedding : .text
    }
}

extension AssertionSpec {
    /// This assertion with a test's `options.provider` and `options.rubricPrompt` where it has none
    /// (model-graded types only; `rubricPrompt` not on `similar`, which has no judge). Sets recurse.
    func withGrading(provider: JSONValue?, rubricPrompt: JSONValue?) -> AssertionSpec {
        var copy = self
        if type == "assert-set" {
            copy.assertions = assertions?.map { $0.withGrading(provider: provider, rubricPrompt: rubricPrompt) }
            return copy
        }
        guard let grading = GraderReference.Kind.grading(baseType) else { return self }
        if copy.provider == nil || copy.provider == .null { copy.provider = provider }
        if grading.kinds.contains(.text), copy.rubricPrompt == nil || copy.rubricPrompt == .null { copy.rubricPrompt = rubricPrompt }
        return copy
    }
}

extension EvalConfigParser {
    /// One grading model: an id, or `{id, config}` (`label` allowed), parsed like a provider of `kind`.
    func grader(_ node: ConfigNode, kind: GraderReference.Kind) throws -> EvalProvider {
        if node.isScalar { return try provider(id: try node.string(), label: nil, config: nil, at: node, grading: kind) }
        _ = try entries(node, supported: Self.providerKeys, refused: Self.refusedProviderKeys)
        guard let id = node.value("id") else { throw node.error("a grading provider needs an id (openai:chat:MODEL, openai:embedding:MODEL...)") }
        return try provider(id: try id.string(), label: nil, config: node.value("config"), at: id, grading: kind)
    }

    /// The entries of a `provider` value by kind: `{text, embedding}`, or one id / `{id, config}`
    /// for `primary` (nil: the kind its id names, as in `options.provider`).
    func graderEntries(_ node: ConfigNode, primary: GraderReference.Kind?) throws -> [(kind: GraderReference.Kind, node: ConfigNode)] {
        if node.isMapping, node.value("text") != nil || node.value("embedding") != nil {
            return try entries(node, supported: ["text", "embedding"], refused: [:]).map { (GraderReference.Kind(rawValue: $0.key)!, $0.value) }
        }
        if let primary { return [(primary, node)] }
        let id = node.isScalar ? try node.string() : try node.value("id")?.string()
        return [(id.map(GraderReference.Kind.of) ?? .text, node)]
    }

    /// Checks a model-graded assertion's `provider`: each entry must be a model this build can call.
    func checkGraders(_ node: ConfigNode, primary: GraderReference.Kind) throws {
        for entry in try graderEntries(node, primary: primary) { _ = try grader(entry.node, kind: entry.kind) }
    }

    /// A test's `options.provider`, checked, as `{text: ..., embedding: ...}` so that copies onto
    /// assertions name the kind each entry is for.
    func gradingOptionProvider(_ node: ConfigNode) throws -> JSONValue {
        var out: [String: JSONValue] = [:]
        for entry in try graderEntries(node, primary: nil) {
            _ = try grader(entry.node, kind: entry.kind)
            out[entry.kind.rawValue] = entry.node.json
        }
        return .object(out)
    }
}

extension EvalConfig {
    /// A grading model named outside a config file (`--grader ID`) or by an assertion during a run:
    /// parsed like `providers` (`openai:chat:MODEL`, `anthropic:messages:MODEL`, Tern logical
    /// models...; for `embedding`, `openai:embedding:MODEL` too). `source` names it in errors.
    public static func grader(
        id: String, config: JSONValue? = nil, embedding: Bool = false, flavor: EvalConfigFlavor, source: String,
        directory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    ) throws -> EvalProvider {
        let value: JSONValue = config.map { .object(["id": .string(id), "config": $0]) } ?? .string(id)
        guard let node = try ConfigNode.parse(yaml: value.jsonString(), source: source) else {
            throw ConfigError(source: source, path: nil, line: nil, message: "names no provider")
        }
        do {
            return try EvalConfigParser(source: source, directory: directory, flavor: flavor).grader(node, kind: embedding ? .embedding : .text)
        } catch var error as ConfigError {
            error.line = nil  // of the text made here, not of a file
            throw error
        }
    }

    /// Whether an assertion of `tests` (also inside `assert-set`) is graded by a judge model, so
    /// judge prompts are needed (`similar` alone needs none).
    public static func usesJudges(_ tests: [EvalTest]) -> Bool {
        func judged(_ spec: AssertionSpec) -> Bool {
            if spec.type == "assert-set" { return (spec.assertions ?? []).contains(where: judged) }
            return GraderReference.Kind.grading(spec.baseType)?.kinds.contains(.text) == true
        }
        return tests.contains { $0.assertions.contains { judged($0.spec) } }
    }

    /// Checks, before anything is called, that every model-graded assertion of `tests` has its
    /// graders: each judge and embedding model resolves through `graders` (which reports what to
    /// configure when none is named). Errors name where the assertion was written.
    public func validateGraders(tests: [EvalTest], graders: any GraderProvider) throws {
        var checked: Set<String> = []
        func check(_ spec: AssertionSpec, _ location: EvalLocation) throws {
            if spec.type == "assert-set" {
                for child in spec.assertions ?? [] { try check(child, location) }
                return
            }
            guard let grading = GraderReference.Kind.grading(spec.baseType) else { return }
            for kind in grading.kinds {
                let key = kind.rawValue + "\u{0}" + (spec.provider?.jsonString() ?? "")
                guard checked.insert(key).inserted else { continue }
                do {
                    let reference = try GraderReference(spec.provider, kind: kind, primary: grading.primary)
                    if kind == .text {
                        _ = try graders.judge(for: reference.id, config: reference.config)
                    } else {
                        _ = try graders.embedder(for: reference.id, config: reference.config)
                    }
                } catch let error as EvaluationError {
                    throw location.error("\(spec.type): \(error.message)")
                } catch let error as ConfigError {
                    throw location.error("\(spec.type): \(error.message)")
                }
            }
        }
        for test in tests {
            for assertion in test.assertions { try check(assertion.spec, assertion.location) }
        }
    }
}

/// The embedding model used when neither an assertion nor the test options name one. The CLI
/// supplies it (the in-process local model once it is built in); `make` runs once, on first use.
public struct EvalDefaultEmbedding: Sendable {
    public var modelName: String
    public var make: @Sendable () throws -> any Embedder

    public init(modelName: String, make: @escaping @Sendable () throws -> any Embedder) {
        self.modelName = modelName
        self.make = make
    }
}

/// How `tern eval` reaches the providers graders name: the same environment, server, provider
/// implementations, prices and response cache as the run's own providers.
public struct EvalConnections: Sendable {
    public var environment: [String: String]
    public var server: String?
    public var timeoutSeconds: Double
    /// The implementation that calls an endpoint (TernProviders' OpenAI-compatible or Anthropic provider).
    public var provider: @Sendable (EvalEndpoint) -> any LLMProvider
    public var price: (@Sendable (String, TokenUsage) -> Double?)?
    /// Judge answers are cached like the run's (nil: not cached).
    public var cache: ResponseDiskCache?

    public init(
        environment: [String: String], server: String?, timeoutSeconds: Double = 120, provider: @escaping @Sendable (EvalEndpoint) -> any LLMProvider,
        price: (@Sendable (String, TokenUsage) -> Double?)? = nil, cache: ResponseDiskCache? = nil
    ) {
        self.environment = environment
        self.server = server
        self.timeoutSeconds = timeoutSeconds
        self.provider = provider
        self.price = price
        self.cache = cache
    }
}

/// The graders of a `tern eval` run. A judge is the model the assertion names (after the test
/// options were copied onto it), else `defaultJudge` (`--grader`); an embedding model is the one
/// the assertion names, else `defaultEmbedding`. Ids are parsed like the config's `providers` and
/// their clients made once.
public final class EvalGraders: GraderProvider {
    let flavor: EvalConfigFlavor
    let source: String
    let directory: URL
    let connections: EvalConnections
    let defaultJudge: EvalProvider?
    let defaultEmbedding: EvalDefaultEmbedding?
    private let judges = Mutex<[String: JudgeModel]>([:])
    private let embedders = Mutex<[String: any Embedder]>([:])

    public init(config: EvalConfig, connections: EvalConnections, defaultJudge: EvalProvider?, defaultEmbedding: EvalDefaultEmbedding?) {
        flavor = config.flavor
        source = config.source
        directory = URL(fileURLWithPath: config.source).deletingLastPathComponent()
        self.connections = connections
        self.defaultJudge = defaultJudge
        self.defaultEmbedding = defaultEmbedding
    }

    static let noJudge =
        "no grading model is configured: set `provider` on the assertion, `defaultTest.options.provider` in the config, "
        + "or give --grader ID (for example --grader openai:chat:gpt-4o-mini)"

    var noEmbedder: String {
        "no embedding model is configured: set `provider: {embedding: openai:embedding:MODEL}` on the assertion (`provider: ID` on similar), "
            + "or `defaultTest.options.provider.embedding` in the config"
    }

    public func judge(for providerID: String?) throws -> JudgeModel { try judge(for: providerID, config: nil) }

    public func embedder(for providerID: String?) throws -> any Embedder { try embedder(for: providerID, config: nil) }

    public func judge(for providerID: String?, config: JSONValue?) throws -> JudgeModel {
        let key = Self.key(providerID, config)
        if let known = judges.withLock({ $0[key] }) { return known }
        let provider: EvalProvider
        if let providerID {
            provider = try parse(providerID, config: config, embedding: false)
        } else {
            guard let defaultJudge else { throw EvaluationError(Self.noJudge) }
            provider = defaultJudge
        }
        guard let endpoint = try endpoint(provider) else { throw EvaluationError("\(provider.id) cannot grade") }
        var client: any ModelClient = ProviderModelClient(
            endpoint: endpoint, provider: connections.provider(endpoint),
            timeoutSeconds: connections.timeoutSeconds, price: connections.price)
        client = GraderClient(client: client, identity: endpoint.identity, options: provider.options, cache: connections.cache)
        let judge = JudgeModel(client: client, model: provider.model)
        return judges.withLock {
            $0[key] = $0[key] ?? judge; return $0[key]!
        }
    }

    public func embedder(for providerID: String?, config: JSONValue?) throws -> any Embedder {
        let key = Self.key(providerID, config)
        if let known = embedders.withLock({ $0[key] }) { return known }
        let embedder: any Embedder
        if let providerID {
            let provider = try parse(providerID, config: config, embedding: true)
            guard let endpoint = try endpoint(provider) else { throw EvaluationError("\(provider.id) cannot embed") }
            embedder = ProviderEmbedder(
                endpoint: endpoint, provider: connections.provider(endpoint), timeoutSeconds: connections.timeoutSeconds,
                price: connections.price, cache: connections.cache)
        } else {
            guard let defaultEmbedding else { throw EvaluationError(noEmbedder) }
            do {
                embedder = try defaultEmbedding.make()
            } catch {
                throw EvaluationError("the default embedding model \(defaultEmbedding.modelName) cannot be loaded: \(error)")
            }
        }
        return embedders.withLock {
            $0[key] = $0[key] ?? embedder; return $0[key]!
        }
    }

    static func key(_ id: String?, _ config: JSONValue?) -> String {
        (id ?? "") + "\u{0}" + (config.map { String(decoding: $0.canonicalData(), as: UTF8.self) } ?? "")
    }

    func parse(_ id: String, config: JSONValue?, embedding: Bool) throws -> EvalProvider {
        do {
            return try EvalConfig.grader(id: id, config: config, embedding: embedding, flavor: flavor, source: source, directory: directory)
        } catch let error as ConfigError {
            throw EvaluationError(error.message)
        }
    }

    func endpoint(_ provider: EvalProvider) throws -> EvalEndpoint? {
        do {
            return try provider.endpoint(environment: connections.environment, server: connections.server)
        } catch let error as ConfigError {
            throw EvaluationError(error.message)
        }
    }
}

/// A judge's client: fills in the provider's request options that judge requests leave unset
/// (`top_p`, `response_format`, `seed`...), and serves repeated judge requests from the response
/// cache (at no cost), keyed by the request and the endpoint.
struct GraderClient: ModelClient {
    let client: any ModelClient
    let identity: String
    let options: ModelCallOptions
    let cache: ResponseDiskCache?

    func complete(_ request: CompletionRequest) async throws -> CompletionResult {
        var request = request
        request.model = identity
        request.topP = request.topP ?? options.topP
        request.responseFormat = request.responseFormat ?? options.responseFormat
        if let parameters = options.parameters { request.parameters = parameters.merging(request.parameters ?? [:]) { _, own in own } }
        guard let cache else { return try await client.complete(request) }
        return try await cache.answer(request, by: client)
    }
}

/// An embedding model behind an OpenAI-compatible `POST /embeddings` (an OpenAI-compatible API,
/// or a Tern server's gateway serving a logical embedding model). Transient failures are retried
/// twice with backoff. `dimensions` is 0 until the first answer shows it. Each call's usage
/// (`usage.prompt_tokens`) is costed with `price` by the model the answer names (else the
/// endpoint's), and answers are kept in the response cache, keyed by the endpoint and the texts:
/// a cached answer costs nothing (its tokens are still counted, as for cached judge answers).
public final class ProviderEmbedder: MeteredEmbedder {
    public let endpoint: EvalEndpoint
    let provider: any LLMProvider
    let timeoutSeconds: Double
    let retry: JudgeRetryPolicy
    let price: (@Sendable (String, TokenUsage) -> Double?)?
    let cache: ResponseDiskCache?
    private let learned = Mutex(0)

    public init(
        endpoint: EvalEndpoint, provider: any LLMProvider, timeoutSeconds: Double = 120, retry: JudgeRetryPolicy = JudgeRetryPolicy(),
        price: (@Sendable (String, TokenUsage) -> Double?)? = nil, cache: ResponseDiskCache? = nil
    ) {
        self.endpoint = endpoint
        self.provider = provider
        self.timeoutSeconds = timeoutSeconds
        self.retry = retry
        self.price = price
        self.cache = cache
    }

    public var modelName: String { endpoint.model }
    public var dimensions: Int { learned.withLock { $0 } }

    public func embed(_ texts: [String]) async throws -> [[Float]] { try await embedMetered(texts).0 }

    /// What the cache keeps of an answer.
    struct Cached: Codable {
        var vectors: [[Float]]
        var inputTokens: Int
    }

    public func embedMetered(_ texts: [String]) async throws -> ([[Float]], EmbeddingUsage) {
        guard !texts.isEmpty else { return ([], EmbeddingUsage(inputTokens: 0, cost: 0)) }
        let body: JSONValue = ["model": .string(endpoint.model), "input": .array(texts.map(JSONValue.string))]
        let key = ResponseDiskCache.key(["embedding": .string(endpoint.identity), "request": body])
        if let cached = cache?.value(Cached.self, key: key), cached.vectors.count == texts.count {
            learned.withLock { $0 = cached.vectors.first?.count ?? $0 }
            return (cached.vectors, EmbeddingUsage(inputTokens: cached.inputTokens, cost: 0, cached: true))
        }
        var delay = retry.backoff
        var attempt = 0
        var answer: (response: UpstreamResponse, json: JSONValue, traceID: String?)
        while true {
            do {
                answer = try await endpoint.send(body, through: provider, timeoutSeconds: timeoutSeconds)
                break
            } catch let error as CompletionError {
                guard error.retryable, attempt < retry.retries else {
                    throw EvaluationError("the embedding model \(endpoint.model) failed: \(error.message)")
                }
            }
            attempt += 1
            try await Task.sleep(for: delay)
            delay *= 2
        }
        let json = answer.json
        let vectors = try Self.vectors(json, count: texts.count, model: endpoint.model)
        learned.withLock { $0 = vectors.first?.count ?? $0 }
        let tokens = json["usage"]?["prompt_tokens"]?.int ?? answer.response.usage?.inputTokens ?? 0
        let usage = TokenUsage(inputTokens: tokens, outputTokens: 0)
        let answeredBy = answer.response.model ?? json["model"]?.string
        let cost = price.flatMap { price in answeredBy.flatMap { price($0, usage) } ?? price(endpoint.model, usage) }
        cache?.store(Cached(vectors: vectors, inputTokens: tokens), key: key)
        return (vectors, EmbeddingUsage(inputTokens: tokens, cost: cost, traceIDs: answer.traceID.map { [$0] } ?? []))
    }

    /// The vectors of an OpenAI embeddings response, in input order.
    static func vectors(_ json: JSONValue, count: Int, model: String) throws -> [[Float]] {
        guard let data = json["data"]?.array else {
            throw EvaluationError("the embedding model \(model) answered without `data`: \(JudgeAnswers.excerpt(json.jsonString()))")
        }
        guard data.count == count else {
            throw EvaluationError("the embedding model \(model) returned \(data.count) vectors for \(count) texts")
        }
        let ordered = data.enumerated().sorted { ($0.element["index"]?.int ?? $0.offset) < ($1.element["index"]?.int ?? $1.offset) }
        return try ordered.map { item in
            guard let numbers = item.element["embedding"]?.array, !numbers.isEmpty else {
                throw EvaluationError("the embedding model \(model) returned an entry without a vector")
            }
            return try numbers.map { number in
                guard let value = number.double else { throw EvaluationError("the embedding model \(model) returned a vector with a non-number") }
                return Float(value)
            }
        }
    }
}
