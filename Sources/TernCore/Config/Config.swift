public import Foundation
public import Logging

/// Tern's configuration: `tern.yaml`, then environment variables, then command-line flags,
/// each overriding the one before.
public struct TernConfig: Sendable, Equatable {
    public static func == (lhs: TernConfig, rhs: TernConfig) -> Bool {
        lhs.server == rhs.server && lhs.dataDir == rhs.dataDir && lhs.database == rhs.database && lhs.log == rhs.log
            && lhs.auth == rhs.auth && lhs.providers == rhs.providers && lhs.models == rhs.models && lhs.gateway == rhs.gateway
            && lhs.loadedFrom == rhs.loadedFrom
    }

    public struct Server: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 7777
        /// Largest request body accepted, in bytes; bigger bodies get 413.
        public var maxBodyBytes = 4 * 1024 * 1024
        /// A connection with no request under way is closed after this long (keep-alive).
        public var idleTimeoutSeconds = 60.0
        /// A request's head must arrive within this long of its first byte.
        public var headerTimeoutSeconds = 10.0
        /// A request's body must arrive within this long of its head.
        public var bodyTimeoutSeconds = 60.0
        /// Open connections at most; a new one beyond closes the longest-waiting idle one (docs/SECURITY.md).
        public var maxConnections = 1024
        /// The address users reach the server at (`https://tern.example.com`), when a proxy terminates TLS:
        /// with https, session cookies are marked `Secure`.
        public var publicURL: String?
        public init() {}
    }

    public struct Database: Sendable, Equatable {
        /// `postgres://user:pass@host:port/db`; nil selects the embedded SQLite file in `dataDir`.
        public var url: String?
        /// Connections in the PostgreSQL pool (SQLite uses one writer and a pool of readers).
        public var maxConnections = 10
        /// SQLite's memory budget (page caches of the writer and the readers, statements, sorts), in MiB:
        /// a soft heap limit, so caches give pages back rather than grow past it (docs/SECURITY.md).
        public var sqliteMemoryMiB = 32
        public init() {}
    }

    public enum LogFormat: String, Sendable, Equatable {
        case text
        case json
    }

    public struct Log: Sendable, Equatable {
        public var level: Logger.Level = .info
        public var format: LogFormat = .text
        public init() {}
    }

    public struct Auth: Sendable, Equatable {
        /// How long a web session lasts.
        public var sessionHours = 24 * 7
        /// How long a resolved API key is trusted before it is looked up again (revocations made
        /// through another replica take effect within this time; through this one, at once).
        public var keyCacheSeconds = 30
        public init() {}
    }

    public var server = Server()
    public var dataDir = ".tern"
    public var database = Database()
    public var log = Log()
    public var auth = Auth()
    public var monitoring = Monitoring()
    public var alerts = Alerts()

    /// `alerts:` in tern.yaml: alert rules' evaluation and their webhooks (docs/MONITORING.md#alerts).
    public struct Alerts: Sendable, Equatable {
        /// Whether this server evaluates rules and delivers notifications (one replica at a time does).
        public var enabled = true
        /// Webhook hosts Tern may call: names, `*.suffix`, addresses or CIDR ranges. Internal addresses only when
        /// listed; with a non-empty list, only listed hosts.
        public var allowedHosts: [String] = []
        /// Each delivery attempt's time limit.
        public var timeoutSeconds = 10
        /// Tern's address as people reach it, for links in notifications (none when unset).
        public var publicURL: String?
        public init() {}
    }

    public struct Monitoring: Sendable, Equatable {
        /// Whether this server runs watchers (scans and their queue); replicas may share the work.
        public var watchers = true
        /// Watcher jobs evaluated at once on this server (judge calls in flight).
        public var watcherConcurrency = 8
        /// Whether this server starts the runs of due probes (one replica at a time does).
        public var probes = true
        /// Whether this server runs due drift monitors (one replica at a time does).
        public var driftMonitors = true
        public init() {}
    }
    /// Upstream APIs by name.
    public var providers: [String: ProviderConfig] = [:]
    /// Logical models, in file order.
    public var models: [ModelConfig] = []
    public var gateway = GatewaySettings()
    /// Lines of parsed keys, for messages about cross-references.
    var lines: [String: Int] = [:]

    public init() {}

    /// The file actually read, if any (for messages).
    public var loadedFrom: String?

    /// The SQLite database file used when no database URL is set.
    public var sqlitePath: String { (dataDir as NSString).appendingPathComponent("tern.sqlite") }
}

/// Values given on the command line; nil means "not given".
public struct ConfigOverrides: Sendable, Equatable {
    public var configFile: String?
    public var host: String?
    public var port: Int?
    public var dataDir: String?
    public var databaseURL: String?
    public var logLevel: String?

    public init(
        configFile: String? = nil, host: String? = nil, port: Int? = nil, dataDir: String? = nil,
        databaseURL: String? = nil, logLevel: String? = nil
    ) {
        self.configFile = configFile
        self.host = host
        self.port = port
        self.dataDir = dataDir
        self.databaseURL = databaseURL
        self.logLevel = logLevel
    }
}

extension TernConfig {
    public static let defaultFileName = "tern.yaml"

    /// Loads the configuration. The file is `overrides.configFile`, else `$TERN_CONFIG`, else
    /// `./tern.yaml` when it exists. A file named explicitly must exist.
    public static func load(
        overrides: ConfigOverrides = .init(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) throws -> TernConfig {
        var config = TernConfig()
        let explicit = overrides.configFile ?? environment["TERN_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let path: String? = {
            if let explicit { return explicit }
            let implicit = (currentDirectory as NSString).appendingPathComponent(defaultFileName)
            return FileManager.default.fileExists(atPath: implicit) ? implicit : nil
        }()
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError(source: path, path: nil, line: nil, message: "cannot read the configuration file")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw ConfigError(source: path, path: nil, line: nil, message: "the file is not UTF-8 text")
            }
            try config.apply(yaml: text, source: (path as NSString).lastPathComponent)
            config.loadedFrom = path
        }
        try config.apply(environment: environment)
        try config.apply(overrides: overrides)
        return config
    }

    /// Applies the keys of a `tern.yaml` document.
    public mutating func apply(yaml: String, source: String = defaultFileName) throws {
        guard let root = try ConfigNode.parse(yaml: yaml, source: source) else { return }
        for (key, node) in try root.mapping(allowed: [
            "server", "data_dir", "database", "log", "auth", "providers", "models", "gateway", "monitoring", "alerts",
        ]) {
            if node.isNull { continue }
            switch key {
            case "providers":
                try applyProviders(node)
            case "models":
                try applyModels(node)
            case "gateway":
                try applyGateway(node)
            case "server":
                for (key, node) in try node.mapping(allowed: [
                    "host", "port", "max_body_bytes", "idle_timeout_seconds", "header_timeout_seconds",
                    "body_timeout_seconds", "max_connections", "public_url",
                ]) {
                    switch key {
                    case "host": server.host = try Self.host(node.string(), node)
                    case "port": server.port = try node.int(in: 0...65535)
                    case "idle_timeout_seconds": server.idleTimeoutSeconds = try node.double(in: 1...86_400)
                    case "header_timeout_seconds": server.headerTimeoutSeconds = try node.double(in: 1...3600)
                    case "body_timeout_seconds": server.bodyTimeoutSeconds = try node.double(in: 1...86_400)
                    case "max_connections": server.maxConnections = try node.int(in: 16...1_000_000)
                    case "public_url":
                        let url = try node.string()
                        guard let parsed = URLComponents(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                            parsed.host?.isEmpty == false
                        else {
                            throw node.error("expected an http:// or https:// address, e.g. https://tern.example.com, got \"\(url)\"")
                        }
                        server.publicURL = url
                    default: server.maxBodyBytes = try node.int(in: 1024...1_073_741_824)
                    }
                }
            case "data_dir":
                dataDir = try node.string()
            case "database":
                for (key, node) in try node.mapping(allowed: ["url", "max_connections", "sqlite_memory_mib"]) {
                    switch key {
                    case "url":
                        if node.isNull { continue }
                        let url = try node.string()
                        guard Self.isPostgresURL(url) else { throw node.error(Self.urlExpectation(url)) }
                        database.url = url
                    case "sqlite_memory_mib": database.sqliteMemoryMiB = try node.int(in: 4...65_536)
                    default: database.maxConnections = try node.int(in: 1...1000)
                    }
                }
            case "log":
                for (key, node) in try node.mapping(allowed: ["level", "format"]) {
                    switch key {
                    case "level": log.level = try node.oneOf(Self.logLevels)
                    default: log.format = try node.oneOf([("text", .text), ("json", .json)])
                    }
                }
            case "alerts":
                for (key, node) in try node.mapping(allowed: ["enabled", "allowed_hosts", "timeout_seconds", "public_url"]) {
                    switch key {
                    case "enabled": alerts.enabled = try node.bool()
                    case "allowed_hosts": alerts.allowedHosts = try node.sequence().map { try $0.string() }
                    case "timeout_seconds": alerts.timeoutSeconds = try node.int(in: 1...120)
                    default:
                        let text = try node.string()
                        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                            throw node.error("expected an http or https URL, such as https://tern.example.com")
                        }
                        alerts.publicURL = text.hasSuffix("/") ? String(text.dropLast()) : text
                    }
                }
            case "monitoring":
                for (key, node) in try node.mapping(allowed: ["watchers", "watcher_concurrency", "probes", "drift_monitors"]) {
                    switch key {
                    case "watchers": monitoring.watchers = try node.bool()
                    case "probes": monitoring.probes = try node.bool()
                    case "drift_monitors": monitoring.driftMonitors = try node.bool()
                    default: monitoring.watcherConcurrency = try node.int(in: 1...256)
                    }
                }
            default:
                for (key, node) in try node.mapping(allowed: ["session_hours", "key_cache_seconds"]) {
                    switch key {
                    case "session_hours": auth.sessionHours = try node.int(in: 1...24 * 365)
                    default: auth.keyCacheSeconds = try node.int(in: 0...3600)
                    }
                }
            }
        }
        try validateGateway(source: source)
    }

    /// Applies `TERN_*` environment variables.
    public mutating func apply(environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            guard let v = environment[name], !v.isEmpty else { return nil }
            return v
        }
        func envError(_ name: String, _ message: String) -> ConfigError {
            ConfigError(source: name, path: nil, line: nil, message: message)
        }
        if let v = value("TERN_HOST") { server.host = v }
        if let v = value("TERN_PORT") {
            guard let port = Int(v), (0...65535).contains(port) else {
                throw envError("TERN_PORT", "expected an integer 0-65535, got \"\(v)\"")
            }
            server.port = port
        }
        if let v = value("TERN_DATA_DIR") { dataDir = v }
        if let v = value("TERN_DATABASE_URL") {
            guard Self.isPostgresURL(v) else { throw envError("TERN_DATABASE_URL", Self.urlExpectation(v)) }
            database.url = v
        }
        if let v = value("TERN_LOG_LEVEL") {
            guard let level = Self.logLevels.first(where: { $0.0 == v.lowercased() })?.1 else {
                throw envError("TERN_LOG_LEVEL", "expected one of \(Self.logLevels.map(\.0).joined(separator: ", ")), got \"\(v)\"")
            }
            log.level = level
        }
        if let v = value("TERN_LOG_FORMAT") {
            guard let format = LogFormat(rawValue: v.lowercased()) else {
                throw envError("TERN_LOG_FORMAT", "expected text or json, got \"\(v)\"")
            }
            log.format = format
        }
    }

    /// Applies command-line flags.
    public mutating func apply(overrides: ConfigOverrides) throws {
        if let host = overrides.host { server.host = host }
        if let port = overrides.port {
            guard (0...65535).contains(port) else {
                throw ConfigError(source: "--port", path: nil, line: nil, message: "expected an integer 0-65535, got \(port)")
            }
            server.port = port
        }
        if let dir = overrides.dataDir {
            dataDir = dir
            // The flag asks for the embedded SQLite database there: a database.url from tern.yaml or
            // $TERN_DATABASE_URL does not win over it (only --database-url does).
            if overrides.databaseURL == nil { database.url = nil }
        }
        if let url = overrides.databaseURL {
            guard Self.isPostgresURL(url) else {
                throw ConfigError(source: "--database-url", path: nil, line: nil, message: Self.urlExpectation(url))
            }
            database.url = url
        }
        if let level = overrides.logLevel {
            guard let parsed = Self.logLevels.first(where: { $0.0 == level.lowercased() })?.1 else {
                throw ConfigError(
                    source: "--log-level", path: nil, line: nil, message: "expected one of \(Self.logLevels.map(\.0).joined(separator: ", ")), got \"\(level)\""
                )
            }
            log.level = parsed
        }
    }

    static let logLevels: [(String, Logger.Level)] = [
        ("trace", .trace), ("debug", .debug), ("info", .info), ("notice", .notice),
        ("warning", .warning), ("error", .error), ("critical", .critical),
    ]

    static func isPostgresURL(_ url: String) -> Bool {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else { return false }
        return URLComponents(string: url)?.host?.isEmpty == false
    }

    static func urlExpectation(_ url: String) -> String {
        "expected postgres://user:password@host:5432/database, got \"\(redacted(url))\""
    }

    /// A database URL with its password replaced, for messages and logs.
    public static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.password != nil else { return url }
        parts.password = "***"
        return parts.string ?? "(unreadable URL)"
    }

    static func host(_ value: String, _ node: ConfigNode) throws -> String {
        guard !value.isEmpty, !value.contains(where: { $0.isWhitespace }) else {
            throw node.error("expected a host name or IP address, got \"\(value)\"")
        }
        return value
    }
}
