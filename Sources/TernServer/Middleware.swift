import Foundation
public import Hummingbird
import Logging
import Metrics
import NIOCore
import TernCore
import TernGateway

/// Outermost: counts and times every request per route (Prometheus) and writes one log line
/// per request. Never logs headers or bodies, so keys and passwords stay out of logs.
struct ObserveMiddleware: RouterMiddleware {
    typealias Context = TernRequestContext
    let metrics: TernMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            // The error middleware turns errors into responses; anything reaching here is a bug.
            let mapped = TernError.from(error, request: request)
            response = mapped.response()
        }
        let elapsed = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        metrics.recordRequest(method: request.method.rawValue, route: route, status: Int(response.status.code), duration: elapsed)
        let millis = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        context.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "route": .string(route),
                "status": .stringConvertible(response.status.code),
                "duration_ms": .string(String(format: "%.2f", millis)),
            ])
        return response
    }
}

/// Turns every error into Tern's JSON error body with the right status.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = TernRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = TernError.from(error, request: request)
            if mapped.kind == .internal {
                context.logger.error("unhandled error", metadata: ["error": .string(String(describing: error))])
            }
            // The gateway's endpoints answer in the shape their clients' SDKs expect.
            let path = request.uri.path
            if path.hasPrefix("/v1/") {
                let operation: GatewayOperation = path.hasPrefix("/v1/messages") ? .messages : .chat
                var headers: HTTPFields = [.contentType: "application/json"]
                if mapped.kind == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"tern\"" }
                let body = GatewayError.from(mapped).body(for: operation).data()
                return Response(status: mapped.kind.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
            return mapped.response()
        }
    }
}

/// Rejects a declared body larger than the limit before reading any of it.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = TernRequestContext
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw TernError(.tooLarge, code: "payload_too_large", message: "request body of \(length) bytes exceeds the limit of \(limit) bytes")
        }
        return try await next(request, context)
    }
}

/// Resolves `Authorization: Bearer ...` or the session cookie into a `Principal`.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = TernRequestContext
    let authenticator: Authenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.principal = try await authenticator.authenticate(request)
        return try await next(request, context)
    }
}
