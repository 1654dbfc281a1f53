import ArgumentParser
import Foundation
import Logging
import TernCore
import TernGateway
import TernServer

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Logical models of the gateway: list, show, history and rollback.",
        discussion: "Models come from tern.yaml (recorded as a new version whenever the file changes) and from PUT /api/v1/models/{name}.",
        subcommands: [List.self, Show.self, History.self, Rollback.self])

    /// Opens the store and a model registry with the configured providers (and tern.yaml's models recorded).
    static func withRegistry<T: Sendable>(_ storage: StorageOptions, _ body: @Sendable (ModelRegistry, any TernStore) async throws -> T) async throws -> T {
        try await storage.withStore { store, config in
            let registry = ModelRegistry(store: store, providers: config.providers)
            try await registry.syncFromConfig(config.models, logger: CLILogging.logger())
            return try await body(registry, store)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List models in force with their current version.")
        @OptionGroup var storage: StorageOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let latest = try await ModelsCommand.withRegistry(storage) { _, store in
                try await store.modelVersions.latestAll().filter { !$0.deleted }
            }
            if json { return say(try CLIJSON.encode(latest.map(\.config))) }
            table(["MODEL", "VERSION", "DEPLOYMENTS", "ROUTING", "UPDATED BY"], latest.map { version in
                [version.name, String(version.version),
                 version.config.deployments.map { "\($0.name)=\($0.provider)/\($0.model)" }.joined(separator: " "),
                 ModelsCommand.routingSummary(version.config.routing), version.author]
            })
        }
    }

    static func routingSummary(_ routing: RoutingConfig) -> String {
        var parts: [String] = []
        if !routing.split.isEmpty {
            parts.append("split " + routing.split.sorted { $0.key < $1.key }.map { "\($0.key):\(Int($0.value))" }.joined(separator: ","))
        }
        if let sticky = routing.sticky { parts.append("sticky \(sticky.rawValue)") }
        if !routing.rules.isEmpty { parts.append("\(routing.rules.count) rules") }
        if !routing.fallbacks.isEmpty { parts.append("fallbacks " + routing.fallbacks.joined(separator: ",")) }
        if routing.strategy == .leastLatency { parts.append("least latency") }
        return parts.isEmpty ? "first deployment" : parts.joined(separator: "; ")
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a model's current configuration as JSON.")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "Model name.") var name: String

        func run() async throws {
            let version = try await ModelsCommand.withRegistry(storage) { _, store in
                guard let latest = try await store.modelVersions.latest(name: name), !latest.deleted else { throw TernError.notFound("model \(name)") }
                return latest
            }
            say("\(version.name) version \(version.version) by \(version.author) at \(CLIJSON.date(version.createdAt))")
            say(try CLIJSON.encode(version.config))
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every version of a model: who changed it, when and why.")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "Model name.") var name: String

        func run() async throws {
            let history = try await ModelsCommand.withRegistry(storage) { _, store in try await store.modelVersions.history(name: name) }
            guard !history.isEmpty else { throw TernError.notFound("model \(name)") }
            table(["VERSION", "WHEN", "AUTHOR", "MESSAGE", "ROUTING"], history.map { version in
                [String(version.version), CLIJSON.date(version.createdAt), version.author, version.deleted ? "deleted" : (version.message ?? ""),
                 ModelsCommand.routingSummary(version.config.routing)]
            })
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore an earlier version of a model (default: the one before the current).",
            discussion: "The restored configuration becomes a new version; running servers pick it up within 5 seconds.")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "Model name.") var name: String
        @Option(name: .long, help: "Version to restore.") var to: Int?

        func run() async throws {
            let version = try await ModelsCommand.withRegistry(storage) { registry, _ in
                try await registry.rollback(name: name, to: to, author: "cli")
            }
            say("\(name) is now version \(version.version) (\(version.message ?? "rollback")).")
        }
    }
}
