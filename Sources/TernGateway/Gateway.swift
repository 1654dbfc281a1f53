public import Foundation
public import Logging
public import Metrics
import Synchronization
public import TernCore
public import TernProviders

/// A client request as the gateway sees it.
public struct GatewayRequest: Sendable {
    public var operation: GatewayOperation
    public var body: JSONValue
    public var key: APIKey
    /// Request headers with lower-case names (only `x-tern-*` ones are read).
    public var headers: [String: String]
    /// The body as the client sent it, kept in the trace (parsing and writing it again would cost time).
    public var rawBody: Data?
    /// Set by Tern's own callers (experiments, the playground): the trace's `environment`, one of
    /// `TraceOrigin.internalEnvironments`, so views of production traffic leave it out.
    public var origin: String?

    public init(
        operation: GatewayOperation, body: JSONValue, key: APIKey, headers: [String: String], rawBody: Data? = nil, origin: String? = nil
    ) {
        self.operation = operation
        self.body = body
        self.key = key
        self.headers = headers
        self.rawBody = rawBody
        self.origin = origin
    }
}

/// What to send back: a complete body, or a stream of Server-Sent Events already encoded.
public struct GatewayReply: Sendable {
    public enum Body: Sendable {
        case data(Data)
        case stream(AsyncStream<Data>)
    }

    public var status: Int
    public var headers: [(String, String)]
    public var body: Body
    /// For callers in process (experiments): the usage and cost the gateway accounted for a
    /// complete answer (0 for a cache hit); nil for streams and errors.
    public var usage: TokenUsage? = nil
    public var cost: Double? = nil
}

/// An error in the shape the client's SDK expects (OpenAI's or Anthropic's).
public struct GatewayError: Error, Sendable {
    public var status: Int
    public var type: String
    public var code: String?
    public var param: String?
    public var message: String

    public init(status: Int, type: String, code: String? = nil, param: String? = nil, message: String) {
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.message = message
    }

    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> GatewayError {
        GatewayError(status: 400, type: "invalid_request_error", code: code, param: param, message: message)
    }

    /// The error body for the client's API.
    public func body(for operation: GatewayOperation) -> JSONValue {
        if operation == .messages {
            let anthropicType: String =
                switch status {
                case 400: "invalid_request_error"
                case 401: "authentication_error"
                case 403: "permission_error"
                case 404: "not_found_error"
                case 413: "request_too_large"
                case 429: "rate_limit_error"
                case 529: "overloaded_error"
                default: "api_error"
                }
            return ["type": "error", "error": ["type": .string(anthropicType), "message": .string(message)]]
        }
        return [
            "error": [
                "message": .string(message), "type": .string(type), "param": param.map(JSONValue.string) ?? .null,
                "code": code.map(JSONValue.string) ?? .null,
            ]
        ]
    }

    /// Maps Tern's own errors (auth, limits, validation) to the client's error shape.
    public static func from(_ error: TernError) -> GatewayError {
        switch error.kind {
        case .invalidInput: return GatewayError(status: 400, type: "invalid_request_error", code: error.code, param: error.field, message: error.message)
        case .unauthorized: return GatewayError(status: 401, type: "authentication_error", code: error.code, message: error.message)
        case .forbidden: return GatewayError(status: 403, type: "permission_error", code: error.code, message: error.message)
        case .notFound: return GatewayError(status: 404, type: "not_found_error", code: error.code, param: error.field, message: error.message)
        case .conflict: return GatewayError(status: 409, type: "invalid_request_error", code: error.code, message: error.message)
        case .tooLarge: return GatewayError(status: 413, type: "invalid_request_error", code: error.code, message: error.message)
        case .rateLimited: return GatewayError(status: 429, type: "rate_limit_error", code: error.code, message: error.message)
        case .unavailable: return GatewayError(status: 503, type: "api_error", code: error.code, message: error.message)
        case .timeout: return GatewayError(status: 504, type: "api_error", code: error.code, message: error.message)
        case .upstream: return GatewayError(status: 502, type: "api_error", code: error.code, message: error.message)
        case .internal: return GatewayError(status: 500, type: "api_error", code: error.code, message: error.message)
        }
    }
}

/// The OpenAI-compatible gateway: model lookup, cache, limits, routing with retries, fallbacks and
/// cooldown, the upstream call, cost, and a trace of every call written off the request path.
public final class Gateway: Sendable {
    public let registry: ModelRegistry
    public let health: HealthTracker
    public let cache: ResponseCache
    public let limiter: KeyLimiter
    public let traces: TraceWriter
    public let settings: GatewaySettings
    let providers: [ProviderType: any LLMProvider]
    let prices: PriceTable
    let logger: Logger
    let metrics: MetricHandles
    let prompts: PromptResolver?

    public init(
        registry: ModelRegistry, health: HealthTracker = HealthTracker(), cache: ResponseCache, limiter: KeyLimiter,
        traces: TraceWriter, settings: GatewaySettings, providers: [ProviderType: any LLMProvider],
        prices: PriceTable = .shared, logger: Logger, metrics: any MetricsFactory, prompts: PromptResolver? = nil
    ) {
        self.prompts = prompts
        self.registry = registry
        self.health = health
        self.cache = cache
        self.limiter = limiter
        self.traces = traces
        self.settings = settings
        self.providers = providers
        self.prices = prices
        self.logger = logger
        self.metrics = MetricHandles(factory: metrics)
    }

    /// The models a key may call, for `GET /v1/models`.
    public func modelList() -> JSONValue {
        let created = Int(Date().timeIntervalSince1970)
        return [
            "object": "list",
            "data": .array(
                registry.all.map { model in
                    ["id": .string(model.name), "object": "model", "created": .number(Double(created)), "owned_by": "tern"]
                }),
        ]
    }

    // MARK: - Handling

    struct Context {
        var traceID: String
        var start: Date
        var model: ModelConfig
        var requestedModel: String
        var input: RoutingInput
        var tags: [String]
        var metadata: JSONValue?
        var forwardBody: JSONValue
        var stream: Bool
        var includeUsage: Bool
        var cacheKey: String?
        var cacheTTL: Int
        var cacheStatus: String
        var reservation: KeyLimiter.Reservation?
        var prompt: PromptVersion?
    }

    public func handle(_ request: GatewayRequest) async -> GatewayReply {
        let start = Date()
        let traceID = Self.validTraceID(request.headers[TernHeader.traceID]) ?? TernID.makeTimeOrdered()
        do {
            var request = request
            var prompt: PromptVersion?
            if let reference = try PromptReference.from(body: request.body, headers: request.headers) {
                guard let prompts else { throw GatewayError.invalid("prompt references are not enabled on this gateway", param: "tern.prompt") }
                let version = try await prompts.resolve(
                    projectID: request.key.projectID, name: reference.name, label: reference.label,
                    version: reference.version)
                request.body = try PromptReference.apply(version, variables: reference.variables, to: request.body, operation: request.operation)
                request.rawBody = nil
                prompt = version
            }
            var context = try prepare(request, traceID: traceID, start: start)
            context.prompt = prompt
            if let key = context.cacheKey, context.cacheStatus == "miss",
                let answer = await cache.get(projectID: request.key.projectID, key: key)
            {
                context.cacheStatus = "hit"
                return served(fromCache: answer, request: request, context: context)
            }
            let worst = worstCaseCost(context.model, body: context.forwardBody, operation: request.operation)
            context.reservation = try await limiter.admit(key: request.key, estimatedTokens: worst.tokens, worstCaseCost: worst.cost)
            return await route(request, context: context)
        } catch let error as GatewayError {
            return failure(error, request: request, traceID: traceID, start: start, context: nil, attempts: [])
        } catch let error as TernError {
            return failure(.from(error), request: request, traceID: traceID, start: start, context: nil, attempts: [])
        } catch {
            return failure(
                GatewayError(status: 500, type: "api_error", message: "internal error"), request: request, traceID: traceID,
                start: start, context: nil, attempts: [])
        }
    }

    func prepare(_ request: GatewayRequest, traceID: String, start: Date) throws -> Context {
        let body = request.body
        guard body.object != nil else { throw GatewayError.invalid("the request body must be a JSON object") }
        guard let requested = body["model"]?.string, !requested.isEmpty else {
            throw GatewayError.invalid("you must provide a model parameter", param: "model", code: "missing_model")
        }
        guard let model = registry.model(requested) else {
            let known = registry.all.map(\.name).joined(separator: ", ")
            throw GatewayError(
                status: 404, type: "invalid_request_error", code: "model_not_found", param: "model",
                message: "The model `\(requested)` does not exist or you do not have access to it. Models: \(known.isEmpty ? "none configured" : known)")
        }
        switch request.operation {
        case .chat, .messages:
            guard let messages = body["messages"]?.array else { throw GatewayError.invalid("messages: expected an array of messages", param: "messages") }
            guard !messages.isEmpty else { throw GatewayError.invalid("messages: must contain at least one message", param: "messages") }
        case .completion:
            guard body["prompt"] != nil else { throw GatewayError.invalid("prompt: required", param: "prompt") }
        case .embedding:
            guard body["input"] != nil else { throw GatewayError.invalid("input: required", param: "input") }
        }
        let headers = request.headers
        let bodyMetadata = body["metadata"]?.object ?? [:]
        var metadata: [String: String] = [:]
        for (key, value) in bodyMetadata {
            if let text = value.string { metadata[key] = text } else if let number = value.double { metadata[key] = String(number) }
        }
        var tags = (headers[TernHeader.tags] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        tags += bodyMetadata["tags"]?.array?.compactMap(\.string) ?? []
        let user = headers[TernHeader.user] ?? body["user"]?.string ?? (request.operation == .messages ? body["metadata"]?["user_id"]?.string : nil)
        let input = RoutingInput(
            requestedModel: requested, task: headers[TernHeader.task] ?? metadata["task"], tags: tags, user: user,
            session: headers[TernHeader.session] ?? metadata["session_id"], keyID: request.key.id, keyName: request.key.name, metadata: metadata)

        var forward = body
        forward["tern"] = nil
        if request.operation != .messages, body["store"]?.bool != true { forward["metadata"] = nil }
        let stream = request.operation != .embedding && body["stream"]?.bool == true
        let cacheConfig = model.cache ?? settings.cache
        let bypass = (headers[TernHeader.cache] ?? "").lowercased()
        var cacheKey: String?
        var cacheStatus = "off"
        if cacheConfig.enabled {
            if ["no", "none", "bypass", "no-cache", "false", "0"].contains(bypass) {
                cacheStatus = "bypass"
            } else {
                cacheKey = ResponseCache.key(operation: request.operation, model: requested, body: forward)
                cacheStatus = "miss"
            }
        }
        return Context(
            traceID: traceID, start: start, model: model, requestedModel: requested, input: input, tags: tags,
            metadata: bodyMetadata.isEmpty ? nil : .object(bodyMetadata), forwardBody: forward, stream: stream,
            includeUsage: body["stream_options"]?["include_usage"]?.bool == true, cacheKey: cacheKey, cacheTTL: cacheConfig.ttlSeconds,
            cacheStatus: cacheStatus, reservation: nil, prompt: nil)
    }

    /// Tokens and cost a request could use at most, reserved against limits before the call.
    func worstCaseCost(_ model: ModelConfig, body: JSONValue, operation: GatewayOperation) -> (tokens: Int, cost: Double) {
        // Three bytes a token over-counts most text, so reservations err on the safe side.
        let inputBytes = Self.inputText(body, operation: operation).utf8.count
        let inputTokens = max(1, inputBytes / 3 + 16)
        let requestedOutput = body["max_completion_tokens"]?.int ?? body["max_tokens"]?.int
        var worst = 0.0
        var outputTokens = 0
        for deployment in model.deployments {
            let output = operation == .embedding ? 0 : (requestedOutput ?? deployment.contextWindow.map { max(1, $0 - inputTokens) } ?? 4096)
            outputTokens = max(outputTokens, output)
            if let price = price(deployment) {
                worst = max(worst, price.cost(TokenUsage(inputTokens: inputTokens, outputTokens: output)))
            }
        }
        return (inputTokens + outputTokens, worst)
    }

    func price(_ deployment: DeploymentConfig) -> Price? { pricing(deployment).price }

    /// Where a deployment's price comes from.
    public enum PriceSource: String, Sendable {
        case deployment, inTern, table, none
    }

    /// The price a deployment's calls are costed at, and its source: the deployment's own; nothing for
    /// models that run inside Tern and the echo demo; else the built-in table's, if it knows the model.
    public func pricing(_ deployment: DeploymentConfig) -> (price: Price?, source: PriceSource) {
        if let price = deployment.price { return (price, .deployment) }
        if let type = registry.providers[deployment.provider]?.type, type == .local || type == .echo {
            return (Price(inputPerMTok: 0, outputPerMTok: 0, cachedInputPerMTok: nil), .inTern)
        }
        if let price = prices.price(for: deployment.model) { return (price, .table) }
        return (nil, .none)
    }

    // MARK: - Routing and attempts

    struct Attempt {
        var deployment: String
        var error: UpstreamError?
    }

    func route(_ request: GatewayRequest, context: Context) async -> GatewayReply {
        let model = context.model
        let plan = Router.plan(model, input: context.input, health: health)
        var attempts: [Attempt] = []
        var lastError: UpstreamError?
        for (candidateIndex, candidate) in plan.candidates.enumerated() {
            let deployment = candidate.deployment
            guard let provider = registry.providers[deployment.provider], let client = providers[provider.type] else {
                lastError = UpstreamError(
                    kind: .configuration, message: "deployment \(deployment.name) names provider \(deployment.provider), which is not configured")
                attempts.append(Attempt(deployment: deployment.name, error: lastError))
                continue
            }
            let call = UpstreamCall(
                operation: request.operation, body: Self.withModel(context.forwardBody, deployment.model),
                stream: context.stream, deployment: deployment, provider: provider)
            let retries = candidate.probe ? 0 : model.routing.retries
            var attempt = 0
            while true {
                if Task.isCancelled {
                    if candidate.probe { health.releaseProbe(model: model.name, deployment: deployment.name) }
                    return failure(
                        GatewayError(status: 499, type: "api_error", code: "client_closed", message: "the client closed the request"),
                        request: request, traceID: context.traceID, start: context.start, context: context, attempts: attempts)
                }
                let started = ContinuousClock.now
                do {
                    let reason = candidateIndex == 0 ? candidate.reason : "fallback"
                    if context.stream {
                        let events = try await client.stream(call)
                        return streamed(
                            events, request: request, context: context, deployment: deployment, provider: provider,
                            reason: reason, variant: plan.variant, attempts: attempts, started: started)
                    }
                    let response = try await client.send(call)
                    let latency = Self.millis(ContinuousClock.now - started)
                    health.recordSuccess(model: model.name, deployment: deployment.name, latencyMs: latency)
                    return completed(
                        response, request: request, context: context, deployment: deployment, provider: provider,
                        reason: reason, variant: plan.variant, attempts: attempts)
                } catch let error as UpstreamError {
                    lastError = error
                    attempts.append(Attempt(deployment: deployment.name, error: error))
                    metrics.counter("tern_gateway_upstream_errors_total", ["deployment": deployment.name, "kind": error.kind.rawValue]).increment()
                    guard error.isRetryable else {
                        if candidate.probe { health.releaseProbe(model: model.name, deployment: deployment.name) }
                        return failure(
                            Self.clientError(error, deployment: deployment.name), request: request, traceID: context.traceID,
                            start: context.start, context: context, attempts: attempts)
                    }
                    let rateLimited = error.status == 429
                    health.recordFailure(
                        model: model.name, deployment: deployment.name, allowedFails: model.routing.allowedFails,
                        cooldown: .clampedSeconds(model.routing.cooldownSeconds), rateLimited: rateLimited)
                    // A rate-limited deployment goes straight to the next candidate; others get their retries.
                    if rateLimited || attempt >= retries || health.isCoolingDown(model: model.name, deployment: deployment.name) { break }
                    attempt += 1
                    try? await Task.sleep(for: Self.backoff(attempt: attempt, retryAfter: error.retryAfter))
                } catch {
                    if candidate.probe { health.releaseProbe(model: model.name, deployment: deployment.name) }
                    return failure(
                        GatewayError(status: 499, type: "api_error", code: "client_closed", message: "the client closed the request"),
                        request: request, traceID: context.traceID, start: context.start, context: context, attempts: attempts)
                }
            }
        }
        let error =
            lastError.map { Self.clientError($0, deployment: attempts.last?.deployment ?? "") }
            ?? GatewayError(status: 503, type: "api_error", code: "no_deployment", message: "no deployment of \(model.name) is available")
        return failure(error, request: request, traceID: context.traceID, start: context.start, context: context, attempts: attempts)
    }

    /// Exponential backoff with full jitter (100 ms base, 2 s cap); a short Retry-After is honoured.
    static func backoff(attempt: Int, retryAfter: Double?) -> Duration {
        if let retryAfter, retryAfter > 0, retryAfter <= 5 { return .clampedSeconds(retryAfter) }
        let ceiling = min(2000.0, 100.0 * pow(2.0, Double(attempt - 1)))
        return .milliseconds(Int64(Double.random(in: ceiling / 2...ceiling)))
    }

    /// What the client sees for an upstream failure.
    static func clientError(_ error: UpstreamError, deployment: String) -> GatewayError {
        let prefix = "upstream \(deployment)"
        switch error.kind {
        case .timeout: return GatewayError(status: 504, type: "api_error", code: "upstream_timeout", message: "\(prefix) timed out: \(error.message)")
        case .connection: return GatewayError(status: 502, type: "api_error", code: "upstream_unreachable", message: "\(prefix) unreachable: \(error.message)")
        case .protocolError: return GatewayError(status: 502, type: "api_error", code: "upstream_protocol_error", message: "\(prefix): \(error.message)")
        // The server cannot serve this model as configured (an unset key variable, a local model not pulled):
        // 503, like any service that is up but not ready for this.
        case .configuration: return GatewayError(status: 503, type: "api_error", code: "gateway_misconfigured", message: "\(prefix): \(error.message)")
        case .status:
            let status = error.status ?? 502
            if status == 429 {
                return GatewayError(
                    status: 429, type: "rate_limit_error", code: "upstream_rate_limited", message: "\(prefix) is rate limited: \(error.message)")
            }
            if status == 401 || status == 403 {
                return GatewayError(
                    status: 502, type: "api_error", code: "upstream_auth_failed",
                    message: "\(prefix) refused Tern's credentials (check api_key_env): \(error.message)")
            }
            if status >= 500 {
                return GatewayError(status: 502, type: "api_error", code: "upstream_error", message: "\(prefix) returned \(status): \(error.message)")
            }
            let upstream = error.body?["error"]
            return GatewayError(
                status: status, type: upstream?["type"]?.string ?? "invalid_request_error", code: upstream?["code"]?.string,
                param: upstream?["param"]?.string, message: error.message)
        }
    }

    // MARK: - Outcomes

    func completed(
        _ response: UpstreamResponse, request: GatewayRequest, context: Context, deployment: DeploymentConfig,
        provider: ProviderConfig, reason: String, variant: String?, attempts: [Attempt]
    ) -> GatewayReply {
        let end = Date()
        let (usage, cost) = account(response.usage, outputText: response.outputText, request: request, context: context, deployment: deployment)
        if let key = context.cacheKey, context.cacheStatus == "miss" {
            cache.put(
                projectID: request.key.projectID, key: key,
                answer: CachedAnswer(body: response.body, deployment: deployment.name, model: response.model, usage: usage, outputText: response.outputText),
                ttlSeconds: context.cacheTTL)
        }
        record(
            request: request, context: context, end: end, firstToken: nil, deployment: deployment, provider: provider, servedModel: response.model,
            reason: reason, variant: variant, attempts: attempts, usage: usage, cost: cost, output: response.outputText, status: 200, error: nil,
            outcome: (response.finishReason, response.tools))
        return GatewayReply(
            status: 200, headers: headers(context, deployment: deployment.name, variant: variant, json: true), body: .data(response.body),
            usage: usage, cost: cost)
    }

    func served(fromCache answer: CachedAnswer, request: GatewayRequest, context: Context) -> GatewayReply {
        let end = Date()
        metrics.counter("tern_gateway_cache_total", ["result": "hit"]).increment()
        let deployment = context.model.deployment(named: answer.deployment) ?? context.model.deployments[0]
        let provider = registry.providers[deployment.provider]
        record(
            request: request, context: context, end: end, firstToken: context.stream ? end : nil, deployment: deployment, provider: provider,
            servedModel: answer.model, reason: "cache", variant: nil, attempts: [], usage: answer.usage, cost: 0, output: answer.outputText,
            status: 200, error: nil)
        let headers = headers(context, deployment: answer.deployment, variant: nil, json: !context.stream)
        guard context.stream else { return GatewayReply(status: 200, headers: headers, body: .data(answer.body), usage: answer.usage, cost: 0) }
        let body = (try? JSONValue.parse(answer.body)) ?? .null
        let events = StreamAssembler.replay(body, operation: request.operation, includeUsage: context.includeUsage)
        let operation = request.operation
        let stream = AsyncStream<Data> { continuation in
            for event in events where event.forClient { continuation.yield(Self.encode(event, operation: operation)) }
            if operation != .messages { continuation.yield(Data("data: [DONE]\n\n".utf8)) }
            continuation.finish()
        }
        return GatewayReply(status: 200, headers: headers, body: .stream(stream))
    }

    func streamed(
        _ events: AsyncThrowingStream<StreamEvent, any Error>, request: GatewayRequest, context: Context,
        deployment: DeploymentConfig, provider: ProviderConfig, reason: String, variant: String?, attempts: [Attempt],
        started: ContinuousClock.Instant
    ) -> GatewayReply {
        let operation = request.operation
        let (stream, continuation) = AsyncStream<Data>.makeStream(bufferingPolicy: .bufferingOldest(256))
        let task = Task { [self] in
            var assembler = StreamAssembler(operation: operation)
            var firstToken: Date?
            var text = ""
            var usage: TokenUsage?
            var servedModel: String?
            var failure: UpstreamError?
            var cancelled = false
            do {
                for try await event in events {
                    if firstToken == nil, event.text != nil { firstToken = Date() }
                    if let piece = event.text { text += piece }
                    if let reported = event.usage { usage = reported }
                    if let model = event.model { servedModel = model }
                    assembler.add(event)
                    if event.forClient {
                        if case .terminated = continuation.yield(Self.encode(event, operation: operation)) {
                            cancelled = true
                            break
                        }
                    }
                }
                if Task.isCancelled { cancelled = true }
            } catch let error as UpstreamError {
                failure = error
            } catch {
                cancelled = true
            }
            let model = context.model
            if cancelled {
                health.releaseProbe(model: model.name, deployment: deployment.name)
            } else if let failure {
                health.recordFailure(
                    model: model.name, deployment: deployment.name, allowedFails: model.routing.allowedFails,
                    cooldown: .clampedSeconds(model.routing.cooldownSeconds), rateLimited: false)
                let error = Self.clientError(failure, deployment: deployment.name)
                continuation.yield(Self.encodeError(error, operation: operation))
            } else {
                health.recordSuccess(model: model.name, deployment: deployment.name, latencyMs: Self.millis(ContinuousClock.now - started))
                if operation != .messages { continuation.yield(Data("data: [DONE]\n\n".utf8)) }
            }
            let end = Date()
            let (finalUsage, cost) = account(usage, outputText: text, request: request, context: context, deployment: deployment)
            if failure == nil, !cancelled, let key = context.cacheKey, context.cacheStatus == "miss" {
                cache.put(
                    projectID: request.key.projectID, key: key,
                    answer: CachedAnswer(
                        body: assembler.complete().data(), deployment: deployment.name, model: servedModel,
                        usage: finalUsage, outputText: text),
                    ttlSeconds: context.cacheTTL)
            }
            let status = cancelled ? 499 : failure == nil ? 200 : Self.clientError(failure!, deployment: deployment.name).status
            let message = cancelled ? "client disconnected mid-stream" : failure.map { "stream broke: \($0.message)" }
            record(
                request: request, context: context, end: end, firstToken: firstToken, deployment: deployment, provider: provider,
                servedModel: servedModel, reason: reason, variant: variant, attempts: attempts, usage: finalUsage, cost: cost,
                output: text, status: status, error: message, outcome: assembler.outcome)
            // The trace is queued before the client sees the end of the stream.
            continuation.finish()
        }
        continuation.onTermination = { termination in
            if case .cancelled = termination { task.cancel() }
        }
        return GatewayReply(status: 200, headers: headers(context, deployment: deployment.name, variant: variant, json: false), body: .stream(stream))
    }

    func failure(_ error: GatewayError, request: GatewayRequest, traceID: String, start: Date, context: Context?, attempts: [Attempt]) -> GatewayReply {
        var headers: [(String, String)] = [("content-type", "application/json"), (TernHeader.traceID, traceID)]
        if let context {
            limiter.settle(context.reservation, tokens: 0, cost: 0)
            if let last = attempts.last { headers.append((TernHeader.deployment, last.deployment)) }
            headers.append((TernHeader.cache, context.cacheStatus))
            let deployment = attempts.last.flatMap { context.model.deployment(named: $0.deployment) }
            record(
                request: request, context: context, end: Date(), firstToken: nil, deployment: deployment,
                provider: deployment.flatMap { registry.providers[$0.provider] }, servedModel: nil, reason: nil, variant: nil,
                attempts: attempts, usage: nil, cost: nil, output: nil, status: error.status, error: error.message)
        } else if error.status != 401 {
            // Rejected before routing (bad request, unknown model, limit): still traced, so operators see refusals.
            recordRejection(request: request, traceID: traceID, start: start, error: error)
        }
        metrics.counter(
            "tern_gateway_requests_total",
            [
                "model": context?.requestedModel ?? "-", "deployment": attempts.last?.deployment ?? "-",
                "status": String(error.status),
            ]
        ).increment()
        return GatewayReply(status: error.status, headers: headers, body: .data(error.body(for: request.operation).data()))
    }

    func headers(_ context: Context, deployment: String, variant: String?, json: Bool) -> [(String, String)] {
        var headers: [(String, String)] = [
            ("content-type", json ? "application/json" : "text/event-stream; charset=utf-8"),
            (TernHeader.traceID, context.traceID), (TernHeader.deployment, deployment), (TernHeader.cache, context.cacheStatus),
        ]
        if let variant { headers.append((TernHeader.variant, variant)) }
        if !json { headers.append(("cache-control", "no-cache")) }
        return headers
    }

    /// Final usage (estimated when the provider gave none) and cost; settles the key's reservation.
    func account(
        _ reported: TokenUsage?, outputText: String?, request: GatewayRequest, context: Context,
        deployment: DeploymentConfig
    ) -> (TokenUsage, Double?) {
        var usage =
            reported
            ?? TokenUsage(
                inputTokens: TokenUsage.estimateTokens(Self.inputText(context.forwardBody, operation: request.operation)),
                outputTokens: TokenUsage.estimateTokens(outputText ?? ""), estimated: true)
        // An upstream's counts are not trusted to be sane: bounded like ingested ones.
        usage.inputTokens = min(max(usage.inputTokens, 0), InputBounds.maxTokens)
        usage.outputTokens = min(max(usage.outputTokens, 0), InputBounds.maxTokens)
        usage.cachedTokens = usage.cachedTokens.map { min(max($0, 0), InputBounds.maxTokens) }
        usage.reasoningTokens = usage.reasoningTokens.map { min(max($0, 0), InputBounds.maxTokens) }
        if reported != nil, usage.inputTokens == 0, usage.outputTokens == 0, !(outputText ?? "").isEmpty {
            usage = TokenUsage(
                inputTokens: TokenUsage.estimateTokens(Self.inputText(context.forwardBody, operation: request.operation)),
                outputTokens: TokenUsage.estimateTokens(outputText ?? ""), estimated: true)
        }
        let cost = price(deployment).map { $0.cost(usage) }
        limiter.settle(context.reservation, tokens: usage.totalTokens, cost: cost ?? 0)
        return (usage, cost)
    }

    // MARK: - Traces

    /// The generation's metadata: the key that made the call, how the answer ended and the tools it called.
    static func generationMetadata(_ key: APIKey, _ outcome: (finishReason: String?, tools: [String])) -> JSONValue {
        var metadata: [String: JSONValue] = ["api_key_id": .string(key.id), "api_key": .string(key.name)]
        if let finish = outcome.finishReason { metadata["finish_reason"] = .string(finish) }
        if !outcome.tools.isEmpty { metadata["tools"] = .array(outcome.tools.map(JSONValue.string)) }
        return .object(metadata)
    }

    func record(
        request: GatewayRequest, context: Context, end: Date, firstToken: Date?, deployment: DeploymentConfig?, provider: ProviderConfig?,
        servedModel: String?, reason: String?, variant: String?, attempts: [Attempt], usage: TokenUsage?, cost: Double?,
        output: String?, status: Int, error: String?, outcome: (finishReason: String?, tools: [String]) = (nil, [])
    ) {
        let limit = settings.traceBodyLimitBytes
        let inputBody = Self.cap(request.rawBody.map { String(decoding: $0, as: UTF8.self) } ?? context.forwardBody.jsonString(), limit)
        var route = reason ?? ""
        let failed = attempts.filter { $0.error != nil }
        if !failed.isEmpty {
            let summary = failed.map { "\($0.deployment): \($0.error!.status.map(String.init) ?? $0.error!.kind.rawValue)" }.joined(separator: ", ")
            route += route.isEmpty ? "failed: \(summary)" : " after \(summary)"
        }
        var parameters: [String: JSONValue] = [:]
        for name in [
            "temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "stop", "presence_penalty", "frequency_penalty",
            "seed", "response_format", "tool_choice", "stream",
        ] {
            if let value = context.forwardBody[name] { parameters[name] = value }
        }
        let level: ObservationLevel = error == nil ? .default : status == 499 ? .warning : .error
        let observation = Observation(
            id: TernID.makeTimeOrdered(), traceID: context.traceID, projectID: request.key.projectID,
            type: request.operation == .embedding ? .embedding : .generation,
            name: Self.operationName(request.operation), startTime: context.start, endTime: end, completionStartTime: firstToken,
            model: servedModel ?? deployment?.model, provider: provider?.name, modelParameters: parameters.isEmpty ? nil : .object(parameters),
            input: inputBody, output: output.map { Self.cap($0, limit) }, usage: usage, cost: cost,
            costEstimated: usage?.estimated ?? false, level: level, statusMessage: error,
            metadata: Self.generationMetadata(request.key, outcome),
            requestedModel: context.requestedModel, deployment: deployment?.name, variant: variant, route: route.isEmpty ? nil : route,
            cacheStatus: context.cacheStatus, statusCode: status, promptName: context.prompt?.name, promptVersion: context.prompt?.version)
        let trace = Trace(
            id: context.traceID, projectID: request.key.projectID, name: "\(Self.operationName(request.operation)) \(context.requestedModel)",
            userID: context.input.user, sessionID: context.input.session, tags: context.tags, metadata: context.metadata,
            environment: request.origin ?? context.input.metadata["environment"],
            input: Self.cap(Self.traceInput(context.forwardBody, operation: request.operation), limit), output: output.map { Self.cap($0, limit) },
            startTime: context.start, endTime: end)
        traces.enqueue(TraceBatchItem(trace: trace, observations: [observation]))

        let deploymentName = deployment?.name ?? "-"
        metrics.counter("tern_gateway_requests_total", ["model": context.requestedModel, "deployment": deploymentName, "status": String(status)]).increment()
        metrics.timer("tern_gateway_request_duration_seconds", ["model": context.requestedModel])
            .recordNanoseconds(Int64.clamping(end.timeIntervalSince(context.start) * 1e9))
        if let usage {
            metrics.counter("tern_gateway_tokens_total", ["model": context.requestedModel, "direction": "input"]).increment(by: Int64(usage.inputTokens))
            metrics.counter("tern_gateway_tokens_total", ["model": context.requestedModel, "direction": "output"]).increment(by: Int64(usage.outputTokens))
        }
        if let cost, cost > 0 {
            metrics.floatCounter("tern_gateway_cost_usd_total", ["model": context.requestedModel]).increment(by: cost)
        }
        if context.cacheStatus != "off" { metrics.counter("tern_gateway_cache_total", ["result": context.cacheStatus]).increment() }
    }

    func recordRejection(request: GatewayRequest, traceID: String, start: Date, error: GatewayError) {
        let requested = request.body["model"]?.string
        let observation = Observation(
            id: TernID.makeTimeOrdered(), traceID: traceID, projectID: request.key.projectID, type: .generation, name: Self.operationName(request.operation),
            startTime: start, endTime: Date(), level: .error, statusMessage: error.message,
            metadata: Self.generationMetadata(request.key, (nil, [])),
            requestedModel: requested, statusCode: error.status)
        let trace = Trace(
            id: traceID, projectID: request.key.projectID, name: "\(Self.operationName(request.operation)) \(requested ?? "?")",
            userID: request.headers[TernHeader.user] ?? request.body["user"]?.string, sessionID: request.headers[TernHeader.session],
            environment: request.origin, startTime: start, endTime: Date())
        traces.enqueue(TraceBatchItem(trace: trace, observations: [observation]))
    }

    // MARK: - Helpers

    static func encode(_ event: StreamEvent, operation: GatewayOperation) -> Data {
        Data(SSEEncoder.encode(name: operation == .messages ? event.name : nil, data: event.data.jsonString()).utf8)
    }

    static func encodeError(_ error: GatewayError, operation: GatewayOperation) -> Data {
        Data(SSEEncoder.encode(name: operation == .messages ? "error" : nil, data: error.body(for: operation).jsonString()).utf8)
    }

    static func withModel(_ body: JSONValue, _ model: String) -> JSONValue {
        var body = body
        body["model"] = .string(model)
        return body
    }

    static func operationName(_ operation: GatewayOperation) -> String {
        switch operation {
        case .chat: "chat"
        case .completion: "text_completion"
        case .embedding: "embeddings"
        case .messages: "messages"
        }
    }

    /// The trace's input: for chat and messages calls the conversation as a JSON list of messages (the
    /// system prompt first), so pages show it as a chat and list previews show its last user message;
    /// otherwise the text of the request.
    public static func traceInput(_ body: JSONValue, operation: GatewayOperation) -> String {
        switch operation {
        case .chat, .messages:
            var messages: [JSONValue] = []
            if let system = body["system"] { messages.append(["role": "system", "content": system]) }
            messages += body["messages"]?.array ?? []
            return JSONValue.array(messages).jsonString()
        case .completion, .embedding:
            return inputText(body, operation: operation)
        }
    }

    /// The text a request sends to the model, for token estimates.
    public static func inputText(_ body: JSONValue, operation: GatewayOperation) -> String {
        switch operation {
        case .chat, .messages:
            var parts: [String] = []
            if let system = body["system"] { parts.append(system.string ?? system.jsonString()) }
            for message in body["messages"]?.array ?? [] {
                switch message["content"] {
                case .string(let text)?: parts.append(text)
                case .array(let items)?: parts.append(items.map { $0["text"]?.string ?? $0.jsonString() }.joined(separator: "\n"))
                default: break
                }
                for call in message["tool_calls"]?.array ?? [] { parts.append(call.jsonString()) }
            }
            if let tools = body["tools"] { parts.append(tools.jsonString()) }
            return parts.joined(separator: "\n")
        case .completion:
            return body["prompt"]?.string ?? body["prompt"]?.jsonString() ?? ""
        case .embedding:
            return body["input"]?.string ?? body["input"]?.jsonString() ?? ""
        }
    }

    static func cap(_ text: String, _ limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var cut = text.utf8.prefix(limit)
        while !cut.isEmpty, String(cut) == nil { cut = cut.dropLast() }
        return (String(cut) ?? "") + "…[truncated]"
    }

    static func millis(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func validTraceID(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.count <= 128,
            value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { return nil }
        return value
    }
}

/// Metric handles by name and labels, created once: looking a series up in the registry on every
/// request costs more than the request's own bookkeeping.
final class MetricHandles: Sendable {
    let factory: any MetricsFactory
    /// One map for every kind of handle (Counter, FloatingPointCounter, Timer are classes).
    private let handles = Mutex<[String: any Sendable]>([:])

    init(factory: any MetricsFactory) { self.factory = factory }

    private func handle<Handle: Sendable>(
        _ kind: String, _ label: String, _ dimensions: KeyValuePairs<String, String>,
        make: ([(String, String)]) -> Handle
    ) -> Handle {
        let pairs = dimensions.map { ($0.key, $0.value) }
        var key = kind + "\u{1}" + label
        for (name, value) in pairs { key += "\u{1}" + name + "=" + value }
        if let found = handles.withLock({ $0[key] }) as? Handle { return found }
        let made = make(pairs)
        handles.withLock { $0[key] = made }
        return made
    }

    func counter(_ label: String, _ dimensions: KeyValuePairs<String, String>) -> Counter {
        handle("counter", label, dimensions) { Counter(label: label, dimensions: $0, factory: factory) }
    }

    func floatCounter(_ label: String, _ dimensions: KeyValuePairs<String, String>) -> FloatingPointCounter {
        handle("float", label, dimensions) { FloatingPointCounter(label: label, dimensions: $0, factory: factory) }
    }

    func timer(_ label: String, _ dimensions: KeyValuePairs<String, String>) -> Metrics.Timer {
        handle("timer", label, dimensions) { Metrics.Timer(label: label, dimensions: $0, factory: factory) }
    }
}
