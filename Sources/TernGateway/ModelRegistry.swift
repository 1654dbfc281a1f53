import Crypto
import Foundation
public import Logging
import Synchronization
public import TernCore

/// The logical models in force, loaded from the store's latest versions. `tern.yaml` models are
/// written as versions at start when the file changed; the REST API and CLI add versions too.
public final class ModelRegistry: Sendable {
    let store: any TernStore
    public let providers: [String: ProviderConfig]
    private let state = Mutex<(models: [String: ModelConfig], changeCount: Int)>(([:], -1))

    public init(store: any TernStore, providers: [String: ProviderConfig]) {
        self.store = store
        self.providers = providers
    }

    public func model(_ name: String) -> ModelConfig? { state.withLock { $0.models[name] } }

    public var all: [ModelConfig] { state.withLock { $0.models.values.sorted { $0.name < $1.name } } }

    /// Whether every deployment of `model` is a provider that serves embeddings only (type `local`).
    public func embeddingsOnly(_ model: ModelConfig) -> Bool {
        model.deployments.allSatisfy { providers[$0.provider]?.type == .local }
    }

    /// The models a chat or completion request can use (those not served by embedding-only providers).
    public var generative: [ModelConfig] { all.filter { !embeddingsOnly($0) } }

    /// A registry over `config`'s providers and the built-in ones (`BuiltInModels`), with the file's models
    /// and the built-in models it does not replace recorded as versions.
    public static func start(store: any TernStore, config: TernConfig, logger: Logger) async throws -> ModelRegistry {
        let providers = BuiltInModels.providers(config.providers)
        let registry = ModelRegistry(store: store, providers: providers)
        try await registry.syncFromConfig(config.models, logger: logger)
        try await registry.syncFromConfig(BuiltInModels.models(besides: config.models, providers: providers), author: "built-in", logger: logger)
        return registry
    }

    /// Records the file's models as new versions where they differ from what the file last said.
    @discardableResult
    public func syncFromConfig(_ models: [ModelConfig], author: String = "tern.yaml", logger: Logger) async throws -> [String] {
        var changed: [String] = []
        for model in models {
            let hash = Self.hash(model)
            let history = try await store.modelVersions.history(name: model.name)
            let lastFromFile = history.first { $0.sourceHash != nil }
            if lastFromFile?.sourceHash == hash { continue }
            _ = try await store.modelVersions.append(
                name: model.name, config: model, author: author, message: history.isEmpty ? "from \(author)" : "\(author) changed",
                sourceHash: hash, deleted: false)
            changed.append(model.name)
        }
        if !changed.isEmpty { logger.info("models recorded from \(author)", metadata: ["models": .string(changed.joined(separator: ","))]) }
        try await reload()
        return changed
    }

    /// Loads the latest versions when anything changed (cheap to call often; replicas poll it).
    public func reload(force: Bool = false) async throws {
        let count = try await store.modelVersions.changeCount()
        if !force, state.withLock({ $0.changeCount }) == count { return }
        let latest = try await store.modelVersions.latestAll()
        var models: [String: ModelConfig] = [:]
        for version in latest where !version.deleted { models[version.name] = version.config }
        state.withLock { $0 = (models, count) }
    }

    /// Validates and records a new version of a model; returns it.
    public func update(_ config: ModelConfig, author: String, message: String?) async throws -> ModelVersion {
        try config.validate(providers: providers, path: "model")
        let version = try await store.modelVersions.append(
            name: config.name, config: config, author: author, message: message, sourceHash: nil, deleted: false)
        try await reload(force: true)
        return version
    }

    /// Restores an earlier version (by default the one before the latest) as a new version.
    public func rollback(name: String, to target: Int?, author: String) async throws -> ModelVersion {
        let history = try await store.modelVersions.history(name: name)
        guard let latest = history.first else { throw TernError.notFound("model \(name)") }
        let wanted: ModelVersion
        if let target {
            guard let found = history.first(where: { $0.version == target }) else {
                throw TernError.notFound("version \(target) of model \(name)", field: "version")
            }
            wanted = found
        } else {
            guard let previous = history.dropFirst().first(where: { !$0.deleted }) else {
                throw TernError.conflict(
                    "model \(name) \(history.count == 1 ? "has only version \(latest.version) (by \(latest.author))" : "has no earlier version that was not deleted"): "
                        + "there is nothing earlier to roll back to; "
                        + "a change to it (tern.yaml and a restart, or PUT /api/v1/models/\(name)) makes the next version", field: "version")
            }
            wanted = previous
        }
        guard wanted.version != latest.version else {
            throw TernError.conflict("version \(wanted.version) is already the current version of \(name)", field: "version")
        }
        try wanted.config.validate(providers: providers, path: "model")
        let version = try await store.modelVersions.append(
            name: name, config: wanted.config, author: author, message: "rollback to version \(wanted.version)", sourceHash: nil, deleted: false)
        try await reload(force: true)
        return version
    }

    public func delete(name: String, author: String) async throws -> ModelVersion {
        guard let latest = try await store.modelVersions.latest(name: name), !latest.deleted else {
            throw TernError.notFound("model \(name)")
        }
        let version = try await store.modelVersions.append(
            name: name, config: latest.config, author: author, message: "deleted", sourceHash: nil, deleted: true)
        try await reload(force: true)
        return version
    }

    static func hash(_ model: ModelConfig) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(model)) ?? Data()
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
