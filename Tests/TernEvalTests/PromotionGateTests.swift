import Foundation
import TernCore
import TernEval
import Testing

/// The promotion gate: no golden item that passed with the current version may fail with the candidate.
@Suite("Promotion gate")
struct PromotionGateTests {
    static func cell(_ item: String, _ version: Int, _ passed: Bool, model: String = "m", repetition: Int = 0, prompt: String = "qa") -> ExperimentCell {
        ExperimentCell(
            itemID: item, promptName: prompt, promptVersion: version, model: model, repetition: repetition, passed: passed, score: passed ? 1 : 0,
            createdAt: Date())
    }

    @Test("a golden item that passed with the current version and fails with the candidate refuses; others do not count")
    func regression() {
        let cells = [
            Self.cell("a", 1, true), Self.cell("a", 2, false), Self.cell("b", 1, false), Self.cell("b", 2, false), Self.cell("c", 1, true),
            Self.cell("c", 2, false), Self.cell("d", 1, false), Self.cell("d", 2, true), Self.cell("a", 1, true, prompt: "other"),
        ]
        let all = PromotionGate.check(cells: cells, prompt: "qa", candidate: 2, baseline: 1, golden: [])
        #expect(all.compared == 4 && all.regressions.map(\.itemID) == ["a", "c"] && !all.allowed && all.goldenItems == nil)
        #expect(all.baselinePassed == 2 && all.candidatePassed == 1)
        // Only golden items count: c is not golden, b failed before too, d improved.
        let golden = PromotionGate.check(cells: cells, prompt: "qa", candidate: 2, baseline: 1, golden: ["b", "c2", "d"])
        #expect(golden.compared == 2 && golden.regressions.isEmpty && golden.allowed && golden.goldenItems == 3)
        let onlyA = PromotionGate.check(cells: cells, prompt: "qa", candidate: 2, baseline: 1, golden: ["a"])
        #expect(
            onlyA.regressions.count == 1 && onlyA.regressions[0].itemID == "a" && onlyA.regressions[0].baseScore == 1 && onlyA.regressions[0].headScore == 0)
    }

    @Test("pairs are per model and repetition; without a baseline every counted cell must pass; nothing compared is no promotion")
    func pairing() {
        let cells = [
            Self.cell("a", 1, true, model: "x"), Self.cell("a", 2, true, model: "x"), Self.cell("a", 1, true, model: "y"),
            Self.cell("a", 2, false, model: "y"), Self.cell("a", 1, true, repetition: 1), Self.cell("a", 2, true, repetition: 1),
        ]
        let verdict = PromotionGate.check(cells: cells, prompt: "qa", candidate: 2, baseline: 1, golden: [])
        #expect(verdict.compared == 3 && verdict.regressions.map(\.model) == ["y"])
        let first = PromotionGate.check(cells: cells, prompt: "qa", candidate: 2, baseline: nil, golden: [])
        #expect(first.compared == 3 && first.regressions.count == 1)
        #expect(!PromotionGate.check(cells: cells, prompt: "qa", candidate: 3, baseline: 1, golden: []).allowed, "no cell of version 3")
    }
}
