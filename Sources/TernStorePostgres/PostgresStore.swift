import Foundation
public import Logging
public import TernCore
import NIOSSL
import PostgresNIO
import Synchronization
import TernStoreSQL

/// PostgreSQL through postgres-nio's `PostgresClient` (a connection pool). Stateless Tern replicas
/// can share one database; migrations take an advisory lock so concurrent starts apply them once.
public final class PostgresStore: TernStore {
    let client: PostgresClient
    /// One connection of its own for the advisory locks of exclusive jobs: a session holds any number of
    /// them, and a job's body never waits for a pool connection that another job's lock is holding.
    let lockClient: PostgresClient
    /// Jobs running in this process: a session may take a lock it holds again, so the process checks itself.
    private let runningJobs = Mutex<Set<String>>([])
    let logger: Logger
    let target: PostgresTarget
    public let backendName = "postgres"

    public let projects: any ProjectRepository
    public let apiKeys: any APIKeyRepository
    public let users: any UserRepository
    public let sessions: any SessionRepository
    public let traces: any TraceRepository
    public let modelVersions: any ModelVersionRepository
    public let responseCache: any ResponseCacheRepository
    public let spend: any SpendRepository
    public let scores: any ScoreRepository
    public let scoreConfigs: any ScoreConfigRepository
    public let metrics: any MetricsRepository
    public let prompts: any PromptRepository
    public let datasets: any DatasetRepository
    public let experiments: any ExperimentRepository
    public let replicas: any ReplicaRepository
    public let watchers: any WatcherRepository
    public let alerts: any AlertRepository
    public let promotions: any PromotionRepository
    public let probes: any ProbeRepository
    public let driftMonitors: any DriftMonitorRepository

    /// Creates the pool for `url` (`postgres://user:password@host:port/database?sslmode=disable|prefer|require`,
    /// or `?host=/run/postgresql` for a Unix socket). Connections open once `run()` is running.
    public init(url: String, maxConnections: Int = 10, logger: Logger) throws {
        target = try PostgresTarget(url: url)
        var configuration = try Self.configuration(url: url)
        configuration.options.maximumConnections = maxConnections
        configuration.options.connectTimeout = .seconds(5)
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        var lockConfiguration = configuration
        lockConfiguration.options.maximumConnections = 1
        lockConfiguration.options.minimumConnections = 1
        // Kept open: a lock lives as long as its session.
        lockConfiguration.options.connectionIdleTimeout = .seconds(365 * 86_400)
        lockClient = PostgresClient(configuration: lockConfiguration, backgroundLogger: logger)
        self.logger = logger
        projects = PostgresProjects(client: client, logger: logger)
        apiKeys = PostgresAPIKeys(client: client, logger: logger)
        users = PostgresUsers(client: client, logger: logger)
        sessions = PostgresSessions(client: client, logger: logger)
        traces = PostgresTraces(client: client, logger: logger)
        modelVersions = PostgresModelVersions(client: client, logger: logger)
        responseCache = PostgresResponseCache(client: client, logger: logger)
        spend = PostgresSpend(client: client, logger: logger)
        scores = PostgresScores(client: client, logger: logger)
        scoreConfigs = PostgresScoreConfigs(client: client, logger: logger)
        metrics = PostgresMetrics(client: client, logger: logger)
        prompts = PostgresPrompts(client: client, logger: logger)
        datasets = PostgresDatasets(client: client, logger: logger)
        experiments = PostgresExperiments(client: client, logger: logger)
        replicas = PostgresReplicas(client: client, logger: logger)
        watchers = PostgresWatchers(
            client: client, logger: logger, scores: PostgresScores(client: client, logger: logger),
            experiments: PostgresExperiments(client: client, logger: logger))
        alerts = PostgresAlerts(client: client, logger: logger)
        promotions = PostgresPromotions(client: client, logger: logger)
        probes = PostgresProbes(client: client, logger: logger)
        driftMonitors = PostgresDriftMonitors(client: client, logger: logger)
    }

    static func configuration(url: String) throws -> PostgresClient.Configuration {
        let target = try PostgresTarget(url: url)
        if let socket = target.socketPath {
            return .init(unixSocketPath: socket, username: target.user, password: target.password, database: target.database)
        }
        return .init(
            host: target.host, port: target.port, username: target.user, password: target.password,
            database: target.database, tls: target.clientTLS)
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            group.addTask { await self.lockClient.run() }
        }
    }

    public func close() async throws {}

    /// `SELECT 1` through the pool, within `timeout`. When the pool cannot get a connection in time, one
    /// direct connection attempt tells what is wrong (refused, unknown host, bad password, no database).
    public func ping(timeout: Duration) async throws {
        do {
            _ = try await withTimeout(timeout) { [client, logger] in
                try await client.mappedQuery("SELECT 1", logger: logger)
            }
        } catch let error as TernError where error.code != "timeout" {
            throw error
        } catch {
            throw TernError.unavailable("cannot reach PostgreSQL at \(target.displayName): \(await diagnose())")
        }
    }

    public func ping() async throws {
        try await ping(timeout: .seconds(5))
    }

    @discardableResult
    public func withExclusiveJob(_ name: String, _ body: @Sendable () async throws -> Void) async throws -> Bool {
        // A session lock on the lock connection: other replicas' tries fail while it is held, and it goes with
        // the connection if this process dies mid-job. The body runs with the connection back in its pool
        // (the lock stays with the session), so jobs running at once never starve each other of connections.
        guard runningJobs.withLock({ $0.insert(name).inserted }) else { return false }
        defer { _ = runningJobs.withLock { $0.remove(name) } }
        let key = Int64(bitPattern: Self.jobLockKey(name))
        let locked = try await lockClient.withConnection { connection in
            var locked = false
            for try await row in try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger) {
                locked = try row.decode(Bool.self)
            }
            return locked
        }
        guard locked else { return false }
        func unlock() async {
            _ = try? await lockClient.withConnection { connection in
                try await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger)
            }
        }
        do {
            try await body()
        } catch {
            await unlock()
            throw error
        }
        await unlock()
        return true
    }

    /// A stable 64-bit key for a job name (FNV-1a), in a range of its own.
    static func jobLockKey(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in ("tern-job:" + name).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    public func probeWrite() async throws {
        try await withTimeout(.seconds(5)) { [client, logger] in
            do {
                try await client.mappedTransaction(logger: logger) { connection in
                    try await connection.query("INSERT INTO write_probe (filler) VALUES (repeat('x', 65536))", logger: logger)
                    try await connection.query("DELETE FROM write_probe", logger: logger)
                }
            } catch let error as PSQLError {
                throw mapPostgresError(error)
            } catch let error as PostgresTransactionError {
                if let inner = (error.closureError ?? error.beginError ?? error.commitError) as? PSQLError { throw mapPostgresError(inner) }
                throw error
            }
        }
    }

    public func unavailability(of error: any Error) -> String? {
        if let error = error as? TernError { return error.kind == .unavailable ? error.message : nil }
        if let error = error as? PostgresTransactionError,
            let inner = (error.closureError ?? error.beginError ?? error.commitError)
        {
            return unavailability(of: inner)
        }
        guard let error = error as? PSQLError else { return nil }
        let mapped = mapPostgresError(error)
        return mapped.kind == .unavailable ? mapped.message : nil
    }

    func diagnose() async -> String {
        let configuration: PostgresConnection.Configuration
        if let socket = target.socketPath {
            configuration = .init(unixSocketPath: socket, username: target.user, password: target.password, database: target.database)
        } else {
            configuration = .init(
                host: target.host, port: target.port, username: target.user, password: target.password,
                database: target.database, tls: (try? target.connectionTLS()) ?? .disable)
        }
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
            return "connections succeed but the pool did not answer in time"
        } catch let error as PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        } catch {
            return "\(error)"
        }
    }

    @discardableResult
    public func migrate() async throws -> [String] {
        try await migrate(upTo: nil)
    }

    /// Runs one SQL statement as given, for tests that write rows the way an older version did.
    package func execute(sql: String) async throws {
        _ = try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// Applies the migrations up to and including `last` (all when nil), for tests of a migration.
    package func migrate(upTo last: String?) async throws -> [String] {
        let wanted: [PostgresMigration]
        if let last, let index = PostgresMigrations.all.firstIndex(where: { $0.id == last }) {
            wanted = Array(PostgresMigrations.all[...index])
        } else {
            wanted = PostgresMigrations.all
        }
        return try await client.mappedTransaction(logger: logger) { connection in
            // One migrator at a time across all replicas; the lock ends with the transaction.
            try await connection.query("SELECT pg_advisory_xact_lock(7777001)", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS tern_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                logger: logger)
            var applied = Set<String>()
            for try await id in try await connection.query("SELECT id FROM tern_migrations", logger: logger).decode(String.self) {
                applied.insert(id)
            }
            var now: [String] = []
            for migration in wanted where !applied.contains(migration.id) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                let stamp = Timestamp.micros(Date())
                try await connection.query(
                    "INSERT INTO tern_migrations (id, applied_at) VALUES (\(migration.id), \(stamp))", logger: logger)
                now.append(migration.id)
            }
            return now
        }
    }

    public func appliedMigrations() async throws -> [String] {
        let exists = try await client.query(
            "SELECT to_regclass('tern_migrations') IS NOT NULL", logger: logger
        ).decode(Bool.self)
        var hasTable = false
        for try await value in exists { hasTable = value }
        guard hasTable else { return [] }
        var applied = Set<String>()
        for try await id in try await client.query("SELECT id FROM tern_migrations", logger: logger).decode(String.self) {
            applied.insert(id)
        }
        return PostgresMigrations.all.map(\.id).filter { applied.contains($0) }
    }

    /// Runs one statement as given (test and admin tooling only; never with user input).
    package func execute(unsafeSQL sql: String) async throws {
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// The schema (columns and indexes), for migration tests.
    package func schemaText() async throws -> String {
        var lines: [String] = []
        for try await (table, column, type) in try await client.query(
            """
            SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
            WHERE table_schema = 'public' ORDER BY table_name, ordinal_position
            """, logger: logger
        ).decode((String, String, String).self) {
            lines.append("\(table).\(column) \(type)")
        }
        for try await (name, definition) in try await client.query(
            "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname", logger: logger
        ).decode((String, String).self) {
            lines.append("index \(name): \(definition)")
        }
        return lines.joined(separator: "\n")
    }

    /// Every row of every table as text, for tests that prove secrets are stored hashed.
    package func dumpAllText() async throws -> String {
        var tables: [String] = []
        for try await name in try await client.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename", logger: logger
        ).decode(String.self) {
            tables.append(name)
        }
        var out = ""
        for table in tables {
            let quoted = "\"" + table.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            for try await row in try await client.query(
                PostgresQuery(unsafeSQL: "SELECT row_to_json(t)::text FROM \(quoted) t"), logger: logger
            ).decode(String.self) {
                out += "\(table): \(row)\n"
            }
        }
        return out
    }
}

/// What a `postgres://` URL names.
struct PostgresTarget: Sendable {
    var host: String
    var port: Int
    var socketPath: String?
    var user: String
    var password: String?
    var database: String?
    var sslMode: String

    init(url: String) throws {
        guard let components = URLComponents(string: url),
            components.scheme == "postgres" || components.scheme == "postgresql"
        else {
            throw TernError.invalid("database.url", "expected postgres://user:password@host:5432/database, got \"\(url)\"")
        }
        let query = Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        password = components.password.flatMap { $0.removingPercentEncoding }
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        database = path.isEmpty ? nil : path.removingPercentEncoding
        port = components.port ?? 5432
        sslMode = query["sslmode"] ?? "prefer"
        guard ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].contains(sslMode) else {
            throw TernError.invalid("database.url", "sslmode must be disable, prefer or require, got \"\(sslMode)\"")
        }
        if let socket = query["host"], socket.hasPrefix("/") {
            socketPath = (socket as NSString).appendingPathComponent(".s.PGSQL.\(port)")
            host = socket
        } else {
            guard let host = components.host, !host.isEmpty else {
                throw TernError.invalid("database.url", "missing host in the database URL")
            }
            self.host = host
        }
    }

    /// host:port/database, never the password.
    var displayName: String { "\(socketPath ?? "\(host):\(port)")/\(database ?? user)" }

    var clientTLS: PostgresClient.Configuration.TLS {
        switch sslMode {
        case "disable": .disable
        case "require", "verify-ca", "verify-full": .require(.makeClientConfiguration())
        default: .prefer(.makeClientConfiguration())
        }
    }

    func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        switch sslMode {
        case "disable": return .disable
        case "require", "verify-ca", "verify-full": return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        default: return .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }
}

func isUniqueViolation(_ error: any Error) -> Bool {
    (error as? TernError)?.code == "unique_violation"
}

extension PostgresClient {
    /// `query`, with PostgreSQL errors turned into `TernError`s that say what the server said
    /// (never the bound values, which may hold hashes or user data).
    @discardableResult
    func mappedQuery(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        do {
            return try await self.query(query, logger: logger)
        } catch let error as PSQLError {
            throw mapPostgresError(error)
        }
    }
}

func mapPostgresError(_ error: PSQLError) -> TernError {
    guard let state = error.serverInfo?[.sqlState] else {
        return TernError.unavailable("PostgreSQL unreachable: \(error.code)")
    }
    let message = error.serverInfo?[.message] ?? "error"
    if state == "23505" {
        return TernError(.conflict, code: "unique_violation", message: "PostgreSQL: \(message)")
    }
    // Connection exceptions, insufficient resources (disk full), operator intervention (shutdown),
    // system errors, a read-only transaction, serialization failures and deadlocks: retry later.
    if ["08", "53", "57", "58"].contains(where: state.hasPrefix) || ["25006", "40001", "40P01"].contains(state) {
        return TernError(.unavailable, code: "store_unavailable", message: "PostgreSQL cannot serve now: \(message) (SQLSTATE \(state))")
    }
    return TernError(.internal, code: "database_error", message: "PostgreSQL: \(message) (SQLSTATE \(state))")
}

/// What a failed transaction throws: the closure's own `TernError` as it is (a 404 stays a 404), PostgreSQL's
/// errors mapped, anything else as it came.
func transactionFailure(_ error: PostgresTransactionError) -> any Error {
    let inner = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
    if let inner = inner as? TernError { return inner }
    if let inner = inner as? PSQLError { return mapPostgresError(inner) }
    return inner ?? error
}

extension PostgresClient {
    /// `withTransaction`, with errors as `transactionFailure` gives them.
    func mappedTransaction<Result>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await withTransaction(logger: logger, isolation: isolation, body)
        } catch let error as PostgresTransactionError {
            throw transactionFailure(error)
        } catch let error as PSQLError {
            throw mapPostgresError(error)
        }
    }
}

func collect<Row>(_ rows: PostgresRowSequence, _ transform: (PostgresRow) throws -> Row) async throws -> [Row] {
    var result: [Row] = []
    for try await row in rows { result.append(try transform(row)) }
    return result
}

extension Optional where Wrapped == Int64 {
    var date: Date? { map(Timestamp.date) }
}
