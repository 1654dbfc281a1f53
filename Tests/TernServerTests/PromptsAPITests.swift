import Foundation
import HTTPTypes
import TernCore
import TernServer
import TernTestSupport
import Testing

@Suite("Prompts API")
struct PromptsAPITests {
    static let prompt = """
        {"name": "support-bot", "messages": [{"role": "system", "content": "You help {{ company }} customers."},
                                             {"role": "user", "content": "{{question}}"}],
         "config": {"model": "bot", "temperature": 0.3, "max_tokens": 300}, "commit_message": "first", "labels": ["production"]}
        """

    /// Version 1 (production) and version 2 (staging, reworded) of `support-bot`.
    static func seed(_ h: Harness) async throws {
        #expect(try await h.call(.post, "/api/v1/prompts", key: h.adminKey, json: Self.prompt).status == .created)
        let changed = Self.prompt.replacingOccurrences(of: "You help", with: "You kindly help")
            .replacingOccurrences(of: #""labels": ["production"]"#, with: #""labels": ["staging"]"#)
        #expect(try await h.call(.post, "/api/v1/prompts", key: h.adminKey, json: changed).status == .created)
    }

    @Test("a push makes version 1 with inferred variables and its labels; the same content again makes no new version", arguments: StoreKind.available)
    func push(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let first = try await h.call(.post, "/api/v1/prompts", key: h.adminKey, json: Self.prompt)
            #expect(first.status == .created, "\(first.text)")
            let created = try #require(first.json["prompt"] as? [String: Any])
            #expect(created["version"] as? Int == 1)
            #expect(created["variables"] as? [String] == ["company", "question"], "inferred from the templates")
            #expect(created["labels"] as? [String] == ["production"])
            let again = try await h.call(.post, "/api/v1/prompts", key: h.adminKey, json: Self.prompt)
            #expect(again.status == .ok)
            #expect(again.json["created"] as? Bool == false)
            #expect(try await h.call(.get, "/api/v1/prompts/support-bot/versions", key: h.adminKey).data.count == 1)
        }
    }

    @Test("fetch by label (production by default), by version (immutable) and latest, with ETags", arguments: StoreKind.available)
    func fetch(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.seed(h)
            let production = try await h.call(.get, "/api/v1/prompts/support-bot", key: h.adminKey)
            #expect(production.json["version"] as? Int == 1, "production by default")
            #expect(production.headers[.cacheControl] == "private, max-age=10")
            let tag = try #require(production.headers[.eTag])
            let cached = try await h.call(.get, "/api/v1/prompts/support-bot", key: h.adminKey, headers: [.ifNoneMatch: tag])
            #expect(cached.status == .notModified)
            let pinned = try await h.call(.get, "/api/v1/prompts/support-bot?version=2", key: h.adminKey)
            #expect(pinned.headers[.cacheControl]?.contains("immutable") == true)
            #expect((pinned.json["messages"] as? [[String: Any]])?.first?["content"] as? String == "You kindly help {{ company }} customers.")
            #expect(try await h.call(.get, "/api/v1/prompts/support-bot?label=latest", key: h.adminKey).json["version"] as? Int == 2)
            #expect(try await h.call(.get, "/api/v1/prompts/support-bot?version=9", key: h.adminKey).status == .notFound)
            #expect(try await h.call(.get, "/api/v1/prompts/nothing", key: h.adminKey).status == .notFound)
        }
    }

    @Test("moving a label is recorded, staleness shows through the ETag, and the lists follow", arguments: StoreKind.available)
    func moveLabel(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.seed(h)
            let tag = try #require(try await h.call(.get, "/api/v1/prompts/support-bot", key: h.adminKey).headers[.eTag])
            let move = try await h.call(.post, "/api/v1/prompts/support-bot/labels", key: h.adminKey, json: #"{"label": "production", "version": 2}"#)
            #expect(move.status == .created)
            #expect(move.json["from_version"] as? Int == 1)
            let moved = try await h.call(.get, "/api/v1/prompts/support-bot", key: h.adminKey, headers: [.ifNoneMatch: tag])
            #expect(moved.status == .ok, "the label moved, so the cached copy is stale")
            #expect(moved.json["version"] as? Int == 2)
            #expect(try await h.call(.get, "/api/v1/prompts/support-bot/labels", key: h.adminKey).data.count == 3)
            #expect(try await h.call(.get, "/api/v1/prompts/support-bot/versions", key: h.adminKey).data.compactMap { $0["version"] as? Int } == [2, 1])
            #expect(try await h.call(.get, "/api/v1/prompts", key: h.adminKey).data.first?["latest_version"] as? Int == 2)
            #expect(
                try await h.call(.post, "/api/v1/prompts/support-bot/labels", key: h.adminKey, json: #"{"label": "latest", "version": 1}"#).errorField
                    == "label")
        }
    }

    @Test("render fills the variables in; a missing one is named", arguments: StoreKind.available)
    func render(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.seed(h)
            let rendered = try await h.call(
                .post, "/api/v1/prompts/support-bot/render?version=1", key: h.adminKey,
                json: #"{"variables": {"company": "Acme", "question": "Where is my parcel?"}}"#)
            #expect(rendered.status == .ok, "\(rendered.text)")
            #expect((rendered.json["messages"] as? [[String: Any]])?.map { $0["content"] as? String } == ["You help Acme customers.", "Where is my parcel?"])
            let missing = try await h.call(.post, "/api/v1/prompts/support-bot/render", key: h.adminKey, json: #"{"variables": {"company": "Acme"}}"#)
            #expect(missing.status == .badRequest)
            #expect((missing.error["message"] as? String)?.contains("question") == true)
        }
    }

    @Test("bad prompts are refused naming the field; viewers read but cannot push", arguments: StoreKind.available)
    func errorsAndRoles(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let undeclared = try await h.call(
                .post, "/api/v1/prompts", key: h.adminKey,
                json: #"{"name": "x", "prompt": "Hi {{ who }}", "variables": ["name"]}"#)
            #expect(undeclared.errorField == "variables")
            #expect((undeclared.error["message"] as? String)?.contains("who") == true)
            #expect(try await h.call(.post, "/api/v1/prompts", key: h.adminKey, json: #"{"name": "x", "prompt": "a", "colour": 1}"#).errorField == "colour")
            #expect(try await h.call(.post, "/api/v1/prompts", key: h.adminKey, json: #"{"name": "bad name", "prompt": "a"}"#).errorField == "name")
            try await Self.seed(h)
            let viewer = try await h.createKey(name: "v", role: "viewer", as: h.adminKey)
            #expect(try await h.call(.post, "/api/v1/prompts", key: viewer, json: Self.prompt).status == .forbidden)
            #expect(try await h.call(.get, "/api/v1/prompts/support-bot", key: viewer).status == .ok)
        }
    }
}
