public import Foundation
import TernCore
public import TernProviders

/// The gateway's `local` provider: OpenAI's `POST /v1/embeddings` answered by a model that runs in this
/// process (`all-minilm-l6-v2`), loaded once and shared with everything else that embeds.
///
/// Accepts what OpenAI's endpoint accepts for text: `input` as a string or an array of strings (at most
/// `maxInputs`), `encoding_format` `float` or `base64` (little-endian float32, what the official
/// clients ask for by default), and `dimensions` only when it equals the model's. Token-id arrays are
/// refused: they are ids of another tokenizer. `usage.prompt_tokens` counts the word pieces the model
/// read (with `[CLS]`/`[SEP]`, after truncation at 256).
public struct LocalProvider: LLMProvider {
    /// OpenAI's limit on inputs per request.
    public static let maxInputs = 2048
    let modelsDirectory: URL?

    /// `modelsDirectory` is used when the provider's config names none (nil: `TERN_MODELS_DIR` or
    /// `~/.cache/tern/models`).
    public init(modelsDirectory: URL? = nil) {
        self.modelsDirectory = modelsDirectory
    }

    public func send(_ call: UpstreamCall) async throws -> UpstreamResponse {
        guard call.operation == .embedding else {
            throw Self.invalid(
                "provider \(call.provider.name) (type local) serves embeddings only: use POST /v1/embeddings",
                param: "model", code: "unsupported_operation")
        }
        let texts = try Self.texts(call.body["input"])
        let base64 = try Self.base64(call.body["encoding_format"])
        let embedder = try await embedder(call)
        if let dimensions = call.body["dimensions"], !dimensions.isNull, dimensions.int != embedder.dimensions {
            throw Self.invalid(
                "\(embedder.modelName) makes vectors of \(embedder.dimensions) dimensions and cannot shorten them",
                param: "dimensions", code: "unsupported_dimensions")
        }
        let (vectors, tokens) = try await embedder.embedCountingTokens(texts)
        let body = Self.responseBody(vectors, base64: base64, model: call.deployment.model, tokens: tokens)
        return UpstreamResponse(body: body, usage: TokenUsage(inputTokens: tokens, outputTokens: 0), model: call.deployment.model, outputText: nil)
    }

    public func stream(_ call: UpstreamCall) async throws -> AsyncThrowingStream<StreamEvent, any Error> {
        throw Self.invalid(
            call.operation == .embedding
                ? "embeddings cannot be streamed"
                : "provider \(call.provider.name) (type local) serves embeddings only: use POST /v1/embeddings",
            param: call.operation == .embedding ? "stream" : "model", code: "unsupported_operation")
    }

    func embedder(_ call: UpstreamCall) async throws -> LocalEmbedder {
        let directory = call.provider.modelsDirectory.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? modelsDirectory
        do {
            return try await LocalEmbedder.shared(call.deployment.model, modelsDirectory: directory)
        } catch let error as TernError {
            throw UpstreamError(kind: .configuration, message: error.message)
        }
    }

    /// The texts of `input`, or a 400 naming `input`.
    static func texts(_ input: JSONValue?) throws -> [String] {
        switch input {
        case .string(let text):
            return [text]
        case .array(let items):
            guard !items.isEmpty else { throw invalid("must not be an empty array", param: "input") }
            guard items.count <= maxInputs else { throw invalid("at most \(maxInputs) inputs per request, got \(items.count)", param: "input") }
            return try items.enumerated().map { index, item in
                switch item {
                case .string(let text): return text
                case .number, .array:
                    throw invalid(
                        "input[\(index)]: token ids are not accepted by local models (they belong to another tokenizer); send text",
                        param: "input")
                default:
                    throw invalid("input[\(index)] must be a string", param: "input")
                }
            }
        case nil, .null?:
            throw invalid("missing: a string or an array of strings", param: "input")
        default:
            throw invalid("must be a string or an array of strings", param: "input")
        }
    }

    /// Whether `encoding_format` asks for base64 (default `float`).
    static func base64(_ format: JSONValue?) throws -> Bool {
        switch format {
        case nil, .null?, .string("float")?: return false
        case .string("base64")?: return true
        default: throw invalid("must be \"float\" or \"base64\"", param: "encoding_format")
        }
    }

    /// OpenAI's embeddings response, written directly (a JSONValue tree of 384 doubles per vector would
    /// cost more than the model on short inputs).
    static func responseBody(_ vectors: [[Float]], base64: Bool, model: String, tokens: Int) -> Data {
        var out = #"{"object":"list","data":["#
        for (index, vector) in vectors.enumerated() {
            if index > 0 { out += "," }
            out += #"{"object":"embedding","index":\#(index),"embedding":"#
            if base64 {
                out += "\"" + littleEndian(vector.withUnsafeBytes { Data($0) }, count: vector.count).base64EncodedString() + "\""
            } else {
                out += "["
                for (position, value) in vector.enumerated() {
                    if position > 0 { out += "," }
                    out += value.isFinite ? "\(value)" : "0"
                }
                out += "]"
            }
            out += "}"
        }
        out +=
            #"],"model":"# + String(decoding: JSONValue.string(model).data(), as: UTF8.self)
            + #","usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}}"#
        return Data(out.utf8)
    }

    /// `data` (floats in host order) as little-endian float32 bytes.
    private static func littleEndian(_ data: Data, count: Int) -> Data {
        #if _endian(little)
            return data
        #else
            var swapped = Data(capacity: data.count)
            data.withUnsafeBytes { raw in
                for index in 0..<count {
                    var bits = raw.load(fromByteOffset: index * 4, as: UInt32.self).littleEndian
                    withUnsafeBytes(of: &bits) { swapped.append(contentsOf: $0) }
                }
            }
            return swapped
        #endif
    }

    static func invalid(_ message: String, param: String, code: String? = nil) -> UpstreamError {
        var error: [String: JSONValue] = ["message": .string(message), "type": .string("invalid_request_error"), "param": .string(param)]
        if let code { error["code"] = .string(code) }
        return UpstreamError(kind: .status, status: 400, message: "\(param): \(message)", body: .object(["error": .object(error)]))
    }
}
