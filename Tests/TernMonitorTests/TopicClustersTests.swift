import Foundation
import TernCore
@testable import TernMonitor
import Testing

/// Topic clusters on synthetic traffic: well-separated random directions in 32 dimensions with small noise, each
/// with texts on its own theme, plus hand-made models for the distances.
@Suite("Topic clusters")
struct TopicClustersTests {
    static let themes: [[String]] = [
        ["refund", "order", "money", "payment", "charge", "invoice"],
        ["password", "login", "account", "reset", "email", "locked"],
        ["weather", "rain", "forecast", "temperature", "sunny", "wind"],
        ["recipe", "pasta", "oven", "garlic", "bake", "flour"],
    ]
    /// Words of every theme, and words the tokeniser drops (stop words, a number).
    static let shared = ["please", "help", "thanks", "question"]
    static let dropped = ["the", "with", "and", "for", "about", "is", "my", "2024"]

    /// SplitMix64, so the data are the same on every run.
    struct Random {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        /// Uniform in [-1, 1).
        mutating func signed() -> Float { Float(Double(next() >> 11) * 0x1p-52 - 1) }
    }

    /// Four orthonormal random directions in 32 dimensions (Gram-Schmidt), one per theme.
    static let directions: [[Float]] = {
        var random = Random(state: 7)
        var directions: [[Float]] = []
        while directions.count < 4 {
            var v = (0..<32).map { _ in random.signed() }
            for u in directions {
                let projection = zip(u, v).map(*).reduce(0, +)
                v = zip(v, u).map { $0 - projection * $1 }
            }
            let norm = v.map { $0 * $0 }.reduce(0, +).squareRoot()
            directions.append(v.map { $0 / norm })
        }
        return directions
    }()

    struct Traffic {
        var vectors: [[Float]] = []
        var texts: [String] = []
        var topics: [Int] = []
    }

    /// `count` points of each listed topic: its direction plus noise uniform in ±0.05 per component, and a text of
    /// 4 of its theme's words, 1 or 2 shared words and 2 dropped ones.
    static func traffic(_ counts: [(topic: Int, count: Int)], seed: UInt64) -> Traffic {
        var random = Random(state: seed)
        var traffic = Traffic()
        for (topic, count) in counts {
            for _ in 0..<count {
                traffic.vectors.append(directions[topic].map { $0 + 0.05 * random.signed() })
                var theme = themes[topic]
                var words: [String] = []
                for _ in 0..<4 { words.append(theme.remove(at: random.below(theme.count))) }
                for _ in 0..<(1 + random.below(2)) { words.append(shared[random.below(shared.count)]) }
                for _ in 0..<2 { words.insert(dropped[random.below(dropped.count)], at: random.below(words.count + 1)) }
                traffic.texts.append(words.joined(separator: random.below(2) == 0 ? " " : ", "))
                traffic.topics.append(topic)
            }
        }
        return traffic
    }

    static let reference = traffic([(0, 60), (1, 60), (2, 60)], seed: 1)

    /// The cluster of each true topic, when every point of the topic is in one cluster and topics in distinct ones.
    static func clusterOfTopic(_ assigned: [Int?], _ topics: [Int]) -> [Int: Int]? {
        var clusters: [Int: Set<Int?>] = [:]
        for (cluster, topic) in zip(assigned, topics) { clusters[topic, default: []].insert(cluster) }
        var result: [Int: Int] = [:]
        for (topic, set) in clusters {
            guard set.count == 1, let only = set.first, let cluster = only else { return nil }
            result[topic] = cluster
        }
        return Set(result.values).count == result.count ? result : nil
    }

    @Test("k = 3 recovers the three topics, labelled by their own words")
    func recoversTopics() throws {
        let data = Self.reference
        let model = try TopicClustering.fit(vectors: data.vectors, texts: data.texts, k: 3)
        #expect(model.centroids.count == 3)
        #expect(model.sizes == [60, 60, 60])
        let clusters = try #require(Self.clusterOfTopic(TopicClustering.assign(data.vectors, to: model), data.topics))
        for (topic, cluster) in clusters {
            let label = model.labels[cluster].components(separatedBy: ", ")
            #expect(label.count == 3)
            #expect(Set(label).isSubset(of: Self.themes[topic]), "label \(model.labels[cluster]) of topic \(topic)")
            #expect(model.terms[cluster].count == 8)
            #expect(Set(model.terms[cluster].prefix(6)) == Set(Self.themes[topic]), "terms \(model.terms[cluster])")
            #expect(model.terms[cluster].allSatisfy { !Self.dropped.contains($0) })
        }
        for (centroid, radius) in zip(model.centroids, model.radius) {
            #expect(abs(centroid.map { $0 * $0 }.reduce(0, +) - 1) < 1e-4)
            #expect(radius > 0 && radius < 0.05)
        }
    }

    @Test("k = nil chooses 3 clusters by silhouette, the same model as k = 3")
    func choosesK() throws {
        let data = Self.reference
        let chosen = try TopicClustering.fit(vectors: data.vectors, texts: data.texts)
        #expect(chosen.centroids.count == 3)
        #expect(chosen == (try TopicClustering.fit(vectors: data.vectors, texts: data.texts, k: 3)))
        #expect(Self.clusterOfTopic(TopicClustering.assign(data.vectors, to: chosen), data.topics) != nil)
    }

    @Test("The same seed gives the identical model, which survives JSON")
    func reproducible() throws {
        let data = Self.traffic([(0, 30), (1, 30), (2, 30), (3, 30)], seed: 5)
        let first = try TopicClustering.fit(vectors: data.vectors, texts: data.texts, k: 4, seed: 11)
        let second = try TopicClustering.fit(vectors: data.vectors, texts: data.texts, k: 4, seed: 11)
        #expect(first == second)
        let decoded = try JSONDecoder().decode(TopicModel.self, from: JSONEncoder().encode(first))
        #expect(decoded == first)
    }

    @Test("Bad input is refused")
    func refusesBadInput() {
        let vectors: [[Float]] = [[1, 0], [0, 1], [1, 1]], texts = ["a", "b", "c"]
        func refused(_ vectors: [[Float]], _ texts: [String], k: Int?, containing fragment: String) {
            do {
                _ = try TopicClustering.fit(vectors: vectors, texts: texts, k: k)
                Issue.record("no error for k \(String(describing: k)), \(vectors.count) vectors")
            } catch let error as TopicClusteringError {
                #expect(error.description.contains(fragment), "\(error)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        refused([], [], k: nil, containing: "No vectors")
        refused(vectors, ["a", "b"], k: 2, containing: "2 texts for 3 vectors")
        refused([[1, 0], [0, 1, 0], [1, 1]], texts, k: 2, containing: "Vector 1 has 3 components")
        refused([[], [], []], texts, k: 2, containing: "no components")
        refused(vectors, texts, k: 1, containing: "at least 2")
        refused(vectors, texts, k: 4, containing: "exceeds the 3 vectors")
        refused([[1, 0]], ["a"], k: nil, containing: "At least 2 vectors")
        #expect((try? TopicClustering.fit(vectors: vectors, texts: texts, k: 3)) != nil)
    }

    @Test("A current window of the same topics shows no new topic and a small distance")
    func sameTopics() throws {
        let model = try TopicClustering.fit(vectors: Self.reference.vectors, texts: Self.reference.texts, k: 3)
        let current = Self.traffic([(0, 40), (1, 40), (2, 40)], seed: 2)
        let shift = TopicClustering.shift(
            reference: Self.reference.vectors, current: current.vectors, currentTexts: current.texts, model: model)
        #expect(!shift.newTopic)
        #expect(shift.newTopicTerms.isEmpty)
        #expect(shift.unassignedShare < 0.1)
        #expect(shift.jensenShannon < 0.1)
        #expect(shift.referenceShare.count == 3 && shift.currentShare.count == 3)
        #expect(shift.currentShare.allSatisfy { abs($0 - 1.0 / 3) < 0.05 })
    }

    @Test("A fourth topic as 30% of the current window is a new topic, named by its words")
    func newTopic() throws {
        let model = try TopicClustering.fit(vectors: Self.reference.vectors, texts: Self.reference.texts, k: 3)
        let same = Self.traffic([(0, 40), (1, 40), (2, 40)], seed: 2)
        let baseline = TopicClustering.shift(
            reference: Self.reference.vectors, current: same.vectors, currentTexts: same.texts, model: model)
        let current = Self.traffic([(0, 24), (1, 23), (2, 23), (3, 30)], seed: 3)
        let shift = TopicClustering.shift(
            reference: Self.reference.vectors, current: current.vectors, currentTexts: current.texts, model: model)
        #expect(shift.newTopic)
        #expect(abs(shift.unassignedShare - 0.3) < 0.02)
        #expect(shift.newTopicTerms.count == 5)
        #expect(Set(shift.newTopicTerms).isSubset(of: Self.themes[3]), "\(shift.newTopicTerms)")
        #expect(shift.jensenShannon > 0.2)
        #expect(shift.jensenShannon > baseline.jensenShannon + 0.15)
    }

    /// Two clusters along the axes of the plane, radius 0.1 (points within 0.15 belong).
    static let planeModel = TopicModel(
        centroids: [[1, 0], [0, 1]], labels: ["east", "north"], terms: [["east"], ["north"]], sizes: [10, 10],
        radius: [0.1, 0.1])

    @Test("assign gives the nearest cluster, or nil beyond 1.5 radii or of another dimension")
    func assignOutliers() {
        let assigned = TopicClustering.assign([[2, 0], [0.99, 0.14], [0, 3], [0, -1], [1, 1], [1, 0, 0], [0, 0]], to: Self.planeModel)
        #expect(assigned == [0, 0, 1, nil, nil, nil, nil])
    }

    @Test("The Jensen-Shannon distance matches hand-computed values")
    func jensenShannonByHand() {
        let east = [[Float]](repeating: [1, 0], count: 10), north = [[Float]](repeating: [0, 1], count: 10)
        // [1, 0, 0] against [0, 1, 0]: sqrt(ln 2).
        let disjoint = TopicClustering.shift(reference: east, current: north, currentTexts: [], model: Self.planeModel)
        #expect(abs(disjoint.jensenShannon - log(2.0).squareRoot()) < 1e-12)
        #expect(disjoint.referenceShare == [1, 0] && disjoint.currentShare == [0, 1])
        #expect(!disjoint.newTopic && disjoint.unassignedShare == 0)
        // [1/2, 1/2, 0] against [1/2, 0, 1/2]: m = [1/2, 1/4, 1/4], both divergences (ln 2) / 2, so sqrt((ln 2) / 2).
        let west = [[Float]](repeating: [-1, 0], count: 10)
        // "east" is a term of the model, so it is no new topic's term.
        let texts = Array(repeating: "ice", count: 10) + Array(repeating: "glacier penguin glacier east", count: 10)
        let half = TopicClustering.shift(
            reference: east + north, current: east + west, currentTexts: texts, model: Self.planeModel)
        #expect(abs(half.jensenShannon - (log(2.0) / 2).squareRoot()) < 1e-12)
        #expect(half.newTopic && half.unassignedShare == 0.5)
        #expect(half.newTopicTerms == ["glacier", "penguin"])
    }

    @Test("Too few unassigned points are no new topic")
    func fewUnassigned() {
        let east = [[Float]](repeating: [1, 0], count: 4), west = [[Float]](repeating: [-1, 0], count: 4)
        let shift = TopicClustering.shift(reference: east, current: east + west, currentTexts: [], model: Self.planeModel)
        #expect(shift.unassignedShare == 0.5 && !shift.newTopic && shift.newTopicTerms.isEmpty)
    }

    @Test("Terms are lowercased words of letters and digits in any script, without stop words or numbers")
    func terms() {
        #expect(
            TopicClustering.terms(in: "The Café était très bon: 2024 orders, don't Прогноз погоды ok 3rd")
                == ["café", "était", "très", "bon", "orders", "прогноз", "погоды", "3rd"])
    }

    @Test("c-TF-IDF prefers a cluster's own words to words every cluster uses, ties alphabetically")
    func classTermWeights() {
        let top = TopicClustering.topTerms(
            [["refund": 3, "help": 3, "zebra": 2, "apple": 2], ["login": 3, "help": 3], [:]], limit: 3)
        #expect(top[0] == ["refund", "apple", "zebra"])
        #expect(top[1] == ["login", "help"])
        #expect(top[2].isEmpty)
    }
}
