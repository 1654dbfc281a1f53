import Foundation
import Synchronization
import TernCore
import TernEval
import TernGateway

/// A `ModelClient` over the gateway in process: every call goes through the full pipeline (model
/// lookup, limits of the key, routing, retries, cost, trace), as an HTTP request would, without the
/// HTTP. The trace's environment is `experiment` (`TraceOrigin`: production views leave it out), it is
/// tagged `experiment` (judge calls `experiment-judge`), carries the run id in its metadata and the
/// session `experiment:<run id>`.
struct GatewayModelClient: ModelClient {
    let gateway: Gateway
    let key: APIKey
    let experimentID: String
    let tag: String
    /// Where the calls come from (their traces' environment): experiments, or watchers' judges.
    var origin = TraceOrigin.experiment

    func complete(_ request: CompletionRequest) async throws -> CompletionResult {
        var body: [String: JSONValue] = [
            "model": .string(request.model),
            "messages": .array(request.messages.map { ["role": .string($0.role), "content": .string($0.content)] }),
            "metadata": ["experiment_id": .string(experimentID)],
        ]
        if let temperature = request.temperature { body["temperature"] = .number(temperature) }
        if let maxTokens = request.maxTokens { body["max_tokens"] = .number(Double(maxTokens)) }
        if let tools = request.tools { body["tools"] = tools }
        if let format = request.responseFormat { body["response_format"] = format }
        let started = ContinuousClock.now
        let reply = await gateway.handle(GatewayRequest(operation: .chat, body: .object(body), key: key, headers: headers, origin: origin))
        let latency = started.duration(to: .now)
        let traceID = reply.headers.first { $0.0 == TernHeader.traceID }?.1
        let json = Self.json(reply)
        guard reply.status == 200, let json else { throw Self.failure(reply, json) }
        let message = json["choices"]?[0]?["message"]
        let toolCalls = message?["tool_calls"].flatMap { $0.isNull ? nil : $0 }
        return CompletionResult(
            output: message?["content"]?.string ?? "", toolCalls: toolCalls, inputTokens: reply.usage?.inputTokens ?? 0,
            outputTokens: reply.usage?.outputTokens ?? 0, cost: reply.cost,
            latencyMs: Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15, traceID: traceID)
    }

    var headers: [String: String] {
        [TernHeader.tags: tag, TernHeader.session: "experiment:\(experimentID)"]
    }

    static func json(_ reply: GatewayReply) -> JSONValue? {
        guard case .data(let data) = reply.body else { return nil }
        return try? JSONValue.parse(data)
    }

    /// The gateway's error as a completion error: 429 and 5xx are retried by the runner.
    static func failure(_ reply: GatewayReply, _ json: JSONValue?) -> CompletionError {
        let message = json?["error"]?["message"]?.string ?? "the gateway answered \(reply.status)"
        return CompletionError("\(reply.status): \(message)", retryable: reply.status == 429 || reply.status >= 500)
    }
}

/// An embedding model behind the gateway (for `similar` and `answer-relevance`). Metered: each call's
/// tokens, cost and trace id are added to the assertion's grading usage, as judge calls' are.
struct GatewayEmbedder: MeteredEmbedder {
    let client: GatewayModelClient
    let modelName: String
    /// Unknown until the first answer; the evaluators do not read it.
    var dimensions: Int { 0 }

    func embed(_ texts: [String]) async throws -> [[Float]] { try await embedMetered(texts).0 }

    func embedMetered(_ texts: [String]) async throws -> ([[Float]], EmbeddingUsage) {
        let body: JSONValue = [
            "model": .string(modelName), "input": .array(texts.map(JSONValue.string)),
            "metadata": ["experiment_id": .string(client.experimentID)],
        ]
        let reply = await client.gateway.handle(
            GatewayRequest(operation: .embedding, body: body, key: client.key, headers: client.headers, origin: client.origin))
        let json = GatewayModelClient.json(reply)
        guard reply.status == 200, let data = json?["data"]?.array else {
            throw EvaluationError(GatewayModelClient.failure(reply, json).message)
        }
        let sorted = data.sorted { ($0["index"]?.int ?? 0) < ($1["index"]?.int ?? 0) }
        let vectors = sorted.map { entry in (entry["embedding"]?.array ?? []).compactMap { $0.double.map(Float.init) } }
        let traceID = reply.headers.first { $0.0 == TernHeader.traceID }?.1
        let usage = EmbeddingUsage(
            inputTokens: reply.usage?.inputTokens ?? 0, cost: reply.cost, traceIDs: traceID.map { [$0] } ?? [],
            cached: reply.headers.contains { $0.0 == TernHeader.cache && $0.1 == "hit" })
        return (vectors, usage)
    }
}

/// Judges and embedders of a server-side run: any model of the gateway, by the id the assertion
/// names in `provider`, else the run's `options.grader` / `options.embedder`.
struct GatewayGraderProvider: GraderProvider {
    let client: GatewayModelClient
    let defaultJudge: String?
    let defaultEmbedder: String?
    /// The run's response cache: a rerun's unchanged judge requests are answered from it, at no cost.
    var cache: ResponseDiskCache? = nil

    func judge(for providerID: String?) throws -> JudgeModel {
        guard let model = providerID ?? defaultJudge else {
            throw EvaluationError("no grading model is configured: set `provider` on the assertion, or `options.grader` on the run")
        }
        return JudgeModel(client: CachedModelClient(client: client, cache: cache), model: model)
    }

    func embedder(for providerID: String?) throws -> any Embedder {
        guard let model = providerID ?? defaultEmbedder else {
            throw EvaluationError("no embedding model is configured: set `provider` on the assertion, or `options.embedder` on the run")
        }
        return GatewayEmbedder(client: client, modelName: model)
    }
}

/// A model client whose answers are kept in (and served from) a response cache; a cached answer costs
/// nothing and keeps the trace id of the call that made it.
struct CachedModelClient: ModelClient {
    let client: any ModelClient
    let cache: ResponseDiskCache?

    func complete(_ request: CompletionRequest) async throws -> CompletionResult {
        guard let cache else { return try await client.complete(request) }
        return try await cache.answer(request, by: client)
    }
}

extension TraceWriter {
    /// Waits until the traces queued so far are written, or `timeout` has passed (a stopped writer
    /// never answers `flush`).
    func flush(within timeout: Duration) async {
        final class Once: Sendable {
            let done = Mutex(false)
            /// True the first time only.
            func first() -> Bool {
                done.withLock { state in
                    defer { state = true }; return !state
                }
            }
        }
        let once = Once()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Task {
                await self.flush(); if once.first() { continuation.resume() }
            }
            Task {
                try? await Task.sleep(for: timeout); if once.first() { continuation.resume() }
            }
        }
    }
}
