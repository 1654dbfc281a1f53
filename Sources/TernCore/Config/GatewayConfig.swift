import Foundation

public enum ProviderType: String, Sendable, Codable, Equatable, CaseIterable {
    /// Any OpenAI-compatible HTTP API: OpenAI, Azure OpenAI v1, vLLM, Ollama, llama.cpp, Together, Groq, Mistral, DeepSeek...
    case openai
    /// Anthropic's native Messages API.
    case anthropic
    /// Models run inside Tern (TernLocal): `all-minilm-l6-v2` embeddings. No URL or key.
    case local
    /// A demo that answers with the caller's last message, to try Tern without a provider key. No URL or key.
    case echo
}

/// An upstream API and how to reach it. Its key comes from an environment variable, never from config text
/// or a request.
public struct ProviderConfig: Sendable, Codable, Equatable {
    public var name: String
    public var type: ProviderType
    public var baseURL: String
    public var apiKeyEnv: String?
    /// Extra headers sent upstream (e.g. `anthropic-version`, `OpenAI-Organization`).
    public var headers: [String: String]
    public var timeoutSeconds: Double
    /// Where a `local` provider finds its models (`tern models pull --models-dir`); nil: `TERN_MODELS_DIR`
    /// or `~/.cache/tern/models`.
    public var modelsDirectory: String?

    public init(
        name: String, type: ProviderType, baseURL: String? = nil, apiKeyEnv: String? = nil,
        headers: [String: String] = [:], timeoutSeconds: Double = 120, modelsDirectory: String? = nil
    ) {
        self.name = name
        self.type = type
        self.baseURL = baseURL ?? ProviderConfig.defaultBaseURL(type)
        self.apiKeyEnv = apiKeyEnv
        self.headers = headers
        self.timeoutSeconds = timeoutSeconds
        self.modelsDirectory = modelsDirectory
    }

    public static func defaultBaseURL(_ type: ProviderType) -> String {
        switch type {
        case .openai: "https://api.openai.com/v1"
        case .anthropic: "https://api.anthropic.com/v1"
        case .local: "local:"
        case .echo: "echo:"
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, type, baseURL = "base_url", apiKeyEnv = "api_key_env", headers, timeoutSeconds = "timeout_seconds",
            modelsDirectory = "models_dir"
    }
}

/// USD per million tokens.
public struct Price: Sendable, Codable, Equatable {
    public var inputPerMTok: Double
    public var outputPerMTok: Double
    public var cachedInputPerMTok: Double?

    public init(inputPerMTok: Double, outputPerMTok: Double, cachedInputPerMTok: Double? = nil) {
        self.inputPerMTok = inputPerMTok
        self.outputPerMTok = outputPerMTok
        self.cachedInputPerMTok = cachedInputPerMTok
    }

    /// Cost of a call; cached input tokens (a subset of input tokens) are charged at the cached price when known.
    public func cost(_ usage: TokenUsage) -> Double {
        let cached = min(usage.cachedTokens ?? 0, usage.inputTokens)
        let fresh = usage.inputTokens - cached
        let cachedPrice = cachedInputPerMTok ?? inputPerMTok
        let cost = (Double(fresh) * inputPerMTok + Double(cached) * cachedPrice + Double(usage.outputTokens) * outputPerMTok) / 1_000_000
        return cost.isFinite ? min(max(cost, 0), InputBounds.maxCost) : 0
    }

    enum CodingKeys: String, CodingKey {
        case inputPerMTok = "input_per_mtok", outputPerMTok = "output_per_mtok", cachedInputPerMTok = "cached_input_per_mtok"
    }
}

/// One way to serve a logical model: a provider, an upstream model and its settings.
public struct DeploymentConfig: Sendable, Codable, Equatable {
    public var name: String
    public var provider: String
    public var model: String
    /// Overrides the provider's base URL.
    public var baseURL: String?
    /// Overrides the provider's key variable.
    public var apiKeyEnv: String?
    public var timeoutSeconds: Double?
    /// Overrides the built-in price table.
    public var price: Price?
    public var contextWindow: Int?

    public init(
        name: String, provider: String, model: String, baseURL: String? = nil, apiKeyEnv: String? = nil,
        timeoutSeconds: Double? = nil, price: Price? = nil, contextWindow: Int? = nil
    ) {
        self.name = name
        self.provider = provider
        self.model = model
        self.baseURL = baseURL
        self.apiKeyEnv = apiKeyEnv
        self.timeoutSeconds = timeoutSeconds
        self.price = price
        self.contextWindow = contextWindow
    }

    enum CodingKeys: String, CodingKey {
        case name, provider, model, baseURL = "base_url", apiKeyEnv = "api_key_env", timeoutSeconds = "timeout_seconds",
            price, contextWindow = "context_window"
    }
}

public enum StickyMode: String, Sendable, Codable, Equatable {
    case user
    case session
}

public enum RoutingStrategy: String, Sendable, Codable, Equatable {
    /// Weighted random (or sticky) choice by `split`; without a split, the first healthy deployment.
    case weighted
    /// The healthy deployment with the lowest moving latency estimate.
    case leastLatency = "least_latency"
}

/// A use-case rule: when every condition matches the request, use the named deployment.
/// Condition keys: `task`, `tags` (the request carries this tag), `model` (the requested name),
/// `key` (API key name or id), `user`, or `metadata.<field>`.
public struct RoutingRule: Sendable, Codable, Equatable {
    public var when: [String: String]
    public var use: String

    public init(when: [String: String], use: String) {
        self.when = when
        self.use = use
    }
}

public struct RoutingConfig: Sendable, Codable, Equatable {
    /// Deployment name -> weight, for A/B tests. Empty: no split.
    public var split: [String: Double]
    public var sticky: StickyMode?
    public var rules: [RoutingRule]
    /// Deployments tried, in order, when the chosen one fails.
    public var fallbacks: [String]
    public var strategy: RoutingStrategy
    /// Extra attempts on the same deployment for retryable failures before falling back.
    public var retries: Int
    /// Consecutive failures that put a deployment in cooldown.
    public var allowedFails: Int
    public var cooldownSeconds: Double

    public init(
        split: [String: Double] = [:], sticky: StickyMode? = nil, rules: [RoutingRule] = [], fallbacks: [String] = [],
        strategy: RoutingStrategy = .weighted, retries: Int = 1, allowedFails: Int = 3, cooldownSeconds: Double = 30
    ) {
        self.split = split
        self.sticky = sticky
        self.rules = rules
        self.fallbacks = fallbacks
        self.strategy = strategy
        self.retries = retries
        self.allowedFails = allowedFails
        self.cooldownSeconds = cooldownSeconds
    }

    enum CodingKeys: String, CodingKey {
        case split, sticky, rules, fallbacks, strategy, retries, allowedFails = "allowed_fails", cooldownSeconds = "cooldown_seconds"
    }
}

public struct CacheConfig: Sendable, Codable, Equatable {
    public var enabled: Bool
    public var ttlSeconds: Int

    public init(enabled: Bool = false, ttlSeconds: Int = 3600) {
        self.enabled = enabled
        self.ttlSeconds = ttlSeconds
    }

    enum CodingKeys: String, CodingKey { case enabled, ttlSeconds = "ttl_seconds" }
}

/// A logical model: the name clients send, its deployments and how requests are routed among them.
public struct ModelConfig: Sendable, Codable, Equatable {
    public var name: String
    public var deployments: [DeploymentConfig]
    public var routing: RoutingConfig
    /// Overrides the gateway-wide cache setting for this model.
    public var cache: CacheConfig?

    public init(name: String, deployments: [DeploymentConfig], routing: RoutingConfig = RoutingConfig(), cache: CacheConfig? = nil) {
        self.name = name
        self.deployments = deployments
        self.routing = routing
        self.cache = cache
    }

    public func deployment(named name: String) -> DeploymentConfig? { deployments.first { $0.name == name } }

    /// Checks references between deployments, providers, splits, rules and fallbacks.
    /// `path` prefixes field names (`models.support-bot`).
    public func validate(providers: [String: ProviderConfig], path: String) throws {
        guard !deployments.isEmpty else { throw TernError.invalid("\(path).deployments", "needs at least one deployment") }
        var seen = Set<String>()
        for (index, deployment) in deployments.enumerated() {
            let at = "\(path).deployments[\(index)]"
            guard !deployment.name.isEmpty else { throw TernError.invalid("\(at).name", "must not be empty") }
            guard seen.insert(deployment.name).inserted else {
                throw TernError.invalid("\(at).name", "duplicate deployment name \"\(deployment.name)\"")
            }
            guard providers[deployment.provider] != nil else {
                let known = providers.keys.sorted().joined(separator: ", ")
                throw TernError.invalid("\(at).provider", "unknown provider \"\(deployment.provider)\" (defined: \(known.isEmpty ? "none" : known))")
            }
            guard !deployment.model.isEmpty else { throw TernError.invalid("\(at).model", "must not be empty") }
            if let timeout = deployment.timeoutSeconds {
                _ = try InputBounds.seconds(timeout, field: "\(at).timeout_seconds", range: 0.001...86_400)
            }
            if let window = deployment.contextWindow, !(1...100_000_000).contains(window) {
                throw TernError.invalid("\(at).context_window", "expected 1-100000000 tokens")
            }
            if let price = deployment.price {
                for (name, value) in [
                    ("input_per_mtok", price.inputPerMTok), ("output_per_mtok", price.outputPerMTok),
                    ("cached_input_per_mtok", price.cachedInputPerMTok ?? 0),
                ] {
                    guard value.isFinite, value >= 0, value <= 1_000_000 else {
                        throw TernError.invalid("\(at).price.\(name)", "expected USD per million tokens from 0 to 1000000")
                    }
                }
            }
        }
        func check(_ name: String, _ field: String) throws {
            guard seen.contains(name) else {
                throw TernError.invalid(field, "unknown deployment \"\(name)\" (deployments: \(deployments.map(\.name).joined(separator: ", ")))")
            }
        }
        for (name, weight) in routing.split {
            try check(name, "\(path).routing.split.\(name)")
            guard weight >= 0, weight <= 1_000_000, weight.isFinite else {
                throw TernError.invalid("\(path).routing.split.\(name)", "weight must be from 0 to 1000000")
            }
        }
        if !routing.split.isEmpty, routing.split.values.reduce(0, +) <= 0 {
            throw TernError.invalid("\(path).routing.split", "weights must add up to more than 0")
        }
        for (index, rule) in routing.rules.enumerated() {
            try check(rule.use, "\(path).routing.rules[\(index)].use")
            guard !rule.when.isEmpty else { throw TernError.invalid("\(path).routing.rules[\(index)].when", "needs at least one condition") }
            for key in rule.when.keys where !RoutingRule.conditionKeys.contains(key) && !key.hasPrefix("metadata.") {
                throw TernError.invalid(
                    "\(path).routing.rules[\(index)].when.\(key)",
                    "unknown condition (use task, tags, model, key, user or metadata.<field>)")
            }
        }
        for (index, name) in routing.fallbacks.enumerated() { try check(name, "\(path).routing.fallbacks[\(index)]") }
        guard (0...10).contains(routing.retries) else { throw TernError.invalid("\(path).routing.retries", "expected 0-10") }
        guard (1...1_000_000).contains(routing.allowedFails) else { throw TernError.invalid("\(path).routing.allowed_fails", "expected 1-1000000") }
        _ = try InputBounds.seconds(routing.cooldownSeconds, field: "\(path).routing.cooldown_seconds", range: 0...86_400)
        if let cache, !(0...31_536_000).contains(cache.ttlSeconds) {
            throw TernError.invalid("\(path).cache.ttl_seconds", "expected 0-31536000 seconds")
        }
    }
}

extension RoutingRule {
    public static let conditionKeys: Set<String> = ["task", "tags", "model", "key", "user"]
}

/// Gateway-wide settings (`gateway:` in tern.yaml).
public struct GatewaySettings: Sendable, Equatable {
    /// Traces waiting for the batch writer; a full queue drops (and counts) rather than blocks.
    public var traceQueueCapacity = 50_000
    /// The same queue's bound in bytes of trace text (inputs and outputs), whatever the count.
    public var traceQueueMaxBytes = 16 << 20  // about 3,200 gateway traces, well over a second of traffic
    /// Gateway traces are appended to a local journal (`DATA_DIR/journal`) before the call's response
    /// completes, so a crash or a database that cannot write loses none of them (docs/SECURITY.md).
    public var traceJournal = true
    /// The journal's bound on disk; beyond it, traces are only queued in memory (and counted).
    public var traceJournalMaxBytes = 1 << 30
    /// Request and response bodies are stored in traces up to this many bytes each.
    public var traceBodyLimitBytes = 32 * 1024
    public var cache = CacheConfig()
    /// Responses kept in memory in front of the stored cache.
    public var cacheMemoryEntries = 10_000
    /// The same memory's bound in bytes.
    public var cacheMemoryBytes = 64 << 20
    /// Connections per upstream host (AsyncHTTPClient's soft limit).
    public var upstreamConnectionsPerHost = 256
    /// Cancel non-streaming upstream calls when their client disconnects. Streams are always cancelled.
    /// Off by default: noticing a disconnect before the answer means the server closes the connection
    /// after every answer (no keep-alive), which costs every client a new connection per request.
    public var cancelOnDisconnect = false
    /// Lets `PUT /api/v1/models/NAME` (instance admins only) give a deployment a `base_url` or `api_key_env`
    /// of its own. Off: upstream addresses and key variables come from tern.yaml alone, so whoever holds an
    /// API key cannot send another project's calls, or a server secret, to a host of their choosing.
    public var allowAPIUpstreams = false
    public init() {}
}

/// Token counts of one call.
public struct TokenUsage: Sendable, Codable, Equatable {
    public var inputTokens: Int
    public var outputTokens: Int
    public var cachedTokens: Int?
    public var reasoningTokens: Int?
    /// True when the provider gave no counts and Tern estimated them from text length.
    public var estimated: Bool

    public init(inputTokens: Int, outputTokens: Int, cachedTokens: Int? = nil, reasoningTokens: Int? = nil, estimated: Bool = false) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedTokens = cachedTokens
        self.reasoningTokens = reasoningTokens
        self.estimated = estimated
    }

    public var totalTokens: Int { inputTokens + outputTokens }

    /// A rough count for text when a provider reports none: about four characters a token.
    public static func estimateTokens(_ text: String) -> Int {
        text.isEmpty ? 0 : max(1, (text.utf8.count + 3) / 4)
    }
}
