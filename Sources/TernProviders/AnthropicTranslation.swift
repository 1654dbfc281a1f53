import Foundation
public import TernCore

/// Translation between OpenAI's chat format and Anthropic's Messages format, both ways, streaming
/// included: system prompts, images, tool definitions, tool calls and results, stop reasons and usage.
public enum AnthropicTranslation {
    // MARK: OpenAI request -> Anthropic request

    public static func messagesRequest(fromChat chat: JSONValue, model: String) throws -> JSONValue {
        var out: [String: JSONValue] = ["model": .string(model)]
        var system: [String] = []
        var messages: [JSONValue] = []

        func append(role: String, blocks: [JSONValue]) {
            guard !blocks.isEmpty else { return }
            // Anthropic wants user and assistant turns to alternate: merge neighbours of one role.
            if let last = messages.last, last["role"]?.string == role, case .array(let existing)? = last["content"] {
                messages[messages.count - 1] = ["role": .string(role), "content": .array(existing + blocks)]
            } else {
                messages.append(["role": .string(role), "content": .array(blocks)])
            }
        }

        guard let input = chat["messages"]?.array else {
            throw UpstreamError(kind: .status, status: 400, message: "messages: expected an array")
        }
        for (index, message) in input.enumerated() {
            let role = message["role"]?.string ?? ""
            switch role {
            case "system", "developer":
                system.append(text(of: message["content"]))
            case "user":
                append(role: "user", blocks: try contentBlocks(message["content"], at: "messages[\(index)].content"))
            case "assistant":
                var blocks: [JSONValue] = []
                let content = text(of: message["content"])
                if !content.isEmpty { blocks.append(["type": "text", "text": .string(content)]) }
                for call in message["tool_calls"]?.array ?? [] {
                    let arguments = call["function"]?["arguments"]?.string ?? "{}"
                    let parsed = (try? JSONValue.parse(Data(arguments.utf8))) ?? .object([:])
                    blocks.append([
                        "type": "tool_use", "id": call["id"] ?? .string("call_\(index)"),
                        "name": call["function"]?["name"] ?? "", "input": parsed.object == nil ? .object([:]) : parsed,
                    ])
                }
                append(role: "assistant", blocks: blocks)
            case "tool":
                append(
                    role: "user",
                    blocks: [
                        [
                            "type": "tool_result", "tool_use_id": message["tool_call_id"] ?? "",
                            "content": .string(text(of: message["content"])),
                        ]
                    ])
            default:
                throw UpstreamError(kind: .status, status: 400, message: "messages[\(index)].role: unsupported role \"\(role)\"")
            }
        }
        if let format = chat["response_format"], let type = format["type"]?.string, type != "text" {
            var instruction = "Respond with a single JSON object and nothing else."
            if type == "json_schema", let schema = format["json_schema"]?["schema"] {
                instruction += " It must match this JSON schema: \(schema.jsonString())"
            }
            system.append(instruction)
        }
        if !system.isEmpty { out["system"] = .string(system.joined(separator: "\n\n")) }
        out["messages"] = .array(messages)
        out["max_tokens"] = chat["max_completion_tokens"] ?? chat["max_tokens"] ?? 4096
        if let temperature = chat["temperature"]?.double { out["temperature"] = .number(min(temperature, 1)) }
        if let topP = chat["top_p"] { out["top_p"] = topP }
        switch chat["stop"] {
        case .string(let stop)?: out["stop_sequences"] = [.string(stop)]
        case .array(let stops)?: out["stop_sequences"] = .array(stops)
        default: break
        }
        if let n = chat["n"]?.int, n > 1 {
            throw UpstreamError(kind: .status, status: 400, message: "n: Anthropic deployments return one choice; n > 1 is not supported")
        }
        if let tools = chat["tools"]?.array {
            out["tools"] = .array(
                tools.compactMap { tool in
                    guard let function = tool["function"] else { return nil }
                    var converted: [String: JSONValue] = [
                        "name": function["name"] ?? "", "input_schema": function["parameters"] ?? ["type": "object", "properties": [:]],
                    ]
                    if let description = function["description"] { converted["description"] = description }
                    return .object(converted)
                })
        }
        switch chat["tool_choice"] {
        case .string("auto")?: out["tool_choice"] = ["type": "auto"]
        case .string("required")?: out["tool_choice"] = ["type": "any"]
        case .string("none")?: out["tool_choice"] = ["type": "none"]
        case .object(let choice)?:
            if let name = choice["function"]?["name"] { out["tool_choice"] = ["type": "tool", "name": name] }
        default: break
        }
        if let user = chat["user"]?.string { out["metadata"] = ["user_id": .string(user)] }
        if chat["stream"]?.bool == true { out["stream"] = true }
        return .object(out)
    }

    /// Text of an OpenAI `content` (a string or an array of parts).
    static func text(of content: JSONValue?) -> String {
        switch content {
        case .string(let text)?: return text
        case .array(let parts)?: return parts.compactMap { $0["text"]?.string }.joined(separator: "\n")
        default: return ""
        }
    }

    static func contentBlocks(_ content: JSONValue?, at path: String) throws -> [JSONValue] {
        switch content {
        case .string(let text)?: return [["type": "text", "text": .string(text)]]
        case .array(let parts)?:
            return try parts.map { part in
                switch part["type"]?.string {
                case "text": return ["type": "text", "text": part["text"] ?? ""]
                case "image_url":
                    let url = part["image_url"]?["url"]?.string ?? part["image_url"]?.string ?? ""
                    if url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") {
                        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
                        let mediaType = header.split(separator: ";").first.map(String.init) ?? "image/png"
                        return [
                            "type": "image",
                            "source": [
                                "type": "base64", "media_type": .string(mediaType), "data": .string(String(url[url.index(after: comma)...])),
                            ],
                        ]
                    }
                    return ["type": "image", "source": ["type": "url", "url": .string(url)]]
                default:
                    throw UpstreamError(kind: .status, status: 400, message: "\(path): unsupported content part \"\(part["type"]?.string ?? "?")\"")
                }
            }
        case nil, .null?: return []
        default: throw UpstreamError(kind: .status, status: 400, message: "\(path): expected a string or an array of parts")
        }
    }

    // MARK: Anthropic response -> OpenAI response

    public static func finishReason(anthropic reason: String?) -> JSONValue {
        switch reason {
        case "end_turn", "stop_sequence", "pause_turn": "stop"
        case "max_tokens": "length"
        case "tool_use": "tool_calls"
        case "refusal": "content_filter"
        case nil: .null
        default: "stop"
        }
    }

    public static func usage(anthropic usage: JSONValue?) -> TokenUsage? {
        guard let usage, let input = usage["input_tokens"]?.int ?? (usage["output_tokens"] != nil ? 0 : nil) else { return nil }
        let cacheRead = usage["cache_read_input_tokens"]?.int ?? 0
        let cacheWrite = usage["cache_creation_input_tokens"]?.int ?? 0
        return TokenUsage(
            inputTokens: input + cacheRead + cacheWrite, outputTokens: usage["output_tokens"]?.int ?? 0,
            cachedTokens: cacheRead > 0 ? cacheRead : nil)
    }

    public static func openAIUsage(_ usage: TokenUsage) -> JSONValue {
        var out: [String: JSONValue] = [
            "prompt_tokens": .number(Double(usage.inputTokens)), "completion_tokens": .number(Double(usage.outputTokens)),
            "total_tokens": .number(Double(usage.totalTokens)),
        ]
        if let cached = usage.cachedTokens { out["prompt_tokens_details"] = ["cached_tokens": .number(Double(cached))] }
        return .object(out)
    }

    public static func chatResponse(fromMessage message: JSONValue, created: Int) -> JSONValue {
        var text = ""
        var toolCalls: [JSONValue] = []
        for block in message["content"]?.array ?? [] {
            switch block["type"]?.string {
            case "text": text += block["text"]?.string ?? ""
            case "tool_use":
                toolCalls.append([
                    "id": block["id"] ?? "", "type": "function",
                    "function": ["name": block["name"] ?? "", "arguments": .string((block["input"] ?? .object([:])).jsonString())],
                ])
            default: break
            }
        }
        var assistant: [String: JSONValue] = ["role": "assistant", "content": text.isEmpty && !toolCalls.isEmpty ? .null : .string(text)]
        if !toolCalls.isEmpty { assistant["tool_calls"] = .array(toolCalls) }
        var out: [String: JSONValue] = [
            "id": .string("chatcmpl-" + (message["id"]?.string ?? TernID.make())),
            "object": "chat.completion", "created": .number(Double(created)), "model": message["model"] ?? "",
            "choices": [
                [
                    "index": 0, "message": .object(assistant), "finish_reason": finishReason(anthropic: message["stop_reason"]?.string),
                    "logprobs": .null,
                ]
            ],
        ]
        if let usage = usage(anthropic: message["usage"]) { out["usage"] = openAIUsage(usage) }
        return .object(out)
    }

    /// Turns Anthropic stream events into OpenAI chat chunks.
    public struct ChatChunker: Sendable {
        var id = "chatcmpl-" + TernID.make()
        var model = ""
        let created: Int
        let includeUsage: Bool
        var toolIndexByBlock: [Int: Int] = [:]
        var usage = TokenUsage(inputTokens: 0, outputTokens: 0)
        var finish: JSONValue = .null

        public init(created: Int, includeUsage: Bool) {
            self.created = created
            self.includeUsage = includeUsage
        }

        func chunk(delta: JSONValue, finishReason: JSONValue = .null) -> JSONValue {
            [
                "id": .string(id), "object": "chat.completion.chunk", "created": .number(Double(created)), "model": .string(model),
                "choices": [["index": 0, "delta": delta, "finish_reason": finishReason, "logprobs": .null]],
            ]
        }

        /// Events for one Anthropic event; throws on an `error` event.
        public mutating func translate(name: String?, data: JSONValue) throws -> [StreamEvent] {
            let type = data["type"]?.string ?? name ?? ""
            switch type {
            case "message_start":
                let message = data["message"]
                if let messageID = message?["id"]?.string { id = "chatcmpl-" + messageID }
                model = message?["model"]?.string ?? model
                if let start = AnthropicTranslation.usage(anthropic: message?["usage"]) {
                    usage.inputTokens = start.inputTokens; usage.cachedTokens = start.cachedTokens
                }
                return [StreamEvent(data: chunk(delta: ["role": "assistant", "content": ""]), model: model)]
            case "content_block_start":
                let block = data["content_block"]
                guard block?["type"]?.string == "tool_use", let blockIndex = data["index"]?.int else { return [] }
                let toolIndex = toolIndexByBlock.count
                toolIndexByBlock[blockIndex] = toolIndex
                return [
                    StreamEvent(
                        data: chunk(delta: [
                            "tool_calls": [
                                [
                                    "index": .number(Double(toolIndex)), "id": block?["id"] ?? "", "type": "function",
                                    "function": ["name": block?["name"] ?? "", "arguments": ""],
                                ]
                            ]
                        ]))
                ]
            case "content_block_delta":
                let delta = data["delta"]
                switch delta?["type"]?.string {
                case "text_delta":
                    let text = delta?["text"]?.string ?? ""
                    return [StreamEvent(data: chunk(delta: ["content": .string(text)]), text: text)]
                case "input_json_delta":
                    guard let blockIndex = data["index"]?.int, let toolIndex = toolIndexByBlock[blockIndex] else { return [] }
                    let partial = delta?["partial_json"]?.string ?? ""
                    return [
                        StreamEvent(
                            data: chunk(delta: [
                                "tool_calls": [
                                    [
                                        "index": .number(Double(toolIndex)), "function": ["arguments": .string(partial)],
                                    ]
                                ]
                            ]), text: partial)
                    ]
                default:
                    return []
                }
            case "message_delta":
                if let output = data["usage"]?["output_tokens"]?.int { usage.outputTokens = output }
                if let input = data["usage"]?["input_tokens"]?.int, input > 0 { usage.inputTokens = input }
                finish = AnthropicTranslation.finishReason(anthropic: data["delta"]?["stop_reason"]?.string)
                return [StreamEvent(data: chunk(delta: [:], finishReason: finish), usage: usage)]
            case "message_stop":
                var usageChunk = chunk(delta: [:])
                usageChunk["choices"] = []
                usageChunk["usage"] = AnthropicTranslation.openAIUsage(usage)
                return [StreamEvent(data: usageChunk, usage: usage, forClient: includeUsage)]
            case "error":
                let message = data["error"]?["message"]?.string ?? "upstream stream error"
                let errorType = data["error"]?["type"]?.string
                throw UpstreamError(
                    kind: errorType == "overloaded_error" ? .connection : .protocolError, status: errorType == "overloaded_error" ? 529 : nil,
                    message: message, body: data)
            default:
                return []
            }
        }
    }

    // MARK: Anthropic request -> OpenAI request (for /v1/messages served by OpenAI-compatible deployments)

    public static func chatRequest(fromMessages request: JSONValue, model: String) throws -> JSONValue {
        var messages: [JSONValue] = []
        switch request["system"] {
        case .string(let text)?: messages.append(["role": "system", "content": .string(text)])
        case .array(let blocks)?:
            messages.append(["role": "system", "content": .string(blocks.compactMap { $0["text"]?.string }.joined(separator: "\n\n"))])
        default: break
        }
        guard let input = request["messages"]?.array else {
            throw UpstreamError(kind: .status, status: 400, message: "messages: expected an array")
        }
        for (index, message) in input.enumerated() {
            let role = message["role"]?.string ?? ""
            guard role == "user" || role == "assistant" else {
                throw UpstreamError(kind: .status, status: 400, message: "messages[\(index)].role: expected user or assistant")
            }
            if case .string(let text)? = message["content"] {
                messages.append(["role": .string(role), "content": .string(text)])
                continue
            }
            var parts: [JSONValue] = []
            var text = ""
            var toolCalls: [JSONValue] = []
            for block in message["content"]?.array ?? [] {
                switch block["type"]?.string {
                case "text":
                    let piece = block["text"]?.string ?? ""
                    text += text.isEmpty ? piece : "\n" + piece
                    parts.append(["type": "text", "text": .string(piece)])
                case "image":
                    let source = block["source"]
                    let url =
                        source?["type"]?.string == "base64"
                        ? "data:\(source?["media_type"]?.string ?? "image/png");base64,\(source?["data"]?.string ?? "")"
                        : source?["url"]?.string ?? ""
                    parts.append(["type": "image_url", "image_url": ["url": .string(url)]])
                case "tool_use":
                    toolCalls.append([
                        "id": block["id"] ?? "", "type": "function",
                        "function": ["name": block["name"] ?? "", "arguments": .string((block["input"] ?? .object([:])).jsonString())],
                    ])
                case "tool_result":
                    let content: String
                    switch block["content"] {
                    case .string(let s)?: content = s
                    case .array(let items)?: content = items.compactMap { $0["text"]?.string }.joined(separator: "\n")
                    default: content = ""
                    }
                    messages.append(["role": "tool", "tool_call_id": block["tool_use_id"] ?? "", "content": .string(content)])
                default:
                    break
                }
            }
            if role == "assistant" {
                if text.isEmpty && toolCalls.isEmpty { continue }
                var assistant: [String: JSONValue] = ["role": "assistant", "content": text.isEmpty ? .null : .string(text)]
                if !toolCalls.isEmpty { assistant["tool_calls"] = .array(toolCalls) }
                messages.append(.object(assistant))
            } else if !parts.isEmpty {
                let onlyText = parts.allSatisfy { $0["type"]?.string == "text" }
                messages.append(["role": "user", "content": onlyText ? .string(text) : .array(parts)])
            }
        }
        var out: [String: JSONValue] = ["model": .string(model), "messages": .array(messages)]
        if let maxTokens = request["max_tokens"] { out["max_tokens"] = maxTokens }
        if let temperature = request["temperature"] { out["temperature"] = temperature }
        if let topP = request["top_p"] { out["top_p"] = topP }
        if let stops = request["stop_sequences"] { out["stop"] = stops }
        if let tools = request["tools"]?.array {
            out["tools"] = .array(
                tools.map { tool in
                    var function: [String: JSONValue] = ["name": tool["name"] ?? "", "parameters": tool["input_schema"] ?? ["type": "object"]]
                    if let description = tool["description"] { function["description"] = description }
                    return ["type": "function", "function": .object(function)]
                })
        }
        switch request["tool_choice"]?["type"]?.string {
        case "auto": out["tool_choice"] = "auto"
        case "any": out["tool_choice"] = "required"
        case "none": out["tool_choice"] = "none"
        case "tool": out["tool_choice"] = ["type": "function", "function": ["name": request["tool_choice"]?["name"] ?? ""]]
        default: break
        }
        if let user = request["metadata"]?["user_id"] { out["user"] = user }
        if request["stream"]?.bool == true {
            out["stream"] = true
            out["stream_options"] = ["include_usage": true]
        }
        return .object(out)
    }

    // MARK: OpenAI response -> Anthropic response

    public static func stopReason(openAI reason: String?) -> JSONValue {
        switch reason {
        case "stop": "end_turn"
        case "length": "max_tokens"
        case "tool_calls", "function_call": "tool_use"
        case "content_filter": "refusal"
        case nil: .null
        default: "end_turn"
        }
    }

    public static func anthropicUsage(_ usage: TokenUsage) -> JSONValue {
        var out: [String: JSONValue] = [
            "input_tokens": .number(Double(usage.inputTokens - (usage.cachedTokens ?? 0))),
            "output_tokens": .number(Double(usage.outputTokens)),
        ]
        if let cached = usage.cachedTokens { out["cache_read_input_tokens"] = .number(Double(cached)) }
        return .object(out)
    }

    public static func messageResponse(fromChat chat: JSONValue) -> JSONValue {
        let choice = chat["choices"]?[0]
        let message = choice?["message"]
        var content: [JSONValue] = []
        let text = AnthropicTranslation.text(of: message?["content"])
        if !text.isEmpty { content.append(["type": "text", "text": .string(text)]) }
        for call in message?["tool_calls"]?.array ?? [] {
            let arguments = call["function"]?["arguments"]?.string ?? "{}"
            content.append([
                "type": "tool_use", "id": call["id"] ?? "", "name": call["function"]?["name"] ?? "",
                "input": (try? JSONValue.parse(Data(arguments.utf8))) ?? .object([:]),
            ])
        }
        let usage = OpenAIFormat.usage(chat["usage"]) ?? TokenUsage(inputTokens: 0, outputTokens: 0)
        return [
            "id": .string("msg_" + (chat["id"]?.string ?? TernID.make())), "type": "message", "role": "assistant",
            "model": chat["model"] ?? "", "content": .array(content),
            "stop_reason": stopReason(openAI: choice?["finish_reason"]?.string), "stop_sequence": .null,
            "usage": anthropicUsage(usage),
        ]
    }

    /// Turns OpenAI chat chunks into Anthropic stream events.
    public struct MessageEventer: Sendable {
        var started = false
        var openBlock: (index: Int, isTool: Bool, toolIndex: Int?)?
        var nextBlock = 0
        var stopReason: JSONValue = .null
        var usage = TokenUsage(inputTokens: 0, outputTokens: 0)
        var sawUsage = false
        var id = "msg_" + TernID.make()
        var model = ""

        public init() {}

        static func event(_ name: String, _ data: JSONValue, text: String? = nil) -> StreamEvent {
            StreamEvent(name: name, data: data, text: text)
        }

        mutating func start(_ into: inout [StreamEvent]) {
            guard !started else { return }
            started = true
            into.append(
                Self.event(
                    "message_start",
                    [
                        "type": "message_start",
                        "message": [
                            "id": .string(id), "type": "message", "role": "assistant", "content": [], "model": .string(model),
                            "stop_reason": .null, "stop_sequence": .null, "usage": ["input_tokens": 0, "output_tokens": 0],
                        ],
                    ]))
        }

        mutating func closeBlock(_ into: inout [StreamEvent]) {
            if let block = openBlock {
                into.append(Self.event("content_block_stop", ["type": "content_block_stop", "index": .number(Double(block.index))]))
                openBlock = nil
            }
        }

        public mutating func translate(chunk: JSONValue) -> [StreamEvent] {
            var out: [StreamEvent] = []
            if let chunkID = chunk["id"]?.string, !started { id = "msg_" + chunkID }
            if let chunkModel = chunk["model"]?.string, !chunkModel.isEmpty { model = chunkModel }
            start(&out)
            if let usage = OpenAIFormat.usage(chunk["usage"]) {
                self.usage = usage
                sawUsage = true
            }
            guard let choice = chunk["choices"]?[0] else { return out }
            let delta = choice["delta"]
            if let text = delta?["content"]?.string, !text.isEmpty {
                if openBlock?.isTool != false {
                    closeBlock(&out)
                    openBlock = (nextBlock, false, nil)
                    out.append(
                        Self.event(
                            "content_block_start",
                            [
                                "type": "content_block_start", "index": .number(Double(nextBlock)),
                                "content_block": ["type": "text", "text": ""],
                            ]))
                    nextBlock += 1
                }
                out.append(
                    Self.event(
                        "content_block_delta",
                        [
                            "type": "content_block_delta", "index": .number(Double(openBlock!.index)),
                            "delta": ["type": "text_delta", "text": .string(text)],
                        ], text: text))
            }
            for call in delta?["tool_calls"]?.array ?? [] {
                let toolIndex = call["index"]?.int ?? 0
                if openBlock?.toolIndex != toolIndex || openBlock?.isTool != true {
                    closeBlock(&out)
                    openBlock = (nextBlock, true, toolIndex)
                    out.append(
                        Self.event(
                            "content_block_start",
                            [
                                "type": "content_block_start", "index": .number(Double(nextBlock)),
                                "content_block": [
                                    "type": "tool_use", "id": call["id"] ?? "",
                                    "name": call["function"]?["name"] ?? "", "input": [:],
                                ],
                            ]))
                    nextBlock += 1
                }
                if let arguments = call["function"]?["arguments"]?.string, !arguments.isEmpty {
                    out.append(
                        Self.event(
                            "content_block_delta",
                            [
                                "type": "content_block_delta", "index": .number(Double(openBlock!.index)),
                                "delta": ["type": "input_json_delta", "partial_json": .string(arguments)],
                            ],
                            text: arguments))
                }
            }
            if let reason = choice["finish_reason"]?.string {
                stopReason = AnthropicTranslation.stopReason(openAI: reason)
                closeBlock(&out)
            }
            return out
        }

        /// The closing events, once the upstream stream has ended.
        public mutating func finish() -> [StreamEvent] {
            var out: [StreamEvent] = []
            start(&out)
            closeBlock(&out)
            var delta = StreamEvent(
                name: "message_delta",
                data: [
                    "type": "message_delta", "delta": ["stop_reason": stopReason, "stop_sequence": .null],
                    "usage": ["output_tokens": .number(Double(usage.outputTokens))],
                ])
            if sawUsage { delta.usage = usage }
            out.append(delta)
            out.append(StreamEvent(name: "message_stop", data: ["type": "message_stop"]))
            return out
        }
    }
}

/// Reading OpenAI-format bodies.
public enum OpenAIFormat {
    public static func usage(_ usage: JSONValue?) -> TokenUsage? {
        guard let usage, let prompt = usage["prompt_tokens"]?.int else { return nil }
        return TokenUsage(
            inputTokens: prompt, outputTokens: usage["completion_tokens"]?.int ?? 0,
            cachedTokens: usage["prompt_tokens_details"]?["cached_tokens"]?.int,
            reasoningTokens: usage["completion_tokens_details"]?["reasoning_tokens"]?.int)
    }

    /// The answer text of a chat or completion response (tool call arguments included).
    /// How a chat or completions answer ended (`finish_reason` of the first choice) and the tools it called.
    public static func outcome(_ response: JSONValue) -> (finishReason: String?, tools: [String]) {
        let choice = response["choices"]?[0]
        let tools = (choice?["message"]?["tool_calls"]?.array ?? []).compactMap { $0["function"]?["name"]?.string }
        return (choice?["finish_reason"]?.string, tools)
    }

    public static func outputText(_ response: JSONValue) -> String {
        var parts: [String] = []
        for choice in response["choices"]?.array ?? [] {
            if let text = choice["text"]?.string { parts.append(text) }
            if let content = choice["message"]?["content"]?.string { parts.append(content) }
            for call in choice["message"]?["tool_calls"]?.array ?? [] {
                parts.append("\(call["function"]?["name"]?.string ?? "")(\(call["function"]?["arguments"]?.string ?? ""))")
            }
        }
        return parts.joined(separator: "\n")
    }

    /// Delta text of a stream chunk.
    public static func deltaText(_ chunk: JSONValue) -> String? {
        guard let choices = chunk["choices"]?.array, !choices.isEmpty else { return nil }
        var text = ""
        for choice in choices {
            if let content = choice["delta"]?["content"]?.string { text += content }
            if let completion = choice["text"]?.string { text += completion }
            for call in choice["delta"]?["tool_calls"]?.array ?? [] {
                text += call["function"]?["arguments"]?.string ?? ""
            }
        }
        return text.isEmpty ? nil : text
    }
}
