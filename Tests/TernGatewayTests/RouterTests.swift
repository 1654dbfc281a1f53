import Foundation
import TernCore
@testable import TernGateway
import Testing

@Suite("Gateway: routing")
struct RouterTests {
    static func model(_ yaml: String) throws -> ModelConfig {
        var config = TernConfig()
        try config.apply(
            yaml: """
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:1/v1"}
                models:
                \(yaml)
                """)
        return try #require(config.models.first)
    }

    static let abModel = """
              ab:
                deployments:
                  - {name: a, provider: openai, model: m-a}
                  - {name: b, provider: openai, model: m-b}
                  - {name: c, provider: openai, model: m-c}
                routing:
                  split: {a: 70, b: 20, c: 10}
                  sticky: user
                  rules:
                    - when: {task: summarize}
                      use: c
                    - when: {metadata.tier: gold, tags: vip}
                      use: b
                  fallbacks: [c, b]
        """

    @Test("weights converge to their share; users stick to their variant")
    func weightsAndStickiness() throws {
        let model = try Self.model(Self.abModel)
        let health = HealthTracker()
        var counts: [String: Int] = [:]
        let n = 20_000
        for index in 0..<n {
            let plan = Router.plan(model, input: RoutingInput(requestedModel: "ab", user: "user-\(index)", keyID: "k", keyName: "k"), health: health)
            counts[plan.variant ?? "-", default: 0] += 1
            #expect(plan.candidates.first?.reason == "sticky:user")
        }
        for (name, share) in [("a", 0.7), ("b", 0.2), ("c", 0.1)] {
            let observed = Double(counts[name] ?? 0) / Double(n)
            #expect(abs(observed - share) < 0.015, "\(name): \(observed) vs \(share)")
        }
        for user in ["ada", "bob", "cyd"] {
            let first = Router.plan(model, input: RoutingInput(requestedModel: "ab", user: user, keyID: "k", keyName: "k"), health: health).variant
            for _ in 0..<50 {
                #expect(Router.plan(model, input: RoutingInput(requestedModel: "ab", user: user, keyID: "k", keyName: "k"), health: health).variant == first)
            }
        }
        var randomCounts: [String: Int] = [:]
        for _ in 0..<n {
            randomCounts[Router.plan(model, input: RoutingInput(requestedModel: "ab", keyID: "k", keyName: "k"), health: health).variant ?? "-", default: 0] +=
                1
        }
        #expect(abs(Double(randomCounts["a"] ?? 0) / Double(n) - 0.7) < 0.015, "without a user the split is random but weighted")
    }

    @Test("rules pick their deployment; fallbacks follow; cooling deployments are skipped and probed back")
    func rulesFallbacksCooldown() throws {
        let model = try Self.model(Self.abModel)
        let health = HealthTracker()
        let summarize = Router.plan(model, input: RoutingInput(requestedModel: "ab", task: "summarize", user: "x", keyID: "k", keyName: "k"), health: health)
        #expect(summarize.candidates.map(\.deployment.name) == ["c", "b"])
        #expect(summarize.candidates.first?.reason == "rule:0")
        let gold = RoutingInput(requestedModel: "ab", tags: ["vip"], keyID: "k", keyName: "k", metadata: ["tier": "gold"])
        #expect(Router.plan(model, input: gold, health: health).candidates.first?.deployment.name == "b")
        let half = RoutingInput(requestedModel: "ab", tags: [], keyID: "k", keyName: "k", metadata: ["tier": "gold"])
        #expect(Router.plan(model, input: half, health: health).candidates.first?.reason != "rule:1", "every condition must match")

        let start = ContinuousClock.now
        for _ in 0..<3 { health.recordFailure(model: "ab", deployment: "c", allowedFails: 3, cooldown: .seconds(30), rateLimited: false, now: start) }
        let cooled = Router.plan(model, input: RoutingInput(requestedModel: "ab", task: "summarize", keyID: "k", keyName: "k"), health: health)
        #expect(cooled.candidates.map(\.deployment.name) == ["b"], "c is cooling down")
        #expect(health.availability(model: "ab", deployment: "c", now: start + .seconds(10)) == .coolingDown)
        #expect(health.availability(model: "ab", deployment: "c", now: start + .seconds(31)) == .probe, "after the cooldown one probe goes through")
        #expect(health.availability(model: "ab", deployment: "c", now: start + .seconds(32)) == .coolingDown, "only one")
        health.recordSuccess(model: "ab", deployment: "c", latencyMs: 5)
        #expect(health.availability(model: "ab", deployment: "c") == .healthy, "a good probe brings it back")
        health.recordFailure(model: "ab", deployment: "b", allowedFails: 3, cooldown: .seconds(30), rateLimited: true)
        #expect(health.isCoolingDown(model: "ab", deployment: "b"), "a 429 cools down at once")
    }

    @Test("least latency prefers the faster deployment")
    func leastLatency() throws {
        let model = try Self.model(
            """
              fast:
                deployments:
                  - {name: x, provider: openai, model: m}
                  - {name: y, provider: openai, model: m}
                routing: {strategy: least_latency}
            """)
        let health = HealthTracker()
        health.recordSuccess(model: "fast", deployment: "x", latencyMs: 90)
        health.recordSuccess(model: "fast", deployment: "y", latencyMs: 20)
        let plan = Router.plan(model, input: RoutingInput(requestedModel: "fast", keyID: "k", keyName: "k"), health: health)
        #expect(plan.candidates.first?.deployment.name == "y")
        #expect(plan.candidates.first?.reason == "least_latency")
    }
}
