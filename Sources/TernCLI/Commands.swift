public import ArgumentParser
import Foundation
import Logging
import TernCore
import TernServer

/// `tern`: the command-line entry point.
public struct TernCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tern",
        abstract: "Tern: an LLMOps platform in one binary (gateway, traces, evaluation, datasets).",
        discussion: """
            Configuration comes from tern.yaml (or --config / $TERN_CONFIG), then TERN_* environment variables, then flags, each overriding the one before. Data lives in ./.tern (SQLite) unless --data-dir or database.url (PostgreSQL) says otherwise.

            Start here:
              tern serve                          start the server on 127.0.0.1:7777
              tern keys create --name dev         create an API key for the default project
            """,
        version: TernVersion.current,
        subcommands: [
            Serve.self, Migrate.self, ProjectsCommand.self, KeysCommand.self, UsersCommand.self, ModelsCommand.self, PromptsCommand.self, EvalCommand.self,
            ExperimentsCommand.self, WatchersCommand.self, AlertsCommand.self, ProbesCommand.self, DriftCommand.self, VersionCommand.self,
        ]
    )

    public init() {}
}

/// Options every command that touches storage takes.
struct StorageOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Configuration file (default: ./tern.yaml if present, or $TERN_CONFIG).", valueName: "file"))
    var config: String?

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("Directory for the embedded SQLite database (default: ./.tern).", valueName: "dir"))
    var dataDir: String?

    @Option(name: .customLong("database-url"), help: ArgumentHelp("PostgreSQL URL; overrides database.url and $TERN_DATABASE_URL.", valueName: "url"))
    var databaseURL: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: String?

    /// Loads the configuration. Commands other than `serve` log only warnings and errors unless
    /// `--log-level` says otherwise, so their output stays readable.
    func load(host: String? = nil, port: Int? = nil, quiet: Bool = true) throws -> TernConfig {
        var config = try TernConfig.load(
            overrides: ConfigOverrides(
                configFile: config, host: host, port: port, dataDir: dataDir,
                databaseURL: databaseURL, logLevel: logLevel),
            environment: CLIEnvironment.current, currentDirectory: CLIEnvironment.directory)
        if !config.dataDir.hasPrefix("/") {
            config.dataDir = (CLIEnvironment.directory as NSString).appendingPathComponent(config.dataDir)
        }
        var log = config.log
        if quiet, logLevel == nil, log.level < .warning { log.level = .warning }
        CLILogging.configure(log)
        return config
    }

    /// Loads the configuration, opens and prepares the store, and runs `body` with it. The embedded database
    /// must exist already: only `serve` and `migrate` create one, so a command run in the wrong folder says
    /// where it looked instead of making a new, empty database there.
    func withStore<T: Sendable>(_ body: @Sendable (any TernStore, TernConfig) async throws -> T) async throws -> T {
        let config = try load()
        if config.database.url == nil, !FileManager.default.fileExists(atPath: config.sqlitePath) {
            let source =
                dataDir != nil
                ? "--data-dir"
                : CLIEnvironment.current["TERN_DATA_DIR"].map { _ in "$TERN_DATA_DIR" }
                    ?? (config.loadedFrom.map { "data_dir of \($0), or the default" } ?? "the default, ./.tern")
            throw TernError(
                .notFound, code: "database_not_found",
                message: "no Tern database at \(config.sqlitePath) (from \(source)); start the server there once (tern serve) or run "
                    + "tern migrate, or name the server's folder with --data-dir (or its PostgreSQL with --database-url)",
                field: "--data-dir")
        }
        let logger = CLILogging.logger()
        let store = try StoreFactory.open(config, logger: logger)
        return try await withRunningStore(store) { store in
            _ = try await Bootstrap.prepare(store, logger: logger)
            return try await body(store, config)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Tern server: the REST API, the OpenAI-compatible gateway, OTLP ingest and the web UI.",
        discussion: "Binds 127.0.0.1:7777 unless told otherwise. Stops gracefully on SIGTERM or SIGINT.")

    @OptionGroup var storage: StorageOptions

    @Option(name: .long, help: ArgumentHelp("Address to bind (default 127.0.0.1; 0.0.0.0 exposes Tern to the network).", valueName: "host"))
    var host: String?

    @Option(name: .long, help: ArgumentHelp("Port to listen on (default 7777; 0 picks a free port).", valueName: "port"))
    var port: Int?

    func run() async throws {
        let config = try storage.load(host: host, port: port, quiet: false)
        let logger = CLILogging.logger()
        // Each connection takes a file descriptor: use all the system allows this process.
        FileLimit.raiseToHardLimit()
        let store = try StoreFactory.open(config, logger: logger)
        try await withRunningStore(store) { store in
            let report = try await Bootstrap.prepare(store, logger: logger)
            if let config = config.loadedFrom { say("Configuration: \(config)") }
            say("Storage: \(StoreFactory.describe(config))")
            if let project = report.createdDefaultProject {
                say(
                    """
                    First start: created project "\(project.slug)".
                      Create the first admin:  tern users create --email you@example.com --role admin
                      Create an API key:       tern keys create --name dev --project \(project.slug)
                    """)
            } else if report.userCount == 0 {
                say("No users yet. Create the first admin: tern users create --email you@example.com --role admin")
            }
            var options = TernServerOptions(config: config)
            let keyCount = report.keyCount
            options.onServerRunning = { port in
                say("Tern \(TernVersion.current) listening on http://\(config.server.host):\(port)")
                say(Self.banner(config: config, port: port, keyCount: keyCount))
            }
            let app = try await buildApplication(store: store, options: options, logger: logger)
            try await app.runService()
            say("Tern stopped.")
        }
    }

    /// Where to go next: the UI, the gateway's base URL and models, the ingest endpoints; how to make
    /// the first key; which providers are demos.
    static func banner(config: TernConfig, port: Int, keyCount: Int) -> String {
        let base = "http://\(config.server.host):\(port)"
        let models = (config.models + BuiltInModels.models(besides: config.models, providers: BuiltInModels.providers(config.providers))).map(\.name)
        let shown = models.prefix(6).joined(separator: ", ") + (models.count > 6 ? ", and \(models.count - 6) more" : "")
        var lines = [
            "  Web UI    \(base)/ui/",
            "  Gateway   \(base)/v1 (OpenAI-compatible base URL; models: \(shown.isEmpty ? "none yet, see tern.yaml" : shown))",
            "  Ingest    \(base)/api/v1/ingest and OTLP \(base)/v1/traces",
        ]
        let demos = config.providers.values.filter { $0.type == .echo }.map(\.name).sorted()
        if !demos.isEmpty {
            lines.append(
                "Provider \(demos.joined(separator: ", ")) is the echo demo (type: echo): it answers with the caller's last message. "
                    + "Add a real provider to tern.yaml for real answers.")
        }
        if keyCount == 0 {
            lines.append("No API key yet. The first one, which may also create projects and change models:")
            lines.append("  tern keys create --name admin --role admin --instance-admin")
        }
        return lines.joined(separator: "\n")
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations (the server also applies them at start).")

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        let config = try storage.load()
        let logger = CLILogging.logger()
        let store = try StoreFactory.open(config, logger: logger)
        try await withRunningStore(store) { store in
            try await store.ping()
            let applied = try await store.migrate()
            let all = try await store.appliedMigrations()
            if applied.isEmpty {
                say("Database is up to date (\(all.count) migrations applied) - \(StoreFactory.describe(config)).")
            } else {
                for id in applied { say("applied \(id)") }
                say("\(applied.count) migrations applied - \(StoreFactory.describe(config)).")
            }
        }
    }
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print Tern's version.")
    func run() { say("tern \(TernVersion.current)") }
}

extension TernCommand {
    /// Parses and runs a command line (nil: the process's own arguments), exiting on error.
    public static func run(arguments: [String]?) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
