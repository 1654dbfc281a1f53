import Foundation
import TernCore
import TernServer
import TernTestSupport
import Testing

/// The demo provider (`type: echo`) through the gateway over HTTP, with no upstream and no key.
@Suite("Gateway: the echo demo provider")
struct EchoProviderTests {
    static let yaml = """
        providers:
          demo: {type: echo}
        models:
          demo-bot:
            deployments:
              - {name: small, provider: demo, model: small-echo}
              - {name: large, provider: demo, model: large-echo}
            routing: {split: {small: 50, large: 50}, sticky: user}
        """

    static func withDemo(_ kind: StoreKind, _ body: @Sendable (Harness) async throws -> Void) async throws {
        try await withHarness(
            kind,
            configure: { config in
                do { try config.apply(yaml: yaml) } catch { Issue.record("bad test config: \(error)") }
            }, body)
    }

    @Test("chat, streams with usage, completions and Anthropic messages answer with the last user message; traced at cost 0", arguments: StoreKind.available)
    func answers(kind: StoreKind) async throws {
        try await Self.withDemo(kind) { h in
            let chat = try await h.call(
                .post, "/v1/chat/completions", key: h.adminKey,
                json: #"{"model":"demo-bot","user":"ada","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Where is my refund?"}]}"#
            )
            #expect(chat.status == .ok, "\(chat.text)")
            let choice = (chat.json["choices"] as? [[String: Any]])?.first
            #expect((choice?["message"] as? [String: Any])?["content"] as? String == "Where is my refund?")
            #expect(choice?["finish_reason"] as? String == "stop")
            #expect(chat.json["system_fingerprint"] as? String == "tern-echo-demo", "marked as a demo")
            #expect(["small-echo", "large-echo"].contains(chat.json["model"] as? String ?? ""))
            let usage = chat.json["usage"] as? [String: Any]
            #expect(usage?["completion_tokens"] as? Int == 5, "19 characters, about four a token")

            let streamed = try await h.call(
                .post, "/v1/chat/completions", key: h.adminKey,
                json: #"{"model":"demo-bot","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one two three"}]}"#)
            let events = streamed.text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }
            #expect(events.last == "data: [DONE]")
            let chunks = events.dropLast().compactMap { try? JSONValue.parse(Data($0.dropFirst(6).utf8)) }
            #expect(chunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.string }.joined() == "one two three")
            #expect(chunks.filter { $0["choices"]?[0]?["delta"]?["content"]?.string?.isEmpty == false }.count == 3, "a chunk a word")
            #expect(chunks.last?["usage"]?["completion_tokens"]?.int == 4)

            let plainStream = try await h.call(
                .post, "/v1/chat/completions", key: h.adminKey, json: #"{"model":"demo-bot","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(!plainStream.text.contains(#""usage""#), "no usage chunk unless asked")

            let cut = try await h.call(
                .post, "/v1/chat/completions", key: h.adminKey,
                json: #"{"model":"demo-bot","max_tokens":2,"messages":[{"role":"user","content":"a long sentence to cut short"}]}"#)
            let cutChoice = (cut.json["choices"] as? [[String: Any]])?.first
            #expect((cutChoice?["message"] as? [String: Any])?["content"] as? String == "a long s")
            #expect(cutChoice?["finish_reason"] as? String == "length")

            let completion = try await h.call(.post, "/v1/completions", key: h.adminKey, json: #"{"model":"demo-bot","prompt":"Say this"}"#)
            #expect((completion.json["choices"] as? [[String: Any]])?.first?["text"] as? String == "Say this", "\(completion.text)")

            let messages = try await h.call(
                .post, "/v1/messages", key: h.adminKey,
                json: #"{"model":"demo-bot","max_tokens":100,"messages":[{"role":"user","content":"Bonjour"}]}"#)
            #expect(messages.status == .ok, "\(messages.text)")
            #expect((messages.json["content"] as? [[String: Any]])?.first?["text"] as? String == "Bonjour")
            let messageStream = try await h.call(
                .post, "/v1/messages", key: h.adminKey,
                json: #"{"model":"demo-bot","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Bonjour"}]}"#)
            #expect(messageStream.text.contains("event: message_stop"), "\(messageStream.text.prefix(400))")
            #expect(messageStream.text.contains(#""text":"Bonjour""#))

            let embedding = try await h.call(.post, "/v1/embeddings", key: h.adminKey, json: #"{"model":"demo-bot","input":"x"}"#)
            #expect(embedding.status == .badRequest)
            #expect((embedding.error["message"] as? String)?.contains("does not embed") == true, "\(embedding.text)")

            await h.gateway.traces.flush()
            let page = try await h.store.traces.list(projectID: h.project.id, query: TraceQuery(limit: 50))
            #expect(page.traces.count >= 7)
            let first = try #require(try await h.store.traces.get(projectID: h.project.id, id: page.traces.last!.trace.id))
            let generation = try #require(first.observations.first)
            #expect(generation.output == "Where is my refund?")
            #expect(generation.cost == 0, "a demo costs nothing")
            #expect(generation.provider == "demo")
        }
    }

    @Test("an echo provider takes no base_url, key or headers; the error names the line")
    func config() throws {
        var config = TernConfig()
        let error = #expect(throws: (any Error).self) {
            try config.apply(yaml: "providers:\n  demo: {type: echo, base_url: \"http://x\"}\n")
        }
        #expect(
            "\(error.map { "\($0)" } ?? "")"
                == "tern.yaml:2: providers.demo.base_url: an echo provider is a demo inside Tern and takes no base_url, api_key_env or headers")
    }
}
