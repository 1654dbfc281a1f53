import Foundation
import TernCore

/// The gateway's demo provider (`type: echo`): answers every chat, completion and Anthropic
/// messages call with the caller's last user message, in the caller's wire format, streamed or not,
/// with token counts estimated from the text (about four characters a token) and a cost of 0. It
/// lets a new user try the gateway, traces, prompts and experiments without a provider key. It is a
/// demo, not a model: it does not follow instructions, and judges through it give no verdict.
/// Answers carry `system_fingerprint: "tern-echo-demo"` (OpenAI format) so nobody mistakes them for
/// a model's.
public struct EchoProvider: LLMProvider {
    public static let fingerprint = "tern-echo-demo"

    public init() {}

    public func send(_ call: UpstreamCall) async throws -> UpstreamResponse {
        let answer = try Self.answer(call)
        let usage = TokenUsage(inputTokens: answer.inputTokens, outputTokens: Self.tokens(answer.text))
        let created = Int(Date().timeIntervalSince1970)
        let usageJSON: JSONValue = [
            "prompt_tokens": .number(Double(usage.inputTokens)), "completion_tokens": .number(Double(usage.outputTokens)),
            "total_tokens": .number(Double(usage.inputTokens + usage.outputTokens)),
        ]
        let chat: JSONValue = [
            "id": .string("chatcmpl-echo-" + TernID.make()), "object": "chat.completion", "created": .number(Double(created)),
            "model": .string(call.deployment.model), "system_fingerprint": .string(Self.fingerprint),
            "choices": [["index": 0, "message": ["role": "assistant", "content": .string(answer.text)], "finish_reason": .string(answer.finish)]],
            "usage": usageJSON,
        ]
        let body: JSONValue
        switch call.operation {
        case .messages: body = AnthropicTranslation.messageResponse(fromChat: chat)
        case .completion:
            body = [
                "id": .string("cmpl-echo-" + TernID.make()), "object": "text_completion", "created": .number(Double(created)),
                "model": .string(call.deployment.model), "system_fingerprint": .string(Self.fingerprint),
                "choices": [["index": 0, "text": .string(answer.text), "logprobs": .null, "finish_reason": .string(answer.finish)]],
                "usage": usageJSON,
            ]
        default: body = chat
        }
        return UpstreamResponse(body: body.data(), usage: usage, model: call.deployment.model, outputText: answer.text)
    }

    public func stream(_ call: UpstreamCall) async throws -> AsyncThrowingStream<StreamEvent, any Error> {
        let answer = try Self.answer(call)
        let usage = TokenUsage(inputTokens: answer.inputTokens, outputTokens: Self.tokens(answer.text))
        let id = "chatcmpl-echo-" + TernID.make()
        let created = Double(Int(Date().timeIntervalSince1970))
        let model = call.deployment.model
        let completion = call.operation == .completion
        func chunk(_ delta: JSONValue, finish: String? = nil, text: String? = nil) -> JSONValue {
            let choice: JSONValue =
                completion
                ? ["index": 0, "text": .string(text ?? ""), "logprobs": .null, "finish_reason": finish.map(JSONValue.string) ?? .null]
                : ["index": 0, "delta": delta, "finish_reason": finish.map(JSONValue.string) ?? .null]
            return [
                "id": .string(id), "object": completion ? "text_completion" : "chat.completion.chunk", "created": .number(created),
                "model": .string(model), "system_fingerprint": .string(Self.fingerprint), "choices": [choice],
            ]
        }
        var chunks: [(JSONValue, String?)] = []
        if !completion { chunks.append((chunk(["role": "assistant", "content": ""]), nil)) }
        for piece in Self.pieces(answer.text) { chunks.append((chunk(["content": .string(piece)], text: piece), piece)) }
        chunks.append((chunk([:], finish: answer.finish), nil))
        let usageChunk: JSONValue = [
            "id": .string(id), "object": completion ? "text_completion" : "chat.completion.chunk", "created": .number(created),
            "model": .string(model), "choices": [],
            "usage": [
                "prompt_tokens": .number(Double(usage.inputTokens)), "completion_tokens": .number(Double(usage.outputTokens)),
                "total_tokens": .number(Double(usage.inputTokens + usage.outputTokens)),
            ],
        ]
        let translating = call.operation == .messages
        let clientWantsUsage = translating || call.body["stream_options"]?["include_usage"]?.bool == true
        let (stream, continuation) = AsyncThrowingStream<StreamEvent, any Error>.makeStream()
        if translating {
            var eventer = AnthropicTranslation.MessageEventer()
            for (data, _) in chunks + [(usageChunk, nil)] { for event in eventer.translate(chunk: data) { continuation.yield(event) } }
            for event in eventer.finish() { continuation.yield(event) }
        } else {
            for (data, text) in chunks { continuation.yield(StreamEvent(data: data, text: text, model: model)) }
            continuation.yield(StreamEvent(data: usageChunk, usage: usage, model: model, forClient: clientWantsUsage))
        }
        continuation.finish()
        return stream
    }

    struct Answer {
        var text: String
        var finish: String
        var inputTokens: Int
    }

    /// The reply: the last user message (the prompt of a completion), cut at `max_tokens`.
    static func answer(_ call: UpstreamCall) throws -> Answer {
        var body = call.body
        if call.operation == .messages { body = try AnthropicTranslation.chatRequest(fromMessages: call.body, model: call.deployment.model) }
        let input: String
        var text: String
        switch call.operation {
        case .embedding:
            throw UpstreamError(
                kind: .status, status: 400, message: "model: the echo demo provider does not embed; use all-minilm-l6-v2",
                body: [
                    "error": [
                        "message": .string("provider \(call.provider.name) (type echo, a demo) does not embed; use the local model all-minilm-l6-v2"),
                        "type": "invalid_request_error", "param": "model", "code": "unsupported_operation",
                    ]
                ])
        case .completion:
            input = body["prompt"]?.string ?? body["prompt"]?.array?.compactMap(\.string).joined(separator: "\n") ?? ""
            text = input
        default:
            let messages = body["messages"]?.array ?? []
            input = messages.map { AnthropicTranslation.text(of: $0["content"]) }.joined(separator: "\n")
            text = messages.last { $0["role"]?.string == "user" }.map { AnthropicTranslation.text(of: $0["content"]) } ?? ""
        }
        var finish = "stop"
        let limit = body["max_completion_tokens"]?.int ?? body["max_tokens"]?.int
        if let limit, limit >= 0, tokens(text) > limit {
            text = String(text.prefix(limit * 4))
            finish = "length"
        }
        return Answer(text: text, finish: finish, inputTokens: max(1, tokens(input)))
    }

    /// About four characters a token, as the gateway estimates for providers that report none.
    static func tokens(_ text: String) -> Int { (text.count + 3) / 4 }

    /// The reply in stream chunks of a word or so (at most 64 chunks).
    static func pieces(_ text: String) -> [String] {
        guard !text.isEmpty else { return [] }
        var pieces: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if character == " " || character == "\n" {
                pieces.append(current)
                current = ""
            }
        }
        if !current.isEmpty { pieces.append(current) }
        guard pieces.count > 64 else { return pieces }
        let size = (pieces.count + 63) / 64
        return stride(from: 0, to: pieces.count, by: size).map { pieces[$0..<min($0 + size, pieces.count)].joined() }
    }
}
