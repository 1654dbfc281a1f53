import Foundation
import TernCore
import TernTestSupport
import Testing

@Suite("Storage contract: datasets")
struct DatasetContractTests {
    static func item(_ id: String, _ question: String, expected: String? = nil, golden: Bool = false) -> DatasetItem {
        DatasetItem(id: id, input: ["question": .string(question)], expectedOutput: expected, metadata: ["task": "qa", "language": "en"], golden: golden)
    }

    @Test("every change makes an immutable version; old versions stay readable; no-op changes make none", arguments: StoreKind.available)
    func versions(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let datasets = test.store.datasets
            _ = try await datasets.create(projectID: project.id, name: "faq", description: "support questions")
            await #expect(throws: TernError.self) { _ = try await datasets.create(projectID: project.id, name: "faq", description: nil) }
            let v1 = try #require(
                try await datasets.apply(
                    projectID: project.id, dataset: "faq",
                    upserts: [Self.item("a", "Where is my order?", expected: "In transit"), Self.item("b", "Refund?")],
                    removals: [], author: "ada", message: "first"))
            #expect(v1.version == 1 && v1.added == 2 && v1.itemCount == 2)
            #expect(
                try await datasets.apply(
                    projectID: project.id, dataset: "faq", upserts: [Self.item("a", "Where is my order?", expected: "In transit")],
                    removals: ["zzz"], author: "ada", message: nil) == nil, "nothing changed")
            let v2 = try #require(
                try await datasets.apply(
                    projectID: project.id, dataset: "faq",
                    upserts: [Self.item("a", "Where is my parcel?", expected: "In transit", golden: true), Self.item("c", "Hours?")],
                    removals: ["b"], author: "bob", message: "edit"))
            #expect(v2.version == 2 && v2.added == 1 && v2.changed == 1 && v2.removed == 1 && v2.itemCount == 2)
            let now = try await datasets.items(projectID: project.id, dataset: "faq", version: nil, after: nil, limit: 100)
            #expect(now.map(\.id) == ["a", "c"])
            #expect(now.first?.input["question"]?.string == "Where is my parcel?")
            #expect(now.first?.golden == true)
            let then = try await datasets.items(projectID: project.id, dataset: "faq", version: 1, after: nil, limit: 100)
            #expect(then.map(\.id) == ["a", "b"])
            #expect(then.first?.input["question"]?.string == "Where is my order?", "version 1 is unchanged")
            #expect(then.first?.expectedOutput == "In transit")
            #expect(then.first?.metadata["task"]?.string == "qa")
            #expect(try await datasets.items(projectID: project.id, dataset: "faq", version: 1, after: "a", limit: 1).map(\.id) == ["b"])
            #expect(try await datasets.versions(projectID: project.id, dataset: "faq").map(\.version) == [2, 1])
            #expect(try await datasets.get(projectID: project.id, name: "faq")?.latestVersion == 2)
            await #expect(throws: TernError.self) {
                _ = try await datasets.items(projectID: project.id, dataset: "faq", version: 7, after: nil, limit: 10)
            }
            let other = try await test.store.projects.create(slug: "q", name: "Q")
            #expect(try await datasets.get(projectID: other.id, name: "faq") == nil, "projects are apart")
        }
    }
}
