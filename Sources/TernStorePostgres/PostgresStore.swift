public import Foundation
public import Logging
public import TernCore
import NIOSSL
import PostgresNIO

/// PostgreSQL through postgres-nio's `PostgresClient` (a connection pool). Stateless Tern replicas
/// can share one database; migrations take an advisory lock so concurrent starts apply them once.
public final class PostgresStore: TernStore {
    let client: PostgresClient
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

    /// Creates the pool for `url` (`postgres://user:password@host:port/database?sslmode=disable|prefer|require`,
    /// or `?host=/run/postgresql` for a Unix socket). Connections open once `run()` is running.
    public init(url: String, maxConnections: Int = 10, logger: Logger) throws {
        target = try PostgresTarget(url: url)
        var configuration = try Self.configuration(url: url)
        configuration.options.maximumConnections = maxConnections
        configuration.options.connectTimeout = .seconds(5)
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        projects = PGProjects(client: client, logger: logger)
        apiKeys = PGAPIKeys(client: client, logger: logger)
        users = PGUsers(client: client, logger: logger)
        sessions = PGSessions(client: client, logger: logger)
        traces = PGTraces(client: client, logger: logger)
        modelVersions = PGModelVersions(client: client, logger: logger)
        responseCache = PGResponseCache(client: client, logger: logger)
        spend = PGSpend(client: client, logger: logger)
        scores = PGScores(client: client, logger: logger)
        scoreConfigs = PGScoreConfigs(client: client, logger: logger)
        metrics = PGMetrics(client: client, logger: logger)
        prompts = PGPrompts(client: client, logger: logger)
        datasets = PGDatasets(client: client, logger: logger)
        experiments = PGExperiments(client: client, logger: logger)
        replicas = PGReplicas(client: client, logger: logger)
    }

    static func configuration(url: String) throws -> PostgresClient.Configuration {
        let target = try PostgresTarget(url: url)
        if let socket = target.socketPath {
            return .init(unixSocketPath: socket, username: target.user, password: target.password, database: target.database)
        }
        return .init(host: target.host, port: target.port, username: target.user, password: target.password,
                     database: target.database, tls: target.clientTLS)
    }

    public func run() async throws {
        await client.run()
    }

    public func close() async throws {}

    /// `SELECT 1` through the pool, within `timeout`. When the pool cannot get a connection in time, one
    /// direct connection attempt tells what is wrong (refused, unknown host, bad password, no database).
    public func ping(timeout: Duration) async throws {
        do {
            try await withTimeout(timeout) { [client, logger] in
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
        // A session lock on one connection of the pool: other replicas' tries fail while it is held, and
        // it goes with the connection if this process dies mid-job.
        let key = Int64(bitPattern: Self.jobLockKey(name))
        return try await client.withConnection { connection in
            let rows = try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger)
            var locked = false
            for try await row in rows { locked = try row.decode(Bool.self) }
            guard locked else { return false }
            do {
                try await body()
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger)
                throw error
            }
            _ = try await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger)
            return true
        }
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
           let inner = (error.closureError ?? error.beginError ?? error.commitError) {
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
            configuration = .init(host: target.host, port: target.port, username: target.user, password: target.password,
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
            "SELECT to_regclass('tern_migrations') IS NOT NULL", logger: logger).decode(Bool.self)
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

struct PostgresMigration {
    let id: String
    let statements: [String]
}

/// Migrations, oldest first. Never edit one that has shipped: add a new one.
enum PostgresMigrations {
    static let all: [PostgresMigration] = [
        PostgresMigration(id: "0001_foundation", statements: [
            """
            CREATE TABLE projects (
                id TEXT PRIMARY KEY,
                slug TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                retention_days INTEGER
            )
            """,
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
                password_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                disabled_at BIGINT
            )
            """,
            """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                prefix TEXT NOT NULL,
                key_hash TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
                created_at BIGINT NOT NULL,
                created_by TEXT,
                last_used_at BIGINT,
                revoked_at BIGINT
            )
            """,
            "CREATE INDEX api_keys_project ON api_keys(project_id, created_at)",
            """
            CREATE TABLE web_sessions (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                token_hash TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX web_sessions_user ON web_sessions(user_id)",
        ]),
        PostgresMigration(id: "0002_gateway", statements: [
            "ALTER TABLE api_keys ADD COLUMN rpm_limit INTEGER",
            "ALTER TABLE api_keys ADD COLUMN tpm_limit INTEGER",
            "ALTER TABLE api_keys ADD COLUMN budget_usd DOUBLE PRECISION",
            "ALTER TABLE api_keys ADD COLUMN budget_period TEXT NOT NULL DEFAULT 'month'",
            """
            CREATE TABLE key_spend (
                key_id TEXT NOT NULL,
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                period TEXT NOT NULL,
                spent_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
                PRIMARY KEY (key_id, period)
            )
            """,
            """
            CREATE TABLE traces (
                id TEXT NOT NULL,
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                name TEXT,
                user_id TEXT,
                session_id TEXT,
                tags TEXT NOT NULL DEFAULT '[]',
                metadata TEXT,
                release TEXT,
                environment TEXT,
                input TEXT,
                output TEXT,
                start_time BIGINT NOT NULL,
                end_time BIGINT,
                PRIMARY KEY (project_id, id)
            )
            """,
            "CREATE INDEX traces_time ON traces(project_id, start_time DESC, id DESC)",
            "CREATE INDEX traces_user ON traces(project_id, user_id, start_time DESC) WHERE user_id IS NOT NULL",
            "CREATE INDEX traces_session ON traces(project_id, session_id, start_time DESC) WHERE session_id IS NOT NULL",
            """
            CREATE TABLE observations (
                id TEXT NOT NULL,
                trace_id TEXT NOT NULL,
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                parent_id TEXT,
                type TEXT NOT NULL,
                name TEXT,
                start_time BIGINT NOT NULL,
                end_time BIGINT,
                completion_start_time BIGINT,
                model TEXT,
                provider TEXT,
                model_parameters TEXT,
                input TEXT,
                output TEXT,
                usage_input INTEGER,
                usage_output INTEGER,
                usage_cached INTEGER,
                usage_reasoning INTEGER,
                usage_estimated INTEGER NOT NULL DEFAULT 0,
                cost DOUBLE PRECISION,
                cost_estimated INTEGER NOT NULL DEFAULT 0,
                level TEXT NOT NULL DEFAULT 'DEFAULT',
                status_message TEXT,
                metadata TEXT,
                requested_model TEXT,
                deployment TEXT,
                variant TEXT,
                route TEXT,
                cache_status TEXT,
                status_code INTEGER,
                prompt_name TEXT,
                prompt_version INTEGER,
                PRIMARY KEY (project_id, id)
            )
            """,
            "CREATE INDEX observations_trace ON observations(project_id, trace_id, start_time)",
            """
            CREATE TABLE model_versions (
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                config TEXT NOT NULL,
                author TEXT NOT NULL,
                message TEXT,
                source_hash TEXT,
                deleted INTEGER NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (name, version)
            )
            """,
            """
            CREATE TABLE response_cache (
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                cache_key TEXT NOT NULL,
                value BYTEA NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, cache_key)
            )
            """,
            "CREATE INDEX response_cache_expiry ON response_cache(expires_at)",
        ]),
        PostgresMigration(id: "0003_scores", statements: [
            """
            CREATE TABLE scores (
                id TEXT NOT NULL,
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                trace_id TEXT NOT NULL,
                observation_id TEXT,
                name TEXT NOT NULL,
                data_type TEXT NOT NULL CHECK (data_type IN ('numeric', 'categorical', 'boolean')),
                numeric_value DOUBLE PRECISION,
                string_value TEXT,
                source TEXT NOT NULL,
                comment TEXT,
                author TEXT,
                config_id TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, id)
            )
            """,
            "CREATE INDEX scores_trace ON scores(project_id, trace_id)",
            "CREATE INDEX scores_name_time ON scores(project_id, name, created_at)",
            """
            CREATE TABLE score_configs (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                data_type TEXT NOT NULL CHECK (data_type IN ('numeric', 'categorical', 'boolean')),
                min_value DOUBLE PRECISION,
                max_value DOUBLE PRECISION,
                categories TEXT NOT NULL DEFAULT '[]',
                description TEXT,
                created_at BIGINT NOT NULL,
                UNIQUE (project_id, name)
            )
            """,
        ]),
        PostgresMigration(id: "0004_monitoring", statements: [
            """
            ALTER TABLE traces
                ADD COLUMN task TEXT, ADD COLUMN language TEXT, ADD COLUMN domain TEXT,
                ADD COLUMN language_checked INTEGER NOT NULL DEFAULT 0,
                ADD COLUMN model TEXT, ADD COLUMN deployment TEXT, ADD COLUMN variant TEXT,
                ADD COLUMN prompt_name TEXT, ADD COLUMN prompt_version INTEGER,
                ADD COLUMN observation_count INTEGER NOT NULL DEFAULT 0,
                ADD COLUMN input_tokens BIGINT NOT NULL DEFAULT 0, ADD COLUMN output_tokens BIGINT NOT NULL DEFAULT 0,
                ADD COLUMN total_cost DOUBLE PRECISION,
                ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0, ADD COLUMN warning_count INTEGER NOT NULL DEFAULT 0
            """,
            "CREATE INDEX traces_model ON traces(project_id, model, start_time DESC) WHERE model IS NOT NULL",
            "CREATE INDEX traces_errors ON traces(project_id, start_time DESC) WHERE error_count > 0",
            "CREATE INDEX traces_latency ON traces(project_id, (COALESCE(end_time - start_time, -1)) DESC, id DESC)",
            "CREATE INDEX traces_cost ON traces(project_id, (COALESCE(total_cost, -1)) DESC, id DESC)",
            "CREATE INDEX traces_language_pending ON traces(project_id, start_time) WHERE language IS NULL AND language_checked = 0 AND input IS NOT NULL",
            """
            CREATE TABLE trace_rollups (
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                dimension TEXT NOT NULL,
                bucket BIGINT NOT NULL,
                value TEXT NOT NULL,
                traces BIGINT NOT NULL,
                errors BIGINT NOT NULL,
                input_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                cost DOUBLE PRECISION NOT NULL,
                latency_sum DOUBLE PRECISION NOT NULL,
                latency_hist TEXT NOT NULL,
                scores TEXT NOT NULL,
                PRIMARY KEY (project_id, dimension, bucket, value)
            )
            """,
            """
            CREATE TABLE rollup_dirty (
                project_id TEXT NOT NULL,
                bucket BIGINT NOT NULL,
                marked_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, bucket)
            )
            """,
            PostgresMigrations.backfillTotals,
            "INSERT INTO rollup_dirty (project_id, bucket, marked_at) SELECT DISTINCT project_id, \(TraceSQL.hourOfStart), 0 FROM traces",
        ]),
        PostgresMigration(id: "0005_prompts", statements: [
            """
            CREATE TABLE prompt_versions (
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('text', 'chat')),
                text TEXT,
                messages TEXT NOT NULL,
                tools TEXT,
                variables TEXT NOT NULL,
                config TEXT NOT NULL,
                commit_message TEXT,
                author TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, name, version)
            )
            """,
            """
            CREATE TABLE prompt_labels (
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                label TEXT NOT NULL,
                version INTEGER NOT NULL,
                PRIMARY KEY (project_id, name, label)
            )
            """,
            """
            CREATE TABLE prompt_label_moves (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                label TEXT NOT NULL,
                from_version INTEGER,
                to_version INTEGER NOT NULL,
                author TEXT NOT NULL,
                moved_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX prompt_label_moves_prompt ON prompt_label_moves(project_id, name, moved_at)",
        ]),
        PostgresMigration(id: "0006_datasets", statements: [
            """
            CREATE TABLE datasets (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                description TEXT,
                created_at BIGINT NOT NULL,
                latest_version INTEGER NOT NULL DEFAULT 0,
                UNIQUE (project_id, name)
            )
            """,
            """
            CREATE TABLE dataset_versions (
                dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                version INTEGER NOT NULL,
                item_count INTEGER NOT NULL,
                added INTEGER NOT NULL,
                changed INTEGER NOT NULL,
                removed INTEGER NOT NULL,
                author TEXT NOT NULL,
                message TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (dataset_id, version)
            )
            """,
            """
            CREATE TABLE dataset_items (
                dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                item_id TEXT NOT NULL,
                valid_from INTEGER NOT NULL,
                valid_to INTEGER,
                input TEXT NOT NULL,
                expected_output TEXT,
                metadata TEXT,
                golden INTEGER NOT NULL DEFAULT 0,
                validated_by TEXT,
                validated_at BIGINT,
                source_trace_id TEXT,
                PRIMARY KEY (dataset_id, item_id, valid_from)
            )
            """,
            "CREATE INDEX dataset_items_current ON dataset_items(dataset_id, item_id) WHERE valid_to IS NULL",
        ]),
        PostgresMigration(id: "0007_daily_rollups", statements: [
            // Daily rollup rows are new: recompute every hour that has traces.
            """
            INSERT INTO rollup_dirty (project_id, bucket, marked_at) SELECT DISTINCT project_id, \(TraceSQL.hourOfStart), 0 FROM traces
            ON CONFLICT (project_id, bucket) DO NOTHING
            """,
        ]),
        PostgresMigration(id: "0008_ingest_layout", statements: [
            // The same key as SQLite's (an observation id is unique within its trace); it serves the
            // per-trace reads, so observations_trace goes.
            "ALTER TABLE observations DROP CONSTRAINT observations_pkey, ADD PRIMARY KEY (project_id, trace_id, id)",
            "DROP INDEX observations_trace",
        ]),
        PostgresMigration(id: "0009_experiments", statements: ExperimentColumns.schema(.postgres)),
        // SQLite's traces and observations became rowid tables (rows appended, ids unique by index);
        // PostgreSQL's heap tables already append and keep their keys in separate indexes.
        PostgresMigration(id: "0010_append_layout", statements: []),
        // SQLite's observations became unique by (trace key, id): an append-ordered index. PostgreSQL's
        // (project_id, trace_id, id) key stays: its B-tree inserts are not on the single writer's path.
        PostgresMigration(id: "0011_trace_keys", statements: []),
        PostgresMigration(id: "0012_scopes_and_bounds", statements: [
            "ALTER TABLE api_keys ADD COLUMN scopes TEXT",
            "CREATE TABLE write_probe (id BIGSERIAL PRIMARY KEY, filler TEXT)",
            ReplicaSQL.schema(.postgres),
        ] + StoredBounds.statements(.postgres)),
    ]

    /// The per-insert totals statement, for every trace already stored.
    static var backfillTotals: String {
        let sql = TraceSQL.refreshTotals(projectID: "", traceIDs: [], dialect: .postgres).sql
        return String(sql[..<sql.range(of: "WHERE project_id = $1")!.lowerBound])
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

struct PGProjects: ProjectRepository {
    let client: PostgresClient
    let logger: Logger

    static func project(_ row: PostgresRow) throws -> Project {
        let (id, slug, name, created, retention) = try row.decode((String, String, String, Int64, Int?).self)
        return Project(id: id, slug: slug, name: name, createdAt: Timestamp.date(created), retentionDays: retention)
    }

    func create(slug: String, name: String) async throws -> Project {
        let project = Project(id: TernID.make(), slug: slug, name: name, createdAt: Timestamp.now())
        do {
            try await client.mappedQuery(
                "INSERT INTO projects (id, slug, name, created_at) VALUES (\(project.id), \(slug), \(name), \(Timestamp.micros(project.createdAt)))",
                logger: logger)
        } catch where isUniqueViolation(error) {
            throw TernError.conflict("a project with slug \"\(slug)\" already exists", field: "slug")
        }
        return project
    }

    func get(id: String) async throws -> Project? {
        try await collect(client.mappedQuery(
            "SELECT id, slug, name, created_at, retention_days FROM projects WHERE id = \(id)", logger: logger), Self.project).first
    }

    func get(slug: String) async throws -> Project? {
        try await collect(client.mappedQuery(
            "SELECT id, slug, name, created_at, retention_days FROM projects WHERE slug = \(slug)", logger: logger), Self.project).first
    }

    func list() async throws -> [Project] {
        try await collect(client.mappedQuery(
            "SELECT id, slug, name, created_at, retention_days FROM projects ORDER BY created_at, id", logger: logger), Self.project)
    }

    func count() async throws -> Int {
        try await collect(client.mappedQuery("SELECT COUNT(*) FROM projects", logger: logger)) { try $0.decode(Int.self) }.first ?? 0
    }

    func setRetention(id: String, days: Int?) async throws -> Project? {
        try await client.mappedQuery("UPDATE projects SET retention_days = \(days)::integer WHERE id = \(id)", logger: logger)
        return try await get(id: id)
    }
}

struct PGAPIKeys: APIKeyRepository {
    let client: PostgresClient
    let logger: Logger
    static let columns = "id, project_id, name, prefix, role, created_at, created_by, last_used_at, revoked_at, rpm_limit, tpm_limit, budget_usd, budget_period, scopes"

    static func key(_ row: PostgresRow) throws -> APIKey {
        let (id, project, name, prefix, roleName, created, createdBy, lastUsed, revoked, rpm, tpm, budget, period, scopes) = try row.decode(
            (String, String, String, String, String, Int64, String?, Int64?, Int64?, Int?, Int?, Double?, String, String?).self)
        let role = Role(rawValue: roleName) ?? .viewer
        return APIKey(id: id, projectID: project, name: name, prefix: prefix, role: role,
                      createdAt: Timestamp.date(created), createdBy: createdBy, lastUsedAt: lastUsed.date, revokedAt: revoked.date,
                      limits: KeyLimits(requestsPerMinute: rpm, tokensPerMinute: tpm, budgetUSD: budget,
                                        budgetPeriod: BudgetPeriod(rawValue: period) ?? .month),
                      scopes: KeyScope.decode(scopes, role: role))
    }

    func create(projectID: String, name: String, role: Role, keyHash: String, prefix: String, createdBy: String?, limits: KeyLimits,
                scopes: [KeyScope]?) async throws -> APIKey {
        let key = APIKey(id: TernID.make(), projectID: projectID, name: name, prefix: prefix, role: role,
                         createdAt: Timestamp.now(), createdBy: createdBy, limits: limits, scopes: scopes)
        let inserted = try await collect(client.mappedQuery(
            """
            INSERT INTO api_keys (id, project_id, name, prefix, key_hash, role, created_at, created_by, rpm_limit, tpm_limit, budget_usd, budget_period,
                                  scopes)
            SELECT \(key.id), id, \(name), \(prefix), \(keyHash), \(role.rawValue), \(Timestamp.micros(key.createdAt)), \(createdBy)::text,
                   \(limits.requestsPerMinute)::integer, \(limits.tokensPerMinute)::integer, \(limits.budgetUSD)::double precision,
                   \(limits.budgetPeriod.rawValue), \(KeyScope.encode(key.scopes))
            FROM projects WHERE id = \(projectID)
            RETURNING id
            """, logger: logger)) { try $0.decode(String.self) }
        guard !inserted.isEmpty else { throw TernError.notFound("project \(projectID)", field: "project") }
        return key
    }

    func setLimits(projectID: String, id: String, limits: KeyLimits) async throws -> APIKey? {
        try await client.mappedQuery(
            """
            UPDATE api_keys SET rpm_limit = \(limits.requestsPerMinute)::integer, tpm_limit = \(limits.tokensPerMinute)::integer,
                   budget_usd = \(limits.budgetUSD)::double precision, budget_period = \(limits.budgetPeriod.rawValue)
            WHERE project_id = \(projectID) AND id = \(id)
            """, logger: logger)
        return try await get(projectID: projectID, id: id)
    }

    func find(hash: String) async throws -> APIKey? {
        try await collect(client.mappedQuery(
            "SELECT \(unescaped: Self.columns) FROM api_keys WHERE key_hash = \(hash)", logger: logger), Self.key).first
    }

    func get(projectID: String, id: String) async throws -> APIKey? {
        try await collect(client.mappedQuery(
            "SELECT \(unescaped: Self.columns) FROM api_keys WHERE project_id = \(projectID) AND id = \(id)", logger: logger), Self.key).first
    }

    func list(projectID: String) async throws -> [APIKey] {
        try await collect(client.mappedQuery(
            "SELECT \(unescaped: Self.columns) FROM api_keys WHERE project_id = \(projectID) ORDER BY created_at, id", logger: logger), Self.key)
    }

    func revoke(projectID: String, id: String, at: Date) async throws -> APIKey? {
        try await client.mappedQuery(
            "UPDATE api_keys SET revoked_at = \(Timestamp.micros(at)) WHERE project_id = \(projectID) AND id = \(id) AND revoked_at IS NULL",
            logger: logger)
        return try await get(projectID: projectID, id: id)
    }

    func touch(id: String, at: Date) async throws {
        let micros = Timestamp.micros(at)
        try await client.mappedQuery(
            "UPDATE api_keys SET last_used_at = \(micros) WHERE id = \(id) AND (last_used_at IS NULL OR last_used_at < \(micros))",
            logger: logger)
    }
}

struct PGUsers: UserRepository {
    let client: PostgresClient
    let logger: Logger

    static func user(_ row: PostgresRow) throws -> User {
        let (id, email, name, role, created, disabled) = try row.decode((String, String, String, String, Int64, Int64?).self)
        return User(id: id, email: email, name: name, role: Role(rawValue: role) ?? .viewer,
                    createdAt: Timestamp.date(created), disabledAt: disabled.date)
    }

    func create(email: String, name: String, role: Role, passwordHash: String) async throws -> User {
        let user = User(id: TernID.make(), email: email, name: name, role: role, createdAt: Timestamp.now())
        do {
            try await client.mappedQuery(
                """
                INSERT INTO users (id, email, name, role, password_hash, created_at)
                VALUES (\(user.id), \(email), \(name), \(role.rawValue), \(passwordHash), \(Timestamp.micros(user.createdAt)))
                """, logger: logger)
        } catch where isUniqueViolation(error) {
            throw TernError.conflict("a user with e-mail \"\(email)\" already exists", field: "email")
        }
        return user
    }

    func get(id: String) async throws -> User? {
        try await collect(client.mappedQuery(
            "SELECT id, email, name, role, created_at, disabled_at FROM users WHERE id = \(id)", logger: logger), Self.user).first
    }

    func get(email: String) async throws -> User? {
        try await collect(client.mappedQuery(
            "SELECT id, email, name, role, created_at, disabled_at FROM users WHERE email = \(email)", logger: logger), Self.user).first
    }

    func list() async throws -> [User] {
        try await collect(client.mappedQuery(
            "SELECT id, email, name, role, created_at, disabled_at FROM users ORDER BY created_at, id", logger: logger), Self.user)
    }

    func count() async throws -> Int {
        try await collect(client.mappedQuery("SELECT COUNT(*) FROM users", logger: logger)) { try $0.decode(Int.self) }.first ?? 0
    }

    func passwordHash(userID: String) async throws -> String? {
        try await collect(client.mappedQuery("SELECT password_hash FROM users WHERE id = \(userID)", logger: logger)) {
            try $0.decode(String.self)
        }.first
    }

    func update(id: String, name: String?, role: Role?, passwordHash: String?, disabled: Bool?) async throws -> User? {
        let disabledAt: Int64? = disabled == true ? Timestamp.micros(Timestamp.now()) : nil
        try await client.mappedQuery(
            """
            UPDATE users SET
                name = COALESCE(\(name)::text, name),
                role = COALESCE(\(role?.rawValue)::text, role),
                password_hash = COALESCE(\(passwordHash)::text, password_hash),
                disabled_at = CASE WHEN \(disabled)::boolean IS NULL THEN disabled_at
                                   WHEN \(disabled)::boolean THEN COALESCE(disabled_at, \(disabledAt)::bigint)
                                   ELSE NULL END
            WHERE id = \(id)
            """, logger: logger)
        return try await get(id: id)
    }
}

struct PGSessions: SessionRepository {
    let client: PostgresClient
    let logger: Logger

    func create(userID: String, tokenHash: String, expiresAt: Date) async throws -> WebSession {
        let session = WebSession(id: TernID.make(), userID: userID, createdAt: Timestamp.now(),
                                 expiresAt: Timestamp.date(Timestamp.micros(expiresAt)))
        try await client.mappedQuery(
            """
            INSERT INTO web_sessions (id, user_id, token_hash, created_at, expires_at)
            VALUES (\(session.id), \(userID), \(tokenHash), \(Timestamp.micros(session.createdAt)), \(Timestamp.micros(session.expiresAt)))
            """, logger: logger)
        return session
    }

    func find(tokenHash: String, now: Date) async throws -> WebSession? {
        try await collect(client.mappedQuery(
            "SELECT id, user_id, created_at, expires_at FROM web_sessions WHERE token_hash = \(tokenHash) AND expires_at > \(Timestamp.micros(now))",
            logger: logger)) { row in
            let (id, user, created, expires) = try row.decode((String, String, Int64, Int64).self)
            return WebSession(id: id, userID: user, createdAt: Timestamp.date(created), expiresAt: Timestamp.date(expires))
        }.first
    }

    func delete(id: String) async throws {
        try await client.mappedQuery("DELETE FROM web_sessions WHERE id = \(id)", logger: logger)
    }

    func deleteAll(userID: String) async throws {
        try await client.mappedQuery("DELETE FROM web_sessions WHERE user_id = \(userID)", logger: logger)
    }

    func purgeExpired(now: Date) async throws -> Int {
        try await collect(client.mappedQuery(
            "DELETE FROM web_sessions WHERE expires_at <= \(Timestamp.micros(now)) RETURNING id", logger: logger)) {
            try $0.decode(String.self)
        }.count
    }
}

struct PGReplicas: ReplicaRepository {
    let client: PostgresClient
    let logger: Logger

    func publishRateUsage(replica: String, minute: Int64, usage: [String: RateUsage]) async throws {
        guard !usage.isEmpty else { return }
        let (sql, values) = ReplicaSQL.publish(replica: replica, minute: minute, usage: usage, dialect: .postgres)
        try await client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger)
    }

    func rateUsage(since minute: Int64, excludingReplica replica: String) async throws -> [String: [Int64: RateUsage]] {
        let (sql, values) = ReplicaSQL.usage(since: minute, excluding: replica, dialect: .postgres)
        var out: [String: [Int64: RateUsage]] = [:]
        for row in try await collect(client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger), { try $0.decode((String, Int64, Int64, Int64).self) }) {
            out[row.0, default: [:]][row.1] = RateUsage(requests: Int(row.2), tokens: Int(row.3))
        }
        return out
    }

    func purgeRateUsage(before minute: Int64) async throws {
        let (sql, values) = ReplicaSQL.purge(before: minute, dialect: .postgres)
        try await client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger)
    }

    func revokedKeys(since: Date) async throws -> [String] {
        let (sql, values) = ReplicaSQL.revoked(since: since, dialect: .postgres)
        return try await collect(client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger)) { try $0.decode(String.self) }
    }
}
