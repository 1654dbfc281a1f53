import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import TernCore
import TernGateway
import TernProviders

/// The OpenAI-compatible endpoints (`/v1/...`) in front of the gateway.
struct GatewayController {
    let gateway: Gateway
    let maxBody: Int
    let cancelOnDisconnect: Bool

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let v1 = RouteCollection(context: TernRequestContext.self)
        v1.get("models", use: getModels)
        v1.get("models/{model}", use: getModel)
        v1.post("chat/completions", use: postChatCompletions)
        v1.post("completions", use: postCompletions)
        v1.post("embeddings", use: postEmbeddings)
        v1.post("messages", use: postMessages)
        return v1
    }

    func forward(_ operation: GatewayOperation, _ request: Request, _ context: TernRequestContext) async throws -> Response {
        guard case .apiKey(let key) = try context.requirePrincipal() else {
            throw TernError.forbidden("the gateway takes API keys, not web sessions")
        }
        var headers: [String: String] = [:]
        for field in request.headers where field.name.canonicalName.hasPrefix(TernHeader.prefix) {
            headers[field.name.canonicalName] = field.value
        }
        if cancelOnDisconnect {
            // Cancels the call (and its upstream request) if the client goes away before the answer.
            return try await request.body.consumeWithCancellationOnInboundClose { body in
                try await handle(operation, body: body, key: key, headers: headers)
            }
        }
        return try await handle(operation, body: request.body, key: key, headers: headers)
    }

    func handle(_ operation: GatewayOperation, body requestBody: RequestBody, key: APIKey, headers: [String: String]) async throws -> Response {
        let buffer: ByteBuffer
        do {
            buffer = try await requestBody.collect(upTo: maxBody)
        } catch is NIOTooManyBytesError {
            throw TernError(.tooLarge, code: "payload_too_large", message: "request body exceeds the limit of \(maxBody) bytes")
        }
        let raw = Data(buffer.readableBytesView)
        let body: JSONValue
        do {
            body = try JSONValue.parse(raw)
        } catch {
            throw TernError.invalid(nil, "malformed JSON: \(JSON.describe(error))", code: "malformed_json")
        }
        let reply = await gateway.handle(GatewayRequest(operation: operation, body: body, key: key, headers: headers, rawBody: raw))
        var fields = HTTPFields()
        for (name, value) in reply.headers {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        let status = HTTPResponse.Status(code: reply.status)
        switch reply.body {
        case .data(let data):
            return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        case .stream(let stream):
            return Response(
                status: status, headers: fields,
                body: ResponseBody { writer in
                    // Leaving the loop (the client went away and a write failed) drops the stream, which
                    // cancels the upstream request.
                    for await chunk in stream {
                        try await writer.write(ByteBuffer(bytes: chunk))
                    }
                    try await writer.finish(nil)
                })
        }
    }

    func jsonResponse(_ data: Data, status: HTTPResponse.Status) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

// MARK: - Handlers

extension GatewayController {
    /// `POST /v1/chat/completions` (OpenAI)
    @Sendable func postChatCompletions(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await forward(.chat, request, context)
    }

    /// `POST /v1/completions` (OpenAI, legacy)
    @Sendable func postCompletions(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await forward(.completion, request, context)
    }

    /// `POST /v1/embeddings` (OpenAI)
    @Sendable func postEmbeddings(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await forward(.embedding, request, context)
    }

    /// `POST /v1/messages` (Anthropic)
    @Sendable func postMessages(_ request: Request, context: TernRequestContext) async throws -> Response {
        try await forward(.messages, request, context)
    }

    /// `GET /models`
    @Sendable func getModels(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        _ = try context.requirePrincipal()
        return try jsonResponse(gateway.modelList().data(), status: .ok)
    }

    /// `GET /models/{model}`
    @Sendable func getModel(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        _ = try context.requirePrincipal()
        let name = try context.parameters.string("model")
        guard gateway.registry.model(name) != nil else {
            throw TernError(.notFound, code: "model_not_found", message: "The model `\(name)` does not exist", field: "model")
        }
        let model: JSONValue = ["id": .string(name), "object": "model", "created": .number(Double(Int(Date().timeIntervalSince1970))), "owned_by": "tern"]
        return try jsonResponse(model.data(), status: .ok)
    }
}
