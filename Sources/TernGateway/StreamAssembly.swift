import Foundation
public import TernCore
public import TernProviders

/// Rebuilds a complete answer from streamed events (to cache it), and replays a complete answer as
/// events (to serve a cached answer to a streaming client).
public struct StreamAssembler: Sendable {
    let operation: GatewayOperation
    // OpenAI chat / completion
    var id: String?
    var model: String?
    var created: JSONValue = .number(0)
    var choices: [Int: (content: String, finish: JSONValue, tools: [Int: (id: String, name: String, arguments: String)])] = [:]
    var usage: JSONValue?
    // Anthropic messages
    var message: [String: JSONValue] = [:]
    var blocks: [Int: [String: JSONValue]] = [:]
    var partialJSON: [Int: String] = [:]

    public init(operation: GatewayOperation) { self.operation = operation }

    /// Why the streamed answer ended and the tools it called (the first choice's, or the message's), for traces.
    public var outcome: (finishReason: String?, tools: [String]) {
        if operation == .messages {
            let tools = blocks.keys.sorted().compactMap { blocks[$0]?["type"]?.string == "tool_use" ? blocks[$0]?["name"]?.string : nil }
            return (message["stop_reason"]?.string, tools)
        }
        guard let first = choices.keys.min(), let entry = choices[first] else { return (nil, []) }
        return (entry.finish.string, entry.tools.keys.sorted().compactMap { entry.tools[$0].map(\.name) }.filter { !$0.isEmpty })
    }

    public mutating func add(_ event: StreamEvent) {
        let data = event.data
        if operation == .messages {
            switch data["type"]?.string ?? event.name ?? "" {
            case "message_start": message = data["message"]?.object ?? [:]
            case "content_block_start":
                if let index = data["index"]?.int { blocks[index] = data["content_block"]?.object ?? [:] }
            case "content_block_delta":
                guard let index = data["index"]?.int else { return }
                if let text = data["delta"]?["text"]?.string {
                    blocks[index, default: ["type": "text", "text": ""]]["text"] = .string((blocks[index]?["text"]?.string ?? "") + text)
                } else if let partial = data["delta"]?["partial_json"]?.string {
                    partialJSON[index, default: ""] += partial
                }
            case "content_block_stop":
                if let index = data["index"]?.int, let json = partialJSON[index] {
                    blocks[index]?["input"] = (try? JSONValue.parse(Data(json.utf8))) ?? .object([:])
                }
            case "message_delta":
                if let reason = data["delta"]?["stop_reason"] { message["stop_reason"] = reason }
                if let output = data["usage"]?["output_tokens"] {
                    var usage = message["usage"]?.object ?? [:]
                    usage["output_tokens"] = output
                    message["usage"] = .object(usage)
                }
            default: break
            }
            return
        }
        if id == nil { id = data["id"]?.string }
        if let value = data["model"]?.string { model = value }
        if let value = data["created"] { created = value }
        if let value = data["usage"], value != .null { usage = value }
        for choice in data["choices"]?.array ?? [] {
            let index = choice["index"]?.int ?? 0
            var entry = choices[index] ?? ("", .null, [:])
            entry.content += choice["delta"]?["content"]?.string ?? choice["text"]?.string ?? ""
            if let finish = choice["finish_reason"], finish != .null { entry.finish = finish }
            for call in choice["delta"]?["tool_calls"]?.array ?? [] {
                let toolIndex = call["index"]?.int ?? 0
                var tool = entry.tools[toolIndex] ?? ("", "", "")
                if let id = call["id"]?.string, !id.isEmpty { tool.id = id }
                if let name = call["function"]?["name"]?.string, !name.isEmpty { tool.name = name }
                tool.arguments += call["function"]?["arguments"]?.string ?? ""
                entry.tools[toolIndex] = tool
            }
            choices[index] = entry
        }
    }

    /// The complete answer the stream amounted to, in the client's format.
    public func complete() -> JSONValue {
        if operation == .messages {
            var out = message
            out["content"] = .array(blocks.keys.sorted().compactMap { blocks[$0].map(JSONValue.object) })
            return .object(out)
        }
        let isChat = operation == .chat
        var out: [String: JSONValue] = [
            "id": .string(id ?? TernID.make()), "object": isChat ? "chat.completion" : "text_completion", "created": created,
            "model": .string(model ?? ""),
            "choices": .array(
                choices.keys.sorted().map { index in
                    let entry = choices[index]!
                    if !isChat {
                        return ["index": .number(Double(index)), "text": .string(entry.content), "finish_reason": entry.finish, "logprobs": .null]
                    }
                    var message: [String: JSONValue] = [
                        "role": "assistant", "content": entry.content.isEmpty && !entry.tools.isEmpty ? .null : .string(entry.content),
                    ]
                    if !entry.tools.isEmpty {
                        message["tool_calls"] = .array(
                            entry.tools.keys.sorted().map { toolIndex in
                                let tool = entry.tools[toolIndex]!
                                return [
                                    "id": .string(tool.id), "type": "function", "function": ["name": .string(tool.name), "arguments": .string(tool.arguments)],
                                ]
                            })
                    }
                    return ["index": .number(Double(index)), "message": .object(message), "finish_reason": entry.finish, "logprobs": .null]
                }),
        ]
        if let usage { out["usage"] = usage }
        return .object(out)
    }

    /// A complete answer as stream events, for a streaming client served from the cache.
    public static func replay(_ body: JSONValue, operation: GatewayOperation, includeUsage: Bool) -> [StreamEvent] {
        if operation == .messages {
            var events: [StreamEvent] = []
            var start = body.object ?? [:]
            start["content"] = []
            start["stop_reason"] = .null
            var startUsage = body["usage"]?.object ?? [:]
            startUsage["output_tokens"] = 0
            start["usage"] = .object(startUsage)
            events.append(StreamEvent(name: "message_start", data: ["type": "message_start", "message": .object(start)]))
            for (index, block) in (body["content"]?.array ?? []).enumerated() {
                let position = JSONValue.number(Double(index))
                if block["type"]?.string == "tool_use" {
                    var opening = block.object ?? [:]
                    opening["input"] = .object([:])
                    events.append(
                        StreamEvent(name: "content_block_start", data: ["type": "content_block_start", "index": position, "content_block": .object(opening)]))
                    events.append(
                        StreamEvent(
                            name: "content_block_delta",
                            data: [
                                "type": "content_block_delta", "index": position,
                                "delta": ["type": "input_json_delta", "partial_json": .string((block["input"] ?? .object([:])).jsonString())],
                            ]))
                } else {
                    events.append(
                        StreamEvent(
                            name: "content_block_start",
                            data: ["type": "content_block_start", "index": position, "content_block": ["type": "text", "text": ""]]))
                    let text = block["text"]?.string ?? ""
                    events.append(
                        StreamEvent(
                            name: "content_block_delta",
                            data: [
                                "type": "content_block_delta", "index": position,
                                "delta": ["type": "text_delta", "text": .string(text)],
                            ], text: text))
                }
                events.append(StreamEvent(name: "content_block_stop", data: ["type": "content_block_stop", "index": position]))
            }
            events.append(
                StreamEvent(
                    name: "message_delta",
                    data: [
                        "type": "message_delta",
                        "delta": ["stop_reason": body["stop_reason"] ?? .null, "stop_sequence": .null],
                        "usage": ["output_tokens": body["usage"]?["output_tokens"] ?? 0],
                    ]))
            events.append(StreamEvent(name: "message_stop", data: ["type": "message_stop"]))
            return events
        }
        let isChat = operation == .chat
        let base: [String: JSONValue] = [
            "id": body["id"] ?? .string(TernID.make()), "object": isChat ? "chat.completion.chunk" : "text_completion",
            "created": body["created"] ?? 0, "model": body["model"] ?? "",
        ]
        func chunk(_ choices: [JSONValue]) -> JSONValue {
            var out = base
            out["choices"] = .array(choices)
            return .object(out)
        }
        var events: [StreamEvent] = []
        for choice in body["choices"]?.array ?? [] {
            let index = choice["index"] ?? 0
            if isChat {
                let message = choice["message"]
                events.append(StreamEvent(data: chunk([["index": index, "delta": ["role": "assistant", "content": ""], "finish_reason": .null]])))
                if let text = message?["content"]?.string, !text.isEmpty {
                    events.append(StreamEvent(data: chunk([["index": index, "delta": ["content": .string(text)], "finish_reason": .null]]), text: text))
                }
                for (toolIndex, call) in (message?["tool_calls"]?.array ?? []).enumerated() {
                    events.append(
                        StreamEvent(
                            data: chunk([
                                [
                                    "index": index,
                                    "delta": [
                                        "tool_calls": [
                                            [
                                                "index": .number(Double(toolIndex)), "id": call["id"] ?? "", "type": "function",
                                                "function": call["function"] ?? [:],
                                            ]
                                        ]
                                    ], "finish_reason": .null,
                                ]
                            ])))
                }
                events.append(StreamEvent(data: chunk([["index": index, "delta": [:], "finish_reason": choice["finish_reason"] ?? "stop"]])))
            } else {
                let text = choice["text"]?.string ?? ""
                events.append(
                    StreamEvent(data: chunk([["index": index, "text": .string(text), "finish_reason": choice["finish_reason"] ?? "stop"]]), text: text))
            }
        }
        if includeUsage, let usage = body["usage"] {
            var last = base
            last["choices"] = []
            last["usage"] = usage
            events.append(StreamEvent(data: .object(last), usage: OpenAIFormat.usage(usage)))
        }
        return events
    }
}
