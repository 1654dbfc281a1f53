import Foundation
public import TernCore

/// How two runs' cells are paired: always on item id and repetition, plus the parts of the column
/// (prompt name, model) named here. The prompt *version* is never part of the key: comparing
/// `qa@1` with `qa@2` is the point.
public enum ComparisonKey: String, Sendable, Codable, CaseIterable {
    /// Item, repetition, prompt name and model.
    case promptModel = "prompt_model"
    /// Item, repetition and prompt name (for comparing models: each run must use one model per prompt).
    case prompt
    /// Item, repetition and model (for comparing different prompts: one prompt per model in each run).
    case model
    /// Item and repetition only (each run must have one column).
    case item
    /// Item, repetition, prompt version (`qa@3`) and model: for runs of several versions of one prompt
    /// that ran the same versions (a rerun).
    case versionModel = "version_model"
    /// Item, repetition, the prompt's place in its run's list and model: for runs of several versions of
    /// one prompt whose versions moved on (`qa@3, qa:staging` run again after staging moved): the first
    /// prompt of one run pairs with the first of the other, and so on.
    case slotModel = "slot_model"

    /// The default: the prompt name and the model are in the key unless the two runs use different
    /// sets of them (a run of model A against a run of model B pairs on the prompt alone). When a run
    /// holds several versions of one prompt, the name cannot tell its columns apart: the versions pair
    /// (`version_model`) when both runs ran the same ones, else the places in the lists (`slot_model`).
    public static func automatic(base: ExperimentRun, head: ExperimentRun) -> ComparisonKey {
        func name(_ reference: String) -> String { String(reference[..<(reference.lastIndex(of: "@") ?? reference.endIndex)]) }
        func names(_ run: ExperimentRun) -> Set<String> { Set(run.prompts.map(name)) }
        if names(base).count < base.prompts.count || names(head).count < head.prompts.count {
            return Set(base.prompts) == Set(head.prompts) ? .versionModel : .slotModel
        }
        let samePrompts = names(base) == names(head)
        let sameModels = Set(base.models) == Set(head.models)
        switch (samePrompts, sameModels) {
        case (true, true): return .promptModel
        case (true, false): return .prompt
        case (false, true): return .model
        case (false, false): return .item
        }
    }

    /// The column part of a cell's pairing key (empty for `item`). `prompts` is the cell's run's prompt
    /// list (`name@version`, in order), which `slot_model` numbers.
    public func column(_ cell: ExperimentCell, prompts: [String] = []) -> String {
        switch self {
        case .promptModel: "\(cell.promptName) · \(cell.model)"
        case .prompt: cell.promptName
        case .model: cell.model
        case .item: ""
        case .versionModel: "\(cell.promptName)@\(cell.promptVersion) · \(cell.model)"
        case .slotModel:
            "prompt \((prompts.firstIndex(of: "\(cell.promptName)@\(cell.promptVersion)") ?? -1) + 1) · \(cell.model)"
        }
    }
}

/// One side of a pair: a cell as the comparison shows it.
public struct ComparedCell: Sendable, Codable, Equatable {
    public var prompt: String
    public var model: String
    public var passed: Bool
    public var score: Double?
    public var error: String?
    public var traceID: String?
    /// The output's first 500 characters.
    public var output: String?
    /// Why it failed: the first failing assertion's reason, or the error.
    public var reason: String?

    public init(_ cell: ExperimentCell) {
        prompt = cell.promptLabel
        model = cell.model
        passed = cell.passed
        score = cell.score
        error = cell.error
        traceID = cell.traceID
        output = cell.output.map { String($0.prefix(500)) }
        reason = cell.error ?? ComparedCell.failingReason(cell.assertions)
    }

    static func failingReason(_ evaluation: JSONValue?) -> String? {
        guard let evaluation, evaluation["pass"]?.bool == false else { return nil }
        for component in evaluation["components"]?.array ?? [] where component["pass"]?.bool == false {
            if let reason = component["reason"]?.string, !reason.isEmpty { return reason }
        }
        return evaluation["reason"]?.string
    }
}

public struct ComparisonPair: Sendable, Codable, Equatable {
    public enum Change: String, Sendable, Codable {
        /// Passed in the base run, not in the head run.
        case regression
        /// Failed (or errored) in the base run, passed in the head run.
        case improvement
        case bothPassed = "both_passed"
        case bothFailed = "both_failed"
    }

    public var itemID: String
    public var repetition: Int
    public var column: String
    public var change: Change
    /// Head score minus base score, when both have one.
    public var scoreDelta: Double?
    public var base: ComparedCell
    public var head: ComparedCell
}

public struct McNemarResult: Sendable, Codable, Equatable {
    /// Discordant pairs: passed in base only (regressions) and in head only (improvements).
    public var b: Int
    public var c: Int
    public var pValue: Double
    /// `exact` (two-sided binomial, below 26 discordant pairs) or `chi-square` (with continuity correction).
    public var method: String
}

/// Two runs side by side, over the cells they share.
public struct ExperimentComparison: Sendable, Codable, Equatable {
    public var base: String
    public var head: String
    public var key: ComparisonKey
    public var pairs = 0
    public var unmatchedBase = 0
    public var unmatchedHead = 0
    public var basePassed = 0
    public var headPassed = 0
    public var bothPassed = 0
    public var bothFailed = 0
    public var regressionCount = 0
    public var improvementCount = 0
    /// Mean of the score deltas of the pairs where both cells have a score.
    public var meanScoreDelta: Double?
    public var mcnemar = McNemarResult(b: 0, c: 0, pValue: 1, method: "exact")
    public var significant = false
    public var summary = ""
    /// Every regression and improvement, up to the limit, in item order.
    public var regressions: [ComparisonPair] = []
    public var improvements: [ComparisonPair] = []
    /// Pairs whose verdict did not change but whose score did, largest change first, up to the limit.
    public var scoreChanges: [ComparisonPair] = []

    /// Pass rates over the paired cells.
    public var basePassRate = 0.0
    public var headPassRate = 0.0

    public init(base: String, head: String, key: ComparisonKey) {
        self.base = base
        self.head = head
        self.key = key
    }
}

/// Builds a comparison from the two runs' cells, streamed: the base run's cells first (kept as
/// small summaries by pairing key), then the head run's, each paired as it arrives. Memory grows
/// with the base run's cell count, not with their outputs.
public struct ExperimentComparer: Sendable {
    public let key: ComparisonKey
    public let limit: Int
    var result: ExperimentComparison
    var baseCells: [String: ExperimentCell] = [:]
    var headKeys = Set<String>()
    var deltaSum = 0.0
    var deltaCount = 0

    /// The runs' prompt lists (`name@version`, in order), which `slot_model` needs.
    let basePrompts: [String]
    let headPrompts: [String]

    public init(base: String, head: String, key: ComparisonKey, limit: Int = 200, basePrompts: [String] = [], headPrompts: [String] = []) {
        self.key = key
        self.limit = max(0, limit)
        self.basePrompts = basePrompts
        self.headPrompts = headPrompts
        result = ExperimentComparison(base: base, head: head, key: key)
    }

    /// Compares two runs, with the pairing `key` chosen from them unless given.
    public init(base: ExperimentRun, head: ExperimentRun, key: ComparisonKey? = nil, limit: Int = 200) {
        self.init(
            base: base.id, head: head.id, key: key ?? .automatic(base: base, head: head), limit: limit, basePrompts: base.prompts,
            headPrompts: head.prompts)
    }

    func pairKey(_ cell: ExperimentCell, prompts: [String]) -> String {
        [cell.itemID, String(cell.repetition), key.column(cell, prompts: prompts)].joined(separator: "\u{1F}")
    }

    func duplicate(_ cell: ExperimentCell, run: String, prompts: [String]) -> TernError {
        let finer: String =
            switch key {
            case .item, .prompt, .model: "by=prompt_model, or by=version_model when a run holds several versions of one prompt"
            default: "by=version_model or by=slot_model"
            }
        return TernError.invalid(
            "by",
            "run \(run) has two cells for item \(cell.itemID) under by=\(key.rawValue) (column \"\(key.column(cell, prompts: prompts))\"); "
                + "pair on more of the column (\(finer))")
    }

    public mutating func addBase(_ cell: ExperimentCell) throws {
        var kept = cell
        kept.output = cell.output.map { String($0.prefix(500)) }
        guard baseCells.updateValue(kept, forKey: pairKey(cell, prompts: basePrompts)) == nil else {
            throw duplicate(cell, run: result.base, prompts: basePrompts)
        }
    }

    public mutating func addHead(_ cell: ExperimentCell) throws {
        let key = pairKey(cell, prompts: headPrompts)
        guard headKeys.insert(key).inserted else { throw duplicate(cell, run: result.head, prompts: headPrompts) }
        guard let base = baseCells[key] else {
            result.unmatchedHead += 1
            return
        }
        result.pairs += 1
        if base.passed { result.basePassed += 1 }
        if cell.passed { result.headPassed += 1 }
        var delta: Double?
        if let a = base.score, let b = cell.score {
            delta = b - a
            deltaSum += b - a
            deltaCount += 1
        }
        let change: ComparisonPair.Change =
            switch (base.passed, cell.passed) {
            case (true, false): .regression
            case (false, true): .improvement
            case (true, true): .bothPassed
            case (false, false): .bothFailed
            }
        let pair = ComparisonPair(
            itemID: cell.itemID, repetition: cell.repetition, column: self.key.column(cell, prompts: headPrompts), change: change, scoreDelta: delta,
            base: ComparedCell(base), head: ComparedCell(cell))
        switch change {
        case .regression:
            result.regressionCount += 1
            if result.regressions.count < limit { result.regressions.append(pair) }
        case .improvement:
            result.improvementCount += 1
            if result.improvements.count < limit { result.improvements.append(pair) }
        case .bothPassed, .bothFailed:
            if change == .bothPassed { result.bothPassed += 1 } else { result.bothFailed += 1 }
            if let delta, abs(delta) > 1e-9 {
                result.scoreChanges.append(pair)
                if result.scoreChanges.count > limit * 2 { trimScoreChanges() }
            }
        }
    }

    mutating func trimScoreChanges() {
        result.scoreChanges.sort { abs($0.scoreDelta ?? 0) > abs($1.scoreDelta ?? 0) }
        result.scoreChanges = Array(result.scoreChanges.prefix(limit))
    }

    /// The comparison, with McNemar's test on the discordant pairs and a one-sentence summary.
    public mutating func finish() -> ExperimentComparison {
        trimScoreChanges()
        result.unmatchedBase = baseCells.count - result.pairs
        result.meanScoreDelta = deltaCount == 0 ? nil : deltaSum / Double(deltaCount)
        result.basePassRate = result.pairs == 0 ? 0 : Double(result.basePassed) / Double(result.pairs)
        result.headPassRate = result.pairs == 0 ? 0 : Double(result.headPassed) / Double(result.pairs)
        let b = result.regressionCount, c = result.improvementCount
        result.mcnemar = McNemarResult(b: b, c: c, pValue: Significance.mcNemar(b: b, c: c), method: b + c < 26 ? "exact" : "chi-square")
        result.significant = b + c > 0 && result.mcnemar.pValue < 0.05
        result.summary = Self.sentence(result)
        return result
    }

    static func sentence(_ r: ExperimentComparison) -> String {
        guard r.pairs > 0 else {
            return "The runs share no cells under by=\(r.key.rawValue): nothing to compare."
        }
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        let rates = String(format: "Pass rate %.1f%% → %.1f%%", r.basePassRate * 100, r.headPassRate * 100) + " over \(plural(r.pairs, "paired cell"))"
        let changes = "\(plural(r.regressionCount, "regression")), \(plural(r.improvementCount, "improvement"))"
        guard r.regressionCount + r.improvementCount > 0 else {
            return "\(rates); \(changes): the verdicts are the same, so the difference is not significant."
        }
        let test = r.mcnemar.method == "exact" ? "McNemar's exact test" : "McNemar's chi-square test (continuity-corrected)"
        let p = r.mcnemar.pValue < 0.0001 ? "p < 0.0001" : String(format: "p = %.4f", r.mcnemar.pValue)
        return "\(rates); \(changes). \(test): \(p), \(r.significant ? "significant" : "not significant") at the 0.05 level."
    }
}
