public import Foundation
public import TernCore
import GRDB
import Synchronization
import GRDBSQLite

/// The embedded default: one SQLite file in WAL mode through a GRDB `DatabasePool`
/// (one writer, concurrent readers).
public final class SQLiteStore: TernStore {
    let pool: DatabasePool
    public let path: String
    public let backendName = "sqlite"

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
    private let runningJobs = Mutex<Set<String>>([])

    /// Opens (creating when absent) the database file and its directory. Does not migrate.
    public init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(Double(Self.busyTimeoutMilliseconds) / 1000)
        configuration.maximumReaderCount = 8
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Page cache: 32 MiB for the writer, 8 MiB for each of up to 8 readers (the system's file cache
            // holds the rest): at 32 MiB each, readers that the monitoring job and the dashboard had used
            // kept over 250 MB of memory.
            try db.execute(sql: "PRAGMA cache_size = \(db.configuration.readonly ? -8192 : -32768)")
            // Statement journals and sorts in memory: on disk they are a temporary file per upsert batch.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw TernError.unavailable("cannot open SQLite database at \(path): \(error)")
        }
        self.path = path
        projects = SQLiteProjects(pool: pool)
        apiKeys = SQLiteAPIKeys(pool: pool)
        users = SQLiteUsers(pool: pool)
        sessions = SQLiteSessions(pool: pool)
        traces = SQLiteTraces(pool: pool)
        modelVersions = SQLiteModelVersions(pool: pool)
        responseCache = SQLiteResponseCache(pool: pool)
        spend = SQLiteSpend(pool: pool)
        scores = SQLiteScores(pool: pool)
        scoreConfigs = SQLiteScoreConfigs(pool: pool)
        metrics = SQLiteMetrics(pool: pool)
        prompts = SQLitePrompts(pool: pool)
        datasets = SQLiteDatasets(pool: pool)
        experiments = SQLiteExperiments(pool: pool)
        replicas = SQLiteReplicas(pool: pool)
    }

    @discardableResult
    public func migrate() async throws -> [String] {
        let before = try await pool.read { db in try SQLiteMigrations.migrator.appliedIdentifiers(db) }
        try SQLiteMigrations.migrator.migrate(pool)
        let after = try await pool.read { db in try SQLiteMigrations.migrator.appliedIdentifiers(db) }
        return SQLiteMigrations.ordered.filter { after.contains($0) && !before.contains($0) }
    }

    /// Runs SQL as given, for tests that write rows the way an older version did.
    package func execute(sql: String) async throws {
        try await pool.write { db in try db.execute(sql: sql) }
    }

    /// Applies the migrations up to and including `last`, for tests of a migration.
    package func migrate(upTo last: String) async throws {
        try SQLiteMigrations.migrator.migrate(pool, upTo: last)
    }

    public func appliedMigrations() async throws -> [String] {
        try await pool.read { db in
            let applied = try SQLiteMigrations.migrator.appliedIdentifiers(db)
            return SQLiteMigrations.ordered.filter { applied.contains($0) }
        }
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    @discardableResult
    public func withExclusiveJob(_ name: String, _ body: @Sendable () async throws -> Void) async throws -> Bool {
        guard runningJobs.withLock({ $0.insert(name).inserted }) else { return false }
        defer { _ = runningJobs.withLock { $0.remove(name) } }
        try await body()
        return true
    }

    public func probeWrite() async throws {
        // 64 KiB written and removed in one transaction: its pages reach the log, so a full or read-only
        // disk fails it.
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO write_probe (filler) VALUES (zeroblob(65536))")
            try db.execute(sql: "DELETE FROM write_probe")
        }
    }

    public func unavailability(of error: any Error) -> String? {
        if let error = error as? TernError { return error.kind == .unavailable ? error.message : nil }
        guard let error = error as? DatabaseError else { return nil }
        switch error.resultCode {
        case .SQLITE_FULL: return "SQLite: the disk or the database is full"
        case .SQLITE_READONLY: return "SQLite: the database is read-only"
        case .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_NOLFS, .SQLITE_PROTOCOL: return "SQLite: cannot read or write the database file (\(error.resultCode))"
        case .SQLITE_BUSY, .SQLITE_LOCKED: return "SQLite: the database is busy"
        case .SQLITE_NOMEM: return "SQLite: out of memory"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: return "SQLite: the database file is damaged"
        default: return nil
        }
    }

    /// Test support: folds the write-ahead log into the database file and truncates it to nothing, so the
    /// next write must grow it (as on a disk that has just filled up). Retries while a reader holds the log.
    package func truncateLog() async throws {
        for attempt in 1...50 {
            let busy = try await pool.writeWithoutTransaction { db in
                try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)").map { ($0[0] as Int?) ?? 0 } ?? 0
            }
            if busy == 0 { return }
            try await Task.sleep(for: .milliseconds(20 * attempt))
        }
        throw TernError.unavailable("the log stayed busy")
    }

    /// Test support: makes the writer connection read-only (SQLITE_READONLY on every write), or writable again.
    package func simulateReadOnly(_ readOnly: Bool) async throws {
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA query_only = \(readOnly ? 1 : 0)")
        }
    }

    /// Checkpoints off the write path while the server runs. SQLite's automatic checkpoint runs inside
    /// the commit that crosses 1,000 WAL pages, on the one writer thread, so every write waits for it
    /// (a fifth of the writer's time under ingest load). Here the writer's threshold is raised to a
    /// backstop and a connection of its own folds the log into the file every 100 ms (`PASSIVE`:
    /// writers go on appending meanwhile). Under steady writes a passive checkpoint never catches the
    /// log's end, so the log would only grow; once it holds 32 MiB a `RESTART` checkpoint, queued on
    /// the writer between two transactions, copies the little that is left and the next commit starts
    /// the log from its beginning again.
    public func run() async throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(Double(Self.busyTimeoutMilliseconds) / 1000)
        let checkpointer: DatabaseQueue
        do {
            checkpointer = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw TernError.unavailable("cannot open SQLite database at \(path) for checkpoints: \(error)")
        }
        // No journal_size_limit: truncating the log at each restart costs the writer more (dropping the
        // file's cached pages) than the disk space it saves; the file stays near 32 MiB and is reused.
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.backstopCheckpointPages)")
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            let frames = (try? await checkpointer.writeWithoutTransaction { db in try db.checkpoint(.passive).walFrameCount }) ?? 0
            if frames > Self.restartFrames {
                // On the writer's own queue: between two transactions, without polling for the lock. A
                // restart waits for every reader to leave the log; with the busy timeout that wait would
                // stall the one writer (behind a metrics scan, for hundreds of milliseconds), so it is
                // tried without waiting and retried at the next tick if a reader is in the way.
                _ = try? await pool.writeWithoutTransaction { db in
                    sqlite3_busy_timeout(db.sqliteConnection, 0)
                    defer { sqlite3_busy_timeout(db.sqliteConnection, Self.busyTimeoutMilliseconds) }
                    return try db.checkpoint(.restart)
                }
            }
        }
        _ = try? await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 1000") }
        try? checkpointer.close()
    }

    /// How long a connection waits for a lock another one holds.
    static let busyTimeoutMilliseconds: Int32 = 10_000

    /// Log frames (pages) after which the background checkpoint restarts the log: 32 MiB of 4 KiB pages.
    static let restartFrames = 8_192
    static let backstopCheckpointPages = 65_536

    public func close() async throws {
        try pool.close()
    }

    /// Every row of every table as text, for tests that prove secrets are stored hashed.
    package func dumpAllText() async throws -> String {
        try await pool.read { db in
            var out = ""
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            for table in tables {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table.quotedDatabaseIdentifier)") {
                    out += "\(table): \(row.description)\n"
                }
            }
            return out
        }
    }

    /// The schema (tables, indexes and their SQL), for migration tests.
    package func schemaText() async throws -> String {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master ORDER BY type, name")
                .joined(separator: "\n")
        }
    }
}

enum SQLiteMigrations {
    /// Recreates `table` with the schema `change` makes of its CREATE statement (columns added by
    /// ALTER TABLE included), copies the rows and recreates its indexes.
    /// `columns` names what to copy: `into` the new table's columns from the old table's `select`
    /// expressions (all columns in order when nil).
    static func rebuild(_ db: Database, table: String, columns: (into: String, select: String)? = nil, change: (String) -> String) throws {
        guard let create = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table]) else {
            throw TernError.internalError("migration: no table \(table)")
        }
        // A table that was renamed before (an earlier rebuild) has its name quoted in the stored SQL.
        guard let head = ["CREATE TABLE \(table) ", "CREATE TABLE \"\(table)\" "].first(where: { create.hasPrefix($0) }) else {
            throw TernError.internalError("migration: unexpected schema of \(table)")
        }
        let changed = change(create)
        guard changed != create else { throw TernError.internalError("migration: unexpected schema of \(table)") }
        let indexes = try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", arguments: [table])
        let temporary = table + "_rebuilt"
        try db.execute(sql: "CREATE TABLE \(temporary) " + changed.dropFirst(head.count))
        if let columns {
            try db.execute(sql: "INSERT INTO \(temporary) (\(columns.into)) SELECT \(columns.select) FROM \(table) ORDER BY rowid")
        } else {
            try db.execute(sql: "INSERT INTO \(temporary) SELECT * FROM \(table)")
        }
        try db.execute(sql: "DROP TABLE \(table)")
        try db.execute(sql: "ALTER TABLE \(temporary) RENAME TO \(table)")
        for index in indexes { try db.execute(sql: index) }
    }

    static let ordered = ["0001_foundation", "0002_gateway", "0003_scores", "0004_monitoring", "0005_prompts", "0006_datasets", "0007_daily_rollups", "0008_ingest_layout",
                          "0009_experiments", "0010_append_layout", "0011_trace_keys", "0012_scopes_and_bounds"]

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("0001_foundation") { db in
            try db.execute(sql: """
                CREATE TABLE projects (
                    id TEXT PRIMARY KEY NOT NULL,
                    slug TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    retention_days INTEGER
                );
                CREATE TABLE users (
                    id TEXT PRIMARY KEY NOT NULL,
                    email TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
                    password_hash TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    disabled_at INTEGER
                );
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY NOT NULL,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    prefix TEXT NOT NULL,
                    key_hash TEXT NOT NULL UNIQUE,
                    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
                    created_at INTEGER NOT NULL,
                    created_by TEXT,
                    last_used_at INTEGER,
                    revoked_at INTEGER
                );
                CREATE INDEX api_keys_project ON api_keys(project_id, created_at);
                CREATE TABLE web_sessions (
                    id TEXT PRIMARY KEY NOT NULL,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    token_hash TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                CREATE INDEX web_sessions_user ON web_sessions(user_id);
                """)
        }
        migrator.registerMigration("0002_gateway") { db in
            try db.execute(sql: SQLiteMigrations.gateway)
        }
        migrator.registerMigration("0003_scores") { db in
            try db.execute(sql: """
                CREATE TABLE scores (
                    id TEXT NOT NULL,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    trace_id TEXT NOT NULL,
                    observation_id TEXT,
                    name TEXT NOT NULL,
                    data_type TEXT NOT NULL CHECK (data_type IN ('numeric', 'categorical', 'boolean')),
                    numeric_value REAL,
                    string_value TEXT,
                    source TEXT NOT NULL,
                    comment TEXT,
                    author TEXT,
                    config_id TEXT,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (project_id, id)
                ) WITHOUT ROWID;
                CREATE INDEX scores_trace ON scores(project_id, trace_id);
                CREATE INDEX scores_name_time ON scores(project_id, name, created_at);
                CREATE TABLE score_configs (
                    id TEXT PRIMARY KEY NOT NULL,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    data_type TEXT NOT NULL CHECK (data_type IN ('numeric', 'categorical', 'boolean')),
                    min_value REAL,
                    max_value REAL,
                    categories TEXT NOT NULL DEFAULT '[]',
                    description TEXT,
                    created_at INTEGER NOT NULL,
                    UNIQUE (project_id, name)
                );
                """)
        }
        migrator.registerMigration("0004_monitoring") { db in
            try db.execute(sql: SQLiteMigrations.monitoring)
            let backfill = TraceSQL.refreshTotals(projectID: "", traceIDs: [], dialect: .sqlite, traceKeys: false).sql
            // The same statement as after each insert, for every trace already stored.
            try db.execute(sql: String(backfill[..<backfill.range(of: "WHERE project_id = ?")!.lowerBound]))
            try db.execute(sql: "INSERT INTO rollup_dirty (project_id, bucket, marked_at) SELECT DISTINCT project_id, \(TraceSQL.hourOfStart), 0 FROM traces")
        }
        migrator.registerMigration("0005_prompts") { db in
            try db.execute(sql: """
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
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (project_id, name, version)
                ) WITHOUT ROWID;
                CREATE TABLE prompt_labels (
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    label TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    PRIMARY KEY (project_id, name, label)
                ) WITHOUT ROWID;
                CREATE TABLE prompt_label_moves (
                    id TEXT PRIMARY KEY NOT NULL,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    label TEXT NOT NULL,
                    from_version INTEGER,
                    to_version INTEGER NOT NULL,
                    author TEXT NOT NULL,
                    moved_at INTEGER NOT NULL
                );
                CREATE INDEX prompt_label_moves_prompt ON prompt_label_moves(project_id, name, moved_at);
                """)
        }
        migrator.registerMigration("0006_datasets") { db in
            try db.execute(sql: """
                CREATE TABLE datasets (
                    id TEXT PRIMARY KEY NOT NULL,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    description TEXT,
                    created_at INTEGER NOT NULL,
                    latest_version INTEGER NOT NULL DEFAULT 0,
                    UNIQUE (project_id, name)
                );
                CREATE TABLE dataset_versions (
                    dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                    version INTEGER NOT NULL,
                    item_count INTEGER NOT NULL,
                    added INTEGER NOT NULL,
                    changed INTEGER NOT NULL,
                    removed INTEGER NOT NULL,
                    author TEXT NOT NULL,
                    message TEXT,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (dataset_id, version)
                ) WITHOUT ROWID;
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
                    validated_at INTEGER,
                    source_trace_id TEXT,
                    PRIMARY KEY (dataset_id, item_id, valid_from)
                ) WITHOUT ROWID;
                CREATE INDEX dataset_items_current ON dataset_items(dataset_id, item_id) WHERE valid_to IS NULL;
                """)
        }
        migrator.registerMigration("0007_daily_rollups") { db in
            // Daily rollup rows are new: recompute every hour that has traces.
            try db.execute(sql: """
                INSERT INTO rollup_dirty (project_id, bucket, marked_at) SELECT DISTINCT project_id, \(TraceSQL.hourOfStart), 0 FROM traces
                WHERE true ON CONFLICT (project_id, bucket) DO NOTHING
                """)
        }
        migrator.registerMigration("0008_ingest_layout") { db in
            // Ids are random, so a table clustered by id puts every new row on a random page, and an
            // ingest commit writes a page per row. Observations are keyed by (project, trace, id) now:
            // a trace's observations share a page, and the key serves the per-trace reads (so
            // observations_trace goes.
            try rebuild(db, table: "observations") {
                $0.replacingOccurrences(of: "PRIMARY KEY (project_id, id)", with: "PRIMARY KEY (project_id, trace_id, id)")
            }
            try db.execute(sql: "DROP INDEX IF EXISTS observations_trace")
        }
        migrator.registerMigration("0009_experiments") { db in
            for statement in ExperimentColumns.schema(.sqlite) { try db.execute(sql: statement) }
        }
        migrator.registerMigration("0010_append_layout") { db in
            // Traces and observations become rowid tables: a new row is appended at the end of its
            // table instead of being placed by its random id, which split a page of whole rows for
            // nearly every trace written. The ids stay unique (and the upserts' conflict targets) as
            // indexes of narrow entries, and the secondary indexes point at 8-byte rowids instead of
            // the text key. Ingest in process: +20% observations/s (docs/BENCHMARKS.md).
            try rebuild(db, table: "traces") {
                $0.replacingOccurrences(of: "PRIMARY KEY (project_id, id)", with: "UNIQUE (project_id, id)")
                    .replacingOccurrences(of: ") WITHOUT ROWID", with: ")")
            }
            try rebuild(db, table: "observations") {
                $0.replacingOccurrences(of: "PRIMARY KEY (project_id, trace_id, id)", with: "UNIQUE (project_id, trace_id, id)")
                    .replacingOccurrences(of: ") WITHOUT ROWID", with: ")")
            }
        }
        migrator.registerMigration("0011_trace_keys") { db in
            // Each trace gets an integer key that never changes (an INTEGER PRIMARY KEY keeps its value
            // through VACUUM; AUTOINCREMENT never hands out a deleted trace's key again), and its
            // observations are unique by (trace key, id) instead of (project, trace id, id). Keys grow
            // with time, so a batch's observations land at the end of that index instead of at about
            // a hundred random places in the largest index of the database (ingest: docs/BENCHMARKS.md).
            // Observations whose trace row is missing get one first (the write path never leaves one).
            try db.execute(sql: """
                INSERT INTO traces (id, project_id, start_time)
                SELECT o.trace_id, o.project_id, MIN(o.start_time) FROM observations o
                WHERE NOT EXISTS (SELECT 1 FROM traces t WHERE t.project_id = o.project_id AND t.id = o.trace_id)
                GROUP BY o.project_id, o.trace_id
                """)
            let traceColumns = try Row.fetchAll(db, sql: "PRAGMA table_info(traces)").map { $0["name"] as String }.joined(separator: ", ")
            try rebuild(db, table: "traces", columns: ("trace_key, " + traceColumns, "rowid, " + traceColumns)) { create in
                guard let open = create.firstIndex(of: "(") else { return create }
                return String(create[...open]) + "\n    trace_key INTEGER PRIMARY KEY AUTOINCREMENT," + create[create.index(after: open)...]
            }
            let observationColumns = try Row.fetchAll(db, sql: "PRAGMA table_info(observations)").map { $0["name"] as String }
            try rebuild(
                db, table: "observations",
                columns: (observationColumns.joined(separator: ", ") + ", trace_key",
                          observationColumns.joined(separator: ", ")
                            + ", (SELECT t.trace_key FROM traces t WHERE t.project_id = observations.project_id AND t.id = observations.trace_id)")
            ) {
                $0.replacingOccurrences(of: "UNIQUE (project_id, trace_id, id)", with: "trace_key INTEGER NOT NULL,\n    UNIQUE (trace_key, id)")
            }
        }
        migrator.registerMigration("0012_scopes_and_bounds") { db in
            try db.execute(sql: "ALTER TABLE api_keys ADD COLUMN scopes TEXT")
            try db.execute(sql: "CREATE TABLE write_probe (id INTEGER PRIMARY KEY, filler BLOB)")
            try db.execute(sql: ReplicaSQL.schema(.sqlite))
            for statement in StoredBounds.statements(.sqlite) { try db.execute(sql: statement) }
        }
        return migrator
    }()

    static let monitoring = """
        ALTER TABLE traces ADD COLUMN task TEXT;
        ALTER TABLE traces ADD COLUMN language TEXT;
        ALTER TABLE traces ADD COLUMN domain TEXT;
        ALTER TABLE traces ADD COLUMN language_checked INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE traces ADD COLUMN model TEXT;
        ALTER TABLE traces ADD COLUMN deployment TEXT;
        ALTER TABLE traces ADD COLUMN variant TEXT;
        ALTER TABLE traces ADD COLUMN prompt_name TEXT;
        ALTER TABLE traces ADD COLUMN prompt_version INTEGER;
        ALTER TABLE traces ADD COLUMN observation_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE traces ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE traces ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE traces ADD COLUMN total_cost REAL;
        ALTER TABLE traces ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE traces ADD COLUMN warning_count INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX traces_model ON traces(project_id, model, start_time DESC) WHERE model IS NOT NULL;
        CREATE INDEX traces_errors ON traces(project_id, start_time DESC) WHERE error_count > 0;
        CREATE INDEX traces_latency ON traces(project_id, COALESCE(end_time - start_time, -1) DESC, id DESC);
        CREATE INDEX traces_cost ON traces(project_id, COALESCE(total_cost, -1) DESC, id DESC);
        CREATE INDEX traces_language_pending ON traces(project_id, start_time) WHERE language IS NULL AND language_checked = 0 AND input IS NOT NULL;
        CREATE TABLE trace_rollups (
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            dimension TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            value TEXT NOT NULL,
            traces INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cost REAL NOT NULL,
            latency_sum REAL NOT NULL,
            latency_hist TEXT NOT NULL,
            scores TEXT NOT NULL,
            PRIMARY KEY (project_id, dimension, bucket, value)
        ) WITHOUT ROWID;
        CREATE TABLE rollup_dirty (
            project_id TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            marked_at INTEGER NOT NULL,
            PRIMARY KEY (project_id, bucket)
        ) WITHOUT ROWID;
        """

    static let gateway = """
        ALTER TABLE api_keys ADD COLUMN rpm_limit INTEGER;
        ALTER TABLE api_keys ADD COLUMN tpm_limit INTEGER;
        ALTER TABLE api_keys ADD COLUMN budget_usd REAL;
        ALTER TABLE api_keys ADD COLUMN budget_period TEXT NOT NULL DEFAULT 'month';
        CREATE TABLE key_spend (
            key_id TEXT NOT NULL,
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            period TEXT NOT NULL,
            spent_usd REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (key_id, period)
        );
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
            start_time INTEGER NOT NULL,
            end_time INTEGER,
            PRIMARY KEY (project_id, id)
        ) WITHOUT ROWID;
        CREATE INDEX traces_time ON traces(project_id, start_time DESC, id DESC);
        CREATE INDEX traces_user ON traces(project_id, user_id, start_time DESC) WHERE user_id IS NOT NULL;
        CREATE INDEX traces_session ON traces(project_id, session_id, start_time DESC) WHERE session_id IS NOT NULL;
        CREATE TABLE observations (
            id TEXT NOT NULL,
            trace_id TEXT NOT NULL,
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            parent_id TEXT,
            type TEXT NOT NULL,
            name TEXT,
            start_time INTEGER NOT NULL,
            end_time INTEGER,
            completion_start_time INTEGER,
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
            cost REAL,
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
        ) WITHOUT ROWID;
        CREATE INDEX observations_trace ON observations(project_id, trace_id, start_time);
        CREATE TABLE model_versions (
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            config TEXT NOT NULL,
            author TEXT NOT NULL,
            message TEXT,
            source_hash TEXT,
            deleted INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (name, version)
        );
        CREATE TABLE response_cache (
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            cache_key TEXT NOT NULL,
            value BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (project_id, cache_key)
        );
        CREATE INDEX response_cache_expiry ON response_cache(expires_at);
        """
}

// MARK: - Row mapping

extension Row {
    func date(_ column: String) -> Date { Timestamp.date(self[column]) }
    func optionalDate(_ column: String) -> Date? { (self[column] as Int64?).map(Timestamp.date) }
    func role(_ column: String) -> Role { Role(rawValue: self[column]) ?? .viewer }
}

func isUniqueViolation(_ error: any Error) -> Bool {
    guard let error = error as? DatabaseError else { return false }
    return error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
        || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
}

struct SQLiteProjects: ProjectRepository {
    let pool: DatabasePool
    static let columns = "id, slug, name, created_at, retention_days"

    static func project(_ row: Row) -> Project {
        Project(id: row["id"], slug: row["slug"], name: row["name"], createdAt: row.date("created_at"),
                retentionDays: row["retention_days"])
    }

    func create(slug: String, name: String) async throws -> Project {
        let project = Project(id: TernID.make(), slug: slug, name: name, createdAt: Timestamp.now())
        do {
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT INTO projects (id, slug, name, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [project.id, project.slug, project.name, Timestamp.micros(project.createdAt)])
            }
        } catch where isUniqueViolation(error) {
            throw TernError.conflict("a project with slug \"\(slug)\" already exists", field: "slug")
        }
        return project
    }

    func get(id: String) async throws -> Project? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM projects WHERE id = ?", arguments: [id]).map(Self.project)
        }
    }

    func get(slug: String) async throws -> Project? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM projects WHERE slug = ?", arguments: [slug]).map(Self.project)
        }
    }

    func list() async throws -> [Project] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM projects ORDER BY created_at, id").map(Self.project)
        }
    }

    func count() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM projects") ?? 0 }
    }

    func setRetention(id: String, days: Int?) async throws -> Project? {
        try await pool.write { db in
            try db.execute(sql: "UPDATE projects SET retention_days = ? WHERE id = ?", arguments: [days, id])
            return try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM projects WHERE id = ?", arguments: [id]).map(Self.project)
        }
    }
}

struct SQLiteAPIKeys: APIKeyRepository {
    let pool: DatabasePool
    static let columns = "id, project_id, name, prefix, role, created_at, created_by, last_used_at, revoked_at, rpm_limit, tpm_limit, budget_usd, budget_period, scopes"

    static func key(_ row: Row) -> APIKey {
        let role = row.role("role")
        return APIKey(id: row["id"], projectID: row["project_id"], name: row["name"], prefix: row["prefix"],
                      role: role, createdAt: row.date("created_at"), createdBy: row["created_by"],
                      lastUsedAt: row.optionalDate("last_used_at"), revokedAt: row.optionalDate("revoked_at"),
                      limits: KeyLimits(requestsPerMinute: row["rpm_limit"], tokensPerMinute: row["tpm_limit"], budgetUSD: row["budget_usd"],
                                        budgetPeriod: BudgetPeriod(rawValue: row["budget_period"] ?? "month") ?? .month),
                      scopes: KeyScope.decode(row["scopes"], role: role))
    }

    func create(projectID: String, name: String, role: Role, keyHash: String, prefix: String, createdBy: String?, limits: KeyLimits,
                scopes: [KeyScope]?) async throws -> APIKey {
        let key = APIKey(id: TernID.make(), projectID: projectID, name: name, prefix: prefix, role: role,
                         createdAt: Timestamp.now(), createdBy: createdBy, limits: limits, scopes: scopes)
        try await pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM projects WHERE id = ?", arguments: [projectID]) != nil else {
                throw TernError.notFound("project \(projectID)", field: "project")
            }
            try db.execute(
                sql: """
                    INSERT INTO api_keys (id, project_id, name, prefix, key_hash, role, created_at, created_by,
                                          rpm_limit, tpm_limit, budget_usd, budget_period, scopes)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [key.id, projectID, name, prefix, keyHash, role.rawValue, Timestamp.micros(key.createdAt), createdBy,
                            limits.requestsPerMinute, limits.tokensPerMinute, limits.budgetUSD, limits.budgetPeriod.rawValue,
                            KeyScope.encode(key.scopes)])
        }
        return key
    }

    func setLimits(projectID: String, id: String, limits: KeyLimits) async throws -> APIKey? {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE api_keys SET rpm_limit = ?, tpm_limit = ?, budget_usd = ?, budget_period = ? WHERE project_id = ? AND id = ?",
                arguments: [limits.requestsPerMinute, limits.tokensPerMinute, limits.budgetUSD, limits.budgetPeriod.rawValue, projectID, id])
            return try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM api_keys WHERE project_id = ? AND id = ?",
                                    arguments: [projectID, id]).map(Self.key)
        }
    }

    func find(hash: String) async throws -> APIKey? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM api_keys WHERE key_hash = ?", arguments: [hash]).map(Self.key)
        }
    }

    func get(projectID: String, id: String) async throws -> APIKey? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM api_keys WHERE project_id = ? AND id = ?",
                             arguments: [projectID, id]).map(Self.key)
        }
    }

    func list(projectID: String) async throws -> [APIKey] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM api_keys WHERE project_id = ? ORDER BY created_at, id",
                             arguments: [projectID]).map(Self.key)
        }
    }

    func revoke(projectID: String, id: String, at: Date) async throws -> APIKey? {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE api_keys SET revoked_at = ? WHERE project_id = ? AND id = ? AND revoked_at IS NULL",
                arguments: [Timestamp.micros(at), projectID, id])
            return try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM api_keys WHERE project_id = ? AND id = ?",
                                    arguments: [projectID, id]).map(Self.key)
        }
    }

    func touch(id: String, at: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                arguments: [Timestamp.micros(at), id, Timestamp.micros(at)])
        }
    }
}

struct SQLiteUsers: UserRepository {
    let pool: DatabasePool
    static let columns = "id, email, name, role, created_at, disabled_at"

    static func user(_ row: Row) -> User {
        User(id: row["id"], email: row["email"], name: row["name"], role: row.role("role"),
             createdAt: row.date("created_at"), disabledAt: row.optionalDate("disabled_at"))
    }

    func create(email: String, name: String, role: Role, passwordHash: String) async throws -> User {
        let user = User(id: TernID.make(), email: email, name: name, role: role, createdAt: Timestamp.now())
        do {
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [user.id, email, name, role.rawValue, passwordHash, Timestamp.micros(user.createdAt)])
            }
        } catch where isUniqueViolation(error) {
            throw TernError.conflict("a user with e-mail \"\(email)\" already exists", field: "email")
        }
        return user
    }

    func get(id: String) async throws -> User? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM users WHERE id = ?", arguments: [id]).map(Self.user)
        }
    }

    func get(email: String) async throws -> User? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM users WHERE email = ?", arguments: [email]).map(Self.user)
        }
    }

    func list() async throws -> [User] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM users ORDER BY created_at, id").map(Self.user)
        }
    }

    func count() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0 }
    }

    func passwordHash(userID: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT password_hash FROM users WHERE id = ?", arguments: [userID])
        }
    }

    func update(id: String, name: String?, role: Role?, passwordHash: String?, disabled: Bool?) async throws -> User? {
        try await pool.write { db in
            if let name { try db.execute(sql: "UPDATE users SET name = ? WHERE id = ?", arguments: [name, id]) }
            if let role { try db.execute(sql: "UPDATE users SET role = ? WHERE id = ?", arguments: [role.rawValue, id]) }
            if let passwordHash {
                try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [passwordHash, id])
            }
            if let disabled {
                if disabled {
                    try db.execute(sql: "UPDATE users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL",
                                   arguments: [Timestamp.micros(Timestamp.now()), id])
                } else {
                    try db.execute(sql: "UPDATE users SET disabled_at = NULL WHERE id = ?", arguments: [id])
                }
            }
            return try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM users WHERE id = ?", arguments: [id]).map(Self.user)
        }
    }
}

struct SQLiteSessions: SessionRepository {
    let pool: DatabasePool

    static func session(_ row: Row) -> WebSession {
        WebSession(id: row["id"], userID: row["user_id"], createdAt: row.date("created_at"), expiresAt: row.date("expires_at"))
    }

    func create(userID: String, tokenHash: String, expiresAt: Date) async throws -> WebSession {
        let session = WebSession(id: TernID.make(), userID: userID, createdAt: Timestamp.now(),
                                 expiresAt: Timestamp.date(Timestamp.micros(expiresAt)))
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO web_sessions (id, user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [session.id, userID, tokenHash, Timestamp.micros(session.createdAt), Timestamp.micros(session.expiresAt)])
        }
        return session
    }

    func find(tokenHash: String, now: Date) async throws -> WebSession? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT id, user_id, created_at, expires_at FROM web_sessions WHERE token_hash = ? AND expires_at > ?",
                arguments: [tokenHash, Timestamp.micros(now)]).map(Self.session)
        }
    }

    func delete(id: String) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM web_sessions WHERE id = ?", arguments: [id]) }
    }

    func deleteAll(userID: String) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM web_sessions WHERE user_id = ?", arguments: [userID]) }
    }

    func purgeExpired(now: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM web_sessions WHERE expires_at <= ?", arguments: [Timestamp.micros(now)])
            return db.changesCount
        }
    }
}

struct SQLiteReplicas: ReplicaRepository {
    let pool: DatabasePool

    func publishRateUsage(replica: String, minute: Int64, usage: [String: RateUsage]) async throws {
        guard !usage.isEmpty else { return }
        let (sql, values) = ReplicaSQL.publish(replica: replica, minute: minute, usage: usage, dialect: .sqlite)
        try await pool.write { db in try db.execute(sql: sql, arguments: StatementArguments(values.map(\.databaseValue))) }
    }

    func rateUsage(since minute: Int64, excludingReplica replica: String) async throws -> [String: [Int64: RateUsage]] {
        let (sql, values) = ReplicaSQL.usage(since: minute, excluding: replica, dialect: .sqlite)
        return try await pool.read { db in
            var out: [String: [Int64: RateUsage]] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values.map(\.databaseValue))) {
                out[row[0], default: [:]][row[1]] = RateUsage(requests: row[2], tokens: row[3])
            }
            return out
        }
    }

    func purgeRateUsage(before minute: Int64) async throws {
        let (sql, values) = ReplicaSQL.purge(before: minute, dialect: .sqlite)
        try await pool.write { db in try db.execute(sql: sql, arguments: StatementArguments(values.map(\.databaseValue))) }
    }

    func revokedKeys(since: Date) async throws -> [String] {
        let (sql, values) = ReplicaSQL.revoked(since: since, dialect: .sqlite)
        return try await pool.read { db in try String.fetchAll(db, sql: sql, arguments: StatementArguments(values.map(\.databaseValue))) }
    }
}
