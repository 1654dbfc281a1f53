import Foundation
public import TernCore
public import TernProviders

// Model clients for `tern eval`: providers called directly (OpenAI-compatible and Anthropic APIs,
// with endpoints and keys read from the environment as promptfoo reads them), a Tern server's
// gateway (`--server`, logical models), and promptfoo's `echo`.

/// Where a provider's calls go.
public struct EvalEndpoint: Sendable, Equatable {
    /// The wire format.
    public var type: ProviderType
    public var operation: GatewayOperation
    /// Without a trailing slash; `/chat/completions`, `/completions` or `/messages` is appended.
    public var baseURL: String
    /// The environment variable holding the key (nil: no key is sent).
    public var apiKeyEnv: String?
    public var model: String
    public var headers: [String: String]
    /// A Tern gateway: every call carries its own trace id and the `eval` tag.
    public var isTernGateway: Bool

    /// What identifies the endpoint's answers in the response cache.
    public var identity: String { "\(type.rawValue):\(operation.rawValue):\(model)@\(baseURL)" }
}

extension EvalEndpoint {
    /// Sends `body` (OpenAI's format) to the endpoint through `provider`; returns the response, its
    /// JSON and, for a Tern gateway, the trace id the call carried (with the tag `eval`).
    func send(
        _ body: JSONValue, through provider: any LLMProvider, timeoutSeconds: Double
    ) async throws
        -> (response: UpstreamResponse, json: JSONValue, traceID: String?)
    {
        var headers = self.headers
        var traceID: String?
        if isTernGateway {
            traceID = TernID.makeTimeOrdered()
            headers[TernHeader.traceID] = traceID
            headers[TernHeader.tags] = headers[TernHeader.tags] ?? "eval"
        }
        let providerConfig = ProviderConfig(
            name: identity, type: type, baseURL: baseURL, apiKeyEnv: apiKeyEnv, headers: headers,
            timeoutSeconds: timeoutSeconds)
        let deployment = DeploymentConfig(name: identity, provider: identity, model: model)
        let call = UpstreamCall(operation: operation, body: body, stream: false, deployment: deployment, provider: providerConfig)
        let response: UpstreamResponse
        do {
            response = try await provider.send(call)
        } catch let error as UpstreamError {
            throw CompletionError("\(error.description) (\(baseURL))", retryable: error.isRetryable)
        }
        guard let json = try? JSONValue.parse(response.body) else {
            throw CompletionError("\(baseURL) sent a body that is not JSON", retryable: false)
        }
        return (response, json, traceID)
    }
}

extension EvalProvider {
    /// The endpoint of a provider, nil for `echo`. URLs and keys are read as promptfoo reads them:
    ///
    /// - OpenAI: `config.apiHost` (as `https://HOST/v1`), `config.apiBaseUrl`, `$OPENAI_API_HOST`,
    ///   `$OPENAI_API_BASE_URL`, `$OPENAI_BASE_URL`, else `https://api.openai.com/v1`; the key from
    ///   `$<config.apiKeyEnvar>`, else `$OPENAI_API_KEY`.
    /// - Anthropic: `config.apiBaseUrl`, `$ANTHROPIC_API_BASE_URL`, `$ANTHROPIC_BASE_URL` (the SDK's),
    ///   else `https://api.anthropic.com` (`/v1` is added); the key from `$<config.apiKeyEnvar>`, else `$ANTHROPIC_API_KEY`.
    /// - Tern logical models: `<server>/v1` with `$TERN_API_KEY`.
    ///
    /// A missing key is a configuration error (unless `config.apiKeyRequired: false`), so a run never starts half-configured.
    public func endpoint(environment: [String: String], server: String?) throws -> EvalEndpoint? {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func trimmed(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }
        func key(_ fallback: String) throws -> String? {
            let name = apiKeyEnvar ?? fallback
            if value(name) != nil { return name }
            guard !apiKeyRequired else {
                throw location.error(
                    "\(id): the API key variable \(name) is not set (set it, name another with config.apiKeyEnvar, or set config.apiKeyRequired: false)")
            }
            return nil
        }
        switch api {
        case .echo:
            return nil
        case .openAIChat, .openAICompletion, .openAIEmbedding:
            var base = "https://api.openai.com/v1"
            if let apiHost {
                base = "https://\(apiHost)/v1"
            } else if let apiBaseURL {
                base = apiBaseURL
            } else if let host = value("OPENAI_API_HOST") {
                base = "https://\(host)/v1"
            } else if let url = value("OPENAI_API_BASE_URL") ?? value("OPENAI_BASE_URL") {
                base = url
            }
            let operation: GatewayOperation = api == .openAIChat ? .chat : api == .openAICompletion ? .completion : .embedding
            return EvalEndpoint(
                type: .openai, operation: operation, baseURL: trimmed(base),
                apiKeyEnv: try key("OPENAI_API_KEY"), model: model, headers: headers, isTernGateway: false)
        case .anthropicMessages:
            var base = trimmed(apiBaseURL ?? value("ANTHROPIC_API_BASE_URL") ?? value("ANTHROPIC_BASE_URL") ?? "https://api.anthropic.com")
            if !base.hasSuffix("/v1") { base += "/v1" }
            return EvalEndpoint(
                type: .anthropic, operation: .chat, baseURL: base, apiKeyEnv: try key("ANTHROPIC_API_KEY"), model: model,
                headers: headers, isTernGateway: false)
        case .ternGateway, .ternGatewayEmbedding:
            guard let server else {
                throw location.error("\"\(id)\" is a Tern logical model: give --server URL (the Tern server whose gateway serves it) and TERN_API_KEY")
            }
            guard value("TERN_API_KEY") != nil else {
                throw location.error("\"\(id)\" is served by --server \(server): set TERN_API_KEY to an API key of that server")
            }
            return EvalEndpoint(
                type: .openai, operation: api == .ternGateway ? .chat : .embedding, baseURL: trimmed(server) + "/v1",
                apiKeyEnv: "TERN_API_KEY", model: model, headers: headers, isTernGateway: true)
        }
    }
}

/// Calls one endpoint through a provider implementation (TernProviders' OpenAI-compatible and
/// Anthropic providers in the CLI). Requests are sent in OpenAI's chat format; the provider
/// translates for Anthropic.
public struct ProviderModelClient: ModelClient {
    public let endpoint: EvalEndpoint
    let provider: any LLMProvider
    let timeoutSeconds: Double
    let price: (@Sendable (String, TokenUsage) -> Double?)?

    /// promptfoo's default `max_tokens` for Anthropic models (their API requires one).
    public static let anthropicDefaultMaxTokens = 1024

    public init(
        endpoint: EvalEndpoint, provider: any LLMProvider, timeoutSeconds: Double = 120,
        price: (@Sendable (String, TokenUsage) -> Double?)? = nil
    ) {
        self.endpoint = endpoint
        self.provider = provider
        self.timeoutSeconds = timeoutSeconds
        self.price = price
    }

    /// The request body in OpenAI's format.
    func body(_ request: CompletionRequest) -> JSONValue {
        var body: [String: JSONValue] = ["model": .string(endpoint.model)]
        if endpoint.operation == .completion {
            body["prompt"] = .string(request.messages.map(\.content).joined(separator: "\n\n"))
        } else {
            body["messages"] = .array(request.messages.map { ["role": .string($0.role), "content": .string($0.content)] })
        }
        if let temperature = request.temperature { body["temperature"] = .number(temperature) }
        if let maxTokens = request.maxTokens ?? (endpoint.type == .anthropic ? Self.anthropicDefaultMaxTokens : nil) {
            body["max_tokens"] = .number(Double(maxTokens))
        }
        if let topP = request.topP { body["top_p"] = .number(topP) }
        if let tools = request.tools { body["tools"] = tools }
        if let format = request.responseFormat { body["response_format"] = format }
        for (key, value) in request.parameters ?? [:] where body[key] == nil { body[key] = value }
        return .object(body)
    }

    public func complete(_ request: CompletionRequest) async throws -> CompletionResult {
        let start = ContinuousClock.now
        let (response, json, traceID) = try await endpoint.send(body(request), through: provider, timeoutSeconds: timeoutSeconds)
        let elapsed = ContinuousClock.now - start
        let latency = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let usage = response.usage ?? TokenUsage(inputTokens: 0, outputTokens: 0)
        let (output, toolCalls) = Self.output(json)
        return CompletionResult(
            output: output, toolCalls: toolCalls, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens,
            cost: cost(usage, answeredBy: response.model), latencyMs: latency, traceID: traceID)
    }

    /// The call's cost by the price table: the model the answer names (a Tern gateway's logical
    /// model answers with its deployment's model), else the endpoint's model.
    func cost(_ usage: TokenUsage, answeredBy model: String?) -> Double? {
        guard let price else { return nil }
        return model.flatMap { price($0, usage) } ?? price(endpoint.model, usage)
    }

    /// The output as promptfoo gives it to assertions: the message text; a tool-calling answer's
    /// `tool_calls` as JSON (with its text, `{"content", "tool_calls"}`); a completion's text.
    static func output(_ response: JSONValue) -> (String, JSONValue?) {
        guard let choice = response["choices"]?[0] else { return ("", nil) }
        if let text = choice["text"]?.string { return (text, nil) }
        let content = choice["message"]?["content"]?.string ?? ""
        guard let calls = choice["message"]?["tool_calls"], let list = calls.array, !list.isEmpty else { return (content, nil) }
        if content.isEmpty { return (calls.jsonString(), calls) }
        return (JSONValue.object(["content": .string(content), "tool_calls": calls]).jsonString(), calls)
    }
}

/// promptfoo's `echo` provider: the output is the prompt as sent (chat prompts: the messages as JSON).
public struct EchoModelClient: ModelClient {
    public init() {}

    public func complete(_ request: CompletionRequest) async throws -> CompletionResult {
        let output: String
        if request.messages.count == 1, request.messages[0].role == "user" {
            output = request.messages[0].content
        } else {
            output = JSONValue.array(request.messages.map { ["role": .string($0.role), "content": .string($0.content)] }).jsonString()
        }
        return CompletionResult(output: output, inputTokens: 0, outputTokens: 0, cost: 0, latencyMs: 0)
    }
}

/// The evaluators `tern eval` checks outputs with: the deterministic ones, the model-graded ones
/// (judged through `graders`) and the row type `select-best`; an assertion type no evaluator
/// handles is refused before the run with the known types listed (`EvalConfig.validate`).
public enum EvalEvaluators {
    /// `graders` nil: model-graded types are known (configs validate) but every one is an error
    /// saying that no grader is configured.
    public static func registry(
        maxConcurrency: Int = 3, graders: (any GraderProvider)? = nil, prompts: JudgePrompts = JudgePrompts(),
        retry: JudgeRetryPolicy = JudgeRetryPolicy()
    ) -> EvaluatorRegistry {
        var registry = EvaluatorRegistry.deterministic(maxConcurrency: maxConcurrency)
        let none = StaticGraderProvider(
            client: nil, configurationHint: "set `provider` on the assertion or `defaultTest.options.provider`, or give --grader ID")
        registry.registerModelGraded(JudgeContext(graders: graders ?? none, prompts: prompts, retry: retry))
        return registry
    }
}
