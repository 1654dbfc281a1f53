import ArgumentParser
import Foundation
import TernCLI
import TernCore
import TernTestSupport
import Testing

/// Runs `tern <arguments>` in process and returns what it printed. The command sees `environment` (by
/// default only PATH) and an empty temporary working folder, never the developer's `TERN_*` variables or
/// `./tern.yaml`.
func tern(_ arguments: [String], environment: [String: String]? = nil, directory: String? = nil) async throws -> String {
    let (output, error) = await ternCapturing(arguments, environment: environment, directory: directory)
    if let error { throw error }
    return output
}

/// `tern` that keeps what the command printed when it fails too (an exit code, an error).
func ternCapturing(_ arguments: [String], environment: [String: String]? = nil, directory: String? = nil) async -> (output: String, error: (any Error)?) {
    let output = CLIOutput.capture()
    do {
        try await runTern(arguments, output: output, environment: environment, directory: directory)
        return (output.text, nil)
    } catch {
        return (output.text, error)
    }
}

private func runTern(_ arguments: [String], output: CLIOutput, environment: [String: String]?, directory: String?) async throws {
    var command = try TernCommand.parseAsRoot(arguments)
    let folder = try directory ?? TempDirectory.make()
    defer { if directory == nil { TempDirectory.remove(folder) } }
    let variables = environment ?? ProcessInfo.processInfo.environment.filter { $0.key == "PATH" }
    try await CLIEnvironment.$current.withValue(variables) {
        try await CLIEnvironment.$directory.withValue(folder) {
            try await CLIOutput.$current.withValue(output) {
                if var asyncCommand = command as? any AsyncParsableCommand {
                    try await asyncCommand.run()
                } else {
                    try command.run()
                }
            }
        }
    }
}

/// Storage flags for a test store: a data dir for SQLite, a database URL for PostgreSQL.
func storageFlags(_ test: TestStore) -> [String] {
    switch test.kind {
    case .sqlite: ["--data-dir", test.directory]
    case .postgres: ["--database-url", test.location]
    }
}

@Suite("CLI")
struct CLITests {
    @Test(
        "--data-dir opens SQLite there, whatever $TERN_DATABASE_URL or ./tern.yaml say; commands read the helper's folder, not the process's",
        .timeLimit(.minutes(1)))
    func dataDirWins() async throws {
        try await withTestStore(.sqlite, migrate: false) { test in
            let folder = try TempDirectory.make()
            defer { TempDirectory.remove(folder) }
            // Both point at a PostgreSQL server that does not exist: opening it would fail the command.
            try "database:\n  url: postgres://tern@127.0.0.1:1/nowhere\n".write(toFile: folder + "/tern.yaml", atomically: true, encoding: .utf8)
            let environment = ["TERN_DATABASE_URL": "postgres://tern@127.0.0.1:1/elsewhere"]
            let created = try await tern(["keys", "create", "--name", "here", "--data-dir", test.directory], environment: environment, directory: folder)
            let key = try #require(created.split(separator: "\n").last.map(String.init))
            #expect(try await test.store.apiKeys.find(hash: Secrets.hash(key))?.name == "here", "the key is in the SQLite store of --data-dir")
        }
    }

    @Test("commands other than serve and migrate never create a database: run in the wrong folder they say where they looked")
    func noDatabaseCreatedByAccident() async throws {
        let folder = try TempDirectory.make()
        defer { TempDirectory.remove(folder) }
        for arguments in [["keys", "create", "--name", "x"], ["models", "history", "support-bot"], ["projects", "list"], ["prompts", "list"]] {
            let error = await #expect(throws: TernError.self, "\(arguments)") { _ = try await tern(arguments, directory: folder) }
            #expect(error?.code == "database_not_found" && error?.field == "--data-dir", "\(arguments): \(String(describing: error))")
            #expect(error?.message.contains(folder + "/.tern/tern.sqlite") == true, "names where it looked: \(String(describing: error?.message))")
        }
        #expect(!FileManager.default.fileExists(atPath: folder + "/.tern"), "nothing was created")
        // migrate creates it; then the same command works there.
        _ = try await tern(["migrate"], directory: folder)
        let created = try await tern(["keys", "create", "--name", "x"], directory: folder)
        #expect(Secrets.looksLikeAPIKey(String(created.split(separator: "\n").last ?? "")))
    }

    @Test("keys create prints the key alone on its last line; list and revoke work", arguments: StoreKind.available)
    func keysLifecycle(kind: StoreKind) async throws {
        try await withTestStore(kind, migrate: false) { test in
            let flags = storageFlags(test)
            let created = try await tern(["keys", "create", "--name", "ci"] + flags)
            let lastLine = try #require(created.split(separator: "\n").last.map(String.init))
            #expect(Secrets.looksLikeAPIKey(lastLine), "last line: \(lastLine)")
            #expect(created.contains("project default"))

            let stored = try #require(try await test.store.apiKeys.find(hash: Secrets.hash(lastLine)))
            #expect(stored.name == "ci")
            #expect(stored.role == .member)
            #expect(stored.createdBy == "cli")

            let listed = try await tern(["keys", "list"] + flags)
            #expect(listed.contains(stored.id))
            #expect(listed.contains(stored.prefix + "..."))
            #expect(listed.contains("active"))
            #expect(!listed.contains(lastLine))

            let json = try await tern(["keys", "list", "--json"] + flags)
            let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
            #expect(decoded?.first?["id"] as? String == stored.id)
            #expect(decoded?.first?["project_id"] as? String == stored.projectID)

            let revoked = try await tern(["keys", "revoke", stored.id] + flags)
            #expect(revoked.contains("Revoked"))
            #expect(try await test.store.apiKeys.find(hash: Secrets.hash(lastLine))?.isRevoked == true)
            #expect(try await tern(["keys", "list"] + flags).contains("revoked"))
        }
    }

    @Test("projects and users commands", arguments: StoreKind.available)
    func projectsAndUsers(kind: StoreKind) async throws {
        try await withTestStore(kind, migrate: false) { test in
            let flags = storageFlags(test)
            #expect(try await tern(["projects", "create", "support-bot", "--name", "Support bot"] + flags).contains("Created project support-bot"))
            let list = try await tern(["projects", "list"] + flags)
            #expect(list.contains("default"))
            #expect(list.contains("Support bot"))

            let key = try await tern(["keys", "create", "--name", "bot", "--project", "support-bot", "--role", "viewer"] + flags)
            let secret = try #require(key.split(separator: "\n").last.map(String.init))
            let project = try #require(try await test.store.projects.get(slug: "support-bot"))
            #expect(try await test.store.apiKeys.find(hash: Secrets.hash(secret))?.projectID == project.id)

            let user = try await tern(["users", "create", "--email", "Ada@Example.com", "--role", "admin"] + flags)
            #expect(user.contains("Created admin ada@example.com"))
            let password = try #require(user.split(separator: "\n").last?.split(separator: " ").last.map(String.init))
            let stored = try #require(try await test.store.users.get(email: "ada@example.com"))
            let hash = try #require(try await test.store.users.passwordHash(userID: stored.id))
            #expect(PasswordHasher.verify(password, against: hash), "the printed password is the one stored")
            #expect(try await tern(["users", "list"] + flags).contains("ada@example.com"))
        }
    }

    @Test("migrate applies once, then reports up to date", arguments: StoreKind.available)
    func migrate(kind: StoreKind) async throws {
        try await withTestStore(kind, migrate: false) { test in
            let first = try await tern(["migrate"] + storageFlags(test))
            #expect(first.contains("applied 0001_foundation"))
            let second = try await tern(["migrate"] + storageFlags(test))
            #expect(second.contains("up to date"))
        }
    }

    @Test("bad input is refused with the flag or key named")
    func badInput() async throws {
        let dir = try TempDirectory.make()
        defer { TempDirectory.remove(dir) }
        _ = try await tern(["migrate", "--data-dir", dir])
        let role = await #expect(throws: TernError.self) { try await tern(["keys", "create", "--name", "x", "--role", "owner", "--data-dir", dir]) }
        #expect(role?.field == "--role")
        let project = await #expect(throws: TernError.self) {
            try await tern(["keys", "create", "--name", "x", "--project", "nope", "--data-dir", dir])
        }
        #expect(project?.field == "--project")
        #expect(project?.kind == .notFound)
        let slug = await #expect(throws: TernError.self) { try await tern(["projects", "create", "Bad Slug", "--data-dir", dir]) }
        #expect(slug?.field == "slug")

        let configPath = (dir as NSString).appendingPathComponent("bad.yaml")
        try "database:\n  url: mysql://x\n".write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = await #expect(throws: ConfigError.self) { try await tern(["keys", "list", "--config", configPath]) }
        #expect(config?.description == #"bad.yaml:2: database.url: expected postgres://user:password@host:5432/database, got "mysql://x""#)

        #expect(throws: (any Error).self) { _ = try TernCommand.parseAsRoot(["keys", "create"]) }  // --name is required
    }

    @Test("an unreachable PostgreSQL fails fast and says why")
    func unreachablePostgres() async throws {
        let refused = await #expect(throws: TernError.self) {
            try await tern(["migrate", "--database-url", "postgres://tern@127.0.0.1:1/tern?sslmode=disable"])
        }
        #expect(refused?.kind == .unavailable)
        #expect(refused?.message.hasPrefix("cannot reach PostgreSQL at 127.0.0.1:1/tern") == true)
        #expect(refused?.message.contains("refused") == true)
        if let admin = TestPostgres.adminURL, var components = URLComponents(string: admin) {
            components.path = "/no_such_database"
            let missing = await #expect(throws: TernError.self) { try await tern(["keys", "list", "--database-url", components.string!]) }
            #expect(missing?.message.contains(#"database "no_such_database" does not exist"#) == true)
        }
    }

    @Test("help is useful for every command")
    func help() throws {
        let root = TernCommand.helpMessage()
        for command in ["serve", "migrate", "projects", "keys", "users", "version"] {
            #expect(root.contains(command))
        }
        let keys = TernCommand.helpMessage(for: TernCommand.self, includeHidden: false, columns: 120)
        #expect(keys.contains("tern keys create --name dev"))
        let serveHelp = try #require(TernCommand.configuration.subcommands.first { $0._commandName == "serve" }).helpMessage()
        for flag in ["--config", "--host", "--port", "--data-dir"] { #expect(serveHelp.contains(flag)) }
    }

    @Test("version")
    func version() async throws {
        #expect(try await tern(["version"]) == "tern \(TernVersion.current)\n")
    }
}

@Suite("CLI: gateway")
struct GatewayCLITests {
    @Test("keys create and keys limits set gateway limits")
    func keyLimits() async throws {
        try await withTestStore(.sqlite, migrate: false) { test in
            let flags = storageFlags(test)
            let created = try await tern(["keys", "create", "--name", "app", "--rpm", "30", "--budget-usd", "2.5", "--budget-period", "day"] + flags)
            let secret = try #require(created.split(separator: "\n").last.map(String.init))
            let key = try #require(try await test.store.apiKeys.find(hash: Secrets.hash(secret)))
            #expect(key.limits == KeyLimits(requestsPerMinute: 30, budgetUSD: 2.5, budgetPeriod: .day))
            #expect(try await tern(["keys", "list"] + flags).contains("30 rpm, $2.50/day"))
            let changed = try await tern(["keys", "limits", key.id, "--tpm", "5000"] + flags)
            #expect(changed.contains("30 rpm, 5000 tpm, $2.50/day"))
            _ = try await tern(["keys", "limits", key.id, "--no-limits"] + flags)
            #expect(try await test.store.apiKeys.get(projectID: key.projectID, id: key.id)?.limits == KeyLimits())
            let bad = await #expect(throws: TernError.self) { try await tern(["keys", "limits", key.id, "--rpm", "0"] + flags) }
            #expect(bad?.field == "--rpm")
        }
    }

    @Test("models list, history and rollback over tern.yaml versions")
    func models() async throws {
        try await withTestStore(.sqlite, migrate: false) { test in
            let configPath = (test.directory as NSString).appendingPathComponent("tern.yaml")
            func write(_ split: String) throws {
                try """
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:9/v1"}
                models:
                  bot:
                    deployments:
                      - {name: a, provider: openai, model: m-a}
                      - {name: b, provider: openai, model: m-b}
                    routing: {split: \(split)}
                """.write(toFile: configPath, atomically: true, encoding: .utf8)
            }
            let flags = storageFlags(test) + ["--config", configPath]
            try write("{a: 90, b: 10}")
            let list = try await tern(["models", "list"] + flags)
            #expect(list.contains("bot"))
            #expect(list.contains("split a:90,b:10"))
            _ = try await tern(["models", "list"] + flags)
            #expect(try await test.store.modelVersions.history(name: "bot").count == 1, "an unchanged file adds no version")
            let first = await #expect(throws: TernError.self) { try await tern(["models", "rollback", "bot"] + flags) }
            #expect(first?.field == "version")
            #expect(
                first?.message
                    == "model bot has only version 1 (by tern.yaml): there is nothing earlier to roll back to; "
                    + "a change to it (tern.yaml and a restart, or PUT /api/v1/models/bot) makes the next version")
            try write("{a: 50, b: 50}")
            let history = try await tern(["models", "history", "bot"] + flags)
            #expect(history.contains("tern.yaml changed"))
            #expect(history.contains("split a:50,b:50"))
            let rolled = try await tern(["models", "rollback", "bot"] + flags)
            #expect(rolled.contains("version 3"))
            let current = try #require(try await test.store.modelVersions.latest(name: "bot"))
            #expect(current.config.routing.split == ["a": 90, "b": 10])
            #expect(current.author == "cli")
            let missing = await #expect(throws: TernError.self) { try await tern(["models", "rollback", "bot", "--to", "99"] + flags) }
            #expect(missing?.field == "version")
        }
    }
}
