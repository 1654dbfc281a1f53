public import Foundation
public import Logging
import PostgresNIO
public import TernCore
import TernServer
import TernStorePostgres
import TernStoreSQLite

/// The storage backends a test can run against. PostgreSQL is available when the test script
/// (`scripts/test`) has started a throwaway cluster and exported `TERN_TEST_POSTGRES_URL`.
public enum StoreKind: String, Sendable, CaseIterable {
    case sqlite
    case postgres

    /// The backends to run contract tests on: SQLite always, PostgreSQL when a server is configured.
    public static var available: [StoreKind] {
        TestPostgres.adminURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }
}

/// A store for one test, with what is needed to inspect it.
public struct TestStore: Sendable {
    public let kind: StoreKind
    public let store: any TernStore
    /// SQLite: the database file path. PostgreSQL: the database URL.
    public let location: String
    /// Data directory (SQLite) for CLI tests; a fresh empty directory for PostgreSQL.
    public let directory: String
    /// When the directory is a tmpfs of the test's own (`withTestStore(filesystemMegabytes:)`).
    public var mountPoint: String? = nil

    /// Every row of every table as text.
    public func dumpAllText() async throws -> String {
        switch store {
        case let sqlite as SQLiteStore: return try await sqlite.dumpAllText()
        case let postgres as PostgresStore: return try await postgres.dumpAllText()
        default: fatalError("unknown store type")
        }
    }

    /// Applies the migrations up to and including `last`.
    public func migrate(upTo last: String) async throws {
        switch store {
        case let sqlite as SQLiteStore: try await sqlite.migrate(upTo: last)
        case let postgres as PostgresStore: _ = try await postgres.migrate(upTo: last)
        default: fatalError("unknown store type")
        }
    }

    /// Runs SQL as given (the same text on both backends), for tests of a migration.
    public func execute(sql: String) async throws {
        switch store {
        case let sqlite as SQLiteStore: try await sqlite.execute(sql: sql)
        case let postgres as PostgresStore: try await postgres.execute(sql: sql)
        default: fatalError("unknown store type")
        }
    }

    /// SQLite only: the bytes of the database file and its write-ahead log.
    public func rawFileBytes() async throws -> Data {
        guard let sqlite = store as? SQLiteStore else { return Data() }
        // No checkpoint first: what the log has not been folded into the file yet is in the -wal file, read
        // here too. (A TRUNCATE checkpoint here waited on the store's own background checkpointer and once
        // timed out as "database is locked" under a loaded CI run.)
        var data = Data()
        for suffix in ["", "-wal", "-shm"] {
            if let chunk = FileManager.default.contents(atPath: sqlite.path + suffix) { data.append(chunk) }
        }
        return data
    }
}

/// Runs `body` with a fresh, empty store of `kind` (migrated unless `migrate` is false), removed afterwards.
/// With `filesystemMegabytes`, the test's directory (SQLite's file, the data directory) is a tmpfs of that
/// size of its own, so the test can fill it up or make it read-only (`setUnwritable`); this needs the
/// right to mount (root), which scripts/test has.
public func withTestStore<T: Sendable>(
    _ kind: StoreKind, migrate: Bool = true, filesystemMegabytes: Int? = nil, _ body: @Sendable (TestStore) async throws -> T
) async throws -> T {
    let directory = try TempDirectory.make()
    defer { TempDirectory.remove(directory) }
    if let megabytes = filesystemMegabytes { try TestFilesystem.mount(directory, megabytes: megabytes) }
    let mountPoint = filesystemMegabytes.map { _ in directory }
    defer { if let mountPoint { TestFilesystem.unmount(mountPoint) } }
    switch kind {
    case .sqlite:
        let path = (directory as NSString).appendingPathComponent("tern.sqlite")
        let store = try SQLiteStore(path: path)
        return try await withRunningStore(store) { store in
            if migrate { try await store.migrate() }
            return try await body(TestStore(kind: kind, store: store, location: path, directory: directory, mountPoint: mountPoint))
        }
    case .postgres:
        return try await TestPostgres.withDatabase { url in
            let store = try PostgresStore(url: url, maxConnections: 4, logger: .quiet)
            return try await withRunningStore(store) { store in
                if migrate { try await store.migrate() }
                return try await body(TestStore(kind: kind, store: store, location: url, directory: directory, mountPoint: mountPoint))
            }
        }
    }
}

public enum TempDirectory {
    public static func make() throws -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("tern-test-\(TernID.make())")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The throwaway PostgreSQL server of the test run; every test gets a database of its own.
public enum TestPostgres {
    /// `postgres://...` of a superuser on the test cluster, from `TERN_TEST_POSTGRES_URL`.
    public static var adminURL: String? {
        guard let url = ProcessInfo.processInfo.environment["TERN_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return url
    }

    /// Whether the test run must include PostgreSQL (`scripts/test` sets `TERN_TEST_REQUIRE_POSTGRES=1`).
    public static var required: Bool {
        ProcessInfo.processInfo.environment["TERN_TEST_REQUIRE_POSTGRES"] == "1"
    }

    /// Creates a database, runs `body` with its URL, and drops it.
    public static func withDatabase<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        guard let adminURL, var components = URLComponents(string: adminURL) else {
            throw TernError.unavailable("TERN_TEST_POSTGRES_URL is not set; run the tests through scripts/test")
        }
        let name = "tern_t_" + TernID.make().replacingOccurrences(of: "-", with: "").prefix(20)
        try await admin("CREATE DATABASE \(name)")
        components.path = "/\(name)"
        let url = components.string!
        do {
            let result = try await body(url)
            try? await admin("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            return result
        } catch {
            try? await admin("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
    }

    /// Runs one statement on the admin database.
    public static func admin(_ sql: String) async throws {
        guard let adminURL else { throw TernError.unavailable("TERN_TEST_POSTGRES_URL is not set") }
        let store = try PostgresStore(url: adminURL, maxConnections: 1, logger: .quiet)
        try await withRunningStore(store) { store in
            try await (store as! PostgresStore).execute(unsafeSQL: sql)
        }
    }
}

extension Logger {
    /// A logger that drops everything.
    public static let quiet = Logger(label: "tern.test", factory: { _ in SwiftLogNoOpLogHandler() })
}

extension TestStore {
    /// Names of the tables and indexes, to prove a second migration changed nothing.
    public func dumpSchema() async throws -> String {
        switch store {
        case let sqlite as SQLiteStore: return try await sqlite.schemaText()
        case let postgres as PostgresStore: return try await postgres.schemaText()
        default: fatalError("unknown store type")
        }
    }
}

/// How a store stops taking writes in tests of trace loss, with the database's own failure modes.
public enum UnwritableMode: Sendable {
    /// SQLite: its page limit is reached (SQLITE_FULL). PostgreSQL: writes fail with SQLSTATE 53100 (disk_full).
    case full
    /// SQLite: the writer is read-only (SQLITE_READONLY). PostgreSQL: SQLSTATE 25006 (read_only_sql_transaction).
    case readOnly
}

extension TestStore {
    /// Makes the store refuse writes (`mode`), or take them again (nil). SQLite, full: its filesystem (a
    /// tmpfs of the test's own) is filled up, a real full disk under the database file and the data
    /// directory; read-only: the writer connection is made read-only (`query_only`: SQLITE_READONLY; a
    /// tmpfs cannot be remounted read-only under open files). PostgreSQL: writes to traces, observations,
    /// scores and the write probe fail with the server's own error codes.
    public func setUnwritable(_ mode: UnwritableMode?) async throws {
        switch kind {
        case .sqlite:
            let sqlite = store as! SQLiteStore
            try await sqlite.simulateReadOnly(mode == .readOnly)
            if mode == .full {
                guard let mountPoint else {
                    throw TernError.internalError("a full SQLite disk needs withTestStore(filesystemMegabytes:)")
                }
                // An empty log must grow to take the next write, and cannot.
                try await sqlite.truncateLog()
                try TestFilesystem.fill(mountPoint)
            } else if let mountPoint {
                TestFilesystem.unfill(mountPoint)
            }
        case .postgres:
            let postgres = store as! PostgresStore
            let tables = ["traces", "observations", "scores", "write_probe"]
            for table in tables { try await postgres.execute(sql: "DROP TRIGGER IF EXISTS tern_test_unwritable ON \(table)") }
            guard let mode else { return }
            let (state, message) =
                mode == .full
                ? ("53100", "could not extend file: No space left on device")
                : ("25006", "cannot execute INSERT in a read-only transaction")
            try await postgres.execute(
                sql: """
                    CREATE OR REPLACE FUNCTION tern_test_refuse() RETURNS trigger AS $$
                    BEGIN RAISE EXCEPTION USING ERRCODE = '\(state)', MESSAGE = '\(message)'; END $$ LANGUAGE plpgsql
                    """)
            for table in tables {
                try await postgres.execute(
                    sql: """
                        CREATE TRIGGER tern_test_unwritable BEFORE INSERT OR UPDATE ON \(table)
                        FOR EACH STATEMENT EXECUTE FUNCTION tern_test_refuse()
                        """)
            }
        }
    }
}

/// A tmpfs of a test's own, mounted on its directory and filled up.
public enum TestFilesystem {
    static let filler = ".filler"

    public static func mount(_ directory: String, megabytes: Int) throws {
        try run(
            ["/bin/mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", directory],
            because: "a test of a full or read-only disk mounts a tmpfs of its own (run the tests as root, as scripts/test does in CI)")
    }

    public static func unmount(_ directory: String) {
        try? run(["/bin/umount", "-l", directory], because: "unmounting the test's tmpfs")
    }

    /// Writes a file until the filesystem is full.
    public static func fill(_ directory: String) throws {
        let path = (directory as NSString).appendingPathComponent(filler)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw TernError.internalError("cannot create \(path)") }
        defer { try? handle.close() }
        let chunk = Data(count: 64 * 1024)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        var small = Data(count: 512)
        while !small.isEmpty {
            if (try? handle.write(contentsOf: small)) == nil { small = Data(count: small.count / 2) }
        }
    }

    public static func unfill(_ directory: String) {
        try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(filler))
    }

    static func run(_ arguments: [String], because reason: String) throws {
        let (status, output) = try ChildProcess(arguments).waitUntilExit()
        guard status == 0 else {
            throw TernError.internalError("\(reason): \(arguments.joined(separator: " ")) failed: \(String(decoding: output, as: UTF8.self))")
        }
    }
}
