import Foundation
import TernCore
import Testing

@Suite("Gateway configuration")
struct GatewayConfigTests {
    /// The configuration shape issue 3 promises to accept, verbatim.
    static let issueExample = """
        providers:
          openai:   {type: openai, base_url: "https://api.openai.com/v1", api_key_env: OPENAI_API_KEY}
          claude:   {type: anthropic, api_key_env: ANTHROPIC_API_KEY}
        models:
          support-bot:
            deployments:
              - {name: small, provider: openai, model: gpt-4o-mini, price: {input_per_mtok: 0.15, output_per_mtok: 0.60}}
              - {name: haiku, provider: claude, model: claude-3-5-haiku-latest}
            routing:
              split: {small: 90, haiku: 10}   # A/B weights
              sticky: user                    # or session
              rules:
                - when: {task: summarize}     # metadata match
                  use: haiku
              fallbacks: [haiku]
        """

    func error(_ yaml: String) -> ConfigError? {
        var config = TernConfig()
        do {
            try config.apply(yaml: yaml)
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test("the issue's example parses into providers, deployments and routing")
    func example() throws {
        var config = TernConfig()
        try config.apply(yaml: Self.issueExample)
        #expect(config.providers["openai"]?.type == .openai)
        #expect(config.providers["openai"]?.apiKeyEnv == "OPENAI_API_KEY")
        #expect(config.providers["claude"]?.baseURL == "https://api.anthropic.com/v1")
        let model = try #require(config.models.first)
        #expect(model.name == "support-bot")
        #expect(model.deployments.map(\.name) == ["small", "haiku"])
        #expect(model.deployments[0].price == Price(inputPerMTok: 0.15, outputPerMTok: 0.60))
        #expect(model.routing.split == ["small": 90, "haiku": 10])
        #expect(model.routing.sticky == .user)
        #expect(model.routing.rules == [RoutingRule(when: ["task": "summarize"], use: "haiku")])
        #expect(model.routing.fallbacks == ["haiku"])
    }

    @Test("cross-references are checked and reported with the key path and line")
    func references() throws {
        let unknownProvider = try #require(
            error(
                """
                providers:
                  openai: {type: openai}
                models:
                  bot:
                    deployments:
                      - {name: a, provider: opnai, model: m}
                """))
        #expect(unknownProvider.path == "models.bot.deployments[0].provider")
        #expect(unknownProvider.line == 6)
        #expect(unknownProvider.message.contains(#"unknown provider "opnai""#))

        let unknownSplit = try #require(
            error(
                """
                providers:
                  openai: {type: openai}
                models:
                  bot:
                    deployments:
                      - {name: a, provider: openai, model: m}
                    routing:
                      split: {a: 50, b: 50}
                """))
        #expect(unknownSplit.path == "models.bot.routing.split.b")
        #expect(unknownSplit.message.contains(#"unknown deployment "b""#))

        let badRule = try #require(
            error(
                """
                providers:
                  openai: {type: openai}
                models:
                  bot:
                    deployments: [{name: a, provider: openai, model: m}]
                    routing:
                      rules: [{when: {colour: red}, use: a}]
                """))
        #expect(badRule.path == "models.bot.routing.rules[0].when.colour")

        let noType = try #require(error("providers:\n  x: {base_url: \"http://localhost:1\"}\n"))
        #expect(noType.path == "providers.x")
        #expect(noType.message.contains("type"))
        let badURL = try #require(error("providers:\n  x: {type: openai, base_url: \"ftp://x\"}\n"))
        #expect(badURL.path == "providers.x.base_url")
        let badEnv = try #require(error("providers:\n  x: {type: openai, api_key_env: \"sk-123 oops\"}\n"))
        #expect(badEnv.message.contains("environment variable"))
        let missingModel = try #require(error("providers:\n  x: {type: openai}\nmodels:\n  bot:\n    deployments: [{name: a, provider: x}]\n"))
        #expect(missingModel.path == "models.bot.deployments[0]")
        #expect(missingModel.message == #"missing key "model""#)
    }

    @Test("gateway settings and cache")
    func settings() throws {
        var config = TernConfig()
        try config.apply(
            yaml: """
                gateway:
                  trace_queue_capacity: 1000
                  trace_body_limit_bytes: 0
                  cache: {ttl_seconds: 60}
                """)
        #expect(config.gateway.traceQueueCapacity == 1000)
        #expect(config.gateway.traceBodyLimitBytes == 0)
        #expect(config.gateway.cache == CacheConfig(enabled: true, ttlSeconds: 60))
    }

    @Test("prices: cached input is charged at its own rate")
    func pricing() {
        let price = Price(inputPerMTok: 2, outputPerMTok: 8, cachedInputPerMTok: 0.5)
        #expect(abs(price.cost(TokenUsage(inputTokens: 1_000_000, outputTokens: 500_000)) - 6) < 1e-9)
        #expect(abs(price.cost(TokenUsage(inputTokens: 1_000_000, outputTokens: 0, cachedTokens: 500_000)) - 1.25) < 1e-9)
    }
}
