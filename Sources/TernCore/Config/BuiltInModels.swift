/// What the gateway serves without any configuration: the in-process embedding model.
///
/// A provider named `local` (type `local`) exists unless `tern.yaml` defines a provider of that name,
/// and the logical model `all-minilm-l6-v2` is served by it unless `tern.yaml` defines a model of that
/// name or its `local` provider is of another type. Like `tern.yaml` models, the built-in model is
/// recorded as a model version, so it is listed, versioned and can be deleted or replaced through the API.
public enum BuiltInModels {
    public static let localProviderName = "local"
    /// The local embedding model (TernLocal's catalog; `tern models pull all-minilm-l6-v2`).
    public static let localEmbeddingModel = "all-minilm-l6-v2"

    /// `configured` plus the `local` provider when no provider has that name.
    public static func providers(_ configured: [String: ProviderConfig]) -> [String: ProviderConfig] {
        var providers = configured
        if providers[localProviderName] == nil {
            providers[localProviderName] = ProviderConfig(name: localProviderName, type: .local, timeoutSeconds: 60)
        }
        return providers
    }

    /// The built-in models that `configured` (the file's models) does not already define, for `providers`
    /// as `providers(_:)` returns them.
    public static func models(besides configured: [ModelConfig], providers: [String: ProviderConfig]) -> [ModelConfig] {
        guard providers[localProviderName]?.type == .local, !configured.contains(where: { $0.name == localEmbeddingModel }) else { return [] }
        let deployment = DeploymentConfig(
            name: localProviderName, provider: localProviderName, model: localEmbeddingModel,
            price: Price(inputPerMTok: 0, outputPerMTok: 0), contextWindow: 256)
        return [ModelConfig(name: localEmbeddingModel, deployments: [deployment])]
    }
}
