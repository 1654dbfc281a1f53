import Foundation
import Synchronization
import TernCore
import Testing
import TernData

/// Vectors chosen by text; counts the texts it was asked for.
final class ScriptedEmbedder: Embedder {
    let modelName = "scripted"
    let dimensions = 3
    let vectors: [String: [Float]]
    let asked = Mutex<[String]>([])

    init(_ vectors: [String: [Float]]) { self.vectors = vectors }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        asked.withLock { $0 += texts }
        return texts.map { vectors[$0] ?? [0, 0, 1] }
    }
}

@Suite("Near-duplicates by meaning")
struct SemanticDuplicatesTests {
    static func unit(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }

    @Test("every pair at or above the threshold counts its later item once; pairs are ordered by similarity; skipped items take no part")
    func find() {
        // 20 dimensions so the SIMD loop runs over a padded tail.
        func vector(_ head: [Float]) -> [Float] { Self.unit(head + [Float](repeating: 0, count: 20 - head.count)) }
        let a = vector([1, 0, 0]), b = vector([0.96, 0.28, 0]), c = vector([0.9, 0.1, 0.42]), d = vector([0, 0, 1])
        let ids = ["a", "b", "c", "d", "e"]
        let found = SemanticDuplicates.find(ids: ids, vectors: [a, b, c, d, a], model: "m", threshold: 0.85)
        // a~b 0.96, a~c 0.9, b~c ~0.889 (all >= 0.85), a~e 1.0, b~e 0.96, c~e 0.9; d matches nothing.
        #expect(found.count == 3, "b, c and e each have an earlier near-duplicate")
        #expect(found.pairs.first.map { [$0.a, $0.b] } == ["a", "e"])
        #expect(found.pairs.map(\.similarity) == found.pairs.map(\.similarity).sorted(by: >))
        #expect(found.pairs.count == 6)
        #expect(!found.pairs.contains { $0.a == "d" || $0.b == "d" })

        let skipped = SemanticDuplicates.find(ids: ids, vectors: [a, b, c, d, a], model: "m", threshold: 0.85, skip: [false, false, false, false, true])
        #expect(skipped.count == 2 && !skipped.pairs.contains { $0.b == "e" })
        let strict = SemanticDuplicates.find(ids: ids, vectors: [a, b, c, d, a], model: "m", threshold: 0.95, skip: [false, false, false, false, true])
        #expect(strict.count == 1 && strict.pairs.map(\.b) == ["b"])
    }

    @Test("at most 20 pairs are kept, the most similar ones")
    func pairLimit() {
        let base = Self.unit([1, 0, 0, 0])
        let vectors = (0..<10).map { index in Self.unit([1, Float(index) * 0.01, 0, 0]) } + [base]
        let found = SemanticDuplicates.find(ids: (0..<11).map(String.init), vectors: vectors, model: "m", threshold: 0.5)
        #expect(found.count == 10)
        #expect(found.pairs.count == SemanticDuplicates.maxPairs)
        let all = (0..<11).flatMap { i in (0..<i).map { j in VectorMath.cosine(vectors[j], vectors[i]) } }.sorted(by: >)
        #expect(abs(found.pairs.last!.similarity - all[SemanticDuplicates.maxPairs - 1]) < 1e-6)
    }

    @Test("dataset statistics embed inputs once, leave exact duplicates out, and bound the item count")
    func statistics() async throws {
        let items = [
            DatasetItem(id: "1", input: ["q": .string("reset my password")]),
            DatasetItem(id: "2", input: ["q": .string("I forgot my password")]),
            DatasetItem(id: "3", input: ["q": .string("Reset  my password")]),
            DatasetItem(id: "4", input: ["q": .string("opening hours")]),
        ]
        let embedder = ScriptedEmbedder([
            "reset my password": [1, 0, 0], "I forgot my password": Self.unit([0.9, 0.3, 0]),
            "Reset  my password": [1, 0, 0], "opening hours": [0, 1, 0],
        ])
        let stats = try await DatasetStats.compute(items).withSemanticDuplicates(items, embedder: embedder, threshold: 0.9)
        #expect(stats.exactDuplicates == 1)
        #expect(stats.semanticDuplicates?.count == 1)
        #expect(stats.semanticDuplicates?.pairs.map { [$0.a, $0.b] } == [["1", "2"]])
        #expect(stats.semanticDuplicates?.model == "scripted")
        await #expect(throws: TernError.self) { try await DatasetStats.compute(items).withSemanticDuplicates(items, embedder: embedder, threshold: 1.5) }
        let many = (0...DatasetStats.maxSemanticItems).map { DatasetItem(id: "\($0)", input: ["q": .string("t\($0)")]) }
        let tooMany = await #expect(throws: TernError.self) {
            try await DatasetStats.compute([]).withSemanticDuplicates(many, embedder: embedder, threshold: 0.9)
        }
        #expect(tooMany?.message.contains("at most \(DatasetStats.maxSemanticItems) items") == true)
    }

    @Test("the caching embedder asks its model only for texts it has not seen, and forgets the oldest beyond its capacity")
    func caching() async throws {
        let base = ScriptedEmbedder(["a": [1, 0, 0], "b": [0, 1, 0]])
        let cached = CachingEmbedder(base, capacity: 2)
        #expect(try await cached.embed(["a", "b", "a"]) == [[1, 0, 0], [0, 1, 0], [1, 0, 0]])
        #expect(try await cached.embed(["b", "a"]) == [[0, 1, 0], [1, 0, 0]])
        #expect(base.asked.withLock { $0.sorted() } == ["a", "b"])
        _ = try await cached.embed(["c"])
        _ = try await cached.embed(["a", "c"])
        #expect(base.asked.withLock { $0.filter { $0 == "a" }.count } == 2, "a was the oldest and was forgotten")
        #expect(base.asked.withLock { $0.filter { $0 == "c" }.count } == 1)
    }
}
