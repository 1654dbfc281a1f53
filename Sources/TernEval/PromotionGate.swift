public import TernCore

/// The promotion gate: a prompt version may take a label (`production`) only if, in an experiment run that
/// holds both it and the version the label is on now, it does not regress on the golden items: no golden
/// item (per model and repetition) that passed with the current version fails with the candidate. The
/// rule of `tern eval --baseline`, on the golden set.
public enum PromotionGate {
    /// One regressed item: it passed with the current version and fails with the candidate.
    public struct Regression: Sendable, Equatable, Codable {
        public var itemID: String
        public var model: String
        public var repetition: Int
        public var baseScore: Double?
        public var headScore: Double?
        /// The candidate cell's error, when it has one instead of a verdict.
        public var error: String?
    }

    public struct Verdict: Sendable, Equatable {
        /// Pairs (item, model, repetition) with a cell of both versions, on the items compared.
        public var compared: Int
        public var baselinePassed: Int
        public var candidatePassed: Int
        public var regressions: [Regression]
        /// Golden items compared, or nil when the dataset version has none and every item counted.
        public var goldenItems: Int?
        public var allowed: Bool { regressions.isEmpty && compared > 0 }
    }

    /// Compares the candidate's cells with the baseline's, restricted to `golden` items when there are any.
    /// Without a baseline version (the label points nowhere yet) the candidate's own failures on the items
    /// are the regressions (nothing can be compared: it must pass them all).
    public static func check(cells: [ExperimentCell], prompt: String, candidate: Int, baseline: Int?, golden: Set<String>) -> Verdict {
        let counted = cells.filter { $0.promptName == prompt && (golden.isEmpty || golden.contains($0.itemID)) }
        struct Key: Hashable {
            var item: String
            var model: String
            var repetition: Int
        }
        var base: [Key: ExperimentCell] = [:]
        var head: [Key: ExperimentCell] = [:]
        for cell in counted {
            let key = Key(item: cell.itemID, model: cell.model, repetition: cell.repetition)
            if cell.promptVersion == candidate { head[key] = cell } else if cell.promptVersion == baseline { base[key] = cell }
        }
        var verdict = Verdict(compared: 0, baselinePassed: 0, candidatePassed: 0, regressions: [], goldenItems: golden.isEmpty ? nil : golden.count)
        for (key, headCell) in head.sorted(by: { ($0.key.item, $0.key.model, $0.key.repetition) < ($1.key.item, $1.key.model, $1.key.repetition) }) {
            let baseCell = base[key]
            guard baseline == nil || baseCell != nil else { continue }
            verdict.compared += 1
            if headCell.passed { verdict.candidatePassed += 1 }
            if baseCell?.passed == true { verdict.baselinePassed += 1 }
            let regressed = !headCell.passed && (baseline == nil || baseCell?.passed == true)
            if regressed {
                verdict.regressions.append(
                    Regression(
                        itemID: key.item, model: key.model, repetition: key.repetition, baseScore: baseCell?.score, headScore: headCell.score,
                        error: headCell.error))
            }
        }
        return verdict
    }
}
