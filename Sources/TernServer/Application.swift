import Foundation
public import Hummingbird
public import Logging
import ServiceLifecycle
public import TernCore

/// Everything the HTTP application needs, built once per process.
public struct TernServerOptions: Sendable {
    public var config: TernConfig
    public var hasher: PasswordHasher
    public var metrics: TernMetrics
    /// Called with the bound port once the server listens.
    public var onServerRunning: @Sendable (Int) async -> Void

    public init(
        config: TernConfig, hasher: PasswordHasher = .standard, metrics: TernMetrics = TernMetrics(),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.config = config
        self.hasher = hasher
        self.metrics = metrics
        self.onServerRunning = onServerRunning
    }
}

/// Builds the Tern HTTP application on an open, migrated store. The caller runs the store
/// (`withRunningStore`) for as long as the application runs.
public func buildApplication(
    store: any TernStore, options: TernServerOptions, logger: Logger
) -> some ApplicationProtocol {
    let config = options.config
    let usage = KeyUsageRecorder(store: store, logger: logger)
    let authenticator = Authenticator(
        store: store, cacheTTL: .seconds(config.auth.keyCacheSeconds), usage: usage)

    let router = Router(context: TernRequestContext.self)
    router.add(middleware: ObserveMiddleware(metrics: options.metrics))
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: BodyLimitMiddleware(limit: config.server.maxBodyBytes))

    HealthController(store: store, metrics: options.metrics).register(on: router)

    let users = UsersController(
        store: store, hasher: options.hasher, sessionTTL: .seconds(config.auth.sessionHours * 3600),
        maxBody: config.server.maxBodyBytes)
    users.registerPublic(on: router.group("api/v1"))

    let api = router.group("api/v1").add(middleware: AuthMiddleware(authenticator: authenticator))
    users.register(on: api)
    ProjectsController(store: store, authenticator: authenticator, maxBody: config.server.maxBodyBytes).register(on: api)

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(config.server.host, port: config.server.port), serverName: nil),
        onServerRunning: { channel in await options.onServerRunning(channel.localAddress?.port ?? config.server.port) },
        logger: logger)
    app.addServices(
        BackgroundService(name: "key-usage", every: .seconds(15)) { await usage.flush() },
        BackgroundService(name: "session-purge", every: .seconds(3600)) {
            do {
                try await store.sessions.purgeExpired(now: Date())
            } catch {
                logger.warning("could not purge expired sessions", metadata: ["error": "\(error)"])
            }
        })
    return app
}

/// Runs `work` periodically and once more at shutdown (so nothing recorded is lost).
struct BackgroundService: Service {
    let name: String
    let every: Duration
    let work: @Sendable () async -> Void

    init(name: String, every: Duration, work: @escaping @Sendable () async -> Void) {
        self.name = name
        self.every = every
        self.work = work
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: every) } catch { break }
                await work()
            }
        }
        await work()
    }
}
