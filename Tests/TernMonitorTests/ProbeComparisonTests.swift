import Foundation
import TernCore
import Testing

@testable import TernMonitor

/// A probe's run against the run before: a model that starts refusing shows; the same behaviour does not.
@Suite("Probe comparison")
struct ProbeComparisonTests {
    static func cells(_ outputs: [String], passed: (Int) -> Bool, score: (Int) -> Double? = { _ in nil }) -> [ExperimentCell] {
        outputs.enumerated().map { index, output in
            ExperimentCell(
                itemID: "i\(index)", promptName: "qa", promptVersion: 1, model: "m", repetition: 0, output: output, passed: passed(index),
                score: score(index), createdAt: Date())
        }
    }

    @Test("the same answers are no change; refusals, shorter answers and lost passes are, each with its test")
    func shift() {
        let answers = (0..<30).map { "Refunds are possible within 30 days of delivery, item \($0)." }
        let base = Self.cells(answers, passed: { _ in true }, score: { 0.8 + Double($0 % 5) / 50 })
        let same = ProbeComparison.compare(
            base: base, head: Self.cells(answers, passed: { _ in true }, score: { 0.8 + Double($0 % 5) / 50 }), baseRun: "a", headRun: "b")
        #expect(!same.changed && same.pairs == 30 && same.reasons.isEmpty && same.mcnemarP == 1, "\(same)")

        let refusals = (0..<30).map { $0 % 2 == 0 ? "I'm sorry, but I can't help with that." : answers[$0] }
        let changed = ProbeComparison.compare(
            base: base, head: Self.cells(refusals, passed: { $0 % 2 == 1 }, score: { $0 % 2 == 0 ? 0.1 : 0.8 }), baseRun: "a", headRun: "b")
        #expect(changed.changed && changed.regressions == 15 && changed.improvements == 0)
        #expect(changed.mcnemarP < 0.001 && (changed.refusalP ?? 1) < 0.001 && (changed.scoreKSP ?? 1) < 0.001 && (changed.lengthP ?? 1) < 0.05)
        #expect(changed.headRefusalRate == 0.5 && changed.baseRefusalRate == 0)
        #expect(changed.reasons.count == 4 && changed.reasons[0].hasPrefix("pass rate 100% -> 50% (15 regressions"), "\(changed.reasons)")
        #expect(ProbeComparison.isRefusal("As an AI language model, I cannot do that") && !ProbeComparison.isRefusal("Sure: here it is"))
        #expect(ProbeComparison.isRefusal("I\u{2019}m sorry, I can\u{2019}t"), "curly apostrophes")
    }
}
