import Foundation
import TernCore
import TernGateway
import TernLocal
import TernServer
import TernTestSupport
import Testing
import TernData

@Suite("Gateway: the built-in local embedding model")
struct LocalEmbeddingsTests {
    static func embed(_ g: GatewayHarness, _ body: String) async throws -> Harness.Reply {
        try await g.h.call(.post, "/v1/embeddings", key: g.h.adminKey, json: body)
    }

    static func vectors(_ reply: Harness.Reply) throws -> [[Float]] {
        try reply.data.map { item in
            let numbers = try #require(item["embedding"] as? [NSNumber], "\(reply.text.prefix(300))")
            return numbers.map(\.floatValue)
        }
    }

    @Test(
        "POST /v1/embeddings with all-minilm-l6-v2 works with no configuration, is traced and costs nothing",
        .enabled(if: InstalledModel.enabled, InstalledModel.skipReason),
        arguments: StoreKind.available)
    func outOfTheBox(kind: StoreKind) async throws {
        try InstalledModel.requireInstalled()
        let texts = ["The cat sits on the mat.", "A cat is sitting on a mat.", "Quarterly revenue grew by four percent."]
        try await withGateway(kind) { g in
            let models = try await g.h.call(.get, "/v1/models", key: g.h.adminKey)
            #expect(models.data.contains { $0["id"] as? String == "all-minilm-l6-v2" }, "\(models.text)")

            let reply = try await Self.embed(g, #"{"model":"all-minilm-l6-v2","input":["\#(texts[0])","\#(texts[1])","\#(texts[2])"]}"#)
            #expect(reply.status == .ok, "\(reply.text.prefix(300))")
            let vectors = try Self.vectors(reply)
            let direct = try await LocalEmbedder.shared().embed(texts)
            #expect(vectors.count == 3)
            for (served, expected) in zip(vectors, direct) {
                #expect(served.count == 384)
                #expect(VectorMath.cosine(served, expected) > 0.99999)
            }
            #expect(VectorMath.cosine(vectors[0], vectors[1]) > VectorMath.cosine(vectors[0], vectors[2]) + 0.3)
            #expect(reply.data.map { $0["index"] as? Int } == [0, 1, 2])
            let tokens = try await LocalEmbedder.shared().tokenizer as WordPieceTokenizer
            let expectedTokens = texts.reduce(0) { $0 + tokens.encode($1).count }
            let usage = try #require(reply.json["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == expectedTokens)
            #expect(reply.json["model"] as? String == "all-minilm-l6-v2")

            let trace = try #require(try await g.traces().first)
            let observation = try #require(trace.observations.first)
            #expect(observation.type == .embedding)
            #expect(observation.model == "all-minilm-l6-v2")
            #expect(observation.provider == "local")
            #expect(observation.cost == 0)
            #expect(observation.usage?.inputTokens == expectedTokens)
        }
    }

    @Test(
        "base64 encoding (the official clients' default) carries the same float32 vectors",
        .enabled(if: InstalledModel.enabled, InstalledModel.skipReason))
    func base64() async throws {
        try InstalledModel.requireInstalled()
        try await withGateway { g in
            let floats = try Self.vectors(try await Self.embed(g, #"{"model":"all-minilm-l6-v2","input":"héllo wörld 你好"}"#))
            let reply = try await Self.embed(g, #"{"model":"all-minilm-l6-v2","input":"héllo wörld 你好","encoding_format":"base64"}"#)
            #expect(reply.status == .ok)
            let encoded = try #require(reply.data.first?["embedding"] as? String)
            let bytes = try #require(Data(base64Encoded: encoded))
            let decoded = bytes.withUnsafeBytes { raw in
                (0..<(bytes.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
            #expect(decoded == floats.first)
        }
    }

    @Test(
        "bad input is refused with a 400 naming the field",
        .enabled(if: InstalledModel.enabled, InstalledModel.skipReason))
    func badInput() async throws {
        try InstalledModel.requireInstalled()
        try await withGateway { g in
            let cases: [(String, String, String)] = [
                (#"{"model":"all-minilm-l6-v2","input":[[1,2,3]]}"#, "input", "token ids"),
                (#"{"model":"all-minilm-l6-v2","input":[]}"#, "input", "empty"),
                (#"{"model":"all-minilm-l6-v2","input":"x","dimensions":128}"#, "dimensions", "384"),
                (#"{"model":"all-minilm-l6-v2","input":"x","encoding_format":"int8"}"#, "encoding_format", "base64"),
            ]
            for (body, param, words) in cases {
                let reply = try await Self.embed(g, body)
                #expect(reply.status == .badRequest, "\(body): \(reply.text)")
                #expect(reply.error["param"] as? String == param, "\(body): \(reply.text)")
                #expect((reply.error["message"] as? String)?.contains(words) == true, "\(body): \(reply.text)")
            }
            let chat = try await g.chat("all-minilm-l6-v2")
            #expect(chat.status == .badRequest)
            #expect((chat.error["message"] as? String)?.contains("embeddings only") == true, "\(chat.text)")
        }
    }

    @Test("a model missing from the models directory gives the command that installs it")
    func notInstalled() async throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("tern-no-models-\(UUID().uuidString)")
        try await withGateway(configure: { config in
            config.providers["mine"] = ProviderConfig(name: "mine", type: .local, modelsDirectory: empty.path)
            config.models.append(ModelConfig(name: "offline-embedder", deployments: [DeploymentConfig(name: "l", provider: "mine", model: "all-minilm-l6-v2")]))
        }) { g in
            let reply = try await Self.embed(g, #"{"model":"offline-embedder","input":"hello"}"#)
            #expect(reply.status == .serviceUnavailable)
            #expect(
                (reply.error["message"] as? String)?.contains("run: tern models pull all-minilm-l6-v2 --models-dir \(empty.path)") == true,
                "\(reply.text)")
        }
    }

    @Test("tern.yaml can replace the built-in model or take the name local for another provider")
    func configuredWins() async throws {
        let models =
            defaultModels + """

                  all-minilm-l6-v2:
                    deployments:
                      - {name: remote, provider: openai, model: text-embedding-3-small}
                """
        try await withGateway(models: models) { g in
            let model = try #require(g.h.gateway.registry.model("all-minilm-l6-v2"))
            #expect(model.deployments.map(\.provider) == ["openai"])
        }
        try await withGateway(configure: { config in
            config.providers["local"] = ProviderConfig(name: "local", type: .openai, baseURL: "http://127.0.0.1:9")
        }) { g in
            #expect(g.h.gateway.registry.model("all-minilm-l6-v2") == nil)
            #expect(g.h.gateway.registry.providers["local"]?.type == .openai)
        }
    }
}

@Suite("tern.yaml: local providers")
struct LocalProviderConfigTests {
    @Test("type local takes models_dir and refuses remote settings by key")
    func parsing() throws {
        var config = TernConfig()
        try config.apply(yaml: "providers:\n  onbox: {type: local, models_dir: /srv/models}\n")
        #expect(config.providers["onbox"]?.type == .local)
        #expect(config.providers["onbox"]?.modelsDirectory == "/srv/models")

        var remote = TernConfig()
        #expect { try remote.apply(yaml: "providers:\n  onbox:\n    type: local\n    base_url: http://x\n") } throws: { error in
            "\(error)".contains("providers.onbox.base_url") && "\(error)".contains("takes no base_url")
        }
        var misplaced = TernConfig()
        #expect { try misplaced.apply(yaml: "providers:\n  o: {type: openai, models_dir: /x}\n") } throws: { error in
            "\(error)".contains("models_dir applies to providers of type local only")
        }
    }
}

@Suite("Datasets: near-duplicates by meaning with the local model")
struct SemanticDuplicatesTests {
    static let items = """
        {"items": [
          {"id": "q1", "input": {"question": "How do I reset my password?"}},
          {"id": "q2", "input": {"question": "I forgot my password; how can I change it?"}},
          {"id": "q3", "input": {"question": "What time do your stores open on Sundays?"}},
          {"id": "q4", "input": {"question": "How do I reset my password?"}},
          {"id": "q5", "input": {"question": "<script>alert(1)</script> Which payment cards do you accept?"}}
        ], "message": "seed"}
        """

    @Test(
        "GET stats?semantic=true finds paraphrases that MinHash misses; the page shows them; bad thresholds name the field",
        .enabled(if: InstalledModel.enabled, InstalledModel.skipReason),
        arguments: StoreKind.available)
    func semantic(kind: StoreKind) async throws {
        try InstalledModel.requireInstalled()
        try await withHarness(kind) { h in
            #expect(try await h.call(.post, "/api/v1/datasets", key: h.adminKey, json: #"{"name": "faq"}"#).status == .created)
            #expect(try await h.call(.post, "/api/v1/datasets/faq/items", key: h.adminKey, json: Self.items).status == .created)

            let plain = try await h.call(.get, "/api/v1/datasets/faq/stats", key: h.adminKey)
            #expect(plain.json["semantic_duplicates"] == nil, "only on request")
            #expect(plain.json["near_duplicates"] as? Int == 0, "\(plain.text)")
            #expect(plain.json["exact_duplicates"] as? Int == 1)

            let reply = try await h.call(.get, "/api/v1/datasets/faq/stats?semantic=true&semantic_threshold=0.6", key: h.adminKey)
            #expect(reply.status == .ok, "\(reply.text)")
            let semantic = try #require(reply.json["semantic_duplicates"] as? [String: Any], "\(reply.text)")
            #expect(semantic["model"] as? String == "all-minilm-l6-v2")
            #expect(semantic["count"] as? Int == 1, "\(reply.text)")
            let pairs = try #require(semantic["pairs"] as? [[String: Any]])
            #expect(pairs.count == 1)
            #expect(pairs.first?["a"] as? String == "q1" && pairs.first?["b"] as? String == "q2", "\(pairs)")
            let similarity = try #require(pairs.first?["similarity"] as? Double)
            #expect(similarity >= 0.6 && similarity < 1)

            let strict = try await h.call(.get, "/api/v1/datasets/faq/stats?semantic=true&semantic_threshold=0.99", key: h.adminKey)
            #expect((strict.json["semantic_duplicates"] as? [String: Any])?["count"] as? Int == 0, "the exact duplicate is counted apart")

            let bad = try await h.call(.get, "/api/v1/datasets/faq/stats?semantic=true&semantic_threshold=2", key: h.adminKey)
            #expect(bad.status == .badRequest)
            #expect(bad.errorField == "semantic_threshold", "\(bad.text)")

            let cookie = try await WebUITests.signIn(h)
            let page = try await Web.get(h, "/ui/default/datasets/faq/stats?semantic=true&semantic_threshold=0.6", cookie: cookie)
            #expect(page.status == .ok)
            #expect(page.text.contains(#"id="semantic-count">1<"#), "\(page.text.prefix(200))")
            #expect(page.text.contains("I forgot my password; how can I change it?"))
            #expect(page.text.contains(#"value="0.6""#), "the form keeps the threshold")
            let before = try await Web.get(h, "/ui/default/datasets/faq/stats", cookie: cookie)
            #expect(before.text.contains(#"id="semantic-form""#) && !before.text.contains(#"id="semantic-count""#))
            PromptDatasetWebTests.expectEscaped(page, "stats")
        }
    }
}
