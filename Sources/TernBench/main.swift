import ArgumentParser
import Foundation
import Logging
import TernCore
import TernServer
import TernStorePostgres
import TernStoreSQLite

/// `tern-bench`: benchmark tools for the observability side (issue 4).
///
///   tern-bench seed --traces 1000000 --data-dir DIR        # realistic traces straight into a store
///   tern-bench dashboard --data-dir DIR --json out.json    # times the dashboard's queries in process
struct TernBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tern-bench",
        abstract: "Benchmark tools: seed a store with realistic traces, time the dashboard's queries.",
        subcommands: [
            SeedCommand.self, DashboardCommand.self, WriteCommand.self, WatchCommand.self, AlertsBenchCommand.self, EmbeddingDriftBenchCommand.self,
        ])
}

/// Where the data lives: a SQLite data directory or a PostgreSQL URL, and the project.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: ArgumentHelp("Directory of the SQLite database (tern.sqlite).", valueName: "dir"))
    var dataDir: String?

    @Option(name: .customLong("database-url"), help: ArgumentHelp("PostgreSQL URL (instead of --data-dir).", valueName: "url"))
    var databaseURL: String?

    @Option(name: .long, help: "Project slug (created when missing).")
    var project: String = Bootstrap.defaultProjectSlug

    func validate() throws {
        if dataDir != nil && databaseURL != nil { throw ValidationError("give --data-dir or --database-url, not both") }
    }

    var describe: String {
        if let databaseURL, var components = URLComponents(string: databaseURL) {
            if components.password != nil { components.password = "***" }
            return "postgres \(components.host ?? ""):\(components.port.map(String.init) ?? "")\(components.path)"
        }
        return "sqlite \((dataDir ?? ".tern") + "/tern.sqlite")"
    }

    /// Opens and prepares the store (migrations, the default project), finds or creates the project and
    /// runs `body` while the store's background duties run.
    func withStore<T: Sendable>(_ body: @escaping @Sendable (any TernStore, Project) async throws -> T) async throws -> T {
        let logger = {
            var logger = Logger(label: "tern-bench"); logger.logLevel = .warning; return logger
        }()
        let store: any TernStore
        if let databaseURL {
            store = try PostgresStore(url: databaseURL, maxConnections: 4, logger: logger)
        } else {
            store = try SQLiteStore(path: ((dataDir ?? ".tern") as NSString).appendingPathComponent("tern.sqlite"))
        }
        let slug = project
        return try await withRunningStore(store) { store in
            _ = try await Bootstrap.prepare(store, logger: logger)
            let found: Project
            if let existing = try await store.projects.get(slug: slug) {
                found = existing
            } else {
                found = try await store.projects.create(slug: slug, name: slug)
            }
            return try await body(store, found)
        }
    }
}

/// Monotonic seconds.
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func formatCount(_ value: Int) -> String {
    let digits = String(value)
    var out = ""
    for (index, character) in digits.reversed().enumerated() {
        if index > 0 && index % 3 == 0 { out.append(",") }
        out.append(character)
    }
    return String(out.reversed())
}

/// A number with `digits` decimals.
func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

/// Prints at once (stdout is a pipe under the scripts).
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

// Top-level code resolves `run()` to ParsableCommand's synchronous default (which prints the help),
// so the async commands are called through `execute()`.
do {
    let command = try TernBenchCommand.parseAsRoot()
    switch command {
    case let seed as SeedCommand: try await seed.execute()
    case let dashboard as DashboardCommand: try await dashboard.execute()
    case let write as WriteCommand: try await write.execute()
    case let watch as WatchCommand: try await watch.execute()
    case let alerts as AlertsBenchCommand: try await alerts.execute()
    case let drift as EmbeddingDriftBenchCommand: try await drift.execute()
    default:
        var other = command
        try other.run()
    }
} catch {
    TernBenchCommand.exit(withError: error)
}
