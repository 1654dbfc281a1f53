import Foundation
import TernCore
import TernEval
import Testing

/// Pairing two runs' cells, in particular runs that hold several versions of one prompt (the README's
/// `--prompt qa@3 --prompt qa:staging`), which the prompt name alone cannot tell apart.
@Suite("Experiment comparison: runs of several versions of one prompt")
struct ComparisonTests {
    static func run(_ id: String, prompts: [String], models: [String] = ["m"]) -> ExperimentRun {
        ExperimentRun(
            id: id, projectID: "p", name: id, datasetID: "d", datasetName: "faq", datasetVersion: 1, prompts: prompts, models: models, repeats: 1,
            assertions: [], options: [:], plannedCells: 0, createdAt: Date(), createdBy: "t")
    }

    /// One cell per item and prompt of `run`; `passing` says which prompt references pass.
    static func cells(_ run: ExperimentRun, items: [String], passing: Set<String>) -> [ExperimentCell] {
        items.flatMap { item in
            run.prompts.map { reference in
                let at = reference.lastIndex(of: "@")!
                return ExperimentCell(
                    itemID: item, promptName: String(reference[..<at]), promptVersion: Int(reference[reference.index(after: at)...])!, model: "m",
                    repetition: 0, passed: passing.contains(reference), createdAt: Date())
            }
        }
    }

    static func compare(
        _ base: ExperimentRun, _ head: ExperimentRun, key: ComparisonKey? = nil, basePassing: Set<String>, headPassing: Set<String>
    )
        throws -> ExperimentComparison
    {
        var comparer = ExperimentComparer(base: base, head: head, key: key)
        for cell in cells(base, items: ["a", "b", "c"], passing: basePassing) { try comparer.addBase(cell) }
        for cell in cells(head, items: ["a", "b", "c"], passing: headPassing) { try comparer.addHead(cell) }
        return comparer.finish()
    }

    @Test("a rerun of the same versions pairs version with version")
    func sameVersions() throws {
        let base = Self.run("r1", prompts: ["qa@3", "qa@4"]), head = Self.run("r2", prompts: ["qa@3", "qa@4"])
        #expect(ComparisonKey.automatic(base: base, head: head) == .versionModel)
        let result = try Self.compare(base, head, basePassing: ["qa@3", "qa@4"], headPassing: ["qa@3"])
        #expect(result.key == .versionModel)
        #expect(result.pairs == 6 && result.unmatchedBase == 0 && result.unmatchedHead == 0)
        #expect(result.regressionCount == 3, "qa@4 passed before and fails now, on every item")
        #expect(result.regressions.allSatisfy { $0.column == "qa@4 · m" && $0.base.prompt == "qa@4" && $0.head.prompt == "qa@4" })
    }

    @Test("after a label moved (qa:staging was v4, is v5 now), the prompts pair by their place in the run")
    func movedLabel() throws {
        let base = Self.run("r1", prompts: ["qa@3", "qa@4"]), head = Self.run("r2", prompts: ["qa@3", "qa@5"])
        #expect(ComparisonKey.automatic(base: base, head: head) == .slotModel)
        let result = try Self.compare(base, head, basePassing: ["qa@3"], headPassing: ["qa@3", "qa@5"])
        #expect(result.pairs == 6 && result.unmatchedBase == 0 && result.unmatchedHead == 0)
        #expect(result.improvementCount == 3 && result.regressionCount == 0)
        #expect(result.improvements.allSatisfy { $0.column == "prompt 2 · m" && $0.base.prompt == "qa@4" && $0.head.prompt == "qa@5" })
        // The prompt name alone cannot pair these runs: the error says which key can.
        let error = #expect(throws: TernError.self) {
            _ = try Self.compare(base, head, key: .promptModel, basePassing: [], headPassing: [])
        }
        #expect(error?.field == "by")
        #expect(error?.message.contains("version_model") == true, "\(String(describing: error?.message))")
    }

    @Test("runs of one version each keep pairing on the prompt name (v3 against v4 is a comparison of versions)")
    func oneVersionEach() throws {
        let base = Self.run("r1", prompts: ["qa@3"]), head = Self.run("r2", prompts: ["qa@4"])
        #expect(ComparisonKey.automatic(base: base, head: head) == .promptModel)
        let result = try Self.compare(base, head, basePassing: ["qa@3"], headPassing: [])
        #expect(result.pairs == 3 && result.regressionCount == 3)
    }
}
