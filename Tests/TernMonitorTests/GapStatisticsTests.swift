import Foundation
@testable import TernMonitor
import Testing

/// The segment-gap statistics of bias monitoring against scipy 1.17.1 and statsmodels 0.15.0 on the same inputs
/// (Fixtures/gap-fixtures.json, made by scripts/monitoring/make_gap_fixtures.py), and their behaviour at the edges.
@Suite("Gap statistics")
struct GapStatisticsTests {
    struct Fixtures: Decodable {
        struct Welch: Decodable {
            let name: String
            let countA: Int, meanA: Double, varianceA: Double
            let countB: Int, meanB: Double, varianceB: Double
            let t: Double?, degreesOfFreedom: Double?, pValue: Double?

            enum CodingKeys: String, CodingKey {
                case name, t
                case countA = "count_a", meanA = "mean_a", varianceA = "variance_a"
                case countB = "count_b", meanB = "mean_b", varianceB = "variance_b"
                case degreesOfFreedom = "degrees_of_freedom", pValue = "p_value"
            }
        }

        struct TwoProportion: Decodable {
            let name: String
            let successesA: Int, countA: Int, successesB: Int, countB: Int
            let z: Double?, pValue: Double?

            enum CodingKeys: String, CodingKey {
                case name, z
                case successesA = "successes_a", countA = "count_a", successesB = "successes_b", countB = "count_b"
                case pValue = "p_value"
            }
        }

        struct BenjaminiHochberg: Decodable {
            let name: String
            let pValues: [Double]
            let adjusted: [Double]

            enum CodingKeys: String, CodingKey {
                case name, adjusted
                case pValues = "p_values"
            }
        }

        struct Scenario: Decodable {
            let name: String
            let kind: GapKind
            let minimumCount: Int, minimumGap: Double, alpha: Double
            let segments: [SegmentSummary]
            /// scipy's and statsmodels' results from the raw values (no notes: those are Tern's).
            let expected: [SegmentGap]

            enum CodingKeys: String, CodingKey {
                case name, kind, alpha, segments, expected
                case minimumCount = "minimum_count", minimumGap = "minimum_gap"
            }
        }

        let welch: [Welch]
        let twoProportion: [TwoProportion]
        let benjaminiHochberg: [BenjaminiHochberg]
        let scenarios: [Scenario]

        enum CodingKeys: String, CodingKey {
            case welch, scenarios
            case twoProportion = "two_proportion", benjaminiHochberg = "benjamini_hochberg"
        }
    }

    static func fixtures() throws -> Fixtures {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/gap-fixtures.json")
        return try JSONDecoder().decode(Fixtures.self, from: Data(contentsOf: url))
    }

    /// Whether `value` is within `tolerance` of `reference`, relatively.
    static func close(_ value: Double?, _ reference: Double?, _ tolerance: Double = 1e-9) -> Bool {
        guard let value, let reference else { return value == nil && reference == nil }
        return value == reference || abs(value - reference) <= tolerance * abs(reference)
    }

    /// A summary with the given count, mean and sample variance.
    static func summary(_ segment: String, count: Int, mean: Double, variance: Double) -> SegmentSummary {
        let n = Double(count)
        return SegmentSummary(segment: segment, count: count, sum: n * mean, sumOfSquares: (n - 1) * variance + n * mean * mean)
    }

    @Test("Welch's t, degrees of freedom and p-value equal scipy's ttest_ind_from_stats within 1e-9, and degenerate cases have none")
    func welchMatchesScipy() throws {
        let cases = try Self.fixtures().welch
        #expect(cases.count >= 30)
        for fixture in cases {
            let result = GapStatistics.welch(
                countA: fixture.countA, meanA: fixture.meanA, varianceA: fixture.varianceA,
                countB: fixture.countB, meanB: fixture.meanB, varianceB: fixture.varianceB)
            #expect(Self.close(result?.t, fixture.t), "\(fixture.name): t \(String(describing: result?.t)) vs \(String(describing: fixture.t))")
            #expect(
                Self.close(result?.degreesOfFreedom, fixture.degreesOfFreedom),
                "\(fixture.name): df \(String(describing: result?.degreesOfFreedom)) vs \(String(describing: fixture.degreesOfFreedom))")
            // Relatively, p-values down to 1e-188 included.
            #expect(
                Self.close(result?.pValue, fixture.pValue),
                "\(fixture.name): p \(String(describing: result?.pValue)) vs scipy's \(String(describing: fixture.pValue))")
        }
    }

    @Test("The two-proportion z and p equal statsmodels' proportions_ztest within 1e-9; a pooled proportion of 0 or 1 or an empty side has none")
    func twoProportionMatchesStatsmodels() throws {
        let cases = try Self.fixtures().twoProportion
        #expect(cases.count >= 10)
        for fixture in cases {
            let result = GapStatistics.twoProportion(
                successesA: fixture.successesA, countA: fixture.countA, successesB: fixture.successesB, countB: fixture.countB)
            #expect(Self.close(result?.z, fixture.z), "\(fixture.name): z \(String(describing: result?.z)) vs \(String(describing: fixture.z))")
            #expect(
                Self.close(result?.pValue, fixture.pValue),
                "\(fixture.name): p \(String(describing: result?.pValue)) vs statsmodels' \(String(describing: fixture.pValue))")
        }
    }

    @Test("Benjamini-Hochberg equals statsmodels' multipletests(method=\"fdr_bh\") within 1e-9, in the input order")
    func benjaminiHochbergMatchesStatsmodels() throws {
        for fixture in try Self.fixtures().benjaminiHochberg {
            let adjusted = GapStatistics.benjaminiHochberg(fixture.pValues)
            #expect(adjusted.count == fixture.adjusted.count, "\(fixture.name)")
            for (value, reference) in zip(adjusted, fixture.adjusted) {
                #expect(Self.close(value, reference), "\(fixture.name): \(value) vs statsmodels' \(reference)")
            }
        }
    }

    @Test("Every scenario's means, gaps, p-values, adjusted p-values and flags equal those scipy and statsmodels give on the raw values")
    func scenariosMatchReferences() throws {
        let scenarios = try Self.fixtures().scenarios
        #expect(scenarios.count == 8)
        for scenario in scenarios {
            let gaps = SegmentGaps.analyse(
                scenario.segments, kind: scenario.kind, minimumCount: scenario.minimumCount, minimumGap: scenario.minimumGap,
                alpha: scenario.alpha)
            #expect(gaps.count == scenario.expected.count, "\(scenario.name)")
            for (gap, expected) in zip(gaps, scenario.expected) {
                let label = "\(scenario.name)/\(expected.segment)"
                #expect(gap.segment == expected.segment && gap.count == expected.count && gap.restCount == expected.restCount, "\(label)")
                #expect(Self.close(gap.mean, expected.mean) && Self.close(gap.restMean, expected.restMean), "\(label): means")
                #expect(Self.close(gap.gap, expected.gap), "\(label): gap \(gap.gap) vs \(expected.gap)")
                #expect(
                    Self.close(gap.pValue, expected.pValue),
                    "\(label): p \(String(describing: gap.pValue)) vs \(String(describing: expected.pValue))")
                #expect(
                    Self.close(gap.adjustedPValue, expected.adjustedPValue),
                    "\(label): adjusted p \(String(describing: gap.adjustedPValue)) vs \(String(describing: expected.adjustedPValue))")
                #expect(gap.flagged == expected.flagged, "\(label): flagged")
                #expect((gap.note == nil) == (gap.pValue != nil), "\(label): a note exactly when there is no p-value")
            }
        }
        // The scenarios show what they are there for.
        let byName = Dictionary(uniqueKeysWithValues: scenarios.map { ($0.name, $0.expected) })
        #expect(byName["latency-by-language"]?.filter(\.flagged).map(\.segment) == ["ja"])
        #expect(byName["refusal-rate-by-user-group"]?.first { $0.segment == "trial" }?.flagged == true)
        let many = try #require(byName["many-segments"])
        #expect(many.count == 20)
        #expect(many.contains { ($0.pValue ?? 1) < 0.05 && !$0.flagged }, "a raw p under 0.05 that Benjamini-Hochberg does not keep")
    }

    @Test("A segment below the minimum count, or whose rest is, is reported without a p-value and never flagged")
    func belowMinimumIsNeverFlagged() {
        let segments = [
            Self.summary("en", count: 500, mean: 800, variance: 40_000),
            Self.summary("de", count: 400, mean: 805, variance: 40_000),
            Self.summary("is", count: 29, mean: 5_000, variance: 100),
        ]
        let gaps = SegmentGaps.analyse(segments, kind: .mean)
        let tiny = gaps[2]
        #expect(tiny.count == 29 && tiny.restCount == 900 && tiny.pValue == nil && tiny.adjustedPValue == nil && !tiny.flagged)
        #expect(tiny.note == "fewer than 30 values")
        #expect(tiny.gap > 4000, "reported with its gap all the same")
        // With a lower minimum it is tested, and flagged.
        #expect(SegmentGaps.analyse(segments, kind: .mean, minimumCount: 20)[2].flagged)

        // Two segments: the small one is below the minimum, and the large one's rest is.
        let pair = SegmentGaps.analyse(
            [SegmentSummary(segment: "free", count: 5000, sum: 100, sumOfSquares: 100), SegmentSummary(segment: "beta", count: 12, sum: 11, sumOfSquares: 11)],
            kind: .rate)
        #expect(pair.allSatisfy { $0.pValue == nil && $0.adjustedPValue == nil && !$0.flagged })
        #expect(pair.map(\.note) == ["the rest has fewer than 30 values", "fewer than 30 values"])
        #expect(abs(pair[1].mean - 11.0 / 12) < 1e-15 && abs(pair[0].restMean - 11.0 / 12) < 1e-15)
    }

    @Test("The minimum gap keeps a significant but tiny gap from being flagged")
    func minimumGapStopsTinyGaps() {
        // A million values a side: a gap of 0.01 ms is overwhelmingly significant.
        let segments = [
            Self.summary("a", count: 1_000_000, mean: 100.01, variance: 0.01),
            Self.summary("b", count: 1_000_000, mean: 100.0, variance: 0.01),
        ]
        let plain = SegmentGaps.analyse(segments, kind: .mean)
        #expect(plain.allSatisfy { ($0.adjustedPValue ?? 1) < 1e-100 && $0.flagged })
        let gated = SegmentGaps.analyse(segments, kind: .mean, minimumGap: 1)
        #expect(gated.map(\.pValue) == plain.map(\.pValue))
        #expect(gated.allSatisfy { !$0.flagged && abs(abs($0.gap) - 0.01) < 1e-9 })
        // The gap counts in absolute value: the lower segment is flagged as well as the higher one.
        let threshold = SegmentGaps.analyse(segments, kind: .mean, minimumGap: 0.005)
        #expect(threshold.map(\.flagged) == [true, true] && threshold[1].gap < 0)
    }

    @Test("Benjamini-Hochberg values are at least the raw ones, at most 1, and monotone in the raw p-values' order")
    func benjaminiHochbergIsMonotone() throws {
        var vectors = try Self.fixtures().benjaminiHochberg.map(\.pValues)
        // Deterministic pseudo-random vectors (SplitMix64), skewed towards small p-values, with ties.
        var state: UInt64 = 42
        func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
        for size in [2, 3, 5, 20, 100] {
            vectors.append((0..<size).map { _ in pow(next(), 3) })
            vectors.append((0..<size).map { _ in (next() * 10).rounded() / 100 })
        }
        for raw in vectors {
            let adjusted = GapStatistics.benjaminiHochberg(raw)
            #expect(adjusted.count == raw.count)
            #expect(zip(raw, adjusted).allSatisfy { $1 >= $0 && $1 <= 1 }, "\(raw)")
            let order = raw.indices.sorted { raw[$0] < raw[$1] }
            #expect(zip(order, order.dropFirst()).allSatisfy { adjusted[$0] <= adjusted[$1] }, "\(raw)")
            // Equal raw p-values get equal adjusted ones.
            #expect(zip(order, order.dropFirst()).allSatisfy { raw[$0] != raw[$1] || adjusted[$0] == adjusted[$1] })
        }
        // NaN stays NaN and is not counted among the tests.
        let withNaN = GapStatistics.benjaminiHochberg([0.01, .nan, 0.04])
        #expect(withNaN[1].isNaN && withNaN[0] == 0.02 && withNaN[2] == 0.04)
        #expect(GapStatistics.benjaminiHochberg([]).isEmpty)
    }

    @Test("Degenerate comparisons have no p-value (nil, never NaN), with a note saying why")
    func degenerateCases() {
        #expect(GapStatistics.welch(countA: 10, meanA: 1, varianceA: 0, countB: 10, meanB: 2, varianceB: 0) == nil)
        #expect(GapStatistics.welch(countA: 1, meanA: 1, varianceA: 1, countB: 10, meanB: 2, varianceB: 1) == nil)
        #expect(GapStatistics.welch(countA: 10, meanA: .nan, varianceA: 1, countB: 10, meanB: 2, varianceB: 1) == nil)
        #expect(GapStatistics.welch(countA: 10, meanA: 1, varianceA: -1, countB: 10, meanB: 2, varianceB: 1) == nil)
        #expect(GapStatistics.twoProportion(successesA: 0, countA: 10, successesB: 0, countB: 20) == nil)
        #expect(GapStatistics.twoProportion(successesA: 10, countA: 10, successesB: 20, countB: 20) == nil)
        #expect(GapStatistics.twoProportion(successesA: 11, countA: 10, successesB: 2, countB: 20) == nil)
        #expect(GapStatistics.twoProportion(successesA: 0, countA: 0, successesB: 2, countB: 20) == nil)
        let equal = GapStatistics.welch(countA: 40, meanA: 3, varianceA: 2, countB: 70, meanB: 3, varianceB: 5)
        #expect(equal?.t == 0 && equal?.pValue == 1)

        let constant = SegmentGaps.analyse(
            [SegmentSummary(segment: "a", count: 40, sum: 200, sumOfSquares: 1000), SegmentSummary(segment: "b", count: 50, sum: 250, sumOfSquares: 1250)],
            kind: .mean)
        #expect(constant.allSatisfy { $0.pValue == nil && !$0.flagged && $0.note == "no variation on either side" && $0.gap == 0 })
        let noRefusals = SegmentGaps.analyse(
            [SegmentSummary(segment: "a", count: 40, sum: 0, sumOfSquares: 0), SegmentSummary(segment: "b", count: 50, sum: 0, sumOfSquares: 0)],
            kind: .rate)
        #expect(noRefusals.allSatisfy { $0.pValue == nil && $0.note == "no variation on either side" })
        // Sums of squares a little below Σx·mean (rounding) give a variance of 0, not a negative one.
        let rounded = SegmentGaps.analyse(
            [
                SegmentSummary(segment: "a", count: 40, sum: 200, sumOfSquares: 1000 - 1e-10),
                Self.summary("b", count: 50, mean: 4, variance: 1),
            ], kind: .mean)
        #expect(rounded.allSatisfy { $0.pValue != nil && $0.pValue!.isFinite })
        let alone = SegmentGaps.analyse(
            [Self.summary("only", count: 100, mean: 1, variance: 1), SegmentSummary(segment: "none", count: 0, sum: 0, sumOfSquares: 0)], kind: .mean)
        #expect(alone.map(\.note) == ["no other traffic", "no values"] && alone.allSatisfy { $0.gap == 0 && $0.pValue == nil })
    }

    @Test("Student's t tail: closed forms for 1 and 2 degrees of freedom, the normal limit, and both methods agree where they meet")
    func studentTail() {
        for t in [1e-8, 0.3, 1.0, 2.5, 10.0, 1e3] {
            // 1 - (2/π) atan(t) and 1 - t / √(2 + t²), written without cancellation.
            let cauchy = 2 / Double.pi * atan(1 / t)
            #expect(abs(GapStatistics.studentTwoSided(t, 1) - cauchy) <= 1e-14 * cauchy, "ν = 1, t = \(t)")
            let root = (2 + t * t).squareRoot()
            let two = 2 / (root * (root + t))
            #expect(abs(GapStatistics.studentTwoSided(-t, 2) - two) <= 1e-14 * two, "ν = 2, t = \(-t)")
        }
        // ν = 10^13 is the normal distribution within about t⁴ / 4ν, relatively.
        for t in [0.5, 2.0, 5.0, 10.0] {
            let normal = GapStatistics.normalTwoSided(t)
            #expect(abs(GapStatistics.studentTwoSided(t, 1e13) - normal) <= 1e-9 * normal, "t = \(t)")
        }
        // The continued fraction and the large-ν expansion agree where the expansion takes over.
        for degrees in [100.0, 300.0, 1000.0] {
            for t in [0.5, 1.7, 3.0, 8.0] {
                let square = t * t, total = degrees + square
                let fraction = GapStatistics.regularizedIncompleteBeta(x: degrees / total, y: square / total, a: degrees / 2, b: 0.5)
                let expansion = GapStatistics.incompleteBetaHalfLargeA(minusLogX: log1p(square / degrees), a: degrees / 2)
                #expect(abs(fraction - expansion) <= 1e-12 * expansion, "ν = \(degrees), t = \(t)")
            }
        }
        #expect(abs(GapStatistics.studentSurvival(-1, 1) - 0.75) < 1e-15 && abs(GapStatistics.studentSurvival(1, 1) - 0.25) < 1e-15)
        // I_x(a, 1) = x^a and I_x(1, b) = 1 - (1 - x)^b.
        for (a, x) in [(0.5, 0.3), (3.0, 0.7), (40.0, 0.9), (2000.0, 0.999)] {
            let power = pow(x, a)
            #expect(abs(GapStatistics.regularizedIncompleteBeta(x: x, y: 1 - x, a: a, b: 1) - power) <= 1e-13 * power)
            let complement = 1 - pow(1 - x, a)
            #expect(abs(GapStatistics.regularizedIncompleteBeta(x: x, y: 1 - x, a: 1, b: a) - complement) <= 1e-13 * complement)
        }
    }

    @Test("Summaries and gaps encode with snake_case keys and decode back equal")
    func jsonKeys() throws {
        let gap = SegmentGap(
            segment: "ja", count: 140, mean: 1150.5, restCount: 1060, restMean: 875.25, gap: 275.25, pValue: 1e-18, adjustedPValue: 5e-18,
            flagged: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(gap), as: UTF8.self)
        #expect(text.contains("\"rest_count\":1060") && text.contains("\"rest_mean\"") && text.contains("\"p_value\"") && text.contains("\"adjusted_p_value\""))
        #expect(try JSONDecoder().decode(SegmentGap.self, from: encoder.encode(gap)) == gap)
        let summary = SegmentSummary(segment: "en", values: [1, 2, 3.5])
        #expect(summary == SegmentSummary(segment: "en", count: 3, sum: 6.5, sumOfSquares: 17.25))
        #expect(String(decoding: try encoder.encode(summary), as: UTF8.self).contains("\"sum_of_squares\":17.25"))
        #expect(try JSONDecoder().decode(SegmentSummary.self, from: encoder.encode(summary)) == summary)
    }
}
