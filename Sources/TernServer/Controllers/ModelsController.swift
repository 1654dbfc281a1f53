import Foundation
import Hummingbird
import TernCore
import TernGateway
import TernMonitor

/// `/api/v1/models`: logical models, their version history, changes and rollback.
struct ModelsController {
    let gateway: Gateway
    let store: any TernStore
    let maxBody: Int

    struct ModelView: Encodable {
        var name: String
        var version: Int
        var author: String
        var updatedAt: Date
        var config: ModelConfig
        var deployments: [DeploymentHealth]
    }

    struct DeploymentHealth: Encodable {
        var name: String
        var coolingDown: Bool
        var consecutiveFailures: Int
        var latencyMs: Double?
    }

    struct VersionView: Encodable {
        var name: String
        var version: Int
        var author: String
        var message: String?
        var createdAt: Date
        var deleted: Bool
        var config: ModelConfig
    }

    struct Rollback: Decodable {
        var version: Int?
        static let keys: Set<String> = ["version"]
    }

    func view(_ version: ModelVersion) -> ModelView {
        let health = gateway.health.snapshot(model: version.name, deployments: version.config.deployments.map(\.name)).map {
            DeploymentHealth(name: $0.name, coolingDown: $0.coolingDown, consecutiveFailures: $0.failures, latencyMs: $0.latencyMs)
        }
        return ModelView(
            name: version.name, version: version.version, author: version.author, updatedAt: version.createdAt,
            config: version.config, deployments: health)
    }

    static func versionView(_ v: ModelVersion) -> VersionView {
        VersionView(name: v.name, version: v.version, author: v.author, message: v.message, createdAt: v.createdAt, deleted: v.deleted, config: v.config)
    }

    /// Deployment base URLs and key variables come from tern.yaml: a change through the API may keep the
    /// ones the model already has (or repeat its provider's), never name new ones, unless
    /// `gateway.allow_api_upstreams` is on.
    func checkUpstreams(_ config: ModelConfig) async throws {
        guard !gateway.settings.allowAPIUpstreams else { return }
        let current = try await store.modelVersions.latest(name: config.name).flatMap { $0.deleted ? nil : $0.config }
        for (index, deployment) in config.deployments.enumerated() {
            let existing = current?.deployment(named: deployment.name)
            let provider = gateway.registry.providers[deployment.provider]
            if let url = deployment.baseURL, url != existing?.baseURL, url != provider?.baseURL {
                throw TernError(
                    .forbidden, code: "upstream_not_configurable",
                    message: "a deployment's base_url comes from tern.yaml (its provider's or the model's there); "
                        + "set gateway.allow_api_upstreams: true in tern.yaml to allow it through the API",
                    field: "deployments[\(index)].base_url")
            }
            if let variable = deployment.apiKeyEnv, variable != existing?.apiKeyEnv, variable != provider?.apiKeyEnv {
                throw TernError(
                    .forbidden, code: "upstream_not_configurable",
                    message: "a deployment's api_key_env comes from tern.yaml (its provider's or the model's there); "
                        + "set gateway.allow_api_upstreams: true in tern.yaml to allow it through the API",
                    field: "deployments[\(index)].api_key_env")
            }
        }
    }

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.get("models", use: getModels)
        api.get("models/{model}", use: getModel)
        api.get("models/{model}/versions", use: getModelVersions)
        api.put("models/{model}", use: putModel)
        api.post("models/{model}/rollback", use: postModelRollback)
        api.delete("models/{model}", use: deleteModel)
        return api
    }
}

// MARK: - Handlers

extension ModelsController {
    /// `GET /models`
    @Sendable func getModels(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        _ = try context.requirePrincipal()
        try await gateway.registry.reload()
        let latest = try await store.modelVersions.latestAll().filter { !$0.deleted }
        return try JSON.response(ProjectsController.ListBody(data: latest.map(view)))
    }

    /// `GET /models/{model}`
    @Sendable func getModel(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        _ = try context.requirePrincipal()
        let name = try context.parameters.string("model")
        guard let latest = try await store.modelVersions.latest(name: name), !latest.deleted else { throw TernError.notFound("model \(name)") }
        return try JSON.response(view(latest))
    }

    /// `GET /models/{model}/versions`
    @Sendable func getModelVersions(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        _ = try context.requirePrincipal()
        let name = try context.parameters.string("model")
        let history = try await store.modelVersions.history(name: name)
        guard !history.isEmpty else { throw TernError.notFound("model \(name)") }
        return try JSON.response(ProjectsController.ListBody(data: history.map(Self.versionView)))
    }

    /// `PUT /models/{model}`
    @Sendable func putModel(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.requireInstanceAdmin(to: "changing a model (models serve every project)")
        let name = try context.parameters.string("model")
        let data = try await JSON.collect(request, limit: maxBody)
        var config = try JSON.decode(ModelConfig.self, from: data, allowedKeys: ["name", "deployments", "routing", "cache", "message"])
        if config.name != name { throw TernError.invalid("name", "must match the model in the path (\(name))") }
        config.name = name
        try await checkUpstreams(config)
        let message = (try? JSONValue.parse(data))?["message"]?.string
        let version = try await gateway.registry.update(config, author: principal.actor, message: message)
        context.logger.info(
            "model changed", metadata: ["model": .string(name), "version": .stringConvertible(version.version), "by": .string(principal.actor)])
        return try JSON.response(Self.versionView(version), status: .ok)
    }

    /// `POST /models/{model}/rollback`
    @Sendable func postModelRollback(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.requireInstanceAdmin(to: "rolling back a model (models serve every project)")
        let name = try context.parameters.string("model")
        let data = try await JSON.collect(request, limit: maxBody)
        let body = data.isEmpty ? Rollback(version: nil) : try JSON.decode(Rollback.self, from: data, allowedKeys: Rollback.keys)
        let version = try await gateway.registry.rollback(name: name, to: body.version, author: principal.actor)
        context.logger.info(
            "model rolled back", metadata: ["model": .string(name), "version": .stringConvertible(version.version), "by": .string(principal.actor)])
        return try JSON.response(Self.versionView(version))
    }

    /// `DELETE /models/{model}`
    @Sendable func deleteModel(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.requireInstanceAdmin(to: "deleting a model (models serve every project)")
        let name = try context.parameters.string("model")
        let version = try await gateway.registry.delete(name: name, author: principal.actor)
        return try JSON.response(Self.versionView(version))
    }
}
