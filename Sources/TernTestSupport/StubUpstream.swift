import Foundation
import Hummingbird
import HTTPTypes
public import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
public import TernCore
import TernProviders

/// A real HTTP server on a loopback port that speaks the OpenAI and Anthropic wire formats, with
/// scripted behaviour per model: answers, tool calls, error statuses, 429s, latency, dropped
/// connections and slow or broken streams; models named `echo` or `echo-*` repeat the last message,
/// `judge-*` models pass every llm-rubric.
/// For tests and benchmarks only; Tern never defaults to it.
public final class StubUpstream: Sendable {
    public enum Action: Sendable {
        /// A normal answer (text defaults to "Hello from <model>").
        case reply(text: String? = nil, inputTokens: Int = 10, outputTokens: Int = 5)
        /// An answer that calls a tool.
        case toolCall(name: String, arguments: String)
        /// An error status with the provider's error body.
        case status(Int, message: String = "stub error", retryAfter: Int? = nil)
        /// Waits, then does the next action.
        indirect case delay(Duration, then: Action)
        /// No answer at all until the stub stops (then 503): a call that is in flight for sure whenever
        /// the test acts, however slow the machine.
        case hang
        /// Starts the response, then breaks the connection without finishing it.
        case dropConnection
        /// Streams `chunks` chunks of the answer, then breaks the connection.
        case streamThenDrop(chunks: Int)
        /// Streams the answer with a pause before each chunk.
        case slowStream(chunkDelay: Duration, text: String? = nil)
        /// Streams `chunks` chunks, then sends nothing for `stall` (the connection stays open), then ends.
        case streamThenStall(chunks: Int, stall: Duration)
        /// Answers a streaming request with a plain JSON answer (`application/json`), as a broken proxy might.
        case jsonForStream
        /// Sends `text/event-stream` whose body holds no event at all.
        case notAnEventStream
        /// Streams every chunk but the end marker (`[DONE]`, Anthropic's `message_stop`), then closes normally.
        case streamWithoutEnd
    }

    public struct Recorded: Sendable {
        public var path: String
        public var model: String?
        public var authorization: String?
        public var apiKey: String?
        public var body: JSONValue
    }

    struct State {
        var scripts: [String: [Action]] = [:]
        var requests: [Recorded] = []
        var cancelledStreams = 0
        var cancelWaiters: [Awaited<Void>] = []
        var requestWaiters: [(count: Int, awaited: Awaited<Void>)] = []
        var defaultLatency: Duration = .zero
        var responders: [String: @Sendable (JSONValue) -> String] = [:]
        var vectors: [String: [String: [Double]]] = [:]
    }

    private let state = Mutex(State())
    public let port: Int
    private let stopper: @Sendable () async -> Void

    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    init(port: Int, stopper: @escaping @Sendable () async -> Void) {
        self.port = port
        self.stopper = stopper
    }

    /// Actions for the next requests naming `model`, used in order; afterwards requests get `.reply()`.
    public func script(model: String, _ actions: [Action]) {
        state.withLock { $0.scripts[model, default: []].append(contentsOf: actions) }
    }

    /// Answers the requests naming `model` that no script covers with `answer(body)` (the request
    /// body): a judge model that answers what it is shown, whatever order calls arrive in.
    public func answer(model: String, _ answer: @escaping @Sendable (JSONValue) -> String) {
        state.withLock { $0.responders[model] = answer }
    }

    /// The vectors `POST /embeddings` returns for `model`, by input text; other texts get a stable
    /// pseudo-random vector of the same length (8 without a table).
    public func embeddings(model: String, _ vectors: [String: [Double]]) {
        state.withLock { $0.vectors[model, default: [:]].merge(vectors) { _, new in new } }
    }

    /// Latency added to every request without a script.
    public func setDefaultLatency(_ latency: Duration) { state.withLock { $0.defaultLatency = latency } }

    public var requests: [Recorded] { state.withLock { $0.requests } }

    public func requests(model: String) -> [Recorded] { requests.filter { $0.model == model } }

    public var cancelledStreams: Int { state.withLock { $0.cancelledStreams } }

    /// Waits until a client has walked away from a stream the stub was sending (fails after `testWaitLimit`).
    public func waitForCancelledStream() async throws {
        let awaited = Awaited<Void>("a client to walk away from a stream")
        let done = state.withLock { state -> Bool in
            if state.cancelledStreams > 0 { return true }
            state.cancelWaiters.append(awaited)
            return false
        }
        if done { awaited.fulfil(()) }
        try await awaited.value()
    }

    func nextAction(model: String) -> (Action, Duration) {
        state.withLock { state in
            if var script = state.scripts[model], !script.isEmpty {
                let action = script.removeFirst()
                state.scripts[model] = script
                return (action, .zero)
            }
            // Models named tool-<name> answer with a call of that tool, for clients that cannot script the stub.
            if model.hasPrefix("tool-") {
                return (.toolCall(name: String(model.dropFirst(5)), arguments: #"{"location":"Paris"}"#), state.defaultLatency)
            }
            // Models named judge-<anything> pass every llm-rubric (for benchmarks of graded runs).
            if model.hasPrefix("judge-"), state.responders[model] == nil {
                return (.reply(text: #"{"reason": "stub judge", "pass": true, "score": 1}"#), state.defaultLatency)
            }
            return (.reply(), state.defaultLatency)
        }
    }

    func record(_ recorded: Recorded) {
        let ready = state.withLock { state -> [Awaited<Void>] in
            state.requests.append(recorded)
            let count = state.requests.count
            let ready = state.requestWaiters.filter { $0.count <= count }.map(\.awaited)
            state.requestWaiters.removeAll { $0.count <= count }
            return ready
        }
        for waiter in ready { waiter.fulfil(()) }
    }

    /// Waits until the stub has received `count` requests in all (fails after `testWaitLimit`).
    public func waitForRequests(_ count: Int) async throws {
        let awaited = Awaited<Void>("\(count) requests at the stub upstream")
        let done = state.withLock { state -> Bool in
            if state.requests.count >= count { return true }
            state.requestWaiters.append((count, awaited))
            return false
        }
        if done { awaited.fulfil(()) }
        try await awaited.value()
    }

    func streamCancelled() {
        let waiters = state.withLock { state -> [Awaited<Void>] in
            state.cancelledStreams += 1
            defer { state.cancelWaiters = [] }
            return state.cancelWaiters
        }
        for waiter in waiters { waiter.fulfil(()) }
    }

    private let stopping = Awaited<Void>("the stub upstream to stop")

    public func stop() async {
        stopping.fulfil(())
        await stopper()
    }

    /// Starts a stub on a free loopback port (or `port`).
    public static func start(port: Int = 0, logger: Logger = .quiet) async throws -> StubUpstream {
        let router = Router()
        let box = Mutex<StubUpstream?>(nil)
        @Sendable func stub() -> StubUpstream { box.withLock { $0! } }
        router.post("v1/chat/completions") { request, _ in try await stub().respond(request, api: .chat) }
        router.post("v1/completions") { request, _ in try await stub().respond(request, api: .completion) }
        router.post("v1/embeddings") { request, _ in try await stub().respond(request, api: .embedding) }
        router.post("v1/messages") { request, _ in try await stub().respond(request, api: .messages) }
        let server = try await BackgroundServer.start(logger: logger) { onRunning in
            Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
        }
        let instance = StubUpstream(port: server.port) { await server.stop() }
        box.withLock { $0 = instance }
        return instance
    }

    // MARK: - Responses

    func respond(_ request: Request, api: GatewayOperation) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 16 * 1024 * 1024)
        let body = (try? JSONValue.parse(Data(buffer.readableBytesView))) ?? .null
        let model = body["model"]?.string ?? "unknown"
        record(
            Recorded(
                path: request.uri.path, model: model, authorization: request.headers[.authorization],
                apiKey: request.headers[HTTPField.Name("x-api-key")!], body: body))
        var (action, latency) = nextAction(model: model)
        let (responder, vectors) = state.withLock { ($0.responders[model], $0.vectors[model]) }
        if case .reply(nil, let input, let output) = action, let responder { action = .reply(text: responder(body), inputTokens: input, outputTokens: output) }
        if latency > .zero { try await Task.sleep(for: latency) }
        while case .delay(let pause, let next) = action {
            try await Task.sleep(for: pause)
            action = next
        }
        let stream = body["stream"]?.bool == true
        let includeUsage = body["stream_options"]?["include_usage"]?.bool == true
        switch action {
        case .hang:
            _ = try? await stopping.value(within: .seconds(3600))
            return Response(status: .serviceUnavailable)
        case .status(let code, let message, let retryAfter):
            var headers: HTTPFields = [.contentType: "application/json"]
            if let retryAfter { headers[HTTPField.Name("retry-after")!] = String(retryAfter) }
            let error: JSONValue =
                api == .messages
                ? ["type": "error", "error": ["type": code == 429 ? "rate_limit_error" : "api_error", "message": .string(message)]]
                : ["error": ["message": .string(message), "type": code == 429 ? "rate_limit_error" : "server_error", "param": .null, "code": .null]]
            return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: error.data())))
        case .dropConnection:
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "{\"id\": \"partial"))
                    throw StubDrop()
                })
        case .reply(let text, let input, let output):
            let answer = Answer(text: text ?? Self.echo(model: model, body: body) ?? "Hello from \(model)", tool: nil, input: input, output: output)
            return stream
                ? streamed(answer, api: api, model: model, includeUsage: includeUsage, delay: .zero, dropAfter: nil)
                : complete(answer, api: api, model: model, body: body, vectors: vectors)
        case .toolCall(let name, let arguments):
            let answer = Answer(text: nil, tool: (name, arguments), input: 20, output: 12)
            return stream
                ? streamed(answer, api: api, model: model, includeUsage: includeUsage, delay: .zero, dropAfter: nil)
                : complete(answer, api: api, model: model, body: body, vectors: nil)
        case .streamThenDrop(let chunks):
            return streamed(
                Answer(text: "one two three four five six seven eight", tool: nil, input: 10, output: 8), api: api,
                model: model, includeUsage: includeUsage, delay: .zero, dropAfter: chunks)
        case .slowStream(let delay, let text):
            return streamed(
                Answer(text: text ?? "slow words arrive one at a time here", tool: nil, input: 10, output: 8), api: api,
                model: model, includeUsage: includeUsage, delay: delay, dropAfter: nil)
        case .streamThenStall(let chunks, let stall):
            return streamed(
                Answer(text: "one two three four five six seven eight", tool: nil, input: 10, output: 8), api: api,
                model: model, includeUsage: includeUsage, delay: .zero, dropAfter: nil, stallAfter: (chunks, stall))
        case .jsonForStream:
            return complete(Answer(text: "a JSON answer to a stream", tool: nil, input: 10, output: 5), api: api, model: model, body: body, vectors: nil)
        case .notAnEventStream:
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream"],
                body: .init(byteBuffer: ByteBuffer(string: "this is not an event stream\nat all")))
        case .streamWithoutEnd:
            return streamed(
                Answer(text: "cut short before the end", tool: nil, input: 10, output: 5), api: api, model: model,
                includeUsage: includeUsage, delay: .zero, dropAfter: nil, withoutEnd: true)
        case .delay:
            fatalError("unreachable")
        }
    }

    /// Models named `echo` or `echo-<anything>` answer with the last message's text (or the
    /// completion prompt), so answers follow the request however many calls run at once.
    static func echo(model: String, body: JSONValue) -> String? {
        guard model == "echo" || model.hasPrefix("echo-") else { return nil }
        if let prompt = body["prompt"]?.string { return prompt }
        guard let content = body["messages"]?.array?.last?["content"] else { return "" }
        if let text = content.string { return text }
        return (content.array ?? []).compactMap { $0["text"]?.string }.joined(separator: "\n")
    }

    struct Answer {
        var text: String?
        var tool: (name: String, arguments: String)?
        var input: Int
        var output: Int
    }

    struct StubDrop: Error {}

    func json(_ value: JSONValue) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.data())))
    }

    func complete(_ answer: Answer, api: GatewayOperation, model: String, body: JSONValue, vectors: [String: [Double]]?) -> Response {
        let created = JSONValue.number(Double(Int(Date().timeIntervalSince1970)))
        switch api {
        case .embedding:
            let inputs: [JSONValue] = body["input"]?.array ?? [body["input"] ?? ""]
            let size = vectors?.values.first?.count ?? 8
            let data: [JSONValue] = inputs.enumerated().map { index, input in
                let seed = Router_unitHash(input.jsonString())
                let vector = input.string.flatMap { vectors?[$0] } ?? (0..<size).map { sin(Double($0 + 1) * seed * 10) }
                return ["object": "embedding", "index": .number(Double(index)), "embedding": .array(vector.map(JSONValue.number))]
            }
            return json([
                "object": "list", "data": .array(data), "model": .string(model),
                "usage": ["prompt_tokens": .number(Double(answer.input)), "total_tokens": .number(Double(answer.input))],
            ])
        case .completion:
            return json([
                "id": "cmpl-stub", "object": "text_completion", "created": created, "model": .string(model),
                "choices": [["index": 0, "text": .string(answer.text ?? ""), "finish_reason": "stop", "logprobs": .null]],
                "usage": usage(answer),
            ])
        case .chat:
            var message: [String: JSONValue] = ["role": "assistant", "content": answer.text.map(JSONValue.string) ?? .null]
            if let tool = answer.tool {
                message["tool_calls"] = [
                    [
                        "id": "call_stub_1", "type": "function",
                        "function": ["name": .string(tool.name), "arguments": .string(tool.arguments)],
                    ]
                ]
            }
            return json([
                "id": "chatcmpl-stub", "object": "chat.completion", "created": created, "model": .string(model),
                "choices": [
                    [
                        "index": 0, "message": .object(message), "finish_reason": answer.tool == nil ? "stop" : "tool_calls",
                        "logprobs": .null,
                    ]
                ],
                "usage": usage(answer), "system_fingerprint": "stub",
            ])
        case .messages:
            var content: [JSONValue] = []
            if let text = answer.text { content.append(["type": "text", "text": .string(text)]) }
            if let tool = answer.tool {
                content.append([
                    "type": "tool_use", "id": "toolu_stub_1", "name": .string(tool.name),
                    "input": (try? JSONValue.parse(Data(tool.arguments.utf8))) ?? [:],
                ])
            }
            return json([
                "id": "msg_stub", "type": "message", "role": "assistant", "model": .string(model), "content": .array(content),
                "stop_reason": answer.tool == nil ? "end_turn" : "tool_use", "stop_sequence": .null,
                "usage": ["input_tokens": .number(Double(answer.input)), "output_tokens": .number(Double(answer.output))],
            ])
        }
    }

    func usage(_ answer: Answer) -> JSONValue {
        [
            "prompt_tokens": .number(Double(answer.input)), "completion_tokens": .number(Double(answer.output)),
            "total_tokens": .number(Double(answer.input + answer.output)),
        ]
    }

    func streamed(
        _ answer: Answer, api: GatewayOperation, model: String, includeUsage: Bool, delay: Duration, dropAfter: Int?,
        stallAfter: (chunks: Int, stall: Duration)? = nil, withoutEnd: Bool = false
    ) -> Response {
        var events = api == .messages ? anthropicEvents(answer, model: model) : openAIChunks(answer, api: api, model: model, includeUsage: includeUsage)
        if withoutEnd { events.removeLast() }
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { [self, events] writer in
                do {
                    for (index, event) in events.enumerated() {
                        if let dropAfter, index >= dropAfter { throw StubDrop() }
                        if let stallAfter, index == stallAfter.chunks { try await Task.sleep(for: stallAfter.stall) }
                        if delay > .zero { try await Task.sleep(for: delay) }
                        try await writer.write(ByteBuffer(string: event))
                    }
                    try await writer.finish(nil)
                } catch is StubDrop {
                    throw StubDrop()
                } catch {
                    streamCancelled()
                    throw error
                }
            })
    }

    func words(_ text: String) -> [String] {
        var pieces: [String] = []
        for (index, word) in text.split(separator: " ").enumerated() { pieces.append(index == 0 ? String(word) : " " + word) }
        return pieces
    }

    func openAIChunks(_ answer: Answer, api: GatewayOperation, model: String, includeUsage: Bool) -> [String] {
        let created = JSONValue.number(Double(Int(Date().timeIntervalSince1970)))
        let isChat = api == .chat
        func chunk(_ choice: JSONValue) -> String {
            let value: JSONValue = [
                "id": "chatcmpl-stub", "object": isChat ? "chat.completion.chunk" : "text_completion", "created": created,
                "model": .string(model), "choices": [choice],
            ]
            return SSEEncoder.encode(data: value.jsonString())
        }
        var out: [String] = []
        if isChat { out.append(chunk(["index": 0, "delta": ["role": "assistant", "content": ""], "finish_reason": .null])) }
        for piece in words(answer.text ?? "") {
            out.append(
                chunk(
                    isChat
                        ? ["index": 0, "delta": ["content": .string(piece)], "finish_reason": .null]
                        : ["index": 0, "text": .string(piece), "finish_reason": .null]))
        }
        if let tool = answer.tool {
            out.append(
                chunk([
                    "index": 0,
                    "delta": [
                        "tool_calls": [
                            [
                                "index": 0, "id": "call_stub_1", "type": "function",
                                "function": ["name": .string(tool.name), "arguments": ""],
                            ]
                        ]
                    ], "finish_reason": .null,
                ]))
            let half = tool.arguments.count / 2
            for part in [String(tool.arguments.prefix(half)), String(tool.arguments.dropFirst(half))] {
                out.append(chunk(["index": 0, "delta": ["tool_calls": [["index": 0, "function": ["arguments": .string(part)]]]], "finish_reason": .null]))
            }
        }
        let finish: JSONValue = answer.tool == nil ? "stop" : "tool_calls"
        out.append(chunk(isChat ? ["index": 0, "delta": [:], "finish_reason": finish] : ["index": 0, "text": "", "finish_reason": finish]))
        if includeUsage {
            let value: JSONValue = [
                "id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": created, "model": .string(model),
                "choices": [], "usage": usage(answer),
            ]
            out.append(SSEEncoder.encode(data: value.jsonString()))
        }
        out.append("data: [DONE]\n\n")
        return out
    }

    func anthropicEvents(_ answer: Answer, model: String) -> [String] {
        func event(_ name: String, _ data: JSONValue) -> String { SSEEncoder.encode(name: name, data: data.jsonString()) }
        var out = [
            event(
                "message_start",
                [
                    "type": "message_start",
                    "message": [
                        "id": "msg_stub", "type": "message", "role": "assistant", "model": .string(model), "content": [], "stop_reason": .null,
                        "stop_sequence": .null, "usage": ["input_tokens": .number(Double(answer.input)), "output_tokens": 1],
                    ],
                ])
        ]
        var index = 0
        if let text = answer.text {
            out.append(event("content_block_start", ["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]]))
            for piece in words(text) {
                out.append(event("content_block_delta", ["type": "content_block_delta", "index": 0, "delta": ["type": "text_delta", "text": .string(piece)]]))
            }
            out.append(event("content_block_stop", ["type": "content_block_stop", "index": 0]))
            index = 1
        }
        if let tool = answer.tool {
            let position = JSONValue.number(Double(index))
            out.append(
                event(
                    "content_block_start",
                    [
                        "type": "content_block_start", "index": position,
                        "content_block": ["type": "tool_use", "id": "toolu_stub_1", "name": .string(tool.name), "input": [:]],
                    ]))
            out.append(
                event(
                    "content_block_delta",
                    [
                        "type": "content_block_delta", "index": position,
                        "delta": ["type": "input_json_delta", "partial_json": .string(tool.arguments)],
                    ]))
            out.append(event("content_block_stop", ["type": "content_block_stop", "index": position]))
        }
        out.append(
            event(
                "message_delta",
                [
                    "type": "message_delta", "delta": ["stop_reason": answer.tool == nil ? "end_turn" : "tool_use", "stop_sequence": .null],
                    "usage": ["output_tokens": .number(Double(answer.output))],
                ]))
        out.append(event("message_stop", ["type": "message_stop"]))
        return out
    }
}

/// A stable pseudo-random number in [0, 1) for a string.
func Router_unitHash(_ text: String) -> Double {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    return Double(hash >> 11) / Double(UInt64(1) << 53)
}
