import Hummingbird
import NIOCore
import TernCore

/// `/healthz` (process up), `/readyz` (database reachable), `/metrics` (Prometheus text).
struct HealthController {
    let store: any TernStore
    let metrics: TernMetrics
    let health: WriteHealth

    struct Status: Encodable {
        var status: String
        var database: String?
        var error: String?
    }

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let router = RouteCollection(context: TernRequestContext.self)
        router.get("healthz", use: getHealthz)
        router.get("readyz", use: getReadyz)
        router.get("metrics", use: getMetrics)
        return router
    }
}

// MARK: - Handlers

extension HealthController {
    /// `GET /healthz`
    @Sendable func getHealthz(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try JSON.response(Status(status: "ok"))
    }

    /// `GET /readyz`
    @Sendable func getReadyz(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        do {
            try await store.ping()
            // Reachable is not enough: a store that cannot write would lose what this replica acknowledges.
            if let failure = health.failure {
                do {
                    try await store.probeWrite()
                    health.recordSuccess()
                } catch {
                    let reason = store.unavailability(of: error) ?? failure.reason
                    health.recordFailure(reason)
                    context.logger.warning("readiness check failed: the store cannot write", metadata: ["reason": .string(reason)])
                    return try JSON.response(
                        Status(status: "unavailable", database: store.backendName, error: "database cannot write: \(reason)"),
                        status: .serviceUnavailable, headers: [.retryAfter: String(ErrorMiddleware.retryAfterSeconds)])
                }
            }
            return try JSON.response(Status(status: "ready", database: store.backendName))
        } catch {
            context.logger.warning("readiness check failed", metadata: ["error": "\(error)"])
            return try JSON.response(
                Status(status: "unavailable", database: store.backendName, error: "database unreachable"),
                status: .serviceUnavailable)
        }
    }

    /// `GET /metrics`
    @Sendable func getMetrics(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }
}
