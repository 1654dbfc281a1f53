import Foundation
import TernCore
@testable import TernMonitor
import Testing

/// Text drift (embeddings, topics), the MMD permutation test, topics over time and the readable text of traces,
/// on the synthetic themed traffic of `TopicClustersTests` (texts embedded by a lookup of their vectors).
@Suite("Text drift")
struct TextDriftTests {
    /// Embeds each text as the vector it was generated with.
    struct LookupEmbedder: Embedder {
        let vectors: [String: [Float]]
        var modelName: String { "lookup" }
        var dimensions: Int { 32 }
        func embed(_ texts: [String]) async throws -> [[Float]] { texts.map { vectors[$0]! } }
    }

    static func embedder(_ traffic: TopicClustersTests.Traffic...) -> LookupEmbedder {
        var vectors: [String: [Float]] = [:]
        for t in traffic { for (text, vector) in zip(t.texts, t.vectors) { vectors[text] = vector } }
        return LookupEmbedder(vectors: vectors)
    }

    @Test("a current sample with a topic the reference lacks drifts, names the new topic's terms, and counts as a drifted column")
    func newTopic() async throws {
        let reference = TopicClustersTests.traffic([(0, 60), (1, 60)], seed: 11)
        let same = TopicClustersTests.traffic([(0, 50), (1, 50)], seed: 12)
        let shifted = TopicClustersTests.traffic([(0, 30), (1, 30), (3, 40)], seed: 13)
        let embedder = Self.embedder(reference, same, shifted)
        var options = TextDriftOptions()
        options.k = 2
        let drifted = try await TextDrift.compare(
            column: "question", reference: reference.texts, current: shifted.texts, embedder: embedder, options: options)
        #expect(drifted.embeddingDrift && drifted.driftDetected && drifted.statistic > 0.6, "\(drifted)")
        let topics = try #require(drifted.topics)
        #expect(topics.newTopic && topics.unassignedShare > 0.35 && topics.unassignedShare < 0.45, "\(topics)")
        #expect(!Set(topics.newTopicTerms).isDisjoint(with: TopicClustersTests.themes[3]), "\(topics.newTopicTerms)")
        let steady = try await TextDrift.compare(
            column: "question", reference: reference.texts, current: same.texts, embedder: embedder, options: options)
        #expect(!steady.driftDetected && steady.topics?.newTopic == false, "\(steady)")

        // In a report: one drifted column of two (the text), at the 0.5 share: dataset drift.
        let tabular = DriftReport(columns: [], skipped: [], numberDrifted: 0, shareDrifted: 0, driftShare: 0.5, datasetDrift: false)
        let both = tabular.adding(text: [drifted, steady])
        #expect(both.numberDrifted == 1 && both.shareDrifted == 0.5 && both.datasetDrift)
        let json = try JSONValue.parse(try JSONEncoder().encode(both))
        #expect(json["text_columns"]?.array?.count == 2 && json["text_columns"]?[0]?["topics"]?["new_topic"]?.bool == true)
        // Without text columns the JSON is `tern drift`'s as before.
        #expect(try JSONValue.parse(try JSONEncoder().encode(tabular))["text_columns"] == nil)
    }

    @Test("too few texts are refused naming the column; empty texts are left out")
    func tooFew() async throws {
        let reference = TopicClustersTests.traffic([(0, 20)], seed: 3)
        let embedder = Self.embedder(reference)
        let current = ["", ""] + Array(reference.texts.prefix(3))
        do {
            _ = try await TextDrift.compare(column: "answer", reference: reference.texts, current: current, embedder: embedder)
            Issue.record("3 texts were compared")
        } catch let error as TernError {
            #expect(error.field == "answer" && error.message.contains("3 non-empty texts in the current"), "\(error)")
        }
    }

    @Test("the MMD permutation test: small p for shifted samples, large for samples of one distribution; decides with permutationTest")
    func mmdPermutation() throws {
        let a = TopicClustersTests.traffic([(0, 40), (1, 40)], seed: 21)
        let b = TopicClustersTests.traffic([(0, 40), (1, 40)], seed: 22)
        let c = TopicClustersTests.traffic([(0, 20), (1, 20), (2, 40)], seed: 23)
        let same = try DriftStatistics.embeddingDrift(reference: a.vectors, current: b.vectors, method: .mmd)
        let shifted = try DriftStatistics.embeddingDrift(reference: a.vectors, current: c.vectors, method: .mmd)
        let sameP = try #require(same.pValue), shiftedP = try #require(shifted.pValue)
        #expect(shiftedP < 0.02 && sameP > 0.05, "p same \(sameP), shifted \(shiftedP)")
        let decided = try DriftStatistics.embeddingDrift(
            reference: a.vectors, current: c.vectors, method: .mmd, options: EmbeddingDriftOptions(permutationTest: true))
        #expect(decided.driftDetected && decided.threshold == 0.05 && decided.statistic == shifted.statistic)
        #expect(try DriftStatistics.embeddingDrift(reference: a.vectors, current: b.vectors, method: .model).pValue == nil)
    }

    @Test("topics over time: the clusters' shares per bucket, and only a topic that appears in the second half is new")
    func timeline() throws {
        let early = TopicClustersTests.traffic([(0, 30), (1, 30)], seed: 31)
        let late = TopicClustersTests.traffic([(0, 15), (1, 15), (2, 30)], seed: 32)
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let buckets = (0..<4).map { start.addingTimeInterval(Double($0) * 3600) }
        // Early texts in buckets 0 and 1, late ones in 2 and 3.
        let times =
            early.texts.indices.map { start.addingTimeInterval(Double($0 % 2) * 3600 + 60) }
            + late.texts.indices.map { start.addingTimeInterval(Double(2 + $0 % 2) * 3600 + 60) }
        let timeline = try TopicClustering.timeline(
            texts: early.texts + late.texts, vectors: early.vectors + late.vectors, times: times, bucketStarts: buckets, k: 3)
        #expect(timeline.sampled == 120 && timeline.buckets.map(\.count) == [30, 30, 30, 30])
        let new = timeline.clusters.filter(\.new)
        #expect(new.count == 1 && timeline.newTopic, "\(timeline.clusters)")
        let weather = try #require(new.first)
        #expect(!Set(weather.terms).isDisjoint(with: TopicClustersTests.themes[2]) && weather.firstSeen == buckets[2])
        #expect(timeline.buckets[0].shares[weather.id] == 0 && timeline.buckets[3].shares[weather.id] == 0.5)
        for bucket in timeline.buckets { #expect(abs(bucket.shares.reduce(0, +) + bucket.unassigned - 1) < 1e-9) }
        // The same topics all along: nothing new.
        let steady = try TopicClustering.timeline(
            texts: early.texts + early.texts, vectors: early.vectors + early.vectors,
            times: times, bucketStarts: buckets, k: 2)
        #expect(!steady.newTopic)
    }

    @Test("the readable text of a trace: the last user message, the assistant's answer, content parts, plain text")
    func readable() {
        #expect(TraceText.readable(#"[{"role":"system","content":"be nice"},{"role":"user","content":"where is my parcel?"}]"#) == "where is my parcel?")
        #expect(TraceText.readable(#"{"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url"}]}]}"#) == "hi")
        #expect(TraceText.readable(#"{"choices":[{"message":{"role":"assistant","content":"It left today."}}]}"#) == "It left today.")
        #expect(TraceText.readable(#"{"role":"assistant","content":"ok"}"#) == "ok")
        #expect(TraceText.readable(#""quoted""#) == "quoted")
        #expect(TraceText.readable("  plain words ") == "plain words")
        #expect(TraceText.readable(#"{"question": "why?"}"#) == "why?")
        #expect(TraceText.readable("") == nil && TraceText.readable(nil) == nil)
    }
}
