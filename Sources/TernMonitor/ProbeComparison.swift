public import TernCore
import TernEval

/// How a probe's run differs from the run before it: the pass rate (McNemar's test on the paired verdicts),
/// the score distribution (two-sample Kolmogorov-Smirnov), the output length (Welch's t-test) and the refusal
/// rate (two-proportion z-test). A significant change in any of them is the sign that the model behind the
/// name changed.
public struct ProbeShift: Sendable, Equatable {
    public var baseRun: String
    public var headRun: String
    /// Cells paired on item, prompt name, model and repetition.
    public var pairs: Int
    public var basePassRate: Double
    public var headPassRate: Double
    /// Pairs that passed before and fail now, and the other way round.
    public var regressions: Int
    public var improvements: Int
    public var mcnemarP: Double
    public var scoreKSP: Double?
    public var baseLength: Double
    public var headLength: Double
    public var lengthP: Double?
    public var baseRefusalRate: Double
    public var headRefusalRate: Double
    public var refusalP: Double?
    /// Whether any test is significant at `alpha`.
    public var changed: Bool
    /// What changed, in words.
    public var reasons: [String]

    public var json: JSONValue {
        func optional(_ value: Double?) -> JSONValue { value.map(JSONValue.number) ?? .null }
        return [
            "base_run": .string(baseRun), "head_run": .string(headRun), "pairs": .number(Double(pairs)), "base_pass_rate": .number(basePassRate),
            "head_pass_rate": .number(headPassRate), "regressions": .number(Double(regressions)), "improvements": .number(Double(improvements)),
            "mcnemar_p": .number(mcnemarP), "score_ks_p": optional(scoreKSP), "base_output_chars": .number(baseLength),
            "head_output_chars": .number(headLength), "length_p": optional(lengthP), "base_refusal_rate": .number(baseRefusalRate),
            "head_refusal_rate": .number(headRefusalRate), "refusal_p": optional(refusalP), "changed": .bool(changed),
            "reasons": .array(reasons.map(JSONValue.string)),
        ]
    }
}

public enum ProbeComparison {
    /// Openings of refusals (lower-cased, apostrophes straightened): an output that starts with one, or holds one
    /// in its first 200 characters, is a refusal.
    public static var refusalPhrases: [String] { TraceMeasure.refusalPhrases }

    public static func isRefusal(_ output: String) -> Bool { TraceMeasure.isRefusal(output) }

    public static func compare(base: [ExperimentCell], head: [ExperimentCell], baseRun: String, headRun: String, alpha: Double = 0.05) -> ProbeShift {
        struct Key: Hashable {
            var item: String
            var prompt: String
            var model: String
            var repetition: Int
        }
        var earlier: [Key: ExperimentCell] = [:]
        for cell in base { earlier[Key(item: cell.itemID, prompt: cell.promptName, model: cell.model, repetition: cell.repetition)] = cell }
        var pairs = 0, regressions = 0, improvements = 0
        for cell in head {
            guard let before = earlier[Key(item: cell.itemID, prompt: cell.promptName, model: cell.model, repetition: cell.repetition)] else { continue }
            pairs += 1
            if before.passed, !cell.passed { regressions += 1 }
            if !before.passed, cell.passed { improvements += 1 }
        }
        func rate(_ cells: [ExperimentCell], _ test: (ExperimentCell) -> Bool) -> Double {
            cells.isEmpty ? 0 : Double(cells.filter(test).count) / Double(cells.count)
        }
        func moments(_ values: [Double]) -> (count: Int, mean: Double, variance: Double) {
            let mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
            let variance = values.count < 2 ? 0 : values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
            return (values.count, mean, variance)
        }
        let mcnemar = Significance.mcNemar(b: regressions, c: improvements)
        let baseScores = base.compactMap(\.score).filter(\.isFinite), headScores = head.compactMap(\.score).filter(\.isFinite)
        let ks = baseScores.count >= 2 && headScores.count >= 2 ? DriftStatistics.kolmogorovSmirnov(reference: baseScores, current: headScores).pValue : nil
        let baseLengths = moments(base.map { Double($0.output?.count ?? 0) }), headLengths = moments(head.map { Double($0.output?.count ?? 0) })
        let length = GapStatistics.welch(
            countA: baseLengths.count, meanA: baseLengths.mean, varianceA: baseLengths.variance, countB: headLengths.count, meanB: headLengths.mean,
            varianceB: headLengths.variance)?.pValue
        let baseRefusals = base.filter { isRefusal($0.output ?? "") }.count, headRefusals = head.filter { isRefusal($0.output ?? "") }.count
        let refusal = GapStatistics.twoProportion(successesA: baseRefusals, countA: base.count, successesB: headRefusals, countB: head.count)?.pValue
        var shift = ProbeShift(
            baseRun: baseRun, headRun: headRun, pairs: pairs, basePassRate: rate(base) { $0.passed }, headPassRate: rate(head) { $0.passed },
            regressions: regressions, improvements: improvements, mcnemarP: mcnemar, scoreKSP: ks, baseLength: baseLengths.mean,
            headLength: headLengths.mean, lengthP: length, baseRefusalRate: rate(base) { isRefusal($0.output ?? "") },
            headRefusalRate: rate(head) { isRefusal($0.output ?? "") }, refusalP: refusal, changed: false, reasons: [])
        func percent(_ value: Double) -> String { String(Int((value * 100).rounded())) + "%" }
        if pairs > 0, mcnemar < alpha {
            shift.reasons.append(
                "pass rate \(percent(shift.basePassRate)) -> \(percent(shift.headPassRate)) (\(regressions) regressions, \(improvements) improvements; McNemar p = \(AlertNotification.format(mcnemar)))"
            )
        }
        if let ks, ks < alpha { shift.reasons.append("score distribution moved (Kolmogorov-Smirnov p = \(AlertNotification.format(ks)))") }
        if let length, length < alpha {
            shift.reasons.append(
                "output length \(Int(shift.baseLength.rounded())) -> \(Int(shift.headLength.rounded())) characters (Welch p = \(AlertNotification.format(length)))"
            )
        }
        if let refusal, refusal < alpha {
            shift.reasons.append(
                "refusal rate \(percent(shift.baseRefusalRate)) -> \(percent(shift.headRefusalRate)) (z-test p = \(AlertNotification.format(refusal)))")
        }
        shift.changed = !shift.reasons.isEmpty
        return shift
    }

    /// The newest completed run of the probe compared with the completed run before it (nil with fewer than two).
    public static func latest(_ probe: Probe, store: any TernStore) async throws -> (ExperimentRun, ProbeShift?)? {
        var completed: [ExperimentRun] = []
        for run in try await store.probes.runs(projectID: probe.projectID, probeID: probe.id, limit: 50) {
            guard let experiment = try await store.experiments.get(projectID: probe.projectID, id: run.experimentID), experiment.status == .completed
            else { continue }
            completed.append(experiment)
            if completed.count == 2 { break }
        }
        guard let head = completed.first else { return nil }
        guard completed.count == 2 else { return (head, nil) }
        let headCells = try await cells(store, project: probe.projectID, run: head.id)
        let baseCells = try await cells(store, project: probe.projectID, run: completed[1].id)
        return (head, compare(base: baseCells, head: headCells, baseRun: completed[1].id, headRun: head.id))
    }

    /// Every cell of a run.
    public static func cells(_ store: any TernStore, project: String, run: String) async throws -> [ExperimentCell] {
        var cells: [ExperimentCell] = []
        var after: String?
        while true {
            let page = try await store.experiments.cells(projectID: project, experimentID: run, after: after, limit: 1000)
            cells += page
            guard page.count == 1000, let last = page.last else { return cells }
            after = last.cellKey
        }
    }
}
