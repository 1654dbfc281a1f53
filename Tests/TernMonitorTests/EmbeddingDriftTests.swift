import CTernKernels
import Foundation
import TernCore
@testable import TernMonitor
import Testing

/// The embedding drift methods against Evidently 0.7.23's own results on the same embeddings
/// (Fixtures/embedding-drift-fixtures.json, made by scripts/drift/make_embedding_fixtures.py).
@Suite("Embedding drift")
struct EmbeddingDriftTests {
    struct Options: Decodable {
        let bootstrap: Bool?
        let distance: String?
        let `default`: Bool?
    }

    struct Expected: Decodable {
        let method: String
        let options: Options
        let statistic: Double
        let drift: Bool
        let threshold: Double
        /// Evidently's MMD² before its clip at 0, for the mmd results.
        let mmd2u: Double?
    }

    struct Case: Decodable {
        let name: String
        let columns: Int
        /// Values times 10⁴, row after row.
        let reference: [Int]
        let current: [Int]
        let results: [Expected]

        static func rows(_ values: [Int], _ columns: Int) -> [[Double]] {
            Swift.stride(from: 0, to: values.count, by: columns).map { values[$0..<($0 + columns)].map { Double($0) / 10000 } }
        }
        var referenceRows: [[Double]] { Self.rows(reference, columns) }
        var currentRows: [[Double]] { Self.rows(current, columns) }
    }

    static func cases() throws -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/embedding-drift-fixtures.json")
        struct File: Decodable { let cases: [Case] }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }

    /// Within 1e-6 of Evidently's value, relatively (exactly when Evidently's is 0).
    static func close(_ value: Double, _ expected: Double) -> Bool { abs(value - expected) <= 1e-6 * abs(expected) }

    @Test(
        "model (the domain classifier's ROC AUC), mmd, ratio and distance equal Evidently's within 1e-6, with their thresholds or bootstrap percentiles and verdicts"
    )
    func matchesEvidently() throws {
        let cases = try Self.cases()
        #expect(cases.count == 6 && cases.allSatisfy { $0.results.count == 11 })
        for fixture in cases {
            let reference = fixture.referenceRows, current = fixture.currentRows
            for expected in fixture.results {
                let method = try #require(EmbeddingDriftMethod(rawValue: expected.method))
                var options = EmbeddingDriftOptions(bootstrap: expected.options.bootstrap)
                if let distance = expected.options.distance {
                    options.distance = try #require(EmbeddingDistanceMetric(rawValue: distance))
                }
                let result = try DriftStatistics.embeddingDrift(
                    reference: reference, current: current, method: method, options: options)
                let label = "\(fixture.name): \(expected.method) \(expected.options)"
                #expect(Self.close(result.statistic, expected.statistic), "\(label): \(result.statistic) vs Evidently's \(expected.statistic)")
                #expect(Self.close(result.threshold, expected.threshold), "\(label): threshold \(result.threshold) vs \(expected.threshold)")
                #expect(result.driftDetected == expected.drift, "\(label)")
                #expect(result.method == method)
            }
        }
    }

    @Test("MMD² before the clip at 0 (what the verdict compares) equals Evidently's within 1e-6, negative values included")
    func mmdBeforeClip() throws {
        var negative = 0
        for fixture in try Self.cases() {
            let expected = try #require(fixture.results.first { $0.method == "mmd" }?.mmd2u)
            let value = EmbeddingDrift.mmd(
                reference: try EmbeddingDrift.Matrix(fixture.referenceRows), current: try EmbeddingDrift.Matrix(fixture.currentRows))
            #expect(Self.close(value, expected), "\(fixture.name): \(value) vs Evidently's \(expected)")
            if expected < 0 { negative += 1 }
        }
        #expect(negative >= 2)
    }

    @Test("without a method, the model method bootstraps when the reference has fewer than 1,000 rows, as Evidently's metric does")
    func defaultMethod() throws {
        var sizes = Set<Bool>()
        for fixture in try Self.cases() {
            let expected = try #require(fixture.results.first { $0.options.default == true })
            let result = try DriftStatistics.embeddingDrift(reference: fixture.referenceRows, current: fixture.currentRows)
            let rows = fixture.reference.count / fixture.columns
            #expect(result.method == .model && result.bootstrap == (rows < 1000), "\(fixture.name)")
            #expect(Self.close(result.statistic, expected.statistic) && result.driftDetected == expected.drift, "\(fixture.name)")
            sizes.insert(rows < 1000)
        }
        #expect(sizes == [true, false], "cases on both sides of 1,000 rows")
    }

    @Test("numpy's legacy RandomState: random_sample, permutation and choice give numpy's values")
    func numpyRandom() {
        var random = NumpyRandom(seed: 0)
        #expect(random.nextDouble() == 0.5488135039273248)
        random = NumpyRandom(seed: 42)
        #expect(random.permutation(11) == [5, 0, 9, 10, 2, 1, 8, 4, 7, 3, 6])
        random = NumpyRandom(seed: 3)
        #expect(random.choice(1000, count: 5) == [874, 664, 249, 643, 952] && random.choice(7, count: 5) == [0, 0, 5, 5, 3])
        random = NumpyRandom(seed: 42)
        #expect(random.integer(below: 2_147_483_646) + 1 == 1_608_637_543 && random.integer(below: 2_147_483_647) == 1_273_642_419)
    }

    @Test("Float embeddings are widened to Double")
    func floats() throws {
        let fixture = try #require(try Self.cases().first)
        let reference = fixture.referenceRows.map { $0.map(Float.init) }, current = fixture.currentRows.map { $0.map(Float.init) }
        for method in EmbeddingDriftMethod.allCases {
            let single = try DriftStatistics.embeddingDrift(reference: reference, current: current, method: method)
            let double = try DriftStatistics.embeddingDrift(
                reference: reference.map { $0.map(Double.init) }, current: current.map { $0.map(Double.init) }, method: method)
            #expect(single == double)
        }
    }

    @Test("unusable input throws: no rows, ragged rows, different dimensions, too few rows for the method")
    func errors() {
        #expect(throws: EmbeddingDriftError.empty) {
            try DriftStatistics.embeddingDrift(reference: [[Double]](), current: [[1.0]])
        }
        #expect(throws: EmbeddingDriftError.raggedRows) {
            try DriftStatistics.embeddingDrift(reference: [[1.0, 2], [1.0]], current: [[1.0, 2]])
        }
        #expect(throws: EmbeddingDriftError.dimensionMismatch(reference: 2, current: 1)) {
            try DriftStatistics.embeddingDrift(reference: [[1.0, 2]], current: [[1.0]])
        }
        #expect(throws: EmbeddingDriftError.tooFewRows) {
            try DriftStatistics.embeddingDrift(reference: [[1.0], [2]], current: [[1.0]], method: .mmd)
        }
        #expect(throws: EmbeddingDriftError.tooFewRows) {
            try DriftStatistics.embeddingDrift(reference: [[1.0]], current: [[2.0]], method: .model)
        }
    }
}

/// The C dot products behind the pairwise distances, in every variant this CPU runs, against plain sums.
@Suite("Pairwise dot products")
struct PairwiseDotTests {
    @Test("each instruction set's 4 x 2 dot products equal the plain sums within rounding, for strides with and without a tail")
    func variants() {
        for stride in [6, 8, 30, 384, 387] {
            var random = SplitMix64(seed: UInt64(stride))
            let rows = (0..<6).map { _ in (0..<stride).map { _ in Double(random.next() >> 11) * 0x1p-53 * 2 - 1 } }
            let data = rows.flatMap { $0 }
            var expected = [Double](repeating: 0, count: 8)
            for r in 0..<4 {
                for c in 0..<2 { expected[2 * r + c] = zip(rows[r], rows[4 + c]).reduce(0) { $0 + $1.0 * $1.1 } }
            }
            var ran = 0
            for level in 0...2 {
                var out = [Double](repeating: .nan, count: 8)
                let status = data.withUnsafeBufferPointer { d in
                    tern_dots4x2_variant(Int32(level), d.baseAddress!, d.baseAddress! + 4 * stride, stride, &out)
                }
                guard status == 0 else { continue }
                ran += 1
                for i in 0..<8 { #expect(abs(out[i] - expected[i]) < 1e-12, "level \(level), stride \(stride), dot \(i)") }
            }
            #expect(ran >= 1)
        }
    }
}
