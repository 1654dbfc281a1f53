import ArgumentParser
import Foundation
import TernCore
import TernServer

struct ProjectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projects", abstract: "Create and list projects.",
        subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a project.")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "Slug: a-z, 0-9 and '-', used in URLs and --project.") var slug: String
        @Option(name: .long, help: "Display name (default: the slug).") var name: String?

        func run() async throws {
            let slug = try Validate.slug(self.slug, field: "slug")
            let name = try Validate.name(self.name ?? slug, field: "--name")
            let project = try await storage.withStore { store, _ in
                try await store.projects.create(slug: slug, name: name)
            }
            say("Created project \(project.slug) (\(project.id)).")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List projects.")
        @OptionGroup var storage: StorageOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let projects = try await storage.withStore { store, _ in try await store.projects.list() }
            if json { return say(try CLIJSON.encode(projects)) }
            table(["SLUG", "NAME", "ID", "CREATED"], projects.map { [$0.slug, $0.name, $0.id, CLIJSON.date($0.createdAt)] })
        }
    }
}

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self, Limits.self])

    /// Gateway limits of a key.
    struct LimitOptions: ParsableArguments {
        @Option(name: .long, help: "Requests per minute (gateway).") var rpm: Int?
        @Option(name: .long, help: "Tokens per minute (gateway).") var tpm: Int?
        @Option(name: .customLong("budget-usd"), help: "Spend budget in USD per --budget-period.") var budgetUSD: Double?
        @Option(name: .customLong("budget-period"), help: "day or month (default month).") var budgetPeriod: String?
        @Flag(name: .customLong("no-limits"), help: "Remove every limit.") var noLimits = false

        func apply(to limits: KeyLimits) throws -> KeyLimits {
            var limits = noLimits ? KeyLimits() : limits
            if let rpm { limits.requestsPerMinute = rpm }
            if let tpm { limits.tokensPerMinute = tpm }
            if let budgetUSD { limits.budgetUSD = budgetUSD }
            if let budgetPeriod {
                guard let period = BudgetPeriod(rawValue: budgetPeriod) else {
                    throw TernError.invalid("--budget-period", "expected day or month, got \"\(budgetPeriod)\"")
                }
                limits.budgetPeriod = period
            }
            do { try limits.validate() } catch let error as TernError {
                throw TernError.invalid("--" + (error.field ?? "").replacingOccurrences(of: "_", with: "-"), error.message)
            }
            return limits
        }
    }

    static func describe(_ limits: KeyLimits) -> String {
        var parts: [String] = []
        if let rpm = limits.requestsPerMinute { parts.append("\(rpm) rpm") }
        if let tpm = limits.tokensPerMinute { parts.append("\(tpm) tpm") }
        if let budget = limits.budgetUSD { parts.append(String(format: "$%.2f/%@", budget, limits.budgetPeriod.rawValue)) }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    struct Limits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a key's gateway limits: requests and tokens per minute, spend budget.",
            discussion: "Example: tern keys limits KEY_ID --rpm 60 --budget-usd 25 --budget-period month")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var scope: ProjectOption
        @Argument(help: "The key's id (from 'tern keys list').") var id: String
        @OptionGroup var limitOptions: LimitOptions

        func run() async throws {
            let key = try await storage.withStore { store, _ in
                let project = try await KeysCommand.project(scope.project, store)
                guard let existing = try await store.apiKeys.get(projectID: project.id, id: id) else {
                    throw TernError.notFound("API key \(id) in project \(project.slug)")
                }
                return try await store.apiKeys.setLimits(projectID: project.id, id: id, limits: try limitOptions.apply(to: existing.limits))!
            }
            say("Limits of \"\(key.name)\": \(KeysCommand.describe(key.limits)).")
        }
    }

    struct ProjectOption: ParsableArguments {
        @Option(name: .long, help: "Project slug or id.") var project: String = Bootstrap.defaultProjectSlug
    }

    static func project(_ reference: String, _ store: any TernStore) async throws -> Project {
        guard let project = try await ProjectLookup.find(reference, in: store) else {
            throw TernError.notFound("project \"\(reference)\" (see 'tern projects list')", field: "--project")
        }
        return project
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key. The key is printed once, alone on the last line.",
            discussion: "Capture it in a script with: KEY=$(tern keys create --name ci | tail -n 1)")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var scope: ProjectOption
        @Option(name: .long, help: "What the key is for, e.g. ci or my-app.") var name: String
        @Option(name: .long, help: "admin, member or viewer.") var role: String = "member"
        @Option(
            name: .customLong("scope"), parsing: .singleValue,
            help:
                "What the key may do (repeatable): read, write, ingest, gateway, admin. Default: all of its role's (viewer: read; member: read, write, ingest, gateway; admin: those and admin)."
        )
        var scopes: [String] = []
        @Flag(
            name: .customLong("instance-admin"),
            help:
                "Also administer the whole instance (users, projects, models): an admin key with the instance scope. Only this command and instance admins can make one."
        )
        var instanceAdmin = false
        @OptionGroup var limitOptions: LimitOptions
        @OptionGroup var remote: RemoteOptions

        func run() async throws {
            let name = try Validate.name(self.name, field: "--name", max: 100)
            var role = try Role.parse(self.role, field: "--role")
            if instanceAdmin {
                guard self.role == "member" || role == .admin else {
                    throw TernError.invalid("--instance-admin", "an instance admin key has the admin role; drop --role \(self.role)")
                }
                role = .admin
            }
            var scopes: [KeyScope]? = self.scopes.isEmpty ? nil : try KeyScope.parse(self.scopes, field: "--scope")
            if instanceAdmin { scopes = (scopes ?? role.defaultScopes) + [.instance] }
            let limits = try limitOptions.apply(to: KeyLimits())
            if let client = try remote.client() {
                var body: [String: JSONValue] = ["name": .string(name), "role": .string(role.rawValue)]
                if let scopes { body["scopes"] = .array(scopes.map { .string($0.rawValue) }) }
                if let rpm = limits.requestsPerMinute { body["rpm"] = .number(Double(rpm)) }
                if let tpm = limits.tokensPerMinute { body["tpm"] = .number(Double(tpm)) }
                if let budget = limits.budgetUSD {
                    body["budget_usd"] = .number(budget)
                    body["budget_period"] = .string(limits.budgetPeriod.rawValue)
                }
                let created = try await client.post("/api/v1/projects/\(URLQuery.encode(scope.project))/keys", .object(body))
                let key = created["api_key"] ?? created
                say(
                    "Created \(key["role"]?.string ?? role.rawValue) key \"\(key["name"]?.string ?? name)\" (\(key["id"]?.string ?? "?")) for project \(scope.project) "
                        + "through \(client.base), scopes \((key["scopes"]?.array ?? []).compactMap(\.string).joined(separator: ", ")). It is shown only now:")
                return say(created["key"]?.string ?? "")
            }
            let (secret, key, project) = try await storage.withStore { [scopes, role] store, _ in
                let project = try await KeysCommand.project(scope.project, store)
                let (secret, key) = try await KeyIssuer.issue(
                    store: store, projectID: project.id, name: name, role: role, createdBy: "cli",
                    limits: limits, scopes: scopes)
                return (secret, key, project)
            }
            say(
                "Created \(key.role.rawValue) key \"\(key.name)\" (\(key.id)) for project \(project.slug), scopes \(key.scopes.map(\.rawValue).joined(separator: ", ")). It is shown only now:"
            )
            say(secret)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a project's API keys (never the keys themselves).")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var scope: ProjectOption
        @Flag(name: .long, help: "Print JSON.") var json = false
        @OptionGroup var remote: RemoteOptions

        func run() async throws {
            if let client = try remote.client() {
                let page = try await client.get("/api/v1/projects/\(URLQuery.encode(scope.project))/keys")
                if json { return say((page["data"] ?? .array([])).jsonString()) }
                return table(
                    ["ID", "NAME", "PREFIX", "ROLE", "LIMITS", "CREATED", "LAST USED", "STATUS"],
                    (page["data"]?.array ?? []).map { key in
                        let limits = key["limits"]
                        let described = KeysCommand.describe(
                            KeyLimits(
                                requestsPerMinute: limits?["rpm"]?.int, tokensPerMinute: limits?["tpm"]?.int, budgetUSD: limits?["budget_usd"]?.double,
                                budgetPeriod: BudgetPeriod(rawValue: limits?["budget_period"]?.string ?? "month") ?? .month))
                        return [
                            key["id"]?.string ?? "", key["name"]?.string ?? "", (key["prefix"]?.string ?? "") + "...", key["role"]?.string ?? "", described,
                            key["created_at"]?.string ?? "", key["last_used_at"]?.string ?? "never",
                            key["revoked_at"]?.string.map { "revoked " + $0 } ?? "active",
                        ]
                    })
            }
            let keys = try await storage.withStore { store, _ in
                try await store.apiKeys.list(projectID: KeysCommand.project(scope.project, store).id)
            }
            if json { return say(try CLIJSON.encode(keys)) }
            table(
                ["ID", "NAME", "PREFIX", "ROLE", "LIMITS", "CREATED", "LAST USED", "STATUS"],
                keys.map { key in
                    [
                        key.id, key.name, key.prefix + "...", key.role.rawValue, KeysCommand.describe(key.limits), CLIJSON.date(key.createdAt),
                        key.lastUsedAt.map(CLIJSON.date) ?? "never", key.revokedAt.map { "revoked " + CLIJSON.date($0) } ?? "active",
                    ]
                })
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an API key. A running server stops accepting it within 2 s (its revocation check); one it had not cached, at once.")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var scope: ProjectOption
        @Argument(help: "The key's id (from 'tern keys list').") var id: String
        @OptionGroup var remote: RemoteOptions

        func run() async throws {
            if let client = try remote.client() {
                let key = try await client.delete("/api/v1/projects/\(URLQuery.encode(scope.project))/keys/\(URLQuery.encode(id))")
                return say("Revoked key \"\(key["name"]?.string ?? id)\" (\(key["prefix"]?.string ?? "")...) through \(client.base).")
            }
            let key = try await storage.withStore { store, _ in
                let project = try await KeysCommand.project(scope.project, store)
                guard let key = try await store.apiKeys.revoke(projectID: project.id, id: id, at: Timestamp.now()) else {
                    throw TernError.notFound("API key \(id) in project \(project.slug)")
                }
                return key
            }
            say("Revoked key \"\(key.name)\" (\(key.prefix)...).")
        }
    }
}

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Create and list users of the web UI and API.",
        subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user.",
            discussion: """
                Without --password-stdin a strong password is generated and printed once.
                  echo 'correct horse battery' | \\
                    tern users create --email ada@example.com --role admin --password-stdin
                """)
        @OptionGroup var storage: StorageOptions
        @Option(name: .long, help: "E-mail address, used to sign in.") var email: String
        @Option(name: .long, help: "Display name (default: the part before @).") var name: String?
        @Option(name: .long, help: "admin, member or viewer.") var role: String = "member"
        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false

        func run() async throws {
            let role = try Role.parse(self.role, field: "--role")
            var generated: String?
            let password: String
            if passwordStdin {
                password = (readLine(strippingNewline: true) ?? "")
            } else {
                password = Secrets.randomToken(prefix: "", length: 20)
                generated = password
            }
            _ = try Validate.password(password, field: "--password-stdin")
            let user = try await storage.withStore { store, _ in
                try await UserAdmin.create(store: store, hasher: .standard, email: email, name: name, role: role, password: password)
            }
            say("Created \(user.role.rawValue) \(user.email) (\(user.id)).")
            if let generated { say("Password (shown only now): \(generated)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var storage: StorageOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let users = try await storage.withStore { store, _ in try await store.users.list() }
            if json { return say(try CLIJSON.encode(users)) }
            table(
                ["EMAIL", "NAME", "ROLE", "ID", "CREATED", "STATUS"],
                users.map { user in
                    [user.email, user.name, user.role.rawValue, user.id, CLIJSON.date(user.createdAt), user.disabledAt == nil ? "active" : "disabled"]
                })
        }
    }
}

enum CLIJSON {
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        }
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func date(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }
}
