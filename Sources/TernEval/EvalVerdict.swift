import Foundation
import TernCore

// The CI gate: exit codes from the pass rate, errors, golden items and regressions against a baseline.

/// A test and column that passed in the baseline and does not pass now.
public struct EvalRegression: Sendable, Equatable {
    public var testKey: String
    public var test: String
    public var column: String
    public var now: EvalOutcome.Status
    public var reason: String
}

/// A previous run's result per test and column, to compare with.
public struct EvalBaseline: Sendable, Equatable {
    /// How a stored server experiment's columns (prompt name x model) line up with a run's.
    public struct ExperimentShape: Sendable, Equatable {
        /// Prompt names (without versions) and models of the experiment, in column order.
        public var prompts: [String]
        public var models: [String]

        public init(prompts: [String], models: [String]) {
            self.prompts = prompts
            self.models = models
        }
    }

    /// Where it came from (a file, a run id).
    public var source: String
    /// test key -> column key -> status over repetitions.
    public var statuses: [String: [String: EvalOutcome.Status]]
    /// Set for a server experiment: its column keys are `prompt name U+001F model`, matched to the
    /// run's columns by `column(for:in:)`. Nil: column keys are the run's own (`EvalOutcome.Column.key`).
    public var experiment: ExperimentShape?

    public init(source: String, statuses: [String: [String: EvalOutcome.Status]], experiment: ExperimentShape? = nil) {
        self.source = source
        self.statuses = statuses
        self.experiment = experiment
    }

    /// A JSON file written by `tern eval -o FILE.json` (or kept in the run history).
    public static func load(path: String, source: String? = nil) throws -> EvalBaseline {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError(source: "--baseline", path: nil, line: nil, message: "cannot read \(path): \(error.localizedDescription)")
        }
        guard let json = try? JSONValue.parse(data), let results = json["results"]?["results"]?.array else {
            throw ConfigError(source: "--baseline", path: nil, line: nil, message: "\(path) is not a JSON results file of tern eval (-o results.json)")
        }
        var statuses: [String: [String: EvalOutcome.Status]] = [:]
        for (index, result) in results.enumerated() {
            guard let tern = result["tern"], let test = tern["testKey"]?.string, let column = tern["columnKey"]?.string,
                let status = tern["status"]?.string.flatMap(EvalOutcome.Status.init(rawValue:))
            else {
                throw ConfigError(
                    source: "--baseline", path: "results.results[\(index)]", line: nil,
                    message: "\(path) lacks tern.testKey, tern.columnKey or tern.status: only JSON written by tern eval -o can be a baseline")
            }
            let previous = statuses[test]?[column]
            statuses[test, default: [:]][column] = worse(previous, status)
        }
        return EvalBaseline(source: source ?? path, statuses: statuses)
    }

    /// A cell of a stored server experiment, as a baseline needs it.
    public struct ExperimentCellStatus: Sendable, Equatable {
        public var itemID: String
        public var promptName: String
        public var model: String
        public var status: EvalOutcome.Status

        public init(itemID: String, promptName: String, model: String, status: EvalOutcome.Status) {
            self.itemID = itemID
            self.promptName = promptName
            self.model = model
            self.status = status
        }
    }

    /// A server experiment (`GET /api/v1/experiments/{id}` and its results): items are tests
    /// `item:ID` (the keys of `dataset:` tests), columns prompt name x model; repetitions fold into
    /// the worst status.
    public static func experiment(source: String, shape: ExperimentShape, cells: [ExperimentCellStatus]) -> EvalBaseline {
        var statuses: [String: [String: EvalOutcome.Status]] = [:]
        for cell in cells {
            let column = cell.promptName + "\u{1F}" + cell.model
            let test = "item:" + cell.itemID
            statuses[test, default: [:]][column] = worse(statuses[test]?[column], cell.status)
        }
        return EvalBaseline(source: source, statuses: statuses, experiment: shape)
    }

    static func worse(_ a: EvalOutcome.Status?, _ b: EvalOutcome.Status) -> EvalOutcome.Status {
        guard let a else { return b }
        if a == .error || b == .error { return .error }
        if a == .fail || b == .fail { return .fail }
        return .pass
    }

    /// The baseline's key of a run's column: its own key; for a server experiment, the prompt
    /// name and model it matches. A dimension with one value on both sides matches whatever the
    /// names (one prompt against one prompt); else the prompt's label (or key) must name an
    /// experiment prompt, and the provider's model (or label, or id) an experiment model. Nil: no match.
    public func column(for column: EvalOutcome.Column, in outcome: EvalOutcome) -> String? {
        guard let experiment else { return column.key }
        let prompt = outcome.prompts[column.prompt]
        let provider = outcome.providers[column.provider]
        let promptName =
            experiment.prompts.count == 1 && outcome.prompts.count == 1
            ? experiment.prompts[0] : [prompt.label, prompt.key].first { experiment.prompts.contains($0) }
        let model =
            experiment.models.count == 1 && outcome.providers.count == 1
            ? experiment.models[0] : [provider.model, provider.label, provider.id].compactMap { $0 }.first { experiment.models.contains($0) }
        guard let promptName, let model else { return nil }
        return promptName + "\u{1F}" + model
    }

    /// Every test and column that passed in the baseline and fails or errors now. Tests or columns
    /// the baseline does not have are not compared.
    public func regressions(in outcome: EvalOutcome) -> [EvalRegression] {
        let keys = outcome.columns.map { column(for: $0, in: outcome) }
        var out: [EvalRegression] = []
        for (testIndex, test) in outcome.tests.enumerated() {
            guard let before = statuses[test.key] else { continue }
            for (columnIndex, column) in outcome.columns.enumerated() {
                guard let key = keys[columnIndex], before[key] == .pass else { continue }
                guard let now = outcome.status(test: testIndex, column: columnIndex), now != .pass else { continue }
                let reason = outcome.cells(test: testIndex, column: columnIndex).first { $0.status == now }?.reason ?? ""
                out.append(EvalRegression(testKey: test.key, test: test.label, column: column.label, now: now, reason: reason))
            }
        }
        return out
    }

    /// How many of the run's test x column pairs the baseline also has.
    public func comparedPairs(in outcome: EvalOutcome) -> Int {
        let keys = outcome.columns.map { column(for: $0, in: outcome) }
        return outcome.tests.reduce(0) { total, test in
            total + keys.filter { key in key.flatMap { statuses[test.key]?[$0] } != nil }.count
        }
    }
}

/// Where `--baseline RUN_ID` finds stored runs: the local run history (`EvalRunStore`), and a
/// Tern server's experiments (`--server`).
public protocol EvalRunHistory: Sendable {
    /// The run `reference` names, or nil when this history does not know it.
    func baseline(_ reference: String) async throws -> EvalBaseline?
}

extension EvalBaseline {
    /// `--baseline`: a JSON file written with `-o`, else a run id (or `latest`) looked up in each
    /// history in turn. `hint` says where run ids come from, for the error when none knows it.
    public static func resolve(_ reference: String, histories: [any EvalRunHistory], hint: String) async throws -> EvalBaseline {
        if FileManager.default.fileExists(atPath: reference) { return try load(path: reference) }
        for history in histories {
            if let found = try await history.baseline(reference) { return found }
        }
        throw ConfigError(source: "--baseline", path: nil, line: nil, message: "\(reference) is neither a file nor a stored run: \(hint)")
    }
}

/// The exit code of a run and why.
public struct EvalVerdict: Sendable, Equatable {
    /// 0: passed; 100: the pass rate is below the threshold or a baseline pass regressed;
    /// 1: errors (a provider call or an assertion could not run) or, when required, a golden item failed.
    public var exitCode: Int32
    public var messages: [String]

    public static func judge(_ outcome: EvalOutcome, passRate threshold: Double, requireGolden: Bool, regressions: [EvalRegression]) -> EvalVerdict {
        let stats = outcome.stats
        var messages: [String] = []
        var code: Int32 = 0
        if stats.errors > 0 {
            messages.append("\(stats.errors) of \(stats.cells) calls ended in errors (provider or assertion errors)")
            code = 1
        }
        if requireGolden, stats.goldenFailed > 0 {
            messages.append("\(stats.goldenFailed) golden \(stats.goldenFailed == 1 ? "result does" : "results do") not pass (golden: require-all)")
            code = 1
        }
        if stats.passRate * 100 < threshold - 1e-9 {
            messages.append("pass rate \(EvalReport.percent(stats.passRate)) is below the required \(String(format: "%g", threshold))%")
            if code == 0 { code = 100 }
        }
        if !regressions.isEmpty {
            messages.append("\(regressions.count) \(regressions.count == 1 ? "regression" : "regressions") against the baseline")
            if code == 0 { code = 100 }
        }
        return EvalVerdict(exitCode: code, messages: messages)
    }
}
