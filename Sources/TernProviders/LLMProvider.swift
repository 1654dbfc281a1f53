public import Foundation
public import TernCore

/// What a client asked for, in the client's wire format.
public enum GatewayOperation: String, Sendable, Codable, Equatable {
    /// OpenAI `POST /v1/chat/completions`.
    case chat
    /// OpenAI `POST /v1/completions` (legacy text completions).
    case completion
    /// OpenAI `POST /v1/embeddings`.
    case embedding
    /// Anthropic `POST /v1/messages`.
    case messages
}

/// One attempt against one deployment.
public struct UpstreamCall: Sendable {
    public var operation: GatewayOperation
    /// The request body in the client's format, with `model` already set to the upstream model.
    public var body: JSONValue
    public var stream: Bool
    public var deployment: DeploymentConfig
    public var provider: ProviderConfig

    public init(operation: GatewayOperation, body: JSONValue, stream: Bool, deployment: DeploymentConfig, provider: ProviderConfig) {
        self.operation = operation
        self.body = body
        self.stream = stream
        self.deployment = deployment
        self.provider = provider
    }

    public var timeout: Double { deployment.timeoutSeconds ?? provider.timeoutSeconds }
}

/// A complete (non-streamed) answer, in the client's format.
public struct UpstreamResponse: Sendable {
    /// Bytes to return to the client as they are.
    public var body: Data
    public var usage: TokenUsage?
    /// The model the upstream says served the call.
    public var model: String?
    /// Text of the answer, for traces and token estimates.
    public var outputText: String?
    /// Why the answer ended (`stop`, `length`, `tool_calls`; Anthropic's `end_turn`, `tool_use`, ...), for traces.
    public var finishReason: String?
    /// The tools the answer called, by name, for traces.
    public var tools: [String]

    public init(body: Data, usage: TokenUsage?, model: String?, outputText: String?, finishReason: String? = nil, tools: [String] = []) {
        self.body = body
        self.usage = usage
        self.model = model
        self.outputText = outputText
        self.finishReason = finishReason
        self.tools = tools
    }
}

/// One event of a streamed answer, in the client's format.
public struct StreamEvent: Sendable {
    /// SSE event name (Anthropic format names its events; OpenAI's does not).
    public var name: String?
    public var data: JSONValue
    /// Answer text carried by this event.
    public var text: String?
    /// Token counts, when this event carries them.
    public var usage: TokenUsage?
    public var model: String?
    /// False for events Tern added for itself (the usage chunk of a client that did not ask for one).
    public var forClient: Bool

    public init(name: String? = nil, data: JSONValue, text: String? = nil, usage: TokenUsage? = nil, model: String? = nil, forClient: Bool = true) {
        self.name = name
        self.data = data
        self.text = text
        self.usage = usage
        self.model = model
        self.forClient = forClient
    }
}

/// Why an upstream attempt failed, and whether another attempt may succeed.
public struct UpstreamError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The upstream answered with an error status.
        case status
        case timeout
        /// Could not connect, or the connection broke.
        case connection
        /// The upstream's answer was not what its API promises.
        case protocolError = "protocol"
        /// Tern's configuration cannot work (missing key variable, unsupported operation).
        case configuration
    }

    public var kind: Kind
    public var status: Int?
    public var message: String
    /// The upstream's error body, when it sent JSON.
    public var body: JSONValue?
    /// Seconds from a `Retry-After` header.
    public var retryAfter: Double?

    public init(kind: Kind, status: Int? = nil, message: String, body: JSONValue? = nil, retryAfter: Double? = nil) {
        self.kind = kind
        self.status = status
        self.message = message
        self.body = body
        self.retryAfter = retryAfter
    }

    /// Worth another attempt or a fallback: timeouts, broken connections, 408, 409, 429 and 5xx.
    public var isRetryable: Bool {
        switch kind {
        case .timeout, .connection: return true
        case .status:
            guard let status else { return false }
            return status == 408 || status == 409 || status == 429 || status >= 500
        case .protocolError, .configuration: return false
        }
    }

    public var description: String { "\(kind.rawValue)\(status.map { " \($0)" } ?? ""): \(message)" }
}

/// An upstream API. Implementations translate between the client's format and their own.
public protocol LLMProvider: Sendable {
    func send(_ call: UpstreamCall) async throws -> UpstreamResponse
    /// Opens a stream. Errors before the first event (connection, status) are thrown here, so the
    /// gateway can still fall back; errors after it end the sequence.
    func stream(_ call: UpstreamCall) async throws -> AsyncThrowingStream<StreamEvent, any Error>
}
