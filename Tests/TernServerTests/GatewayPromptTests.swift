import Foundation
import HTTPTypes
import TernCore
import TernServer
import TernTestSupport
import Testing
import TernMonitor

@Suite("Gateway: prompts by reference")
struct GatewayPromptTests {
    @Test(
        "a chat request naming a prompt is rendered server-side; its trace records prompt and version; metrics group by it",
        arguments: StoreKind.available)
    func rendered(kind: StoreKind) async throws {
        try await withGateway(kind) { g in
            let push = try await g.h.call(
                .post, "/api/v1/prompts", key: g.h.adminKey,
                json: """
                    {"name": "greeter", "messages": [{"role": "system", "content": "You greet {{ company }} customers."},
                                                     {"role": "user", "content": "Say hello to {{ who }}."}],
                     "config": {"model": "support-bot", "temperature": 0.1, "max_tokens": 50}, "labels": ["production"]}
                    """)
            #expect(push.status == .created, "\(push.text)")
            let reply = try await g.h.call(
                .post, "/v1/chat/completions", key: g.h.adminKey,
                json: """
                    {"model": "support-bot", "messages": [{"role": "user", "content": "And add a joke."}],
                     "tern": {"prompt": "greeter", "variables": {"company": "Acme", "who": "Ada"}}}
                    """)
            #expect(reply.status == .ok, "\(reply.text)")
            let upstream = try #require(g.stub.requests.last)
            let messages = upstream.body["messages"]?.array ?? []
            #expect(messages.compactMap { $0["content"]?.string } == ["You greet Acme customers.", "Say hello to Ada.", "And add a joke."])
            #expect(upstream.body["temperature"]?.double == 0.1, "the prompt's settings apply where the request has none")
            #expect(upstream.body["max_tokens"]?.int == 50)
            #expect(upstream.body["tern"] == nil, "Tern's own field is not forwarded")

            // A second version under staging, chosen by header.
            _ = try await g.h.call(
                .post, "/api/v1/prompts", key: g.h.adminKey,
                json: """
                    {"name": "greeter", "prompt": "Greet {{ who }} from {{ company }} warmly.", "labels": ["staging"]}
                    """)
            let staged = try await g.h.call(
                .post, "/v1/chat/completions", key: g.h.adminKey,
                json: #"{"model": "support-bot", "messages": [], "tern": {"variables": {"company": "Acme", "who": "Bo"}}}"#,
                headers: [HTTPField.Name("x-tern-prompt")!: "greeter", HTTPField.Name("x-tern-prompt-label")!: "staging"])
            #expect(staged.status == .ok, "\(staged.text)")
            #expect(g.stub.requests.last?.body["messages"]?.array?.first?["content"]?.string == "Greet Bo from Acme warmly.")

            let missing = try await g.h.call(
                .post, "/v1/chat/completions", key: g.h.adminKey,
                json: #"{"model": "support-bot", "messages": [], "tern": {"prompt": "greeter", "variables": {"who": "x"}}}"#)
            #expect(missing.status == .badRequest)
            #expect((missing.error["message"] as? String)?.contains("company") == true, "\(missing.text)")
            let unknown = try await g.h.call(
                .post, "/v1/chat/completions", key: g.h.adminKey,
                json: #"{"model": "support-bot", "messages": [], "tern": {"prompt": "nope"}}"#)
            #expect(unknown.status == .notFound)

            let traces = try await g.traces()
            let versions = traces.compactMap { $0.observations.first }.filter { $0.statusCode == 200 }.map {
                "\($0.promptName ?? "-")@\($0.promptVersion ?? 0)"
            }
            #expect(Set(versions) == ["greeter@1", "greeter@2"])
            while try await MetricsEngine.refresh(g.h.store.metrics) > 0 {}
            let metrics = try await MetricsEngine.run(
                MetricsQuery(filter: TraceFilter(from: Date().addingTimeInterval(-3600), to: Date().addingTimeInterval(60)), groupBy: .prompt),
                projectID: g.h.project.id, repository: g.h.store.metrics)
            #expect(Set(metrics.groups.map(\.key)).isSuperset(of: ["greeter@1", "greeter@2"]), "\(metrics.groups.map(\.key))")
        }
    }
}
