public import Foundation
import TernCore

/// The topics of traffic over time: clusters fitted on a sample of a period's texts, their shares per bucket of
/// time, and which clusters are new (absent from the first half of the period, present in the second).
public struct TopicTimeline: Sendable, Codable, Equatable {
    public struct Cluster: Sendable, Codable, Equatable {
        /// 0-based; `Bucket.shares` are in this order.
        public var id: Int
        public var label: String
        public var terms: [String]
        /// Sampled texts in the cluster, and their share of all sampled texts.
        public var size: Int
        public var share: Double
        /// The start of the first bucket with a text of the cluster.
        public var firstSeen: Date?
        /// A new topic: under 1% of the first half's sampled texts, at least 5% of the second half's (and at
        /// least 5 texts), with at least 20 sampled texts in the first half. The halves split the buckets from the
        /// first with texts to the last with texts.
        public var new: Bool

        enum CodingKeys: String, CodingKey {
            case id, label, terms, size, share, new
            case firstSeen = "first_seen"
        }
    }

    public struct Bucket: Sendable, Codable, Equatable {
        public var start: Date
        /// Sampled texts in the bucket.
        public var count: Int
        /// The share of the bucket's sampled texts in each cluster.
        public var shares: [Double]
        /// The share that belongs to no cluster (far from every centroid).
        public var unassigned: Double
    }

    public var clusters: [Cluster]
    public var buckets: [Bucket]
    public var sampled: Int
    /// Whether any cluster is new (a drift signal).
    public var newTopic: Bool

    enum CodingKeys: String, CodingKey {
        case clusters, buckets, sampled
        case newTopic = "new_topic"
    }
}

extension TopicClustering {
    /// Fits topics on every text (`vectors[i]` is the embedding of `texts[i]`, seen at `times[i]`) and counts
    /// them per bucket: `bucketStarts` ascending, each text in the last bucket starting at or before it.
    public static func timeline(
        texts: [String], vectors: [[Float]], times: [Date], bucketStarts: [Date], k: Int? = nil, seed: UInt64 = 42
    ) throws -> TopicTimeline {
        guard texts.count == vectors.count, texts.count == times.count else {
            throw TopicClusteringError("There are \(texts.count) texts, \(vectors.count) vectors and \(times.count) times.")
        }
        guard !bucketStarts.isEmpty else { throw TopicClusteringError("No buckets.") }
        let model = try fit(vectors: vectors, texts: texts, k: k, seed: seed)
        let assigned = assign(vectors, to: model)
        let k = model.centroids.count
        func bucket(_ time: Date) -> Int {
            var low = 0, high = bucketStarts.count - 1
            while low < high {
                let mid = (low + high + 1) / 2
                if bucketStarts[mid] <= time { low = mid } else { high = mid - 1 }
            }
            return low
        }
        var counts = [[Int]](repeating: [Int](repeating: 0, count: k + 1), count: bucketStarts.count)
        for (i, cluster) in assigned.enumerated() { counts[bucket(times[i])][cluster ?? k] += 1 }
        let buckets = bucketStarts.indices.map { b -> TopicTimeline.Bucket in
            let total = counts[b].reduce(0, +)
            let share = { (count: Int) in total == 0 ? 0 : Double(count) / Double(total) }
            return .init(start: bucketStarts[b], count: total, shares: counts[b][..<k].map(share), unassigned: share(counts[b][k]))
        }
        // The halves of the buckets from the first with texts to the last with texts.
        let filled = counts.indices.filter { counts[$0].reduce(0, +) > 0 }
        let low = filled.first ?? 0, high = (filled.last ?? 0) + 1
        let half = low + max(1, (high - low) / 2)
        func total(_ range: Range<Int>, cluster: Int?) -> Int {
            range.reduce(0) { sum, b in sum + (cluster.map { counts[b][$0] } ?? counts[b].reduce(0, +)) }
        }
        let first = low..<min(half, high), second = min(half, high)..<high
        let firstTotal = total(first, cluster: nil), secondTotal = total(second, cluster: nil)
        let sampled = texts.count
        let clusters = (0..<k).map { c -> TopicTimeline.Cluster in
            let size = counts.reduce(0) { $0 + $1[c] }
            let early = total(first, cluster: c), late = second.isEmpty ? 0 : total(second, cluster: c)
            let isNew =
                firstTotal >= 20 && secondTotal > 0 && Double(early) < 0.01 * Double(firstTotal) && late >= 5
                && Double(late) >= 0.05 * Double(secondTotal)
            return .init(
                id: c, label: model.labels[c], terms: model.terms[c], size: size, share: sampled == 0 ? 0 : Double(size) / Double(sampled),
                firstSeen: counts.indices.first { counts[$0][c] > 0 }.map { bucketStarts[$0] }, new: isNew)
        }
        return TopicTimeline(clusters: clusters, buckets: buckets, sampled: sampled, newTopic: clusters.contains(where: \.new))
    }
}
