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
public func withTestStore<T: Sendable>(
    _ kind: StoreKind, migrate: Bool = true, _ body: @Sendable (TestStore) async throws -> T
) async throws -> T {
    let directory = try TempDirectory.make()
    defer { TempDirectory.remove(directory) }
    switch kind {
    case .sqlite:
        let path = (directory as NSString).appendingPathComponent("tern.sqlite")
        let store = try SQLiteStore(path: path)
        return try await withRunningStore(store) { store in
            if migrate { try await store.migrate() }
            return try await body(TestStore(kind: kind, store: store, location: path, directory: directory))
        }
    case .postgres:
        return try await TestPostgres.withDatabase { url in
            let store = try PostgresStore(url: url, maxConnections: 4, logger: .quiet)
            return try await withRunningStore(store) { store in
                if migrate { try await store.migrate() }
                return try await body(TestStore(kind: kind, store: store, location: url, directory: directory))
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
