import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import TernCore
import TernWeb
import TernGateway
import TernProviders

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

/// Turns every error into Tern's JSON error body with the right status. A store that cannot serve (disk
/// full, read-only, unreachable) answers 503 with Retry-After, and is recorded in `health` (/readyz).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = TernRequestContext
    let store: any TernStore
    let health: WriteHealth
    static let retryAfterSeconds = 5

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var mapped = TernError.from(error, request: request)
            if let reason = store.unavailability(of: error) {
                if request.method != .get, request.method != .head { health.recordFailure(reason) }
                mapped = TernError(
                    .unavailable, code: "store_unavailable",
                    message: "the database cannot take this request now (\(reason)); nothing was stored: retry later")
                context.logger.warning("store unavailable", metadata: ["reason": .string(reason), "path": .string(request.uri.path)])
            } else if mapped.kind == .internal {
                context.logger.error("unhandled error", metadata: ["error": .string(String(describing: error))])
            }
            // The gateway's endpoints answer in the shape their clients' SDKs expect.
            let path = request.uri.path
            if path.hasPrefix("/v1/") {
                let operation: GatewayOperation = path.hasPrefix("/v1/messages") ? .messages : .chat
                var headers: HTTPFields = [.contentType: "application/json"]
                if mapped.kind == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"tern\"" }
                if mapped.kind == .unavailable { headers[.retryAfter] = String(Self.retryAfterSeconds) }
                let body = GatewayError.from(mapped).body(for: operation).data()
                return Response(status: mapped.kind.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
            // An address under /ui that no page answers gets the UI's 404 page, not JSON.
            if path.hasPrefix("/ui/"), let http = error as? HTTPError, http.status == .notFound, request.method == .get {
                let page = WebRenderer.shared.plain(
                    "layout", title: "Not found", flash: .error("There is no page at \(path). Start again from the dashboard: /ui/"))
                return Response(status: .notFound, headers: WebController.pageHeaders, body: .init(byteBuffer: ByteBuffer(string: page)))
            }
            var response = mapped.response()
            if let seconds = mapped.retryAfterSeconds {
                response.headers[.retryAfter] = String(seconds)
            } else if mapped.kind == .unavailable {
                response.headers[.retryAfter] = String(Self.retryAfterSeconds)
            }
            return response
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
        let principal = try await authenticator.authenticate(request)
        if let scope = Self.requiredScope(method: request.method, path: request.uri.path) {
            try principal.require(scope: scope, to: "\(request.method.rawValue) \(request.uri.path)")
        }
        context.principal = principal
        return try await next(request, context)
    }

    /// The scope every request to `path` needs, decided here for every route at once so that no handler
    /// can forget it (handlers check roles and instance administration on top): OTLP and the ingest API
    /// need `ingest`, the gateway `gateway`, reads `read`, everything else that changes a project `write`.
    static func requiredScope(method: HTTPRequest.Method, path: String) -> KeyScope? {
        if path == "/v1/traces" || path == "/api/v1/ingest" { return .ingest }
        if path.hasPrefix("/v1/") { return .gateway }
        // Signing out and who-am-I need no scope.
        if path == "/api/v1/auth/logout" || path == "/api/v1/me" { return nil }
        if method == .get || method == .head { return .read }
        // Rendering a prompt reads it.
        if method == .post, path.hasPrefix("/api/v1/prompts/"), path.hasSuffix("/render") { return .read }
        return .write
    }
}
