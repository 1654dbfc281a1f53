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
    }

    static func cases() throws -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/drift-fixtures.json")
        struct File: Decodable { let cases: [Case] }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }

    @Test("Wasserstein (normed), Jensen-Shannon, chi-squared and the z-test equal Evidently's within 1e-6, and so do their verdicts")
    func matchesEvidently() throws {
        let all = try Self.cases()
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

    @Test("edge cases: one value on both sides is no drift; a category only the current sample has is certain drift")
    func edges() {
        #expect(DriftStatistics.zTestPValue(reference: ["a", "a"], current: ["a"]) == 1)
        #expect(DriftStatistics.chiSquarePValue(reference: ["a", "b", "a"], current: ["a", "c"]) == 0)
        #expect(abs(DriftStatistics.regularizedUpperGamma(1, 2) - exp(-2)) < 1e-15, "Q(1, x) = e^-x")
        #expect(DriftStatistics.wassersteinNormed(reference: [1, 2, 3], current: [1, 2, 3]) == 0)
    }
}
