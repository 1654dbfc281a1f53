public import Foundation
public import Hummingbird
public import Logging
import ServiceLifecycle
import Synchronization
public import TernCore
public import TernGateway
import TernLocal
public import TernProviders
public import TernMonitor
import TernLanguage
import TernStoreSQLite

/// Everything the HTTP application needs, built once per process.
public struct TernServerOptions: Sendable {
    public var config: TernConfig
    public var hasher: PasswordHasher
    public var metrics: TernMetrics
    /// Called with the bound port once the server listens.
    public var onServerRunning: @Sendable (Int) async -> Void
    /// Upstream providers by type; nil uses the real HTTP providers.
    public var providers: [ProviderType: any LLMProvider]?
    /// Environment the providers read upstream keys from.
    public var environment: [String: String]
    /// How long an account waits after its first wrong password beyond the free ones (then doubled each time).
    /// One second; tests that must act while an account waits lengthen it.
    public var signInFirstDelay: Duration = .seconds(1)
    /// The language of a trace input that came without one (a language code, `und` when too short to tell, or nil).
    public var detectLanguage: @Sendable (String) -> String? = { LanguageDetector.shared.segment(TraceText.forLanguage($0)) }
    /// The embedding model of features that embed inside the server (near-duplicates by meaning in
    /// dataset statistics): the local all-minilm-l6-v2, loaded on first use, its vectors cached.
    public var embedder: @Sendable () async throws -> any Embedder

    public init(
        config: TernConfig, hasher: PasswordHasher = .standard, metrics: TernMetrics = TernMetrics(),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        providers: [ProviderType: any LLMProvider]? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.config = config
        self.hasher = hasher
        self.metrics = metrics
        self.onServerRunning = onServerRunning
        self.providers = providers
        self.environment = environment
        let local = BuiltInModels.providers(config.providers)[BuiltInModels.localProviderName]
        let directory = local?.type == .local ? local?.modelsDirectory.map { URL(fileURLWithPath: $0, isDirectory: true) } : nil
        self.embedder = { try ServerEmbedder.shared(modelsDirectory: directory) }
    }
}

/// One cached local embedder per models directory for the whole process.
enum ServerEmbedder {
    private static let embedders = Mutex<[String: CachingEmbedder]>([:])

    static func shared(modelsDirectory: URL?) throws -> any Embedder {
        let key = modelsDirectory?.path ?? ""
        if let known = embedders.withLock({ $0[key] }) { return known }
        let embedder = CachingEmbedder(try SharedLocalEmbedder(modelsDirectory: modelsDirectory))
        return embedders.withLock {
            $0[key] = $0[key] ?? embedder; return $0[key]!
        }
    }
}

/// The gateway and what runs beside it.
public struct GatewayParts: Sendable {
    public let gateway: Gateway
    let http: UpstreamHTTP?
    let services: [any Service]
    /// Watchers' scans and queue (tests drive them with `scan` and `work`).
    public let watchers: WatcherRunner
    /// Alert rules' evaluations and deliveries (tests drive them with `evaluate` and `deliver`).
    public let alerts: AlertRunner
    let webhookPolicy: WebhookPolicy
}

/// Builds the gateway on an open, migrated store: records `tern.yaml` models as versions, loads the
/// models in force, and prepares the trace writer, cache, limits and upstream client.
public func buildGateway(store: any TernStore, options: TernServerOptions, logger: Logger) async throws -> GatewayParts {
    let config = options.config
    let registry = try await ModelRegistry.start(store: store, config: config, logger: logger)
    let health = WriteHealth()
    let journal =
        config.gateway.traceJournal
        ? try TraceJournal(
            root: (config.dataDir as NSString).appendingPathComponent("journal"), maxBytes: config.gateway.traceJournalMaxBytes,
            logger: logger)
        : nil
    let writer = TraceWriter(
        store: store, capacity: config.gateway.traceQueueCapacity, capacityBytes: config.gateway.traceQueueMaxBytes,
        journal: journal, health: health, logger: logger)
    // Traces an earlier run acknowledged but did not store (a crash, a kill, a full disk) go in first.
    await writer.replayPending()
    let limiter = KeyLimiter(store: store, logger: logger)
    let cache = ResponseCache(
        store: store, capacity: config.gateway.cacheMemoryEntries, capacityBytes: config.gateway.cacheMemoryBytes,
        logger: logger)
    var http: UpstreamHTTP?
    var providers: [ProviderType: any LLMProvider]
    if let given = options.providers {
        providers = given
    } else {
        let client = UpstreamHTTP(connectionsPerHost: config.gateway.upstreamConnectionsPerHost)
        http = client
        providers = [
            .openai: OpenAICompatibleProvider(http: client, environment: options.environment),
            .anthropic: AnthropicProvider(http: client, environment: options.environment),
        ]
    }
    if providers[.local] == nil { providers[.local] = LocalProvider() }
    if providers[.echo] == nil { providers[.echo] = EchoProvider() }
    let gateway = Gateway(
        registry: registry, cache: cache, limiter: limiter, traces: writer, settings: config.gateway,
        providers: providers, logger: logger, metrics: options.metrics.factory,
        prompts: PromptResolver(repository: store.prompts))
    var services: [any Service] = []
    if let http { services.append(ShutdownService(name: "upstream-http") { try? await http.shutdown() }) }
    services.append(TraceWriterService(writer: writer))
    let watchers = WatcherRunner(
        store: store, concurrency: config.monitoring.watcherConcurrency, logger: logger,
        evaluate: WatcherEvaluation.make(store: store, gateway: gateway))
    if config.monitoring.watchers { services.append(WatcherService(runner: watchers)) }
    let policy = try WebhookPolicy(allowedHosts: config.alerts.allowedHosts)
    let webhooks = WebhookSender(policy: policy, timeoutSeconds: Double(config.alerts.timeoutSeconds))
    services.append(ShutdownService(name: "webhooks") { try? await webhooks.shutdown() })
    let alerts = AlertRunner(store: store, baseURL: config.alerts.publicURL, logger: logger) { url, body, headers in
        let (status, error) = await webhooks.send(url: url, body: body, headers: headers)
        return WebhookOutcome(status: status, error: error)
    }
    if config.alerts.enabled { services.append(AlertService(runner: alerts)) }
    // Spend and rate-limit counts go to the store, and the other replicas' come back (KeyLimiter.sync).
    services.append(BackgroundService(name: "limits-sync", every: .seconds(2)) { await limiter.sync() })
    services.append(
        BackgroundService(name: "models", every: .seconds(5), final: false) {
            do { try await registry.reload() } catch { logger.warning("could not reload models", metadata: ["error": "\(error)"]) }
        })
    services.append(
        BackgroundService(name: "cache-purge", every: .seconds(600), final: false) {
            do { try await store.responseCache.purgeExpired(now: Date()) } catch {
                logger.warning("could not purge the response cache", metadata: ["error": "\(error)"])
            }
        })
    return GatewayParts(gateway: gateway, http: http, services: services, watchers: watchers, alerts: alerts, webhookPolicy: policy)
}

/// Builds the Tern HTTP application on an open, migrated store. The caller runs the store
/// (`withRunningStore`) for as long as the application runs.
public func buildApplication(
    store: any TernStore, options: TernServerOptions, logger: Logger
) async throws -> some ApplicationProtocol {
    let parts = try await buildGateway(store: store, options: options, logger: logger)
    return buildApplication(store: store, options: options, gateway: parts, logger: logger)
}

/// Builds the application around a gateway made by `buildGateway` (tests keep a handle on it).
public func buildApplication(
    store: any TernStore, options: TernServerOptions, gateway parts: GatewayParts, logger: Logger
) -> some ApplicationProtocol {
    let config = options.config
    let usage = KeyUsageRecorder(store: store, logger: logger)
    let authenticator = Authenticator(
        store: store, cacheTTL: .seconds(config.auth.keyCacheSeconds), usage: usage)
    let writer = parts.gateway.traces
    let health = writer.health
    options.metrics.beforeScrape = {
        let stats = writer.stats
        options.metrics.setGauge("tern_trace_queue_pending", Double(stats.pending))
        options.metrics.setGauge("tern_trace_queue_pending_bytes", Double(stats.pendingBytes))
        options.metrics.setGauge("tern_trace_queue_capacity", Double(writer.capacity))
        options.metrics.setGauge("tern_trace_queue_capacity_bytes", Double(writer.capacityBytes))
        options.metrics.setGauge("tern_traces_written_total", Double(stats.written))
        options.metrics.setGauge("tern_traces_dropped_total", Double(stats.dropped))
        for reason in TraceWriter.LossReason.allCases {
            options.metrics.setGauge("tern_traces_lost_total", labels: [("reason", reason.rawValue)], Double(stats.lost[reason] ?? 0))
        }
        options.metrics.setGauge("tern_traces_failed_total", Double(stats.failed))
        options.metrics.setGauge("tern_traces_replayed_total", Double(stats.replayed))
        options.metrics.setGauge("tern_traces_retrying", Double(stats.retrying))
        options.metrics.setGauge("tern_traces_spilled_total", Double(stats.spilled))
        if let journal = writer.journal {
            let journalStats = journal.stats
            options.metrics.setGauge("tern_trace_journal_bytes", Double(journalStats.bytes))
            options.metrics.setGauge("tern_trace_journal_files_to_replay", Double(journalStats.segmentsToReplay))
            options.metrics.setGauge("tern_trace_journal_append_failures_total", Double(journalStats.appendFailures))
        }
        options.metrics.setGauge("tern_store_writable", health.failure == nil ? 1 : 0)
        for gauge in parts.watchers.latestGauges {
            let labels = [("project", gauge.project), ("watcher", gauge.watcher)]
            let stats = gauge.stats
            for (status, count) in [("pending", stats.pending), ("running", stats.running), ("done", stats.done), ("failed", stats.failed)] {
                options.metrics.setGauge("tern_watcher_jobs", labels: labels + [("status", status)], Double(count))
            }
            options.metrics.setGauge("tern_watcher_lag_seconds", labels: labels, stats.oldestWaiting.map { max(0, Date().timeIntervalSince($0)) } ?? 0)
            options.metrics.setGauge("tern_watcher_cost_today_usd", labels: labels, stats.costToday)
        }
        let memory = MemoryTrim.statistics()
        options.metrics.setGauge("tern_process_resident_bytes", Double(memory.residentBytes))
        if let inUse = memory.heapInUseBytes, let free = memory.heapFreeBytes {
            options.metrics.setGauge("tern_process_heap_bytes", labels: [("state", "in_use")], Double(inUse))
            options.metrics.setGauge("tern_process_heap_bytes", labels: [("state", "free")], Double(free))
        }
        if let sqlite = store as? SQLiteStore {
            options.metrics.setGauge("tern_sqlite_memory_bytes", Double(sqlite.memoryUsed))
        }
    }

    let router = Router(context: TernRequestContext.self)
    router.add(middleware: ObserveMiddleware(metrics: options.metrics))
    router.add(middleware: ErrorMiddleware(store: store, health: health))
    router.add(middleware: BodyLimitMiddleware(limit: config.server.maxBodyBytes))

    router.addRoutes(HealthController(store: store, metrics: options.metrics, health: health).routes)

    let throttle = LoginThrottle(firstDelay: options.signInFirstDelay)
    let secureCookies = config.server.publicURL.map { $0.lowercased().hasPrefix("https://") } ?? false
    let users = UsersController(
        store: store, hasher: options.hasher, sessionTTL: .seconds(config.auth.sessionHours * 3600),
        maxBody: config.server.maxBodyBytes, throttle: throttle, secureCookies: secureCookies)
    router.addRoutes(users.publicRoutes, atPath: "api/v1")

    let web = WebController(
        store: store, authenticator: authenticator, renderer: .shared, sessionTTL: .seconds(config.auth.sessionHours * 3600),
        maxBody: config.server.maxBodyBytes, throttle: throttle, secureCookies: secureCookies, models: parts.gateway.registry)
    router.addRoutes(web.routes)
    router.addRoutes(PromptsWebController(web: web, gateway: parts.gateway).routes)
    router.addRoutes(SettingsWebController(web: web, gateway: parts.gateway, hasher: options.hasher).routes)
    router.addRoutes(DatasetsWebController(web: web, embedder: options.embedder).routes)
    // Pages resolve their project from the path; the API's project lookup is never called from them.
    router.addRoutes(
        MonitoringWebController(
            web: web,
            monitoring: MonitoringController(store: store, projectID: { _, _ in throw TernError.notFound("project") }, embedder: options.embedder)
        )
        .routes)
    let traces = TracesController(store: store, writer: writer, maxBody: config.server.maxBodyBytes)
    let experiments = ExperimentService(
        store: store, gateway: parts.gateway, logger: logger,
        cacheDirectory: URL(fileURLWithPath: config.dataDir, isDirectory: true).appendingPathComponent("cache/experiments"))
    let experimentsAPI = ExperimentsController(
        store: store, gateway: parts.gateway, service: experiments, maxBody: config.server.maxBodyBytes,
        projectID: { try await traces.projectID($0, $1) })
    let experimentPages = RouteCollection(context: TernRequestContext.self)
    web.registerExperiments(on: experimentPages, api: experimentsAPI)
    router.addRoutes(experimentPages)

    let api = router.group("api/v1").add(middleware: AuthMiddleware(authenticator: authenticator))
    api.addRoutes(users.routes)
    api.addRoutes(ProjectsController(store: store, authenticator: authenticator, maxBody: config.server.maxBodyBytes).routes)
    api.addRoutes(ModelsController(gateway: parts.gateway, store: store, maxBody: config.server.maxBodyBytes).routes)
    api.addRoutes(traces.routes)
    api.addRoutes(IngestController(store: store, maxBody: config.server.maxBodyBytes).routes)
    api.addRoutes(PromptsController(store: store, maxBody: config.server.maxBodyBytes, projectID: { try await traces.projectID($0, $1) }).routes)
    api.addRoutes(PromotionsController(store: store, maxBody: config.server.maxBodyBytes, projectID: { try await traces.projectID($0, $1) }).routes)
    api.addRoutes(
        DatasetsController(
            store: store, maxBody: config.server.maxBodyBytes, projectID: { try await traces.projectID($0, $1) },
            embedder: options.embedder
        ).routes)
    api.addRoutes(experimentsAPI.routes)
    api.addRoutes(
        ProbesController(store: store, experiments: experimentsAPI, maxBody: config.server.maxBodyBytes, projectID: { try await traces.projectID($0, $1) })
            .routes)
    api.addRoutes(MonitoringController(store: store, projectID: { try await traces.projectID($0, $1) }, embedder: options.embedder).routes)
    api.addRoutes(
        DriftMonitorsController(
            store: store, maxBody: config.server.maxBodyBytes, projectID: { try await traces.projectID($0, $1) }, embedder: options.embedder
        ).routes)
    api.addRoutes(WatchersController(store: store, maxBody: config.server.maxBodyBytes, projectID: { try await traces.projectID($0, $1) }).routes)
    api.addRoutes(
        AlertsController(
            store: store, runner: parts.alerts, policy: parts.webhookPolicy, maxBody: config.server.maxBodyBytes,
            projectID: { try await traces.projectID($0, $1) }
        ).routes)

    let v1 = router.group("v1").add(middleware: AuthMiddleware(authenticator: authenticator))
    v1.addRoutes(GatewayController(gateway: parts.gateway, maxBody: config.server.maxBodyBytes, cancelOnDisconnect: config.gateway.cancelOnDisconnect).routes)
    v1.addRoutes(OTLPController(store: store, maxBody: config.server.maxBodyBytes).routes)

    let connectionLimit = FileLimit.connectionBudget(configured: config.server.maxConnections)
    if connectionLimit < config.server.maxConnections {
        logger.notice(
            "server.max_connections lowered to fit the open-file limit",
            metadata: [
                "max_connections": .stringConvertible(connectionLimit), "open_file_limit": .stringConvertible(FileLimit.current),
            ])
    }
    var limits = ConnectionLimits(config.server)
    limits.maxConnections = connectionLimit
    let connections = ConnectionTable(limit: connectionLimit)
    let previousScrape = options.metrics.beforeScrape
    options.metrics.beforeScrape = {
        previousScrape?()
        options.metrics.setGauge("tern_http_connections_open", Double(connections.count))
        options.metrics.setGauge("tern_http_connections_closed_by_limit_total", Double(connections.closedByLimit.load(ordering: .relaxed)))
        options.metrics.setGauge("tern_http_connections_closed_by_timeout_total", Double(connections.closedByTimeout.load(ordering: .relaxed)))
    }
    var app = Application(
        router: router,
        server: .guardedHTTP1(limits: limits, table: connections),
        configuration: .init(address: .hostname(config.server.host, port: config.server.port), serverName: nil),
        onServerRunning: { channel in await options.onServerRunning(channel.localAddress?.port ?? config.server.port) },
        logger: logger)
    app.addServices(parts.services)
    // After the gateway's services, so it stops first (and fails its unfinished runs while the store is up).
    app.addServices(experiments)
    if config.monitoring.probes { app.addServices(ProbeService(store: store, experiments: experimentsAPI, logger: logger)) }
    if config.monitoring.driftMonitors {
        app.addServices(
            BackgroundService(name: "drift-monitors", every: .seconds(30), final: false) {
                do {
                    try await store.withExclusiveJob("drift-monitors") { try await DriftMonitoring.tick(store: store, embedder: options.embedder) }
                } catch {
                    logger.warning("drift monitors failed", metadata: ["error": "\(error)"])
                }
            })
    }
    app.addServices(
        BackgroundService(name: "key-usage", every: .seconds(15)) { await usage.flush() },
        // Keys revoked through another replica are refused here within this interval (not the key cache's).
        BackgroundService(name: "revocations", every: .seconds(2), final: false) { await authenticator.syncRevocations() },
        // Jobs over shared data run on one replica at a time (a database lock on PostgreSQL).
        BackgroundService(name: "retention", every: .seconds(3600), final: false) {
            do {
                try await store.withExclusiveJob("retention") {
                    let deleted = try await Retention.enforce(store).filter { $0.value > 0 }
                    if !deleted.isEmpty { logger.info("retention: old traces deleted", metadata: ["deleted": "\(deleted)"]) }
                }
            } catch {
                logger.warning("retention job failed", metadata: ["error": "\(error)"])
            }
        },
        BackgroundService(name: "monitoring", every: .seconds(2), final: false) { [monitoring = MonitoringJob(store: store, logger: logger)] in
            await withTaskExecutorPreference(BackgroundExecutor.monitoring) {
                do {
                    try await store.withExclusiveJob("monitoring") {
                        await monitoring.run(detect: options.detectLanguage)
                    }
                } catch {
                    logger.warning("monitoring job could not take its lock", metadata: ["error": "\(error)"])
                }
            }
        },
        // While writes fail, a small probe write every few seconds notices when the store takes them again.
        BackgroundService(name: "write-probe", every: .seconds(3), final: false) {
            guard health.failure != nil else { return }
            do {
                try await store.probeWrite()
                health.recordSuccess()
                logger.notice("the store takes writes again")
            } catch {
                health.recordFailure(store.unavailability(of: error) ?? "\(error)")
            }
        },
        BackgroundService(name: "session-purge", every: .seconds(3600), final: false) {
            do {
                try await store.sessions.purgeExpired(now: Date())
            } catch {
                logger.warning("could not purge expired sessions", metadata: ["error": "\(error)"])
            }
        })
    return app
}

/// Runs `work` periodically and, unless `final` is false, once more at shutdown (so nothing recorded is lost).
struct BackgroundService: Service {
    let name: String
    let every: Duration
    let final: Bool
    let work: @Sendable () async -> Void

    init(name: String, every: Duration, final: Bool = true, work: @escaping @Sendable () async -> Void) {
        self.name = name
        self.every = every
        self.final = final
        self.work = work
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: every) } catch { break }
                await work()
            }
        }
        if final { await work() }
    }
}

/// Scans for finished traces and works the watchers' queue until shutdown.
struct WatcherService: Service {
    let runner: WatcherRunner

    func run() async throws {
        await cancelWhenGracefulShutdown { await runner.run() }
    }
}

/// Evaluates alert rules and delivers their notifications until shutdown.
struct AlertService: Service {
    let runner: AlertRunner

    func run() async throws {
        await cancelWhenGracefulShutdown { await runner.run() }
    }
}

/// Waits for shutdown, then runs `work` (closing clients after everything that uses them stopped).
struct ShutdownService: Service {
    let name: String
    let work: @Sendable () async -> Void

    func run() async throws {
        try? await gracefulShutdown()
        await work()
    }
}

/// Drains the trace queue until shutdown, then writes what is left.
struct TraceWriterService: Service {
    let writer: TraceWriter

    func run() async throws {
        await withGracefulShutdownHandler {
            // Off the request threads: see BackgroundExecutor.
            await withTaskExecutorPreference(BackgroundExecutor.shared) {
                await writer.run()
            }
        } onGracefulShutdown: {
            writer.finish()
        }
    }
}
