import Foundation
import TernCore
import TernLocal
import TernTestSupport
import Testing

/// Tern's tokenizer and encoder against the reference (sentence-transformers on PyTorch), sentence by
/// sentence, over the fixture made by scripts/embedding-reference.py.
@Suite("all-MiniLM-L6-v2 against the reference")
struct ReferenceTests {
    @Test("the model is installed when the test script requires it")
    func modelPresentWhenRequired() {
        if InstalledModel.required {
            #expect(RealModel.directory != nil, "TERN_TEST_REQUIRE_MODEL=1 but all-minilm-l6-v2 is not installed in \(LocalModels.defaultDirectory.path)")
        }
    }

    @Test("the fixture covers what it must")
    func fixtureCoverage() {
        let fixture = ReferenceFixture.shared
        #expect(fixture.sentences.count >= 60)
        let categories = Set(fixture.sentences.map(\.category))
        for category in [
            "english", "french", "spanish", "portuguese", "vietnamese", "german", "chinese", "japanese", "emoji", "code", "punctuation", "control", "long",
        ] {
            #expect(categories.contains(category), "no \(category) sentence")
        }
        #expect(fixture.sentences.contains { $0.text.isEmpty })
        #expect(fixture.sentences.contains { $0.ids.count == fixture.max_seq_length }, "no sentence reaches the truncation")
        #expect(fixture.sentences.allSatisfy { $0.embedding.count == 384 })
    }

    @Test("token ids are identical to the reference tokenizer's for every sentence", .enabled(if: RealModel.enabled))
    func tokenIDs() async throws {
        let tokenizer = try await RealModel.embedder().tokenizer
        for sentence in ReferenceFixture.shared.sentences {
            #expect(tokenizer.encode(sentence.text) == sentence.ids, "\(sentence.category): \(sentence.text.debugDescription.prefix(80))")
        }
    }

    @Test("every embedding has cosine similarity >= 0.9999 to the reference", .enabled(if: RealModel.enabled))
    func embeddings() async throws {
        let embedder = try await RealModel.embedder()
        let fixture = ReferenceFixture.shared
        let vectors = try await embedder.embed(fixture.sentences.map(\.text))
        var worst = 1.0
        for (sentence, vector) in zip(fixture.sentences, vectors) {
            let cosine = VectorMath.cosine(vector, sentence.embedding)
            worst = min(worst, cosine)
            #expect(cosine >= 0.9999, "\(sentence.category): cosine \(cosine) for \(sentence.text.debugDescription.prefix(80))")
            let norm = vector.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
        print("lowest cosine to the reference over \(fixture.sentences.count) sentences: \(worst)")
    }

    @Test("a batch gives the same vectors as one text at a time", .enabled(if: RealModel.enabled))
    func batchEqualsSingle() async throws {
        let embedder = try await RealModel.embedder()
        let texts = ReferenceFixture.shared.sentences.map(\.text)
        let batch = try await embedder.embed(texts)
        for (index, text) in texts.enumerated() {
            let single = try await embedder.embed([text])[0]
            let difference = zip(single, batch[index]).map { abs($0 - $1) }.max() ?? 0
            #expect(difference <= 1e-5, "\(text.debugDescription.prefix(60)): differs by \(difference)")
        }
    }

    @Test("concurrent callers share one instance and get correct vectors", .enabled(if: RealModel.enabled))
    func concurrentCallers() async throws {
        let first = try await RealModel.embedder()
        let fixture = ReferenceFixture.shared
        let results = try await withThrowingTaskGroup(of: (Int, [Float], Bool).self) { group in
            for index in 0..<16 {
                group.addTask {
                    let embedder = try await LocalEmbedder.shared()
                    let sentence = fixture.sentences[index]
                    return (index, try await embedder.embed([sentence.text])[0], embedder === first)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for (index, vector, same) in results {
            #expect(same)
            #expect(VectorMath.cosine(vector, fixture.sentences[index].embedding) >= 0.9999)
        }
    }

    @Test("the embedder speaks the Embedder protocol", .enabled(if: RealModel.enabled))
    func embedderProtocol() async throws {
        let embedder: any Embedder = try await RealModel.embedder()
        #expect(embedder.modelName == "all-minilm-l6-v2")
        #expect(embedder.dimensions == 384)
        #expect(try await embedder.embed([]).isEmpty)
        let vectors = try await embedder.embed(["A man is eating food.", "A man is eating a piece of bread.", "The stock market fell sharply."])
        #expect(VectorMath.cosine(vectors[0], vectors[1]) > VectorMath.cosine(vectors[0], vectors[2]) + 0.3)
    }

    @Test("the installed files match the pinned digests", .enabled(if: RealModel.enabled))
    func installedDigests() throws {
        let directory = try #require(RealModel.directory)
        try LocalModels.verify(.allMiniLML6V2, directory: directory)
    }
}
