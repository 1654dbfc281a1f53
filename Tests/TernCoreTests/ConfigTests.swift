import Foundation
import TernCore
import Testing

@Suite("Configuration")
struct ConfigTests {
    func load(yaml: String? = nil, env: [String: String] = [:], overrides: ConfigOverrides = .init()) throws -> TernConfig {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tern-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        if let yaml {
            try yaml.write(toFile: (dir as NSString).appendingPathComponent("tern.yaml"), atomically: true, encoding: .utf8)
        }
        return try TernConfig.load(overrides: overrides, environment: env, currentDirectory: dir)
    }

    func configError(yaml: String? = nil, env: [String: String] = [:], overrides: ConfigOverrides = .init()) -> ConfigError? {
        do {
            _ = try load(yaml: yaml, env: env, overrides: overrides)
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("defaults: loopback, port 7777, SQLite in ./.tern")
    func defaults() throws {
        let config = try load()
        #expect(config.server.host == "127.0.0.1")
        #expect(config.server.port == 7777)
        #expect(config.database.url == nil)
        #expect(config.sqlitePath == ".tern/tern.sqlite")
        #expect(config.loadedFrom == nil)
    }

    @Test("tern.yaml, then environment, then flags, each overriding the one before")
    func precedence() throws {
        let yaml = """
            server: {host: 0.0.0.0, port: 8000}
            data_dir: /var/lib/tern
            log: {level: debug, format: json}
            """
        let fromFile = try load(yaml: yaml)
        #expect(fromFile.server.port == 8000)
        #expect(fromFile.server.host == "0.0.0.0")
        #expect(fromFile.dataDir == "/var/lib/tern")
        #expect(fromFile.log.format == .json)
        #expect(fromFile.loadedFrom?.hasSuffix("tern.yaml") == true)

        let env = ["TERN_PORT": "9000", "TERN_DATABASE_URL": "postgres://u:p@db:5432/tern"]
        let fromEnv = try load(yaml: yaml, env: env)
        #expect(fromEnv.server.port == 9000)
        #expect(fromEnv.server.host == "0.0.0.0", "keys the environment does not set keep the file's value")
        #expect(fromEnv.database.url == "postgres://u:p@db:5432/tern")

        let fromFlags = try load(yaml: yaml, env: env, overrides: .init(port: 9100, dataDir: "/tmp/x"))
        #expect(fromFlags.server.port == 9100)
        #expect(fromFlags.dataDir == "/tmp/x")
        #expect(fromFlags.database.url == nil, "--data-dir asks for SQLite there: the environment's database URL does not win over it")
        let both = try load(yaml: yaml, env: env, overrides: .init(dataDir: "/tmp/x", databaseURL: "postgres://u@other:5432/t"))
        #expect(both.database.url == "postgres://u@other:5432/t", "--database-url is the one flag that picks PostgreSQL")
    }

    @Test("a bad database URL names the key path, the line and what was expected")
    func badDatabaseURL() throws {
        let error = try #require(configError(yaml: "server:\n  port: 8000\ndatabase:\n  url: \"mysql://x\"\n"))
        #expect(error.path == "database.url")
        #expect(error.line == 4)
        #expect(error.description == #"tern.yaml:4: database.url: expected postgres://user:password@host:5432/database, got "mysql://x""#)
    }

    @Test("database.sqlite_memory_mib sets SQLite's memory budget (32 MiB by default) and refuses values out of range by key")
    func sqliteMemory() throws {
        #expect(try load().database.sqliteMemoryMiB == 32)
        #expect(try load(yaml: "database:\n  sqlite_memory_mib: 64\n").database.sqliteMemoryMiB == 64)
        let error = try #require(configError(yaml: "database:\n  sqlite_memory_mib: 1\n"))
        #expect(error.path == "database.sqlite_memory_mib" && error.line == 2)
    }

    @Test("unknown keys are errors with a suggestion")
    func unknownKey() throws {
        let error = try #require(configError(yaml: "server:\n  prot: 80\n"))
        #expect(error.path == "server.prot")
        #expect(error.message.contains(#"did you mean "port"?"#))
        let top = try #require(configError(yaml: "databse: {}\n"))
        #expect(top.path == "databse")
        #expect(top.message.contains(#""database""#))
    }

    @Test("wrong types and ranges name the key")
    func wrongTypes() throws {
        let port = try #require(configError(yaml: "server: {port: eighty}"))
        #expect(port.path == "server.port")
        #expect(port.message == #"expected an integer 0-65535, got "eighty""#)
        let range = try #require(configError(yaml: "server: {port: 70000}"))
        #expect(range.message == "expected an integer 0-65535, got 70000")
        let level = try #require(configError(yaml: "log: {level: loud}"))
        #expect(level.path == "log.level")
        #expect(level.message.hasPrefix("expected one of trace, debug"))
        let mapping = try #require(configError(yaml: "server: 8080"))
        #expect(mapping.path == "server")
        #expect(mapping.message == #"expected a mapping of keys, got "8080""#)
        let duplicate = try #require(configError(yaml: "server: {port: 1, port: 2}"))
        #expect(duplicate.message.contains("duplicated key(s): 'port'"))
    }

    @Test("YAML syntax errors and unreadable files are reported with the file name")
    func syntaxAndMissingFile() throws {
        let syntax = try #require(configError(yaml: "server: [unclosed"))
        #expect(syntax.source == "tern.yaml")
        #expect(syntax.message.hasPrefix("invalid YAML"))
        let missing = try #require(configError(overrides: .init(configFile: "/nonexistent/tern.yaml")))
        #expect(missing.source == "/nonexistent/tern.yaml")
        #expect(missing.message == "cannot read the configuration file")
    }

    @Test("environment and flag values are validated and named")
    func environmentAndFlags() throws {
        let port = try #require(configError(env: ["TERN_PORT": "http"]))
        #expect(port.description == #"TERN_PORT: expected an integer 0-65535, got "http""#)
        let url = try #require(configError(env: ["TERN_DATABASE_URL": "sqlite://x"]))
        #expect(url.source == "TERN_DATABASE_URL")
        let flag = try #require(configError(overrides: .init(databaseURL: "mysql://x")))
        #expect(flag.description == #"--database-url: expected postgres://user:password@host:5432/database, got "mysql://x""#)
        #expect(try load(env: ["TERN_PORT": ""]).server.port == 7777, "empty variables are ignored")
    }

    @Test("an empty file is the defaults")
    func emptyFile() throws {
        var empty = try load(yaml: "")
        #expect(empty.loadedFrom != nil)
        empty.loadedFrom = nil
        #expect(empty == TernConfig())
        #expect(try load(yaml: "# only a comment\n").server.port == 7777)
    }
}
