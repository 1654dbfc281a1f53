import Foundation
public import TernCore

/// How text columns are compared: their embeddings (local `all-minilm-l6-v2` or any `Embedder`) with one of
/// Evidently's embedding drift methods, and the topic clusters of the two samples.
public struct TextDriftOptions: Sendable {
    public var method: EmbeddingDriftMethod = .model
    public var embedding = EmbeddingDriftOptions()
    /// At most this many texts of each side are embedded: a seeded sample of the rest (embedding is the slow part).
    public var maxRows = 1_000
    /// Also fit topic clusters on the reference and compare the current sample's topics with them.
    public var topics = true
    /// The number of topic clusters (nil: chosen by silhouette, 2...12).
    public var k: Int?
    public var seed: UInt64 = 42
    public init() {}
}

/// The topics of the reference against those of the current sample (`TopicClustering.shift`).
public struct TopicDriftReport: Sendable, Codable, Equatable {
    public struct Cluster: Sendable, Codable, Equatable {
        public var label: String
        public var terms: [String]
        public var referenceShare: Double
        public var currentShare: Double

        enum CodingKeys: String, CodingKey {
            case label, terms
            case referenceShare = "reference_share"
            case currentShare = "current_share"
        }
    }

    public var clusters: [Cluster]
    /// The share of current texts that belong to no reference topic.
    public var unassignedShare: Double
    /// A topic the reference does not have (a drift signal), with its top terms.
    public var newTopic: Bool
    public var newTopicTerms: [String]
    /// Jensen-Shannon distance between the topic shares (the texts of no topic as one more bucket).
    public var jensenShannon: Double

    enum CodingKeys: String, CodingKey {
        case clusters
        case unassignedShare = "unassigned_share"
        case newTopic = "new_topic"
        case newTopicTerms = "new_topic_terms"
        case jensenShannon = "jensen_shannon"
    }
}

/// One text column's drift: the embedding test's verdict, and its topics.
public struct TextDriftReport: Sendable, Codable, Equatable {
    public var column: String
    /// The embedding model.
    public var model: String
    public var method: EmbeddingDriftMethod
    public var statistic: Double
    /// The permutation test's p-value (`mmd`), else nil.
    public var pValue: Double?
    public var threshold: Double
    /// The embedding test's verdict.
    public var embeddingDrift: Bool
    /// The embedding test drifted, or the current sample has a topic the reference has not.
    public var driftDetected: Bool
    /// Texts compared (after sampling).
    public var referenceCount: Int
    public var currentCount: Int
    public var topics: TopicDriftReport?
    /// Why topics are missing, when they are.
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case column, model, method, statistic, threshold, topics, note
        case pValue = "p_value"
        case embeddingDrift = "embedding_drift"
        case driftDetected = "drift_detected"
        case referenceCount = "reference_count"
        case currentCount = "current_count"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(column, forKey: .column)
        try container.encode(model, forKey: .model)
        try container.encode(method, forKey: .method)
        try container.encode(statistic.isFinite ? statistic : nil, forKey: .statistic)
        try container.encode(pValue, forKey: .pValue)
        try container.encode(threshold, forKey: .threshold)
        try container.encode(embeddingDrift, forKey: .embeddingDrift)
        try container.encode(driftDetected, forKey: .driftDetected)
        try container.encode(referenceCount, forKey: .referenceCount)
        try container.encode(currentCount, forKey: .currentCount)
        try container.encodeIfPresent(topics, forKey: .topics)
        try container.encodeIfPresent(note, forKey: .note)
    }
}

public enum TextDrift {
    /// A seeded sample of at most `limit` indices of `0..<count`, in ascending order (all when count <= limit).
    static func sample(_ count: Int, limit: Int, seed: UInt64) -> [Int] {
        guard count > limit else { return Array(0..<count) }
        var random = SplitMix64(seed: seed)
        var indices = Array(0..<count)
        for i in 0..<limit {
            let j = i + Int(random.next() % UInt64(count - i))
            indices.swapAt(i, j)
        }
        return indices[0..<limit].sorted()
    }

    /// Compares the texts of one column: both samples embedded (at most `maxRows` each), Evidently's embedding
    /// drift of the vectors, and, with `topics`, the current sample's topics against those fitted on the reference.
    /// Empty texts are left out.
    /// - Throws: `TernError.invalid(column, ...)` when a side has too few texts for the method.
    public static func compare(
        column: String, reference: [String], current: [String], embedder: any Embedder, options: TextDriftOptions = TextDriftOptions()
    ) async throws -> TextDriftReport {
        let referenceTexts = reference.filter { !$0.isEmpty }, currentTexts = current.filter { !$0.isEmpty }
        let limit = max(10, options.maxRows)
        let r = sample(referenceTexts.count, limit: limit, seed: options.seed).map { referenceTexts[$0] }
        let c = sample(currentTexts.count, limit: limit, seed: options.seed &+ 1).map { currentTexts[$0] }
        for (texts, side) in [(r, "reference"), (c, "current")] where texts.count < 4 {
            throw TernError.invalid(column, "the text column \"\(column)\" has \(texts.count) non-empty texts in the \(side); at least 4 are needed")
        }
        let vectors = try await embedder.embed(r + c)
        let referenceVectors = Array(vectors[0..<r.count]), currentVectors = Array(vectors[r.count...])
        let result: EmbeddingDriftResult
        do {
            result = try DriftStatistics.embeddingDrift(
                reference: referenceVectors, current: currentVectors, method: options.method, options: options.embedding)
        } catch {
            throw TernError.invalid(column, "embedding drift of \"\(column)\" failed: \(error)")
        }
        var report = TextDriftReport(
            column: column, model: embedder.modelName, method: result.method, statistic: result.statistic, pValue: result.pValue,
            threshold: result.threshold, embeddingDrift: result.driftDetected, driftDetected: result.driftDetected,
            referenceCount: r.count, currentCount: c.count, topics: nil, note: nil)
        guard options.topics else { return report }
        if let k = options.k, k > r.count {
            report.note = "no topics: k = \(k) exceeds the \(r.count) reference texts"
            return report
        }
        do {
            let model = try TopicClustering.fit(vectors: referenceVectors, texts: r, k: options.k, seed: options.seed)
            let shift = TopicClustering.shift(reference: referenceVectors, current: currentVectors, currentTexts: c, model: model)
            report.topics = TopicDriftReport(
                clusters: model.labels.indices.map {
                    .init(label: model.labels[$0], terms: model.terms[$0], referenceShare: shift.referenceShare[$0], currentShare: shift.currentShare[$0])
                },
                unassignedShare: shift.unassignedShare, newTopic: shift.newTopic, newTopicTerms: shift.newTopicTerms,
                jensenShannon: shift.jensenShannon)
            report.driftDetected = report.driftDetected || shift.newTopic
        } catch {
            report.note = "no topics: \(error)"
        }
        return report
    }
}

extension DriftReport {
    /// The report with text columns added: each counts as one column in the share of drifted columns and in
    /// dataset drift.
    public func adding(text: [TextDriftReport]) -> DriftReport {
        var report = self
        report.text = text
        let columns = self.columns.count + text.count
        report.numberDrifted = self.columns.count { $0.driftDetected } + text.count { $0.driftDetected }
        report.shareDrifted = columns == 0 ? 0 : Double(report.numberDrifted) / Double(columns)
        report.datasetDrift = columns > 0 && report.shareDrifted >= driftShare
        return report
    }
}
