import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TernCore
import TernGateway
import TernServer
import TernTestSupport
import Testing
import TernProviders

/// The gateway against a real stub upstream on loopback.
struct GatewayHarness: Sendable {
    let h: Harness
    let stub: StubUpstream

    static let environment = ["STUB_OPENAI_KEY": "sk-upstream-openai", "STUB_ANTHROPIC_KEY": "sk-ant-upstream"]

    func chat(
        _ model: String = "support-bot", text: String = "Hi", key: String? = nil, extra: String = "",
        headers: HTTPFields = [:]
    ) async throws -> Harness.Reply {
        let body = #"{"model":"\#(model)","messages":[{"role":"user","content":"\#(text)"}]\#(extra)}"#
        return try await h.call(.post, "/v1/chat/completions", key: key ?? h.adminKey, json: body, headers: headers)
    }

    /// Waits until every trace of the requests so far is stored, then returns the newest traces.
    func traces() async throws -> [TraceDetail] {
        await h.gateway.traces.flush()
        let page = try await h.store.traces.list(projectID: h.project.id, query: TraceQuery(limit: 500))
        var details: [TraceDetail] = []
        for summary in page.traces {
            if let detail = try await h.store.traces.get(projectID: h.project.id, id: summary.trace.id) { details.append(detail) }
        }
        return details
    }
}

func gatewayYAML(baseURL: String, models: String) -> String {
    """
    providers:
      openai: {type: openai, base_url: "\(baseURL)", api_key_env: STUB_OPENAI_KEY}
      claude: {type: anthropic, base_url: "\(baseURL)", api_key_env: STUB_ANTHROPIC_KEY}
    models:
    \(models)
    """
}

let defaultModels = """
      support-bot:
        deployments:
          - {name: small, provider: openai, model: gpt-4o-mini, price: {input_per_mtok: 1000, output_per_mtok: 2000}}
          - {name: haiku, provider: claude, model: claude-3-5-haiku-latest}
      claude-direct:
        deployments:
          - {name: haiku, provider: claude, model: claude-3-5-haiku-latest}
      embedder:
        deployments:
          - {name: small, provider: openai, model: text-embedding-3-small}
    """

func withGateway(
    _ kind: StoreKind = .sqlite, setup: TestingSetup = .router, models: String = defaultModels,
    configure: @escaping @Sendable (inout TernConfig) -> Void = { _ in }, filesystemMegabytes: Int? = nil,
    _ body: @Sendable (GatewayHarness) async throws -> Void
) async throws {
    let stub = try await StubUpstream.start()
    do {
        let yaml = gatewayYAML(baseURL: stub.baseURL, models: models)
        try await withHarness(
            kind, setup: setup,
            configure: { config in
                do { try config.apply(yaml: yaml) } catch { Issue.record("bad test config: \(error)") }
                configure(&config)
            }, environment: GatewayHarness.environment, filesystemMegabytes: filesystemMegabytes
        ) { h in
            try await body(GatewayHarness(h: h, stub: stub))
        }
    } catch {
        await stub.stop()
        throw error
    }
    await stub.stop()
}

@Suite("Gateway: OpenAI-compatible endpoints", .timeLimit(.minutes(5)))
struct GatewayEndpointTests {
    @Test(
        "chat completion: forwarded with the upstream model and key, answered with trace headers, traced and costed",
        arguments: StoreKind.available)
    func chat(kind: StoreKind) async throws {
        try await withGateway(kind) { g in
            let reply = try await g.chat(
                extra: #","temperature":0.2,"user":"u-1","metadata":{"task":"faq"}"#,
                headers: [HTTPField.Name("x-tern-session")!: "s-9", HTTPField.Name("x-tern-tags")!: "beta, web"])
            #expect(reply.status == .ok)
            let message = ((reply.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            #expect(message == "Hello from gpt-4o-mini")
            #expect(reply.headers[HTTPField.Name("x-tern-deployment")!] == "small")
            #expect(reply.headers[HTTPField.Name("x-tern-cache")!] == "off")
            let traceID = try #require(reply.headers[HTTPField.Name("x-tern-trace-id")!])

            let upstream = try #require(g.stub.requests.last)
            #expect(upstream.path == "/v1/chat/completions")
            #expect(upstream.model == "gpt-4o-mini")
            #expect(upstream.authorization == "Bearer sk-upstream-openai", "the upstream key comes from the environment")
            #expect(upstream.body["temperature"]?.double == 0.2, "fields pass through")
            #expect(upstream.body["metadata"] == nil, "Tern's routing metadata is not forwarded")

            let trace = try #require(try await g.traces().first { $0.trace.id == traceID })
            #expect(trace.trace.userID == "u-1")
            #expect(trace.trace.sessionID == "s-9")
            #expect(trace.trace.tags == ["beta", "web"])
            let generation = try #require(trace.observations.first)
            #expect(generation.type == .generation)
            #expect(generation.requestedModel == "support-bot")
            #expect(generation.model == "gpt-4o-mini")
            #expect(generation.deployment == "small")
            #expect(generation.provider == "openai")
            #expect(generation.usage == TokenUsage(inputTokens: 10, outputTokens: 5))
            // 10 tokens at $1000/M in, 5 at $2000/M out.
            #expect(abs((generation.cost ?? 0) - 0.02) < 1e-9)
            #expect(generation.statusCode == 200)
            #expect(generation.output == "Hello from gpt-4o-mini")
            #expect(generation.modelParameters?["temperature"]?.double == 0.2)
            #expect(!(generation.input ?? "").contains(g.h.adminKey))
            // Upstream keys come from the environment only: never logged, stored or returned.
            let stored = try await g.h.test.dumpAllText()
            for secret in GatewayHarness.environment.values {
                #expect(!g.h.logs.text.contains(secret))
                #expect(!stored.contains(secret))
                #expect(!reply.text.contains(secret))
            }
            let models = try await g.h.call(.get, "/api/v1/models", key: g.h.adminKey)
            #expect(models.status == .ok)
            #expect(!models.text.contains("sk-upstream-openai"), "configuration shown by the API holds no key")
        }
    }

    @Test("streaming chat: SSE chunks, [DONE], usage when asked, and usage costed even when not asked")
    func streaming() async throws {
        try await withGateway { g in
            let plain = try await g.chat(extra: #","stream":true"#)
            #expect(plain.status == .ok)
            #expect(plain.headers[.contentType]?.hasPrefix("text/event-stream") == true)
            let events = plain.text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }
            #expect(events.last == "data: [DONE]")
            let content = events.dropLast().compactMap { event -> String? in
                let json = try? JSONValue.parse(Data(event.dropFirst(6).utf8))
                return json?["choices"]?[0]?["delta"]?["content"]?.string
            }.joined()
            #expect(content == "Hello from gpt-4o-mini")
            #expect(!plain.text.contains(#""usage""#), "a client that did not ask gets no usage chunk")
            #expect(g.stub.requests.last?.body["stream_options"]?["include_usage"]?.bool == true, "but Tern asks upstream")

            let withUsage = try await g.chat(extra: #","stream":true,"stream_options":{"include_usage":true}"#)
            #expect(withUsage.text.contains(#""usage":{"#))

            let traces = try await g.traces()
            #expect(traces.count == 2)
            for trace in traces {
                let generation = try #require(trace.observations.first)
                #expect(generation.usage?.estimated == false)
                #expect(generation.usage?.outputTokens == 5)
                #expect(generation.completionStartTime != nil, "time to first token is recorded")
                #expect(generation.output == "Hello from gpt-4o-mini")
            }
        }
    }

    @Test("Anthropic deployments behind the OpenAI API: translation both ways, tools and streams included")
    func anthropicTranslation() async throws {
        try await withGateway { g in
            let reply = try await g.h.call(
                .post, "/v1/chat/completions", key: g.h.adminKey,
                json: """
                    {"model":"claude-direct","max_tokens":64,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],
                     "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}],"stop":"END"}
                    """)
            #expect(reply.status == .ok)
            let upstream = try #require(g.stub.requests.last)
            #expect(upstream.path == "/v1/messages")
            #expect(upstream.apiKey == "sk-ant-upstream")
            #expect(upstream.body["system"]?.string == "Be brief.")
            #expect(upstream.body["messages"]?[0]?["content"]?[0]?["text"]?.string == "Hi")
            #expect(upstream.body["tools"]?[0]?["input_schema"]?["type"]?.string == "object")
            #expect(upstream.body["stop_sequences"]?[0]?.string == "END")
            let choice = (reply.json["choices"] as? [[String: Any]])?.first
            #expect((choice?["message"] as? [String: Any])?["content"] as? String == "Hello from claude-3-5-haiku-latest")
            #expect(choice?["finish_reason"] as? String == "stop")
            #expect((reply.json["usage"] as? [String: Any])?["prompt_tokens"] as? Int == 10)

            g.stub.script(model: "claude-3-5-haiku-latest", [.toolCall(name: "lookup", arguments: #"{"q":"tern"}"#)])
            let tool = try await g.chat("claude-direct", text: "find tern")
            let call = (((tool.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["tool_calls"] as? [[String: Any]])?.first
            #expect((call?["function"] as? [String: Any])?["name"] as? String == "lookup")
            #expect((call?["function"] as? [String: Any])?["arguments"] as? String == #"{"q":"tern"}"#)
            #expect((tool.json["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "tool_calls")
            // The trace's generation records how the answer ended and the tool it called (drift's finish_reason and tool).
            let toolTrace = try #require(try await g.traces().first { $0.trace.input?.contains("find tern") == true })
            #expect(toolTrace.observations.first?.metadata?["finish_reason"]?.string == "tool_use", "Anthropic's own reason")
            #expect(toolTrace.observations.first?.metadata?["tools"] == ["lookup"])

            let stream = try await g.chat("claude-direct", extra: #","stream":true,"stream_options":{"include_usage":true}"#)
            let chunks = stream.text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }
                .compactMap { try? JSONValue.parse(Data($0.dropFirst(6).utf8)) }
            let text = chunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.string }.joined()
            #expect(text == "Hello from claude-3-5-haiku-latest")
            #expect(chunks.contains { $0["choices"]?[0]?["finish_reason"]?.string == "stop" })
            #expect(chunks.last?["usage"]?["completion_tokens"]?.int == 5)
            #expect(stream.text.hasSuffix("data: [DONE]\n\n"))
            let streamed = try #require(try await g.traces().first)
            #expect(streamed.observations.first?.metadata?["finish_reason"]?.string == "stop" && streamed.observations.first?.metadata?["tools"] == nil)
        }
    }

    @Test("/v1/messages in Anthropic's format: native to Anthropic, translated to OpenAI-compatible deployments")
    func messagesEndpoint() async throws {
        try await withGateway { g in
            let native = try await g.h.call(
                .post, "/v1/messages",
                body: ByteBuffer(string: #"{"model":"claude-direct","max_tokens":32,"messages":[{"role":"user","content":"Hi"}]}"#),
                headers: [HTTPField.Name("x-api-key")!: g.h.adminKey, .contentType: "application/json"])
            #expect(native.status == .ok)
            #expect(native.json["type"] as? String == "message")
            #expect((native.json["content"] as? [[String: Any]])?.first?["text"] as? String == "Hello from claude-3-5-haiku-latest")

            let translated = try await g.h.call(
                .post, "/v1/messages", key: g.h.adminKey,
                json: #"{"model":"support-bot","max_tokens":32,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}"#)
            #expect(translated.status == .ok)
            let upstream = try #require(g.stub.requests.last)
            #expect(upstream.path == "/v1/chat/completions")
            #expect(upstream.body["messages"]?[0]?["role"]?.string == "system")
            #expect(translated.json["stop_reason"] as? String == "end_turn")
            #expect((translated.json["usage"] as? [String: Any])?["output_tokens"] as? Int == 5)

            let streamed = try await g.h.call(
                .post, "/v1/messages", key: g.h.adminKey,
                json: #"{"model":"support-bot","max_tokens":32,"stream":true,"messages":[{"role":"user","content":"Hi"}]}"#)
            let names = streamed.text.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
            #expect(names.first == "message_start")
            #expect(names.contains("content_block_delta"))
            #expect(names.suffix(2) == ["message_delta", "message_stop"])

            let missing = try await g.h.call(.post, "/v1/messages", key: g.h.adminKey, json: #"{"model":"nope","max_tokens":5,"messages":[]}"#)
            #expect(missing.status == .notFound)
            #expect(missing.json["type"] as? String == "error")
            #expect((missing.json["error"] as? [String: Any])?["type"] as? String == "not_found_error")
        }
    }

    @Test("embeddings, text completions and the model list")
    func otherEndpoints() async throws {
        try await withGateway { g in
            let embedding = try await g.h.call(.post, "/v1/embeddings", key: g.h.adminKey, json: #"{"model":"embedder","input":["a","b"]}"#)
            #expect(embedding.status == .ok)
            #expect((embedding.json["data"] as? [[String: Any]])?.count == 2)
            let completion = try await g.h.call(.post, "/v1/completions", key: g.h.adminKey, json: #"{"model":"support-bot","prompt":"Say hi"}"#)
            #expect(completion.status == .ok)
            #expect((completion.json["choices"] as? [[String: Any]])?.first?["text"] as? String == "Hello from gpt-4o-mini")
            let models = try await g.h.call(.get, "/v1/models", key: g.h.adminKey)
            #expect(
                Set(models.data.compactMap { $0["id"] as? String }) == ["support-bot", "claude-direct", "embedder", "all-minilm-l6-v2"],
                "tern.yaml's models and the built-in local one")
            let viaAnthropic = try await g.h.call(.post, "/v1/embeddings", key: g.h.adminKey, json: #"{"model":"claude-direct","input":"x"}"#)
            #expect(viaAnthropic.status == .badRequest, "Anthropic has no embeddings; the error says so")
        }
    }

    @Test("errors come in OpenAI's shape with the right status")
    func errors() async throws {
        try await withGateway { g in
            let unknown = try await g.chat("gpt-nonexistent")
            #expect(unknown.status == .notFound)
            #expect((unknown.error["code"] as? String) == "model_not_found")
            #expect((unknown.error["type"] as? String) == "invalid_request_error")
            #expect(unknown.error.keys.contains("param"))
            let noAuth = try await g.h.call(.post, "/v1/chat/completions", json: #"{"model":"support-bot","messages":[]}"#)
            #expect(noAuth.status == .unauthorized)
            #expect((noAuth.error["type"] as? String) == "authentication_error")
            let malformed = try await g.h.call(.post, "/v1/chat/completions", key: g.h.adminKey, json: #"{"model": "#)
            #expect(malformed.status == .badRequest)
            #expect((malformed.error["type"] as? String) == "invalid_request_error")
            let noMessages = try await g.chat(extra: "").status  // sanity: a good request works
            #expect(noMessages == .ok)
            let empty = try await g.h.call(.post, "/v1/chat/completions", key: g.h.adminKey, json: #"{"model":"support-bot","messages":[]}"#)
            #expect(empty.status == .badRequest)
            #expect((empty.error["param"] as? String) == "messages")

            g.stub.script(model: "gpt-4o-mini", [.status(400, message: "temperature too high")])
            let upstream400 = try await g.chat()
            #expect(upstream400.status == .badRequest, "an upstream 400 is the client's problem: passed on, not retried")
            #expect((upstream400.error["message"] as? String) == "temperature too high")
            #expect(g.stub.requests(model: "gpt-4o-mini").count == 2)
            let traces = try await g.traces()
            #expect(traces.contains { $0.observations.first?.statusCode == 404 && $0.observations.first?.level == .error })
        }
    }
}

@Suite("Gateway: routing over HTTP", .timeLimit(.minutes(5)))
struct GatewayRoutingTests {
    /// The primary's timeout is short only where a test is about timeouts: on a loaded machine a
    /// scripted 429 or 500 can take longer than half a second to arrive, and a timeout is retried on
    /// the same deployment where a 429 is not.
    static func fallbackModels(primaryTimeout: Double = 30) -> String {
        """
          resilient:
            deployments:
              - {name: primary, provider: openai, model: up-primary, timeout_seconds: \(primaryTimeout)}
              - {name: backup, provider: openai, model: up-backup}
            routing: {fallbacks: [backup], retries: 1, allowed_fails: 2, cooldown_seconds: 60}
        """
    }

    static let fallbackModels = fallbackModels()

    @Test("fallback recovers from a 500, a timeout and a 429; cooldown keeps a failing deployment out")
    func fallbackOverHTTP() async throws {
        try await withGateway(models: Self.fallbackModels) { g in
            g.stub.script(model: "up-primary", [.status(500), .status(500)])
            let afterErrors = try await g.chat("resilient")
            #expect(afterErrors.status == .ok)
            #expect(afterErrors.headers[HTTPField.Name("x-tern-deployment")!] == "backup")
            #expect(g.stub.requests(model: "up-primary").count == 2, "one retry on the primary, then the fallback")
            let trace = try #require(try await g.traces().first)
            #expect(trace.observations.first?.route?.contains("primary: 500") == true)

            // Two failures in a row put the primary in cooldown: the next requests skip it entirely.
            let before = g.stub.requests(model: "up-primary").count
            for _ in 0..<3 { #expect(try await g.chat("resilient").headers[HTTPField.Name("x-tern-deployment")!] == "backup") }
            #expect(g.stub.requests(model: "up-primary").count == before)
        }
        try await withGateway(models: Self.fallbackModels(primaryTimeout: 0.5)) { g in
            g.stub.script(model: "up-primary", [.delay(.seconds(3), then: .reply()), .delay(.seconds(3), then: .reply())])
            let afterTimeout = try await g.chat("resilient")
            #expect(afterTimeout.status == .ok)
            #expect(afterTimeout.headers[HTTPField.Name("x-tern-deployment")!] == "backup")
        }
        try await withGateway(models: Self.fallbackModels) { g in
            g.stub.script(model: "up-primary", [.status(429, message: "slow down", retryAfter: 1)])
            let afterLimit = try await g.chat("resilient")
            #expect(afterLimit.status == .ok)
            #expect(afterLimit.headers[HTTPField.Name("x-tern-deployment")!] == "backup")
            #expect(g.stub.requests(model: "up-primary").count == 1, "a 429 is not retried on the same deployment")
        }
        try await withGateway(models: Self.fallbackModels) { g in
            g.stub.script(model: "up-primary", [.dropConnection, .dropConnection])
            let dropped = try await g.chat("resilient")
            #expect(dropped.headers[HTTPField.Name("x-tern-deployment")!] == "backup", "a dropped connection falls back")
        }
    }

    @Test("every deployment failing is a 502 that names the last upstream error")
    func allFail() async throws {
        try await withGateway(models: Self.fallbackModels) { g in
            g.stub.script(model: "up-primary", [.status(500), .status(500)])
            g.stub.script(model: "up-backup", [.status(503, message: "overloaded"), .status(503, message: "overloaded")])
            let reply = try await g.chat("resilient")
            #expect(reply.status == .badGateway)
            #expect((reply.error["message"] as? String)?.contains("overloaded") == true)
            let trace = try #require(try await g.traces().first?.observations.first)
            #expect(trace.level == .error)
            #expect(trace.statusCode == 502)
        }
    }

    @Test("A/B split over HTTP: the variant header, stickiness per user, and rollback restoring the previous routing")
    func splitAndRollback() async throws {
        let models = """
                  ab:
                    deployments:
                      - {name: a, provider: openai, model: up-a}
                      - {name: b, provider: openai, model: up-b}
                    routing: {split: {a: 50, b: 50}, sticky: user}
            """
        try await withGateway(models: models) { g in
            var variants: [String: String] = [:]
            for user in (0..<20).map({ "user-\($0)" }) {
                let reply = try await g.chat("ab", headers: [HTTPField.Name("x-tern-user")!: user])
                let variant = try #require(reply.headers[HTTPField.Name("x-tern-variant")!])
                #expect(reply.headers[HTTPField.Name("x-tern-deployment")!] == variant)
                variants[user] = variant
                let again = try await g.chat("ab", headers: [HTTPField.Name("x-tern-user")!: user])
                #expect(again.headers[HTTPField.Name("x-tern-variant")!] == variant, "sticky")
            }
            #expect(Set(variants.values) == ["a", "b"])

            // Send everyone to b, then roll back.
            let change = try await g.h.call(
                .put, "/api/v1/models/ab", key: g.h.adminKey,
                json: """
                    {"name":"ab","message":"all to b","deployments":[{"name":"a","provider":"openai","model":"up-a"},{"name":"b","provider":"openai","model":"up-b"}],
                     "routing":{"split":{"b":100},"sticky":"user","rules":[],"fallbacks":[],"strategy":"weighted","retries":1,"allowed_fails":3,"cooldown_seconds":30}}
                    """)
            #expect(change.status == .ok, "\(change.text)")
            #expect(change.json["version"] as? Int == 2)
            for user in variants.keys {
                #expect(try await g.chat("ab", headers: [HTTPField.Name("x-tern-user")!: user]).headers[HTTPField.Name("x-tern-variant")!] == "b")
            }

            let history = try await g.h.call(.get, "/api/v1/models/ab/versions", key: g.h.adminKey)
            #expect(history.data.map { $0["version"] as? Int } == [2, 1])
            #expect(history.data.first?["message"] as? String == "all to b")
            #expect((history.data.first?["author"] as? String)?.hasPrefix("key:") == true)
            #expect(history.data.last?["author"] as? String == "tern.yaml")

            let rollback = try await g.h.call(.post, "/api/v1/models/ab/rollback", key: g.h.adminKey, json: "{}")
            #expect(rollback.status == .ok)
            #expect(rollback.json["version"] as? Int == 3)
            #expect(rollback.json["message"] as? String == "rollback to version 1")
            for (user, variant) in variants {
                #expect(try await g.chat("ab", headers: [HTTPField.Name("x-tern-user")!: user]).headers[HTTPField.Name("x-tern-variant")!] == variant)
            }

            let invalid = try await g.h.call(
                .put, "/api/v1/models/ab", key: g.h.adminKey,
                json: """
                    {"name":"ab","deployments":[{"name":"a","provider":"nope","model":"m"}],"routing":{"split":{},"rules":[],"fallbacks":[],"strategy":"weighted","retries":1,"allowed_fails":3,"cooldown_seconds":30}}
                    """)
            #expect(invalid.status == .badRequest)
            #expect(invalid.errorField == "model.deployments[0].provider")
            let member = try await g.h.createKey(name: "m", role: "member", as: g.h.adminKey)
            #expect(try await g.h.call(.post, "/api/v1/models/ab/rollback", key: member, json: "{}").status == .forbidden)

            // Deleting a model: only an instance admin; it then answers 404 everywhere, its history stays.
            #expect(try await g.h.call(.delete, "/api/v1/models/ab", key: member).status == .forbidden)
            let deleted = try await g.h.call(.delete, "/api/v1/models/ab", key: g.h.adminKey)
            #expect(deleted.status == .ok, "\(deleted.text)")
            #expect(deleted.json["version"] as? Int == 4)
            #expect(try await g.h.call(.get, "/api/v1/models/ab", key: g.h.adminKey).status == .notFound)
            let listed = try await g.h.call(.get, "/api/v1/models", key: g.h.adminKey)
            #expect(!listed.data.contains { $0["name"] as? String == "ab" })
            let gone = try await g.chat("ab")
            #expect(gone.status == .notFound, "\(gone.text)")
            let kept = try await g.h.call(.get, "/api/v1/models/ab/versions", key: g.h.adminKey)
            #expect(kept.data.map { $0["version"] as? Int } == [4, 3, 2, 1])
            #expect(try await g.h.call(.delete, "/api/v1/models/nope", key: g.h.adminKey).status == .notFound)
        }
    }
}

@Suite("Gateway: cache, limits, tracing", .timeLimit(.minutes(5)))
struct GatewayCacheLimitTests {
    @Test("exact-match cache: a repeat is served from memory, bypassable, and replayed as a stream (the store path: TernGatewayTests)")
    func cache() async throws {
        try await withGateway(configure: { $0.gateway.cache = CacheConfig(enabled: true, ttlSeconds: 600) }) { g in
            let first = try await g.chat(text: "cache me")
            #expect(first.headers[HTTPField.Name("x-tern-cache")!] == "miss")
            let second = try await g.chat(text: "cache me")
            #expect(second.headers[HTTPField.Name("x-tern-cache")!] == "hit")
            #expect(second.text == first.text)
            #expect(g.stub.requests.count == 1, "the hit never reached the upstream")
            let bypass = try await g.chat(text: "cache me", headers: [HTTPField.Name("x-tern-cache")!: "no"])
            #expect(bypass.headers[HTTPField.Name("x-tern-cache")!] == "bypass")
            #expect(g.stub.requests.count == 2)
            let streamed = try await g.chat(text: "cache me", extra: #","stream":true"#)
            #expect(streamed.headers[HTTPField.Name("x-tern-cache")!] == "hit", "stream and non-stream share the answer")
            #expect(streamed.text.contains(#""content":"Hello from gpt-4o-mini""#))
            #expect(streamed.text.hasSuffix("data: [DONE]\n\n"))
            #expect(g.stub.requests.count == 2)
            let other = try await g.chat(text: "something else")
            #expect(other.headers[HTTPField.Name("x-tern-cache")!] == "miss")
            let traces = try await g.traces()
            let hit = try #require(traces.first { $0.observations.first?.cacheStatus == "hit" }?.observations.first)
            #expect(hit.cost == 0)
            #expect(hit.route == "cache")
        }
    }

    @Test("usage is estimated (and priced) when the upstream reports none; stored bodies are cut at trace_body_limit_bytes")
    func estimatedUsageAndBodyLimit() async throws {
        try await withGateway(configure: { $0.gateway.traceBodyLimitBytes = 300 }) { g in
            g.stub.script(model: "gpt-4o-mini", [.reply(text: String(repeating: "answer ", count: 100), inputTokens: 0, outputTokens: 0)])
            let reply = try await g.chat(text: String(repeating: "question ", count: 200))
            #expect(reply.status == .ok, "\(reply.text.prefix(300))")
            #expect(reply.text.contains(String(repeating: "answer ", count: 100)), "the client gets the whole answer")
            let generation = try #require(try await g.traces().first?.observations.first)
            #expect(generation.usage?.estimated == true)
            #expect((generation.usage?.inputTokens ?? 0) > 100, "\(String(describing: generation.usage))")
            #expect((generation.usage?.outputTokens ?? 0) > 50, "\(String(describing: generation.usage))")
            #expect((generation.cost ?? 0) > 0, "priced from the estimate")
            let marker = "…[truncated]"
            for (name, body) in [("input", generation.input ?? ""), ("output", generation.output ?? "")] {
                #expect(body.hasSuffix(marker), "\(name): \(body.suffix(40))")
                #expect(body.utf8.count <= 300 + marker.utf8.count, "\(name) holds \(body.utf8.count) bytes")
            }
        }
    }

    @Test("50 parallel requests against a budget for 10 never spend more than the budget", arguments: StoreKind.available)
    func budgetUnderConcurrency(kind: StoreKind) async throws {
        // Output is the only priced part: each call costs exactly 5 tokens x $2000/M = $0.01, and reserves the same.
        let models = """
                  priced:
                    deployments:
                      - {name: only, provider: openai, model: up-priced, price: {input_per_mtok: 0, output_per_mtok: 2000}}
            """
        try await withGateway(kind, models: models) { g in
            let (secret, key) = try await KeyIssuer.issue(
                store: g.h.store, projectID: g.h.project.id, name: "budgeted", role: .member, createdBy: "test",
                limits: KeyLimits(budgetUSD: 0.10, budgetPeriod: .day))
            g.stub.setDefaultLatency(.milliseconds(50))
            let started = Date()
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        let reply = try await g.chat("priced", key: secret, extra: #","max_tokens":5"#)
                        return (Int(reply.status.code), reply.error["code"] as? String)
                    }
                }
                var all: [(Int, String?)] = []
                for try await status in group { all.append(status) }
                return all
            }
            let ok = statuses.filter { $0.0 == 200 }.count
            #expect(ok == 10)
            #expect(statuses.filter { $0.0 == 429 }.allSatisfy { $0.1 == "budget_exceeded" })
            #expect(statuses.filter { $0.0 == 429 }.count == 40)
            let traces = try await g.traces()
            let spent = traces.compactMap { $0.observations.first }.filter { $0.statusCode == 200 }.compactMap(\.cost).reduce(0, +)
            #expect(spent <= 0.10 + 1e-9)
            await g.h.gateway.limiter.flush()
            // The calls may straddle UTC midnight: then the spend is split over two days.
            var stored = 0.0
            for period in Set([BudgetPeriod.day.label(for: started), BudgetPeriod.day.label(for: Date())]) {
                stored += try await g.h.store.spend.spent(keyID: key.id, period: period)
            }
            #expect(abs(stored - spent) < 1e-9, "spend is recorded in the store")
        }
    }

    @Test("requests-per-minute and tokens-per-minute limits answer 429 naming the limit")
    func rateLimits() async throws {
        try await withGateway { g in
            let (rpmKey, _) = try await KeyIssuer.issue(
                store: g.h.store, projectID: g.h.project.id, name: "rpm", role: .member, createdBy: "t",
                limits: KeyLimits(requestsPerMinute: 3))
            for _ in 0..<3 { #expect(try await g.chat(key: rpmKey).status == .ok) }
            let limited = try await g.chat(key: rpmKey)
            #expect(limited.status == .tooManyRequests)
            #expect((limited.error["code"] as? String) == "rpm_limit_exceeded")
            #expect((limited.error["message"] as? String)?.contains("3 requests per minute") == true)
            #expect((limited.error["type"] as? String) == "rate_limit_error")

            let (tpmKey, _) = try await KeyIssuer.issue(
                store: g.h.store, projectID: g.h.project.id, name: "tpm", role: .member, createdBy: "t",
                limits: KeyLimits(tokensPerMinute: 100))
            let big = try await g.chat(key: tpmKey, extra: #","max_tokens":500"#)
            #expect(big.status == .tooManyRequests)
            #expect((big.error["code"] as? String) == "tpm_limit_exceeded")
            #expect(try await g.chat(key: tpmKey, extra: #","max_tokens":20"#).status == .ok)
        }
    }

    @Test("the trace queue is bounded: when full it drops and counts instead of blocking")
    func boundedQueue() async throws {
        try await withTestStore(.sqlite) { test in
            let writer = TraceWriter(store: test.store, capacity: 3, logger: .quiet)
            let project = try await test.store.projects.create(slug: "p", name: "P")
            func item() -> TraceBatchItem {
                TraceBatchItem(trace: Trace(id: TernID.make(), projectID: project.id, startTime: Date()), observations: [])
            }
            #expect((0..<5).map { _ in writer.enqueue(item()) } == [true, true, true, false, false])
            #expect(writer.stats.dropped == 2)
            #expect(writer.stats.pending == 3)
            let run = Task { await writer.run() }
            await writer.flush()
            #expect(writer.stats.written == 3)
            #expect(try await test.store.traces.count(projectID: project.id) == 3)
            writer.finish()
            await run.value
        }
    }

    @Test("metrics export gateway counters and the trace queue")
    func metrics() async throws {
        try await withGateway { g in
            _ = try await g.chat()
            _ = try await g.traces()
            let metrics = try await g.h.call(.get, "/metrics")
            #expect(metrics.text.contains(#"tern_gateway_requests_total{model="support-bot",deployment="small",status="200"} 1"#))
            #expect(metrics.text.contains("tern_traces_dropped_total 0"))
            #expect(metrics.text.contains("tern_traces_written_total 1"))
            #expect(metrics.text.contains(#"tern_gateway_tokens_total{model="support-bot",direction="output"} 5"#))
        }
    }

    @Test("traces API lists and shows gateway calls of the caller's project only")
    func tracesAPI() async throws {
        try await withGateway { g in
            for index in 0..<3 { _ = try await g.chat(text: "hi \(index)", headers: [HTTPField.Name("x-tern-user")!: "u\(index % 2)"]) }
            _ = try await g.traces()
            let page = try await g.h.call(.get, "/api/v1/traces?limit=2", key: g.h.adminKey)
            #expect(page.status == .ok)
            #expect(page.data.count == 2)
            let cursor = try #require(page.json["next_cursor"] as? String)
            let rest = try await g.h.call(.get, "/api/v1/traces?limit=2&cursor=\(cursor)", key: g.h.adminKey)
            #expect(rest.data.count == 1)
            #expect(rest.json["next_cursor"] == nil || rest.json["next_cursor"] is NSNull)
            let byUser = try await g.h.call(.get, "/api/v1/traces?user_id=u1", key: g.h.adminKey)
            #expect(byUser.data.count == 1)
            let id = try #require(page.data.first?["id"] as? String)
            let detail = try await g.h.call(.get, "/api/v1/traces/\(id)", key: g.h.adminKey)
            #expect(detail.status == .ok)
            #expect(((detail.json["observations"] as? [[String: Any]])?.first?["deployment"] as? String) == "small")

            _ = try await g.h.call(.post, "/api/v1/projects", key: g.h.adminKey, json: #"{"slug":"other"}"#)
            let other = try #require(try await g.h.store.projects.get(slug: "other"))
            let (otherKey, _) = try await KeyIssuer.issue(store: g.h.store, projectID: other.id, name: "o", role: .admin, createdBy: "t")
            #expect(try await g.h.call(.get, "/api/v1/traces", key: otherKey).data.isEmpty)
            #expect(try await g.h.call(.get, "/api/v1/traces/\(id)", key: otherKey).status == .notFound)
            #expect(try await g.h.call(.get, "/api/v1/traces?limit=9999", key: g.h.adminKey).errorField == "limit")
        }
    }
}

@Suite("Gateway: streams over a real connection", .timeLimit(.minutes(5)))
struct GatewayLiveStreamTests {
    @Test("a client that disconnects mid-stream cancels the upstream request, and the trace says so")
    func clientDisconnect() async throws {
        try await withGateway(setup: .live) { g in
            g.stub.script(model: "gpt-4o-mini", [.slowStream(chunkDelay: .milliseconds(150))])
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let port = try #require(g.h.client.port)
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
            request.method = .POST
            request.headers.add(name: "authorization", value: "Bearer \(g.h.adminKey)")
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: #"{"model":"support-bot","stream":true,"messages":[{"role":"user","content":"go"}]}"#))
            let reader = Task {
                let response = try await client.execute(request, timeout: .seconds(10))
                for try await _ in response.body { break }  // first chunk, then walk away
            }
            try await reader.value
            try await client.shutdown()
            try await g.stub.waitForCancelledStream()
            #expect(g.stub.cancelledStreams >= 1)
            await g.h.gateway.traces.waitUntilEnqueued(1)
            let generation = try #require(try await g.traces().first?.observations.first)
            #expect(generation.statusCode == 499)
            #expect(generation.statusMessage == "client disconnected mid-stream")
            #expect(generation.level == .warning)
        }
    }

    @Test("with cancel_on_disconnect: always, a client that walks away from a slow answer cancels the upstream call")
    func nonStreamingDisconnect() async throws {
        try await withGateway(setup: .live, configure: { $0.gateway.cancelOnDisconnect = true }) { g in
            g.stub.script(model: "gpt-4o-mini", [.delay(.seconds(3), then: .reply())])
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let port = try #require(g.h.client.port)
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
            request.method = .POST
            request.headers.add(name: "authorization", value: "Bearer \(g.h.adminKey)")
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: #"{"model":"support-bot","messages":[{"role":"user","content":"slow"}]}"#))
            let caller = Task { _ = try await client.execute(request, timeout: .seconds(60)) }
            try await g.stub.waitForRequests(1)
            caller.cancel()
            _ = await caller.result
            try await client.shutdown()
            await g.h.gateway.traces.waitUntilEnqueued(1)
            let generation = try #require(try await g.traces().first?.observations.first)
            #expect(generation.statusCode == 499)
            #expect(generation.statusMessage == "the client closed the request")
        }
    }

    @Test("an upstream that dies mid-stream ends the client's stream with an error event; the trace records it")
    func upstreamDiesMidStream() async throws {
        try await withGateway(setup: .live) { g in
            g.stub.script(model: "gpt-4o-mini", [.streamThenDrop(chunks: 3)])
            let reply = try await g.chat(extra: #","stream":true"#)
            #expect(reply.status == .ok)
            let last = reply.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.last ?? ""
            #expect(last.hasPrefix(#"data: {"error":"#))
            #expect(!reply.text.contains("[DONE]"))
            let generation = try #require(try await g.traces().first?.observations.first)
            #expect(generation.level == .error)
            #expect(generation.statusMessage?.hasPrefix("stream broke") == true)
        }
    }
}
