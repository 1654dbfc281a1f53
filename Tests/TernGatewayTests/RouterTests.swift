import Foundation
import TernCore
@testable import TernGateway
import TernTestSupport
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
        // Without a user the split draws a number: a seeded generator keeps the test the same on every run.
        var generator = SeededGenerator(seed: 20_261_207)
        var randomCounts: [String: Int] = [:]
        for _ in 0..<n {
            let plan = Router.plan(
                model, input: RoutingInput(requestedModel: "ab", keyID: "k", keyName: "k"), health: health, random: { generator.unit() })
            randomCounts[plan.variant ?? "-", default: 0] += 1
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

    @Test("sticky: session keeps a session on one arm; rules on key, user and model; all cooling down tries the first choice")
    func sessionsRulesAndAllCooling() throws {
        let model = try Self.model(
            """
              ab:
                deployments:
                  - {name: a, provider: openai, model: m-a}
                  - {name: b, provider: openai, model: m-b}
                  - {name: c, provider: openai, model: m-c}
                routing:
                  split: {a: 50, b: 50}
                  sticky: session
                  rules:
                    - when: {key: batch-jobs}
                      use: c
                    - when: {user: tester}
                      use: b
                    - when: {model: ab-legacy}
                      use: a
                  fallbacks: [c]
            """)
        let health = HealthTracker()
        func input(session: String? = nil, user: String? = nil, keyName: String = "k", keyID: String = "k-id", model: String = "ab") -> RoutingInput {
            RoutingInput(requestedModel: model, user: user, session: session, keyID: keyID, keyName: keyName)
        }
        var arms: Set<String> = []
        for index in 0..<200 {
            let session = "session-\(index)"
            let first = Router.plan(model, input: input(session: session, user: "u\(index)"), health: health)
            #expect(first.candidates.first?.reason == "sticky:session")
            // The same session with another user still lands on the same arm: the session decides.
            let again = Router.plan(model, input: input(session: session, user: "someone else"), health: health)
            #expect(again.variant == first.variant)
            arms.insert(first.variant ?? "-")
        }
        #expect(arms == ["a", "b"], "sessions spread over both arms")

        #expect(Router.plan(model, input: input(session: "s", keyName: "batch-jobs"), health: health).candidates.first?.deployment.name == "c")
        #expect(Router.plan(model, input: input(session: "s", keyName: "x", keyID: "batch-jobs"), health: health).candidates.first?.reason == "rule:0")
        let tester = Router.plan(model, input: input(session: "s", user: "tester"), health: health)
        #expect(tester.candidates.first?.deployment.name == "b" && tester.candidates.first?.reason == "rule:1")
        #expect(Router.plan(model, input: input(model: "ab-legacy"), health: health).candidates.first?.reason == "rule:2")
        #expect(Router.plan(model, input: input(session: "s", user: "tester2"), health: health).candidates.first?.reason == "sticky:session")

        // Every deployment cooling down: rather than refuse, the plan tries its first choice.
        let start = ContinuousClock.now
        for name in ["a", "b", "c"] {
            health.recordFailure(model: "ab", deployment: name, allowedFails: 1, cooldown: .seconds(60), rateLimited: false, now: start)
        }
        let cooling = Router.plan(model, input: input(keyName: "batch-jobs"), health: health)
        #expect(cooling.candidates.map(\.deployment.name) == ["c"], "\(cooling.candidates.map(\.deployment.name))")
        #expect(cooling.candidates.first?.probe == false)
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
