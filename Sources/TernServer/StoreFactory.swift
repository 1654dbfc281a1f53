public import Foundation
public import Logging
public import TernCore
import TernStorePostgres
import TernStoreSQLite

/// Opens the store the configuration selects: PostgreSQL when `database.url` is set, else the
/// SQLite file in the data directory.
public enum StoreFactory {
    public static func open(_ config: TernConfig, logger: Logger) throws -> any TernStore {
        if let url = config.database.url {
            return try PostgresStore(url: url, maxConnections: config.database.maxConnections, logger: logger)
        }
        return try SQLiteStore(path: config.sqlitePath, memoryBudget: config.database.sqliteMemoryMiB << 20)
    }

    /// Describes where data lives, without secrets (no password from the URL).
    public static func describe(_ config: TernConfig) -> String {
        guard let url = config.database.url, var components = URLComponents(string: url) else {
            return "SQLite at \(config.sqlitePath)"
        }
        if components.password != nil { components.password = "***" }
        return "PostgreSQL at \(components.string ?? "postgres")"
    }
}

/// Runs the store's background duties while `body` runs, then closes it.
public func withRunningStore<T: Sendable>(
    _ store: any TernStore, _ body: @Sendable (any TernStore) async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await store.run() }
        do {
            let result = try await body(store)
            group.cancelAll()
            try? await group.waitForAll()
            try await store.close()
            return result
        } catch {
            group.cancelAll()
            try? await group.waitForAll()
            try? await store.close()
            throw error
        }
    }
}

/// First-start duties: migrate, and create the `default` project in an empty database.
public enum Bootstrap {
    public struct Report: Sendable {
        public var appliedMigrations: [String]
        public var createdDefaultProject: Project?
        public var userCount: Int
        /// API keys not revoked, over every project.
        public var keyCount: Int
    }

    public static let defaultProjectSlug = "default"

    public static func prepare(_ store: any TernStore, logger: Logger) async throws -> Report {
        try await store.ping()
        let applied: [String]
        do {
            applied = try await store.migrate()
        } catch let error as TernError {
            throw error
        } catch {
            throw TernError.unavailable("cannot migrate the \(store.backendName) database: \(error)")
        }
        if !applied.isEmpty {
            logger.info("migrations applied", metadata: ["migrations": .string(applied.joined(separator: ","))])
        }
        var created: Project?
        if try await store.projects.count() == 0 {
            do {
                created = try await store.projects.create(slug: defaultProjectSlug, name: "Default")
            } catch let error as TernError where error.kind == .conflict {
                created = nil  // another replica created it first
            }
        }
        var keys = 0
        for project in try await store.projects.list() { keys += try await store.apiKeys.list(projectID: project.id).filter { $0.revokedAt == nil }.count }
        return Report(appliedMigrations: applied, createdDefaultProject: created, userCount: try await store.users.count(), keyCount: keys)
    }
}

/// Retention: deletes each project's traces older than its `retention_days` (a background job, hourly).
public enum Retention {
    /// Returns how many traces were deleted, by project slug.
    @discardableResult
    public static func enforce(_ store: any TernStore, now: Date = Date()) async throws -> [String: Int] {
        var deleted: [String: Int] = [:]
        for project in try await store.projects.list() {
            guard let days = project.retentionDays else { continue }
            let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
            deleted[project.slug] = try await store.traces.deleteOlderThan(projectID: project.id, cutoff: cutoff)
        }
        return deleted
    }
}
