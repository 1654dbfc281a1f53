import Foundation
import TernCore
@testable import TernMonitor
import Testing

/// The drift statistics against Evidently 0.7.23's own results on the same samples
/// (Fixtures/drift-fixtures.json, made by scripts/drift/make_fixtures.py).
@Suite("Drift statistics")
struct DriftStatisticsTests {
    struct Case: Decodable {
        let name: String
        let kind: String
        let test: String
        let reference: [JSONValue]
        let current: [JSONValue]
        let value: Double
        let drift: Bool
        let threshold: Double
        /// The Kolmogorov-Smirnov statistic D (scipy's ks_2samp), for the "ks" cases.
        let statistic: Double?
    }

    static func cases() throws -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/drift-fixtures.json")
        struct File: Decodable { let cases: [Case] }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }

    @Test("Wasserstein (normed), Jensen-Shannon, chi-squared and the z-test equal Evidently's within 1e-6, and so do their verdicts")
    func matchesEvidently() throws {
        let all = try Self.cases().filter { $0.test != "ks" }
        #expect(all.count == 12 && Set(all.map(\.test)) == ["wasserstein", "jensenshannon", "chisquare", "z"])
        for fixture in all {
            let numbers = { (values: [JSONValue]) in values.compactMap(\.double) }
            let strings = { (values: [JSONValue]) in values.compactMap(\.string) }
            let value: Double
            let pValue: Bool
            switch (fixture.test, fixture.kind) {
            case ("wasserstein", _):
                value = DriftStatistics.wassersteinNormed(reference: numbers(fixture.reference), current: numbers(fixture.current))
                pValue = false
            case ("jensenshannon", "numeric"):
                value = DriftStatistics.jensenShannon(reference: numbers(fixture.reference), current: numbers(fixture.current))
                pValue = false
            case ("jensenshannon", _):
                value = DriftStatistics.jensenShannon(reference: strings(fixture.reference), current: strings(fixture.current))
                pValue = false
            case ("chisquare", _):
                value = DriftStatistics.chiSquarePValue(reference: strings(fixture.reference), current: strings(fixture.current))
                pValue = true
            default:
                value = DriftStatistics.zTestPValue(reference: strings(fixture.reference), current: strings(fixture.current))
                pValue = true
            }
            // Within 1e-6 of Evidently's value, relatively (p-values as small as 1e-55 included).
            #expect(abs(value - fixture.value) <= 1e-6 * abs(fixture.value), "\(fixture.name): \(value) vs Evidently's \(fixture.value)")
            let drift = pValue ? value < fixture.threshold : value >= fixture.threshold
            #expect(drift == fixture.drift, "\(fixture.name)")
        }
    }

    @Test("Kolmogorov-Smirnov equals Evidently's ks (scipy's ks_2samp) within 1e-6, exact and asymptotic: D, the p-value and the verdict")
    func kolmogorovSmirnovMatchesEvidently() throws {
        let all = try Self.cases().filter { $0.test == "ks" }
        #expect(all.count == 13)
        for fixture in all {
            let statistic = try #require(fixture.statistic, "\(fixture.name)")
            let result = DriftStatistics.kolmogorovSmirnov(
                reference: fixture.reference.compactMap(\.double), current: fixture.current.compactMap(\.double))
            #expect(abs(result.statistic - statistic) <= 1e-12 * statistic, "\(fixture.name): D \(result.statistic) vs scipy's \(statistic)")
            // Relatively, p-values down to 1e-90 included.
            #expect(
                abs(result.pValue - fixture.value) <= 1e-6 * fixture.value,
                "\(fixture.name): p \(result.pValue) vs Evidently's \(fixture.value)")
            #expect((result.pValue <= fixture.threshold) == fixture.drift, "\(fixture.name)")
        }
    }

    @Test("Kolmogorov-Smirnov edge cases: small exact values, symmetry, no gap")
    func kolmogorovSmirnovEdges() {
        // Separated samples of 3 and 3: 2 of the C(6, 3) = 20 orderings are as extreme.
        let separated = DriftStatistics.kolmogorovSmirnov(reference: [1, 2, 3], current: [4, 5, 6])
        #expect(separated.statistic == 1 && abs(separated.pValue - 0.1) < 1e-15)
        let single = DriftStatistics.kolmogorovSmirnov(reference: [1], current: [2])
        #expect(single.statistic == 1 && single.pValue == 1)
        let reordered = DriftStatistics.kolmogorovSmirnov(reference: [1, 1, 2], current: [2, 1, 1])
        #expect(reordered.statistic == 0 && reordered.pValue == 1)
        let forward = DriftStatistics.kolmogorovSmirnov(reference: [0.1, 0.4, 0.4, 0.9, 1.3, 2.0], current: [0.2, 0.4, 1.0, 2.5])
        let backward = DriftStatistics.kolmogorovSmirnov(reference: [0.2, 0.4, 1.0, 2.5], current: [0.1, 0.4, 0.4, 0.9, 1.3, 2.0])
        #expect(forward.statistic == backward.statistic && forward.pValue == backward.pValue)
    }

    @Test("edge cases: one value on both sides is no drift; a category only the current sample has is certain drift")
    func edges() {
        #expect(DriftStatistics.zTestPValue(reference: ["a", "a"], current: ["a"]) == 1)
        #expect(DriftStatistics.chiSquarePValue(reference: ["a", "b", "a"], current: ["a", "c"]) == 0)
        #expect(abs(DriftStatistics.regularizedUpperGamma(1, 2) - exp(-2)) < 1e-15, "Q(1, x) = e^-x")
        #expect(DriftStatistics.wassersteinNormed(reference: [1, 2, 3], current: [1, 2, 3]) == 0)
    }
}
