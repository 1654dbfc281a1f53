import Foundation
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
    public let watchers: any WatcherRepository
    public let alerts: any AlertRepository
    public let promotions: any PromotionRepository
    public let probes: any ProbeRepository
    public let driftMonitors: any DriftMonitorRepository
    private let runningJobs = Mutex<Set<String>>([])

    /// SQLite's memory in this process (all connections): the heap SQLite allocated and has not freed.
    public var memoryUsed: Int { Int(sqlite3_memory_used()) }

    /// Opens (creating when absent) the database file and its directory. Does not migrate.
    /// `memoryBudget`: bytes SQLite may keep in this process (a soft heap limit, process-wide: page caches
    /// recycle pages instead of growing past it); the writer's cache may take half, each reader's an eighth.
    public init(path: String, memoryBudget: Int = 32 << 20) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(Double(Self.busyTimeoutMilliseconds) / 1000)
        configuration.maximumReaderCount = 8
        sqlite3_soft_heap_limit64(Int64(memoryBudget))
        let writerCacheKiB = max(memoryBudget / 2 / 1024, 1024)
        let readerCacheKiB = max(memoryBudget / 8 / 1024, 512)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Page caches within the budget (the system's file cache holds the rest): at 32 MiB each,
            // readers that the monitoring job and the dashboard had used kept over 250 MB of memory.
            try db.execute(sql: "PRAGMA cache_size = -\(db.configuration.readonly ? readerCacheKiB : writerCacheKiB)")
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
        watchers = SQLiteWatchers(pool: pool, scores: SQLiteScores(pool: pool))
        alerts = SQLiteAlerts(pool: pool)
        promotions = SQLitePromotions(pool: pool)
        probes = SQLiteProbes(pool: pool)
        driftMonitors = SQLiteDriftMonitors(pool: pool)
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
