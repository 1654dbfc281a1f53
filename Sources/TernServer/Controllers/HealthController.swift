import Hummingbird
import NIOCore
import TernCore

/// `/healthz` (process up), `/readyz` (database reachable), `/metrics` (Prometheus text).
struct HealthController {
    let store: any TernStore
    let metrics: TernMetrics

    struct Status: Encodable {
        var status: String
        var database: String?
        var error: String?
    }

    func register(on router: Router<TernRequestContext>) {
        router.get("healthz") { _, _ in
            try JSON.response(Status(status: "ok"))
        }
        router.get("readyz") { _, context in
            do {
                try await store.ping()
                return try JSON.response(Status(status: "ready", database: store.backendName))
            } catch {
                context.logger.warning("readiness check failed", metadata: ["error": "\(error)"])
                return try JSON.response(
                    Status(status: "unavailable", database: store.backendName, error: "database unreachable"),
                    status: .serviceUnavailable)
            }
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
    }
}
