import Foundation
public import TernCore

/// What routing may look at in a request.
public struct RoutingInput: Sendable {
    public var requestedModel: String
    public var task: String?
    public var tags: [String]
    public var user: String?
    public var session: String?
    public var keyID: String
    public var keyName: String
    public var metadata: [String: String]

    public init(
        requestedModel: String, task: String? = nil, tags: [String] = [], user: String? = nil, session: String? = nil,
        keyID: String, keyName: String, metadata: [String: String] = [:]
    ) {
        self.requestedModel = requestedModel
        self.task = task
        self.tags = tags
        self.user = user
        self.session = session
        self.keyID = keyID
        self.keyName = keyName
        self.metadata = metadata
    }
}

/// The deployments to try, in order, and why.
public struct RoutePlan: Sendable, Equatable {
    public struct Candidate: Sendable, Equatable {
        public var deployment: DeploymentConfig
        /// `rule:<n>`, `split`, `sticky:user`, `least_latency`, `default`, `fallback`.
        public var reason: String
        /// This attempt is the single probe of a deployment leaving cooldown.
        public var probe: Bool
    }

    public var candidates: [Candidate]
    /// The A/B arm the request belongs to (the split's choice), if a split decided.
    public var variant: String?
}

public enum Router {
    /// Plans a request: rules first, then the split (sticky or random), then least latency, then the first
    /// deployment; fallbacks follow; deployments in cooldown are skipped unless nothing else is left.
    public static func plan(
        _ model: ModelConfig, input: RoutingInput, health: HealthTracker,
        random: () -> Double = { Double.random(in: 0..<1) }
    ) -> RoutePlan {
        let routing = model.routing
        var primary: DeploymentConfig?
        var reason = "default"
        var variant: String?

        for (index, rule) in routing.rules.enumerated() where matches(rule, input) {
            primary = model.deployment(named: rule.use)
            reason = "rule:\(index)"
            break
        }
        if primary == nil, !routing.split.isEmpty {
            let arms = routing.split.filter { $0.value > 0 }.sorted { $0.key < $1.key }
            let total = arms.reduce(0) { $0 + $1.value }
            let stickyValue: String? =
                switch routing.sticky {
                case .user?: input.user
                case .session?: input.session
                case nil: nil
                }
            let point: Double
            if let stickyValue, !stickyValue.isEmpty {
                point = unitHash("\(model.name)\u{1}\(stickyValue)")
                reason = "sticky:\(routing.sticky!.rawValue)"
            } else {
                point = random()
                reason = "split"
            }
            var cumulative = 0.0
            for (name, weight) in arms {
                cumulative += weight / total
                if point < cumulative || name == arms.last?.key {
                    primary = model.deployment(named: name)
                    variant = name
                    break
                }
            }
        }
        if primary == nil, routing.strategy == .leastLatency {
            let usable = model.deployments.filter { !health.isCoolingDown(model: model.name, deployment: $0.name) }
            let pool = usable.isEmpty ? model.deployments : usable
            // Unmeasured deployments go first, so every one gets an estimate.
            primary = pool.min {
                (health.latency(model: model.name, deployment: $0.name) ?? -1) < (health.latency(model: model.name, deployment: $1.name) ?? -1)
            }
            reason = "least_latency"
        }
        let first = primary ?? model.deployments[0]

        var ordered: [(DeploymentConfig, String)] = [(first, reason)]
        for name in routing.fallbacks where name != first.name {
            if let deployment = model.deployment(named: name), !ordered.contains(where: { $0.0.name == name }) {
                ordered.append((deployment, "fallback"))
            }
        }
        var candidates: [RoutePlan.Candidate] = []
        for (deployment, why) in ordered {
            switch health.availability(model: model.name, deployment: deployment.name) {
            case .healthy: candidates.append(.init(deployment: deployment, reason: why, probe: false))
            case .probe: candidates.append(.init(deployment: deployment, reason: why, probe: true))
            case .coolingDown: continue
            }
        }
        if candidates.isEmpty {
            // Everything is cooling down: try the first choice anyway rather than refuse outright.
            candidates.append(.init(deployment: first, reason: reason, probe: false))
        }
        return RoutePlan(candidates: candidates, variant: variant)
    }

    static func matches(_ rule: RoutingRule, _ input: RoutingInput) -> Bool {
        rule.when.allSatisfy { key, expected in
            switch key {
            case "task": return input.task == expected
            case "tags": return input.tags.contains(expected)
            case "model": return input.requestedModel == expected
            case "key": return input.keyName == expected || input.keyID == expected
            case "user": return input.user == expected
            default:
                guard key.hasPrefix("metadata.") else { return false }
                return input.metadata[String(key.dropFirst("metadata.".count))] == expected
            }
        }
    }

    /// A stable point in [0, 1) for a string (FNV-1a, 64 bit).
    public static func unitHash(_ text: String) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        // Finalise (splitmix64) so nearby strings spread evenly.
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        hash ^= hash >> 31
        return Double(hash >> 11) / Double(UInt64(1) << 53)
    }
}
