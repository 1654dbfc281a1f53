import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import TernCore

/// The HTTP client shared by every upstream call: one connection pool per host, kept warm.
public final class UpstreamHTTP: Sendable {
    let client: HTTPClient

    public init(connectionsPerHost: Int = 256) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(600))
        configuration.decompression = .enabled(limit: .ratio(50))
        configuration.httpVersion = .http1Only
        // Tern traces calls itself; AsyncHTTPClient's own spans would only cost time.
        configuration.tracing.tracer = nil
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    static let maxResponseBytes = 64 * 1024 * 1024

    /// POSTs JSON; returns the response when its status is 2xx, else throws the upstream's error.
    func post(url: String, body: Data, headers: [(String, String)], timeout: Double) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: "application/json, text/event-stream")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .milliseconds(Int64(min(max(timeout.isFinite ? timeout : 0, 0), 315_360_000) * 1000)))
        } catch let error as HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
                throw UpstreamError(kind: .timeout, message: "no answer from \(Self.host(url)) within \(timeout) s")
            }
            throw UpstreamError(kind: .connection, message: "\(Self.host(url)): \(error)")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw UpstreamError(kind: .connection, message: "\(Self.host(url)): \(error)")
        }
        guard (200..<300).contains(response.status.code) else {
            let bytes = (try? await response.body.collect(upTo: 1024 * 1024)) ?? ByteBuffer()
            let data = Data(bytes.readableBytesView)
            let json = try? JSONValue.parse(data)
            let message =
                json?["error"]?["message"]?.string ?? json?["message"]?.string
                ?? String(decoding: data.prefix(500), as: UTF8.self)
            throw UpstreamError(
                kind: .status, status: Int(response.status.code), message: message.isEmpty ? "\(response.status)" : message,
                body: json, retryAfter: response.headers.first(name: "retry-after").flatMap(Double.init))
        }
        return response
    }

    func collect(_ response: HTTPClientResponse, url: String) async throws -> Data {
        do {
            let buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
            return Data(buffer.readableBytesView)
        } catch let error as HTTPClientError where error == .readTimeout {
            throw UpstreamError(kind: .timeout, message: "\(Self.host(url)) stopped sending its answer")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw UpstreamError(kind: .connection, message: "\(Self.host(url)): \(error)")
        }
    }

    /// Refuses a streaming answer that is not an event stream (a JSON body, say) before any byte reaches
    /// the client, so the call fails as the same call without streaming would.
    func requireEventStream(_ response: HTTPClientResponse, url: String) async throws {
        let type = response.headers.first(name: "content-type")?.lowercased() ?? ""
        guard !type.isEmpty, !type.contains("text/event-stream") else { return }
        let bytes = (try? await response.body.collect(upTo: 1024 * 1024)) ?? ByteBuffer()
        let data = Data(bytes.readableBytesView)
        let json = try? JSONValue.parse(data)
        let detail = json?["error"]?["message"]?.string ?? json?["message"]?.string
        throw UpstreamError(
            kind: .protocolError,
            message: "\(Self.host(url)) answered a streaming request with \(type), not an event stream"
                + (detail.map { ": \($0)" } ?? ""), body: json)
    }

    /// Streams SSE events of a successful response, until the upstream ends it. A gap of more than
    /// `idleTimeout` between two chunks ends the stream with a timeout error; a body that held bytes but no
    /// event at all ends it with a protocol error.
    func events(_ response: HTTPClientResponse, url: String, idleTimeout: Double) -> AsyncThrowingStream<SSEParser.Event, any Error> {
        let (stream, continuation) = AsyncThrowingStream<SSEParser.Event, any Error>.makeStream()
        let progress = ChunkCounter()
        let task = Task {
            var parser = SSEParser()
            var sawEvent = false
            var sawBytes = false
            do {
                for try await chunk in response.body {
                    progress.count.add(1, ordering: .relaxed)
                    if chunk.readableBytes > 0 { sawBytes = true }
                    for event in parser.feed(chunk.readableBytesView) {
                        sawEvent = true
                        continuation.yield(event)
                    }
                }
                if let last = parser.finish() {
                    sawEvent = true
                    continuation.yield(last)
                }
                if sawBytes, !sawEvent {
                    continuation.finish(throwing: UpstreamError(kind: .protocolError, message: "\(Self.host(url)) sent a body that is not an event stream"))
                } else {
                    continuation.finish()
                }
            } catch is CancellationError {
                continuation.finish(throwing: CancellationError())
            } catch let error as HTTPClientError where error == .readTimeout {
                continuation.finish(throwing: UpstreamError(kind: .timeout, message: "\(Self.host(url)) went quiet mid-stream"))
            } catch {
                continuation.finish(throwing: UpstreamError(kind: .connection, message: "\(Self.host(url)) broke the stream: \(error)"))
            }
        }
        // The watchdog: no chunk for `idleTimeout` ends the stream (the reader is cancelled).
        let watchdog = Task {
            let gap = Duration.clampedSeconds(idleTimeout)
            guard gap > .zero else { return }
            var seen = -1
            while !Task.isCancelled {
                do { try await Task.sleep(for: gap) } catch { return }
                let now = progress.count.load(ordering: .relaxed)
                if now == seen {
                    continuation.finish(
                        throwing: UpstreamError(
                            kind: .timeout, message: "\(Self.host(url)) sent nothing for \(InputBounds.formatSeconds(idleTimeout)) s mid-stream"))
                    task.cancel()
                    return
                }
                seen = now
            }
        }
        continuation.onTermination = { _ in
            task.cancel()
            watchdog.cancel()
        }
        return stream
    }

    static func host(_ url: String) -> String { URLComponents(string: url)?.host ?? url }
}

/// Chunks received so far by a stream's reader, for its watchdog.
final class ChunkCounter: Sendable {
    let count = Atomic<Int>(0)
}

/// The upstream key, read from the environment variable named in config (never from a request).
func apiKey(_ call: UpstreamCall, environment: [String: String]) throws -> String? {
    guard let name = call.deployment.apiKeyEnv ?? call.provider.apiKeyEnv else { return nil }
    guard let key = environment[name], !key.isEmpty else {
        throw UpstreamError(kind: .configuration, message: "environment variable \(name) (the key of provider \(call.provider.name)) is not set")
    }
    return key
}

func baseURL(_ call: UpstreamCall) -> String {
    let base = call.deployment.baseURL ?? call.provider.baseURL
    return base.hasSuffix("/") ? String(base.dropLast()) : base
}

func parseJSON(_ data: Data, from url: String) throws -> JSONValue {
    do {
        return try JSONValue.parse(data)
    } catch {
        throw UpstreamError(kind: .protocolError, message: "\(UpstreamHTTP.host(url)) sent a body that is not JSON")
    }
}

/// Any OpenAI-compatible API (OpenAI, Azure OpenAI v1, vLLM, Ollama, llama.cpp, Together, Groq, Mistral, DeepSeek...).
public struct OpenAICompatibleProvider: LLMProvider {
    let http: UpstreamHTTP
    let environment: [String: String]

    public init(http: UpstreamHTTP, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.http = http
        self.environment = environment
    }

    func headers(_ call: UpstreamCall) throws -> [(String, String)] {
        var headers = call.provider.headers.map { ($0.key, $0.value) }
        if let key = try apiKey(call, environment: environment) { headers.append(("authorization", "Bearer \(key)")) }
        return headers
    }

    static func path(_ operation: GatewayOperation) -> String {
        switch operation {
        case .chat, .messages: "/chat/completions"
        case .completion: "/completions"
        case .embedding: "/embeddings"
        }
    }

    public func send(_ call: UpstreamCall) async throws -> UpstreamResponse {
        let url = baseURL(call) + Self.path(call.operation)
        var body = call.body
        if call.operation == .messages { body = try AnthropicTranslation.chatRequest(fromMessages: call.body, model: call.deployment.model) }
        body["stream"] = nil
        body["stream_options"] = nil
        let response = try await http.post(url: url, body: body.data(), headers: try headers(call), timeout: call.timeout)
        let data = try await http.collect(response, url: url)
        let json = try parseJSON(data, from: url)
        let usage = OpenAIFormat.usage(json["usage"])
        let outcome = OpenAIFormat.outcome(json)
        if call.operation == .messages {
            let message = AnthropicTranslation.messageResponse(fromChat: json)
            return UpstreamResponse(
                body: message.data(), usage: usage, model: json["model"]?.string, outputText: OpenAIFormat.outputText(json),
                finishReason: outcome.finishReason, tools: outcome.tools)
        }
        let text = call.operation == .embedding ? nil : OpenAIFormat.outputText(json)
        return UpstreamResponse(
            body: data, usage: usage, model: json["model"]?.string, outputText: text, finishReason: outcome.finishReason, tools: outcome.tools)
    }

    public func stream(_ call: UpstreamCall) async throws -> AsyncThrowingStream<StreamEvent, any Error> {
        guard call.operation != .embedding else {
            throw UpstreamError(kind: .status, status: 400, message: "embeddings cannot be streamed")
        }
        let url = baseURL(call) + Self.path(call.operation)
        var body = call.body
        let translating = call.operation == .messages
        if translating { body = try AnthropicTranslation.chatRequest(fromMessages: call.body, model: call.deployment.model) }
        body["stream"] = true
        // Always ask for usage, so streamed calls are costed; hide the extra chunk from clients that did not ask.
        let clientWantsUsage = translating || call.body["stream_options"]?["include_usage"]?.bool == true
        var options = body["stream_options"]?.object ?? [:]
        options["include_usage"] = true
        body["stream_options"] = .object(options)
        let response = try await http.post(url: url, body: body.data(), headers: try headers(call), timeout: call.timeout)
        try await http.requireEventStream(response, url: url)
        let events = http.events(response, url: url, idleTimeout: call.timeout)
        let (stream, continuation) = AsyncThrowingStream<StreamEvent, any Error>.makeStream()
        let task = Task {
            var eventer = AnthropicTranslation.MessageEventer()
            var done = false
            do {
                for try await event in events {
                    if event.data == "[DONE]" {
                        done = true
                        break
                    }
                    guard let chunk = try? JSONValue.parse(Data(event.data.utf8)) else {
                        throw UpstreamError(kind: .protocolError, message: "\(UpstreamHTTP.host(url)) sent a stream event that is not JSON")
                    }
                    if let error = chunk["error"], chunk["choices"] == nil {
                        throw UpstreamError(kind: .protocolError, message: error["message"]?.string ?? "upstream stream error", body: chunk)
                    }
                    let usage = OpenAIFormat.usage(chunk["usage"])
                    if translating {
                        for out in eventer.translate(chunk: chunk) { continuation.yield(out) }
                        continue
                    }
                    let usageOnly = (chunk["choices"]?.array?.isEmpty ?? true) && usage != nil
                    continuation.yield(
                        StreamEvent(
                            data: chunk, text: OpenAIFormat.deltaText(chunk), usage: usage, model: chunk["model"]?.string,
                            forClient: !usageOnly || clientWantsUsage))
                }
                // A stream cut before its end marker is a broken answer, not a short one.
                guard done else {
                    throw UpstreamError(kind: .protocolError, message: "\(UpstreamHTTP.host(url)) ended the stream without [DONE]")
                }
                if translating { for out in eventer.finish() { continuation.yield(out) } }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}

/// Anthropic's native Messages API. OpenAI-format chat requests are translated both ways.
public struct AnthropicProvider: LLMProvider {
    let http: UpstreamHTTP
    let environment: [String: String]
    public static let apiVersion = "2023-06-01"

    public init(http: UpstreamHTTP, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.http = http
        self.environment = environment
    }

    func headers(_ call: UpstreamCall) throws -> [(String, String)] {
        var headers = call.provider.headers.map { ($0.key, $0.value) }
        if !headers.contains(where: { $0.0.lowercased() == "anthropic-version" }) { headers.append(("anthropic-version", Self.apiVersion)) }
        if let key = try apiKey(call, environment: environment) { headers.append(("x-api-key", key)) }
        return headers
    }

    func requestBody(_ call: UpstreamCall) throws -> JSONValue {
        switch call.operation {
        case .messages:
            var body = call.body
            body["model"] = .string(call.deployment.model)
            return body
        case .chat:
            return try AnthropicTranslation.messagesRequest(fromChat: call.body, model: call.deployment.model)
        case .completion, .embedding:
            throw UpstreamError(
                kind: .status, status: 400,
                message: "\(call.operation == .embedding ? "embeddings" : "text completions") are not available from Anthropic deployments")
        }
    }

    public func send(_ call: UpstreamCall) async throws -> UpstreamResponse {
        let url = baseURL(call) + "/messages"
        var body = try requestBody(call)
        body["stream"] = nil
        let response = try await http.post(url: url, body: body.data(), headers: try headers(call), timeout: call.timeout)
        let data = try await http.collect(response, url: url)
        let json = try parseJSON(data, from: url)
        let usage = AnthropicTranslation.usage(anthropic: json["usage"])
        let text = (json["content"]?.array ?? []).compactMap { block -> String? in
            if let text = block["text"]?.string { return text }
            if block["type"]?.string == "tool_use" { return "\(block["name"]?.string ?? "")(\((block["input"] ?? .null).jsonString()))" }
            return nil
        }.joined(separator: "\n")
        let finish = json["stop_reason"]?.string
        let tools = (json["content"]?.array ?? []).compactMap { $0["type"]?.string == "tool_use" ? $0["name"]?.string : nil }
        if call.operation == .messages {
            return UpstreamResponse(body: data, usage: usage, model: json["model"]?.string, outputText: text, finishReason: finish, tools: tools)
        }
        let chat = AnthropicTranslation.chatResponse(fromMessage: json, created: Int(Date().timeIntervalSince1970))
        return UpstreamResponse(body: chat.data(), usage: usage, model: json["model"]?.string, outputText: text, finishReason: finish, tools: tools)
    }

    public func stream(_ call: UpstreamCall) async throws -> AsyncThrowingStream<StreamEvent, any Error> {
        let url = baseURL(call) + "/messages"
        var body = try requestBody(call)
        body["stream"] = true
        let response = try await http.post(url: url, body: body.data(), headers: try headers(call), timeout: call.timeout)
        try await http.requireEventStream(response, url: url)
        let events = http.events(response, url: url, idleTimeout: call.timeout)
        let native = call.operation == .messages
        let includeUsage = call.body["stream_options"]?["include_usage"]?.bool == true
        let (stream, continuation) = AsyncThrowingStream<StreamEvent, any Error>.makeStream()
        let task = Task {
            var chunker = AnthropicTranslation.ChatChunker(created: Int(Date().timeIntervalSince1970), includeUsage: includeUsage)
            var usage = TokenUsage(inputTokens: 0, outputTokens: 0)
            var stopped = false
            do {
                for try await event in events {
                    guard let data = try? JSONValue.parse(Data(event.data.utf8)) else {
                        throw UpstreamError(kind: .protocolError, message: "\(UpstreamHTTP.host(url)) sent a stream event that is not JSON")
                    }
                    if (data["type"]?.string ?? event.name) == "message_stop" { stopped = true }
                    if native {
                        let type = data["type"]?.string ?? event.name ?? ""
                        if type == "error" {
                            throw UpstreamError(kind: .protocolError, message: data["error"]?["message"]?.string ?? "upstream stream error", body: data)
                        }
                        var reported: TokenUsage?
                        if type == "message_start", let start = AnthropicTranslation.usage(anthropic: data["message"]?["usage"]) {
                            usage = start
                            reported = usage
                        } else if type == "message_delta", let output = data["usage"]?["output_tokens"]?.int {
                            usage.outputTokens = output
                            reported = usage
                        }
                        let text = data["delta"]?["text"]?.string ?? data["delta"]?["partial_json"]?.string
                        continuation.yield(
                            StreamEvent(
                                name: event.name ?? type, data: data, text: text, usage: reported,
                                model: data["message"]?["model"]?.string))
                    } else {
                        for out in try chunker.translate(name: event.name, data: data) { continuation.yield(out) }
                    }
                }
                guard stopped else {
                    throw UpstreamError(kind: .protocolError, message: "\(UpstreamHTTP.host(url)) ended the stream without message_stop")
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
