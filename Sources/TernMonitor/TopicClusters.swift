import Foundation
import TernCore

/// Topics of a reference window of traffic: spherical k-means clusters of its embeddings, each with a readable label.
///
/// Made by `TopicClustering.fit`; later windows are compared with it by `TopicClustering.shift`.
public struct TopicModel: Sendable, Equatable, Codable {
    /// The unit-length centre of each cluster.
    public let centroids: [[Float]]
    /// A readable label per cluster: its top 3 terms joined by ", ", or "cluster N" (1-based) when it has no terms.
    public let labels: [String]
    /// The top 8 terms of each cluster by class-based TF-IDF, best first.
    public let terms: [[String]]
    /// The number of reference points in each cluster.
    public let sizes: [Int]
    /// The 95th percentile of the cosine distances of each cluster's members to its centroid.
    public let radius: [Float]

    public init(centroids: [[Float]], labels: [String], terms: [[String]], sizes: [Int], radius: [Float]) {
        self.centroids = centroids
        self.labels = labels
        self.terms = terms
        self.sizes = sizes
        self.radius = radius
    }
}

/// How the topics of a current window differ from those of the reference.
public struct TopicShift: Sendable, Equatable, Codable {
    /// The share of reference points in each cluster (those belonging to no cluster make up the rest).
    public let referenceShare: [Double]
    /// The share of current points in each cluster.
    public let currentShare: [Double]
    /// The share of current points that belong to no cluster.
    public let unassignedShare: Double
    /// Whether the unassigned current points look like a topic the model does not know.
    public let newTopic: Bool
    /// The top 5 terms of the unassigned current texts when `newTopic`, else empty.
    public let newTopicTerms: [String]
    /// The Jensen-Shannon distance (natural logarithm) between the reference and current shares, each with an
    /// extra bucket for the points belonging to no cluster.
    public let jensenShannon: Double
}

/// Why `TopicClustering.fit` refused its input.
public struct TopicClusteringError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }

    init(_ message: String) { self.message = message }
}

/// Topic clusters of traffic: k-means over embeddings with a label per cluster from its texts, and the drift of
/// a window's topics against a reference, where a new topic is a drift signal.
public enum TopicClustering {
    /// Clusters embeddings by spherical k-means (cosine similarity) and labels each cluster by the class-based
    /// TF-IDF (BERTopic's c-TF-IDF) of its texts.
    ///
    /// The vectors are normalised; each point goes to the centroid of largest dot product and each centroid is the
    /// normalised mean of its points, from a k-means++ start drawn by a PRNG seeded with `seed`, until no point
    /// moves or after `maxIterations` (at least 1) updates. A cluster left empty is reseeded with the point farthest
    /// from its centroid. When `k` is nil, each k in 2...min(12, n / 5) is fitted and the one of best mean
    /// silhouette (cosine distance) on a seeded sample of at most 1,000 points is kept (ties: the smaller k), so
    /// the result equals `fit` with that k.
    /// - Throws: `TopicClusteringError` when there are no vectors, the texts do not match the vectors one for
    ///   one, the vectors have no components or differing dimensions, or k is below 2 or above the vector count.
    public static func fit(
        vectors: [[Float]], texts: [String], k: Int? = nil, seed: UInt64 = 42, maxIterations: Int = 50
    ) throws -> TopicModel {
        let n = vectors.count
        guard n > 0 else { throw TopicClusteringError("No vectors to cluster.") }
        guard texts.count == n else { throw TopicClusteringError("There are \(texts.count) texts for \(n) vectors.") }
        let d = vectors[0].count
        guard d > 0 else { throw TopicClusteringError("The vectors have no components.") }
        if let i = vectors.firstIndex(where: { $0.count != d }) {
            throw TopicClusteringError("Vector \(i) has \(vectors[i].count) components where vector 0 has \(d).")
        }
        if let k {
            guard k >= 2 else { throw TopicClusteringError("k must be at least 2, not \(k).") }
            guard k <= n else { throw TopicClusteringError("k = \(k) exceeds the \(n) vectors.") }
        } else {
            guard n >= 2 else { throw TopicClusteringError("At least 2 vectors are needed to cluster, not \(n).") }
        }
        let data = normalised(vectors, dimension: d)
        let iterations = max(1, maxIterations)
        let clustering: Clustering
        if let k {
            clustering = lloyd(data, n: n, d: d, k: k, seed: seed, maxIterations: iterations)
        } else {
            let candidates = 2...max(2, min(12, n / 5))
            let sample = samplePoints(n: n, count: 1000, seed: seed)
            let distances = pairwiseDistances(data, d: d, sample: sample)
            var best: (score: Double, clustering: Clustering)?
            for k in candidates {
                let candidate = lloyd(data, n: n, d: d, k: k, seed: seed, maxIterations: iterations)
                let score = candidates.count == 1 ? 0 : silhouette(candidate.labels, k: k, sample: sample, distances: distances)
                if best == nil || score > best!.score { best = (score, candidate) }
            }
            clustering = best!.clustering
        }
        return model(clustering, n: n, d: d, texts: texts)
    }

    /// The nearest cluster of each vector, or nil when it belongs to no known topic: its cosine distance to the
    /// nearest centroid exceeds 1.5 times that cluster's radius (with 1e-6 of slack for rounding), or its dimension
    /// is not the model's.
    public static func assign(_ vectors: [[Float]], to model: TopicModel) -> [Int?] {
        let k = model.centroids.count
        guard k > 0, let d = model.centroids.first?.count, d > 0 else { return vectors.map { _ in nil } }
        let centroids = model.centroids.flatMap { $0.count == d ? $0 : [Float](repeating: 0, count: d) }
        return centroids.withUnsafeBufferPointer { c in
            vectors.map { vector -> Int? in
                guard vector.count == d else { return nil }
                return vector.withUnsafeBufferPointer { v -> Int? in
                    let norm = dot(v.baseAddress!, v.baseAddress!, d).squareRoot()
                    guard norm > 0, norm.isFinite else { return nil }
                    let (best, bestSimilarity) = nearest(v.baseAddress!, centroids: c.baseAddress!, k: k, d: d)
                    let distance = 1 - bestSimilarity / norm
                    let radius = best < model.radius.count ? model.radius[best] : 0
                    return distance <= radius * 1.5 + 1e-6 ? best : nil
                }
            }
        }
    }

    /// Compares the topics of a current window with those of a reference window under `model`.
    ///
    /// Both windows are assigned with `assign`. A new topic is signalled when the unassigned share of the current
    /// window exceeds max(0.1, twice that of the reference) and at least 5 current points are unassigned. Its terms
    /// are found by c-TF-IDF over the current texts, the unassigned ones as one extra cluster beside the model's
    /// clusters (holding the current texts assigned to them), leaving out every cluster's top 8 terms in the model.
    /// Current texts are matched to current vectors by position (missing ones count as empty). An empty reference
    /// is replaced by the model's cluster sizes; an empty current window gives zero shares and distance.
    public static func shift(reference: [[Float]], current: [[Float]], currentTexts: [String], model: TopicModel) -> TopicShift {
        let k = model.centroids.count
        func shares(_ assigned: [Int?]) -> (clusters: [Double], unassigned: Double) {
            var counts = [Int](repeating: 0, count: k + 1)
            for cluster in assigned { counts[cluster ?? k] += 1 }
            let total = Double(max(1, assigned.count))
            let shares = counts.map { Double($0) / total }
            return (Array(shares[..<k]), shares[k])
        }
        var referenceShares = shares(assign(reference, to: model))
        if reference.isEmpty {
            let total = Double(max(1, model.sizes.reduce(0, +)))
            referenceShares = ((0..<k).map { $0 < model.sizes.count ? Double(model.sizes[$0]) / total : 0 }, 0)
        }
        let assigned = assign(current, to: model)
        let currentShares = shares(assigned)
        let unassignedCount = assigned.count { $0 == nil }
        let newTopic = currentShares.unassigned > max(0.1, 2 * referenceShares.unassigned) && unassignedCount >= 5
        var newTopicTerms: [String] = []
        if newTopic {
            var counts = [[String: Int]](repeating: [:], count: k + 1)
            for (i, cluster) in assigned.enumerated() where i < currentTexts.count {
                for term in terms(in: currentTexts[i]) { counts[cluster ?? k][term, default: 0] += 1 }
            }
            newTopicTerms = topTerms(counts, limit: 5, excluding: Set(model.terms.joined()))[k]
        }
        let p = referenceShares.clusters + [referenceShares.unassigned]
        let q = currentShares.clusters + [currentShares.unassigned]
        let distance = current.isEmpty || p.reduce(0, +) == 0 ? 0 : DriftStatistics.jensenShannonDistance(p, q)
        return TopicShift(
            referenceShare: referenceShares.clusters, currentShare: currentShares.clusters,
            unassignedShare: currentShares.unassigned, newTopic: newTopic, newTopicTerms: newTopicTerms,
            jensenShannon: distance)
    }

    // MARK: Terms

    /// The words of a text for labelling: lowercased runs of letters and digits, at least 3 characters long, that
    /// are neither English stop words nor pure numbers.
    static func terms(in text: String) -> [String] {
        var terms: [String] = []
        var word = "", length = 0, numeric = true
        func flush() {
            if length >= 3, !numeric, !stopWords.contains(word) { terms.append(word) }
            word = ""
            length = 0
            numeric = true
        }
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                word.append(character)
                length += 1
                if !character.isNumber { numeric = false }
            } else if length > 0 {
                flush()
            }
        }
        flush()
        return terms
    }

    /// The best `limit` terms of each class by c-TF-IDF: tf(t, c) / (terms in c) * log(1 + A / f(t)), A the mean
    /// number of terms per class and f(t) the count of t in all classes; ties in alphabetical order.
    static func topTerms(_ classes: [[String: Int]], limit: Int, excluding excluded: Set<String> = []) -> [[String]] {
        var frequency: [String: Int] = [:]
        var total = 0
        for counts in classes {
            for (term, count) in counts {
                frequency[term, default: 0] += count
                total += count
            }
        }
        let average = Double(total) / Double(max(1, classes.count))
        return classes.map { counts in
            let size = Double(counts.values.reduce(0, +))
            let weighted = counts.compactMap { term, count -> (term: String, weight: Double)? in
                excluded.contains(term) ? nil : (term, Double(count) / size * log(1 + average / Double(frequency[term]!)))
            }
            let sorted = weighted.sorted { $0.weight != $1.weight ? $0.weight > $1.weight : $0.term < $1.term }
            return sorted.prefix(limit).map(\.term)
        }
    }

    /// English stop words (NLTK's list with a few more common auxiliaries).
    static let stopWords: Set<String> = [
        "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself",
        "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself", "they",
        "them", "their", "theirs", "themselves", "what", "which", "who", "whom", "this", "that", "these", "those",
        "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do", "does", "did",
        "doing", "a", "an", "the", "and", "but", "if", "or", "because", "as", "until", "while", "of", "at", "by",
        "for", "with", "about", "against", "between", "into", "through", "during", "before", "after", "above",
        "below", "to", "from", "up", "down", "in", "out", "on", "off", "over", "under", "again", "further", "then",
        "once", "here", "there", "when", "where", "why", "how", "all", "any", "both", "each", "few", "more", "most",
        "other", "some", "such", "no", "nor", "not", "only", "own", "same", "so", "than", "too", "very", "can",
        "will", "just", "should", "now", "ain", "aren", "couldn", "didn", "doesn", "hadn", "hasn", "haven", "isn",
        "mightn", "mustn", "needn", "shan", "shouldn", "wasn", "weren", "won", "wouldn", "don", "also", "would",
        "could", "may", "might", "must", "shall", "upon", "per", "via", "yet", "etc", "within", "without", "onto",
        "among", "across", "along", "around", "however", "therefore", "thus", "although", "though", "whether",
        "whose", "every", "either", "neither", "much", "many", "another", "others", "since", "unless",
    ]

    // MARK: k-means

    /// A partition of the points: each point's cluster, the unit centroids row after row, and each point's cosine
    /// similarity to its centroid.
    struct Clustering {
        var k: Int
        var labels: [Int]
        var centroids: [Float]
        var similarities: [Float]
    }

    /// The vectors as unit rows, row after row (zero vectors stay zero).
    static func normalised(_ vectors: [[Float]], dimension d: Int) -> [Float] {
        var data = [Float](repeating: 0, count: vectors.count * d)
        data.withUnsafeMutableBufferPointer { out in
            for (i, vector) in vectors.enumerated() {
                vector.withUnsafeBufferPointer { v in
                    let norm = dot(v.baseAddress!, v.baseAddress!, d).squareRoot()
                    guard norm > 0, norm.isFinite else { return }
                    let scale = 1 / norm
                    let row = out.baseAddress! + i * d
                    for j in 0..<d { row[j] = v[j] * scale }
                }
            }
        }
        return data
    }

    /// Spherical k-means from a k-means++ start.
    static func lloyd(_ data: [Float], n: Int, d: Int, k: Int, seed: UInt64, maxIterations: Int) -> Clustering {
        var random = SplitMix64(seed: seed)
        var centroids = [Float](repeating: 0, count: k * d)
        var labels = [Int](repeating: -1, count: n)
        var similarities = [Float](repeating: 0, count: n)
        data.withUnsafeBufferPointer { x in
            let x = x.baseAddress!
            centroids.withUnsafeMutableBufferPointer { c in
                let c = c.baseAddress!
                // k-means++: each next centre drawn with probability proportional to the squared cosine distance to
                // the nearest centre chosen so far.
                var nearest = [Float](repeating: -.infinity, count: n)
                var chosen = random.below(n)
                for j in 0..<k {
                    if j > 0 {
                        var total = 0.0
                        for i in 0..<n { total += Double(weight(nearest[i])) }
                        if total > 0 {
                            let target = random.unit() * total
                            var cumulative = 0.0
                            chosen = -1
                            for i in 0..<n {
                                let w = Double(weight(nearest[i]))
                                guard w > 0 else { continue }
                                chosen = i
                                cumulative += w
                                if cumulative > target { break }
                            }
                        } else {
                            chosen = random.below(n)
                        }
                    }
                    (c + j * d).update(from: x + chosen * d, count: d)
                    for i in 0..<n { nearest[i] = max(nearest[i], dot(x + i * d, c + j * d, d)) }
                }
                labels.withUnsafeMutableBufferPointer { labels in
                    similarities.withUnsafeMutableBufferPointer { similarities in
                        let labels = labels.baseAddress!, similarities = similarities.baseAddress!
                        _ = assignPoints(x, n: n, d: d, centroids: c, k: k, labels: labels, similarities: similarities)
                        var sums = [Float](repeating: 0, count: k * d)
                        var counts = [Int](repeating: 0, count: k)
                        for _ in 0..<maxIterations {
                            sums.withUnsafeMutableBufferPointer { sums in
                                let sums = sums.baseAddress!
                                updateCentroids(
                                    x, n: n, d: d, centroids: c, k: k, labels: labels, similarities: similarities,
                                    sums: sums, counts: &counts)
                            }
                            if assignPoints(x, n: n, d: d, centroids: c, k: k, labels: labels, similarities: similarities) == 0 {
                                break
                            }
                        }
                    }
                }
            }
        }
        return Clustering(k: k, labels: labels, centroids: centroids, similarities: similarities)
    }

    /// The k-means++ weight of a point of cosine similarity `similarity` to its nearest centre.
    @inline(__always)
    private static func weight(_ similarity: Float) -> Float {
        let distance = max(0, 1 - similarity)
        return distance * distance
    }

    /// Puts each point in the cluster of largest dot product (the first on ties); returns how many points moved.
    private static func assignPoints(
        _ x: UnsafePointer<Float>, n: Int, d: Int, centroids c: UnsafePointer<Float>, k: Int,
        labels: UnsafeMutablePointer<Int>, similarities: UnsafeMutablePointer<Float>
    ) -> Int {
        var moved = 0
        for i in 0..<n {
            let row = x + i * d
            let (best, bestSimilarity) = nearest(row, centroids: c, k: k, d: d)
            if labels[i] != best {
                labels[i] = best
                moved += 1
            }
            similarities[i] = bestSimilarity
        }
        return moved
    }

    /// The centroid of largest dot product with a row (the first on ties) and that dot product.
    @inline(__always)
    static func nearest(_ row: UnsafePointer<Float>, centroids c: UnsafePointer<Float>, k: Int, d: Int) -> (Int, Float) {
        var best = 0, bestSimilarity = -Float.infinity
        var j = 0
        while j + 4 <= k {
            let similarity = dot4(row, c + j * d, d)
            for m in 0..<4 where similarity[m] > bestSimilarity { (best, bestSimilarity) = (j + m, similarity[m]) }
            j += 4
        }
        while j < k {
            let similarity = dot(row, c + j * d, d)
            if similarity > bestSimilarity { (best, bestSimilarity) = (j, similarity) }
            j += 1
        }
        return (best, bestSimilarity)
    }

    /// Moves each centroid to the normalised mean of its points, first reseeding each empty cluster with the point
    /// farthest from its centroid (taken from a cluster of more than one point).
    private static func updateCentroids(
        _ x: UnsafePointer<Float>, n: Int, d: Int, centroids c: UnsafeMutablePointer<Float>, k: Int,
        labels: UnsafeMutablePointer<Int>, similarities: UnsafeMutablePointer<Float>,
        sums: UnsafeMutablePointer<Float>, counts: inout [Int]
    ) {
        sums.update(repeating: 0, count: k * d)
        for j in 0..<k { counts[j] = 0 }
        for i in 0..<n {
            let j = labels[i], sum = sums + j * d, row = x + i * d
            for m in 0..<d { sum[m] += row[m] }
            counts[j] += 1
        }
        for empty in 0..<k where counts[empty] == 0 {
            var farthest = -1
            for i in 0..<n where counts[labels[i]] > 1 && (farthest < 0 || similarities[i] < similarities[farthest]) {
                farthest = i
            }
            guard farthest >= 0 else { break }
            let donor = labels[farthest], row = x + farthest * d
            for m in 0..<d {
                sums[donor * d + m] -= row[m]
                sums[empty * d + m] = row[m]
            }
            counts[donor] -= 1
            counts[empty] = 1
            labels[farthest] = empty
            similarities[farthest] = 1
        }
        for j in 0..<k {
            let sum = sums + j * d
            let norm = dot(sum, sum, d).squareRoot()
            guard norm > 0, norm.isFinite else { continue }
            let scale = 1 / norm, centroid = c + j * d
            for m in 0..<d { centroid[m] = sum[m] * scale }
        }
    }

    // MARK: Choosing k

    /// `count` distinct point indices in ascending order drawn by a PRNG seeded with `seed` (all when n <= count).
    static func samplePoints(n: Int, count: Int, seed: UInt64) -> [Int] {
        guard n > count else { return Array(0..<n) }
        var random = SplitMix64(seed: seed ^ 0x7369_6C68_6F75_6574)
        var indices = Array(0..<n)
        for i in 0..<count { indices.swapAt(i, i + random.below(n - i)) }
        return indices[..<count].sorted()
    }

    /// The cosine distances between the sampled points, row after row.
    static func pairwiseDistances(_ data: [Float], d: Int, sample: [Int]) -> [Float] {
        let m = sample.count
        var distances = [Float](repeating: 0, count: m * m)
        data.withUnsafeBufferPointer { x in
            distances.withUnsafeMutableBufferPointer { out in
                for a in 0..<m {
                    for b in (a + 1)..<max(a + 1, m) {
                        let distance = max(0, 1 - dot(x.baseAddress! + sample[a] * d, x.baseAddress! + sample[b] * d, d))
                        out[a * m + b] = distance
                        out[b * m + a] = distance
                    }
                }
            }
        }
        return distances
    }

    /// The mean silhouette of the sampled points under `labels` (a point alone in its cluster scores 0).
    static func silhouette(_ labels: [Int], k: Int, sample: [Int], distances: [Float]) -> Double {
        let m = sample.count
        guard m > 1 else { return 0 }
        let clusters = sample.map { labels[$0] }
        var sizes = [Int](repeating: 0, count: k)
        for cluster in clusters { sizes[cluster] += 1 }
        var total = 0.0
        var sums = [Double](repeating: 0, count: k)
        distances.withUnsafeBufferPointer { distances in
            for a in 0..<m {
                for j in 0..<k { sums[j] = 0 }
                let row = distances.baseAddress! + a * m
                for b in 0..<m { sums[clusters[b]] += Double(row[b]) }
                let own = clusters[a]
                guard sizes[own] > 1 else { continue }
                let within = sums[own] / Double(sizes[own] - 1)
                var between = Double.infinity
                for j in 0..<k where j != own && sizes[j] > 0 { between = min(between, sums[j] / Double(sizes[j])) }
                guard between.isFinite else { continue }
                let scale = max(within, between)
                if scale > 0 { total += (between - within) / scale }
            }
        }
        return total / Double(m)
    }

    // MARK: The model

    static func model(_ clustering: Clustering, n: Int, d: Int, texts: [String]) -> TopicModel {
        let k = clustering.k
        var sizes = [Int](repeating: 0, count: k)
        var distances = [[Float]](repeating: [], count: k)
        var counts = [[String: Int]](repeating: [:], count: k)
        for i in 0..<n {
            let cluster = clustering.labels[i]
            sizes[cluster] += 1
            distances[cluster].append(max(0, 1 - clustering.similarities[i]))
            for term in terms(in: texts[i]) { counts[cluster][term, default: 0] += 1 }
        }
        let terms = topTerms(counts, limit: 8)
        return TopicModel(
            centroids: (0..<k).map { Array(clustering.centroids[($0 * d)..<(($0 + 1) * d)]) },
            labels: terms.enumerated().map { $1.isEmpty ? "cluster \($0 + 1)" : $1.prefix(3).joined(separator: ", ") },
            terms: terms,
            sizes: sizes,
            radius: distances.map { percentile95($0) })
    }

    /// numpy's default (linear) 95th percentile; 0 of no values.
    static func percentile95(_ values: [Float]) -> Float {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let position = 0.95 * Float(sorted.count - 1)
        let low = Int(position), high = min(low + 1, sorted.count - 1)
        return sorted[low] + (position - Float(low)) * (sorted[high] - sorted[low])
    }

    /// The dot product of two rows of `d` floats.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= d {
            s0 +=
                ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            s1 +=
                ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
            i += 16
        }
        if i + 8 <= d {
            s0 +=
                ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        var sum = (s0 + s1).sum()
        while i < d {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// The dot products of a row of `d` floats with 4 consecutive rows of `d` floats at `b` (one pass over `a`).
    @inline(__always)
    static func dot4(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> SIMD4<Float> {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b), stride = d * 4
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i + 8 <= d {
            let offset = i * 4
            let x = ra.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            s0 += x * rb.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            s1 += x * rb.loadUnaligned(fromByteOffset: offset + stride, as: SIMD8<Float>.self)
            s2 += x * rb.loadUnaligned(fromByteOffset: offset + 2 * stride, as: SIMD8<Float>.self)
            s3 += x * rb.loadUnaligned(fromByteOffset: offset + 3 * stride, as: SIMD8<Float>.self)
            i += 8
        }
        var sums = SIMD4<Float>(s0.sum(), s1.sum(), s2.sum(), s3.sum())
        while i < d {
            let x = a[i]
            sums += SIMD4(x * b[i], x * b[d + i], x * b[2 * d + i], x * b[3 * d + i])
            i += 1
        }
        return sums
    }
}
