import Foundation
import HTTPTypes
import NIOCore
import TernCore
import TernServer
import TernTestSupport
import Testing
import TernData

@Suite("Datasets API")
struct DatasetsAPITests {
    /// `faq`: version 1 from a CSV (q1 golden, q2), version 2 adds q3 from JSONL.
    static func seed(_ h: Harness) async throws {
        #expect(try await h.call(.post, "/api/v1/datasets", key: h.adminKey, json: #"{"name": "faq", "description": "support"}"#).status == .created)
        let csv = "id,question,__expected,language,golden\nq1,Where is my order?,In transit,en,true\nq2,Wo ist meine Bestellung?,Unterwegs,de,false\n"
        let imported = try await h.call(
            .post, "/api/v1/datasets/faq/import?format=csv", key: h.adminKey, body: ByteBuffer(string: csv), headers: [.contentType: "text/csv"])
        #expect(imported.status == .created, "\(imported.text)")
        #expect((imported.json["version"] as? [String: Any])?["added"] as? Int == 2)
        #expect(try await h.call(.post, "/api/v1/datasets/faq/import", key: h.adminKey, body: ByteBuffer(string: Self.jsonl)).status == .created)
    }

    static let jsonl = #"{"id": "q3", "input": {"question": "Refund please"}, "expected": "Sure"}"# + "\n"

    @Test("create and import CSV and JSONL; a second dataset of the same name conflicts; the same import again changes nothing", arguments: StoreKind.available)
    func createAndImport(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.seed(h)
            #expect(try await h.call(.post, "/api/v1/datasets", key: h.adminKey, json: #"{"name": "faq"}"#).status == .conflict)
            let again = try await h.call(.post, "/api/v1/datasets/faq/import", key: h.adminKey, body: ByteBuffer(string: Self.jsonl))
            #expect(again.status == .ok, "the same import changes nothing")
            let detail = try await h.call(.get, "/api/v1/datasets/faq", key: h.adminKey)
            #expect((detail.json["versions"] as? [[String: Any]])?.compactMap { $0["version"] as? Int } == [2, 1])
        }
    }

    @Test("items page by cursor and by version; golden items record who validated them", arguments: StoreKind.available)
    func items(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.seed(h)
            let items = try await h.call(.get, "/api/v1/datasets/faq/items?limit=2", key: h.adminKey)
            #expect(items.data.compactMap { $0["id"] as? String } == ["q1", "q2"])
            let golden = try #require(items.data.first)
            #expect(golden["golden"] as? Bool == true)
            #expect(golden["validated_by"] as? String != nil, "golden items record who validated them")
            let next = try #require(items.json["next_cursor"] as? String)
            #expect(try await h.call(.get, "/api/v1/datasets/faq/items?cursor=\(next)", key: h.adminKey).data.compactMap { $0["id"] as? String } == ["q3"])
            #expect(try await h.call(.get, "/api/v1/datasets/faq/items?version=1", key: h.adminKey).data.count == 2)
        }
    }

    @Test("export as CSV (a past version) and JSONL; statistics by language", arguments: StoreKind.available)
    func exportAndStats(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.seed(h)
            let export = try await h.call(.get, "/api/v1/datasets/faq/export?format=csv&version=1", key: h.adminKey)
            #expect(export.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(try DatasetImport.csv(export.text).map(\.id) == ["q1", "q2"])
            let jsonlExport = try await h.call(.get, "/api/v1/datasets/faq/export", key: h.adminKey)
            #expect(jsonlExport.text.split(separator: "\n").count == 3)
            let stats = try await h.call(.get, "/api/v1/datasets/faq/stats", key: h.adminKey)
            #expect(stats.json["item_count"] as? Int == 3)
            #expect(stats.json["by_language"] as? [String: Int] == ["en": 1, "de": 1, "(none)": 1])
        }
    }

    @Test("production traces become items (input, output as the expected answer, segments); adding them twice changes nothing", arguments: StoreKind.available)
    func fromTraces(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.seed(h)
            let batch = """
                {"batch": [{"id": "e1", "type": "trace-create", "body": {"id": "t-bad", "input": "Cancel my plan", "output": "Sorry, I cannot",
                            "metadata": {"task": "support", "language": "en"}, "tags": ["bad"]}},
                           {"id": "e2", "type": "trace-create", "body": {"id": "t-ok", "input": "Hello", "output": "Hi"}}]}
                """
            _ = try await h.call(.post, "/api/v1/ingest", key: h.adminKey, json: batch)
            let fromTraces = try await h.call(.post, "/api/v1/datasets/faq/from-traces", key: h.adminKey, json: #"{"filter": {"tag": "bad"}}"#)
            #expect(fromTraces.status == .created, "\(fromTraces.text)")
            #expect((fromTraces.json["version"] as? [String: Any])?["added"] as? Int == 1)
            #expect(try await h.call(.post, "/api/v1/datasets/faq/from-traces", key: h.adminKey, json: #"{"trace_ids": ["t-bad"]}"#).status == .ok)
            let added = try await h.call(.get, "/api/v1/datasets/faq/items", key: h.adminKey).data.first { $0["source_trace_id"] as? String == "t-bad" }
            #expect(added?["expected_output"] as? String == "Sorry, I cannot")
            #expect((added?["metadata"] as? [String: Any])?["task"] as? String == "support")
        }
    }

    @Test("bad input names the field; an unknown dataset is 404", arguments: StoreKind.available)
    func badInput(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            try await Self.seed(h)
            #expect(try await h.call(.post, "/api/v1/datasets/faq/import?format=xml", key: h.adminKey, body: ByteBuffer(string: "<a/>")).errorField == "format")
            #expect(
                try await h.call(.post, "/api/v1/datasets/faq/items", key: h.adminKey, json: #"{"items": [{"expected": "x"}]}"#).errorField == "items[0].input")
            #expect(try await h.call(.get, "/api/v1/datasets/nope/items", key: h.adminKey).status == .notFound)
        }
    }
}
