import Foundation

/// Parsing of the gateway sections of `tern.yaml`: `providers`, `models` and `gateway`.
extension TernConfig {
    mutating func applyProviders(_ node: ConfigNode) throws {
        for (name, entry) in try node.mapping(allowed: nil) {
            guard Self.isIdentifier(name) else { throw entry.error("provider names use letters, digits, '-' and '_'") }
            var type: ProviderType?
            var baseURL: String?
            var keyEnv: String?
            var headers: [String: String] = [:]
            var timeout = 120.0
            var modelsDirectory: String?
            var remote: [ConfigNode] = []
            for (key, value) in try entry.mapping(allowed: ["type", "base_url", "api_key_env", "headers", "timeout_seconds", "models_dir"]) {
                switch key {
                case "type": type = try value.oneOf(ProviderType.allCases.map { ($0.rawValue, $0) })
                case "base_url": baseURL = try Self.httpURL(value); remote.append(value)
                case "api_key_env": keyEnv = try Self.envName(value); remote.append(value)
                case "headers":
                    for (header, headerValue) in try value.mapping(allowed: nil) { headers[header] = try headerValue.string() }
                    remote.append(value)
                case "models_dir":
                    let path = try value.string()
                    guard !path.isEmpty else { throw value.error("must not be empty") }
                    modelsDirectory = path
                default: timeout = try value.double(in: 0.1...3600)
                }
            }
            guard let type else { throw entry.error("missing key \"type\" (openai, anthropic, local or echo)") }
            if type == .local, let first = remote.first {
                throw first.error("a local provider runs models inside Tern and takes no base_url, api_key_env or headers")
            }
            if type == .echo, let first = remote.first {
                throw first.error("an echo provider is a demo inside Tern and takes no base_url, api_key_env or headers")
            }
            if type != .local, modelsDirectory != nil {
                throw entry.error("models_dir applies to providers of type local only")
            }
            providers[name] = ProviderConfig(
                name: name, type: type, baseURL: baseURL, apiKeyEnv: keyEnv, headers: headers,
                timeoutSeconds: timeout, modelsDirectory: modelsDirectory)
            lines["providers.\(name)"] = entry.line
        }
    }

    mutating func applyModels(_ node: ConfigNode) throws {
        var parsed: [ModelConfig] = []
        for (name, entry) in try node.mapping(allowed: nil) {
            guard Self.isModelName(name) else { throw entry.error("model names use letters, digits and . _ - / :") }
            lines["models.\(name)"] = entry.line
            var deployments: [DeploymentConfig] = []
            var routing = RoutingConfig()
            var cache: CacheConfig?
            for (key, value) in try entry.mapping(allowed: ["deployments", "routing", "cache"]) {
                switch key {
                case "deployments":
                    for item in try value.sequence() {
                        deployments.append(try Self.deployment(item))
                        lines[item.path] = item.line
                    }
                case "routing":
                    routing = try routingConfig(value)
                default:
                    cache = try Self.cacheConfig(value)
                }
            }
            parsed.append(ModelConfig(name: name, deployments: deployments, routing: routing, cache: cache))
        }
        models = parsed
    }

    static func deployment(_ node: ConfigNode) throws -> DeploymentConfig {
        var name: String?, provider: String?, model: String?
        var deployment = DeploymentConfig(name: "", provider: "", model: "")
        for (key, value) in try node.mapping(allowed: ["name", "provider", "model", "base_url", "api_key_env", "timeout_seconds", "price", "context_window"]) {
            switch key {
            case "name": name = try value.string()
            case "provider": provider = try value.string()
            case "model": model = try value.string()
            case "base_url": deployment.baseURL = try httpURL(value)
            case "api_key_env": deployment.apiKeyEnv = try envName(value)
            case "timeout_seconds": deployment.timeoutSeconds = try value.double(in: 0.1...3600)
            case "context_window": deployment.contextWindow = try value.int(in: 1...100_000_000)
            default:
                var input: Double?, output: Double?, cached: Double?
                for (priceKey, priceValue) in try value.mapping(allowed: ["input_per_mtok", "output_per_mtok", "cached_input_per_mtok"]) {
                    let amount = try priceValue.double(in: 0...1_000_000)
                    switch priceKey {
                    case "input_per_mtok": input = amount
                    case "output_per_mtok": output = amount
                    default: cached = amount
                    }
                }
                guard let input, let output else { throw value.error("needs input_per_mtok and output_per_mtok") }
                deployment.price = Price(inputPerMTok: input, outputPerMTok: output, cachedInputPerMTok: cached)
            }
        }
        guard let name else { throw node.error("missing key \"name\"") }
        guard let provider else { throw node.error("missing key \"provider\"") }
        guard let model else { throw node.error("missing key \"model\"") }
        deployment.name = name
        deployment.provider = provider
        deployment.model = model
        return deployment
    }

    mutating func routingConfig(_ node: ConfigNode) throws -> RoutingConfig {
        var routing = RoutingConfig()
        for (key, value) in try node.mapping(allowed: ["split", "sticky", "rules", "fallbacks", "strategy", "retries", "allowed_fails", "cooldown_seconds"]) {
            lines[value.path] = value.line
            switch key {
            case "split":
                for (deployment, weight) in try value.mapping(allowed: nil) {
                    routing.split[deployment] = try weight.double(in: 0...1_000_000)
                    lines[weight.path] = weight.line
                }
            case "sticky": routing.sticky = try value.oneOf([("user", StickyMode.user), ("session", .session)])
            case "rules":
                for item in try value.sequence() {
                    var when: [String: String] = [:]
                    var use: String?
                    for (ruleKey, ruleValue) in try item.mapping(allowed: ["when", "use"]) {
                        if ruleKey == "use" {
                            use = try ruleValue.string()
                        } else {
                            for (condition, expected) in try ruleValue.mapping(allowed: nil) { when[condition] = try expected.string() }
                        }
                    }
                    guard let use else { throw item.error("missing key \"use\"") }
                    routing.rules.append(RoutingRule(when: when, use: use))
                    lines[item.path] = item.line
                }
            case "fallbacks": routing.fallbacks = try value.sequence().map { try $0.string() }
            case "strategy": routing.strategy = try value.oneOf([("weighted", RoutingStrategy.weighted), ("least_latency", .leastLatency)])
            case "retries": routing.retries = try value.int(in: 0...10)
            case "allowed_fails": routing.allowedFails = try value.int(in: 1...1000)
            default: routing.cooldownSeconds = try value.double(in: 0...86_400)
            }
        }
        return routing
    }

    static func cacheConfig(_ node: ConfigNode) throws -> CacheConfig {
        var cache = CacheConfig(enabled: true)
        for (key, value) in try node.mapping(allowed: ["enabled", "ttl_seconds"]) {
            if key == "enabled" { cache.enabled = try value.bool() } else { cache.ttlSeconds = try value.int(in: 1...31_536_000) }
        }
        return cache
    }

    mutating func applyGateway(_ node: ConfigNode) throws {
        for (key, value) in try node.mapping(allowed: [
            "trace_queue_capacity", "trace_body_limit_bytes", "cache", "cache_memory_entries",
            "upstream_connections_per_host", "cancel_on_disconnect", "allow_api_upstreams",
            "trace_queue_max_bytes", "trace_journal", "trace_journal_max_bytes", "cache_memory_bytes",
        ]) {
            switch key {
            case "trace_queue_max_bytes": gateway.traceQueueMaxBytes = try value.int(in: 1 << 20...(1 << 40))
            case "cache_memory_bytes": gateway.cacheMemoryBytes = try value.int(in: 0...(1 << 40))
            case "trace_journal": gateway.traceJournal = try value.bool()
            case "trace_journal_max_bytes": gateway.traceJournalMaxBytes = try value.int(in: 1 << 20...(1 << 50))
            case "allow_api_upstreams": gateway.allowAPIUpstreams = try value.bool()
            case "cancel_on_disconnect": gateway.cancelOnDisconnect = try value.oneOf([("streams", false), ("always", true)])
            case "trace_queue_capacity": gateway.traceQueueCapacity = try value.int(in: 100...10_000_000)
            case "trace_body_limit_bytes": gateway.traceBodyLimitBytes = try value.int(in: 0...100_000_000)
            case "cache": gateway.cache = try Self.cacheConfig(value)
            case "cache_memory_entries": gateway.cacheMemoryEntries = try value.int(in: 0...10_000_000)
            default: gateway.upstreamConnectionsPerHost = try value.int(in: 1...100_000)
            }
        }
    }

    /// Cross-references (deployments name known providers, splits and rules name known deployments),
    /// reported with the line of the offending key where it is known.
    func validateGateway(source: String) throws {
        for model in models {
            do {
                try model.validate(providers: providers, path: "models.\(model.name)")
            } catch let error as TernError {
                let path = error.field ?? "models.\(model.name)"
                var line: Int?
                var probe = path
                while line == nil, !probe.isEmpty {
                    line = lines[probe]
                    if let cut = probe.lastIndex(where: { $0 == "." || $0 == "[" }) { probe = String(probe[..<cut]) } else { probe = "" }
                }
                throw ConfigError(source: source, path: path, line: line, message: error.message)
            }
        }
    }

    static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    static func isModelName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 128
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./:".contains($0)) }
    }

    static func httpURL(_ node: ConfigNode) throws -> String {
        let text = try node.string()
        guard let url = URLComponents(string: text), url.scheme == "http" || url.scheme == "https", url.host?.isEmpty == false else {
            throw node.error("expected an http:// or https:// URL, got \"\(text)\"")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    static func envName(_ node: ConfigNode) throws -> String {
        let text = try node.string()
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw node.error("expected the name of an environment variable (like OPENAI_API_KEY), got \"\(text)\"")
        }
        return text
    }
}
