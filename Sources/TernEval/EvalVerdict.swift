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
    /// Where it came from (a file, a run id).
    public var source: String
    /// test key -> column key -> status over repetitions.
    public var statuses: [String: [String: EvalOutcome.Status]]

    public init(source: String, statuses: [String: [String: EvalOutcome.Status]]) {
        self.source = source
        self.statuses = statuses
    }

    /// A JSON file written by `tern eval -o FILE.json`.
    public static func load(path: String) throws -> EvalBaseline {
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
                  let status = tern["status"]?.string.flatMap(EvalOutcome.Status.init(rawValue:)) else {
                throw ConfigError(source: "--baseline", path: "results.results[\(index)]", line: nil,
                                  message: "\(path) lacks tern.testKey, tern.columnKey or tern.status: only JSON written by tern eval -o can be a baseline")
            }
            let previous = statuses[test]?[column]
            statuses[test, default: [:]][column] = worse(previous, status)
        }
        return EvalBaseline(source: path, statuses: statuses)
    }

    static func worse(_ a: EvalOutcome.Status?, _ b: EvalOutcome.Status) -> EvalOutcome.Status {
        guard let a else { return b }
        if a == .error || b == .error { return .error }
        if a == .fail || b == .fail { return .fail }
        return .pass
    }

    /// Every test and column that passed in the baseline and fails or errors now. Tests or columns
    /// the baseline does not have are not compared.
    public func regressions(in outcome: EvalOutcome) -> [EvalRegression] {
        var out: [EvalRegression] = []
        for (testIndex, test) in outcome.tests.enumerated() {
            guard let before = statuses[test.key] else { continue }
            for (columnIndex, column) in outcome.columns.enumerated() where before[column.key] == .pass {
                guard let now = outcome.status(test: testIndex, column: columnIndex), now != .pass else { continue }
                let reason = outcome.cells(test: testIndex, column: columnIndex).first { $0.status == now }?.reason ?? ""
                out.append(EvalRegression(testKey: test.key, test: test.label, column: column.label, now: now, reason: reason))
            }
        }
        return out
    }

    /// How many of the run's test x column pairs the baseline also has.
    public func comparedPairs(in outcome: EvalOutcome) -> Int {
        outcome.tests.reduce(0) { total, test in
            total + outcome.columns.filter { statuses[test.key]?[$0.key] != nil }.count
        }
    }
}

/// Where `--baseline RUN_ID` finds stored runs. A Tern server that stores eval runs implements
/// this; until one does, only JSON files can be baselines.
public protocol EvalRunHistory: Sendable {
    func baseline(runID: String) async throws -> EvalBaseline
}

extension EvalBaseline {
    /// `--baseline`: a JSON file written with `-o`, else a run id looked up in `history`.
    public static func resolve(_ reference: String, history: (any EvalRunHistory)?) async throws -> EvalBaseline {
        if FileManager.default.fileExists(atPath: reference) { return try load(path: reference) }
        guard let history else {
            throw ConfigError(source: "--baseline", path: nil, line: nil,
                              message: "no file \(reference); baselines by run id need a Tern server that stores eval runs, which is not available yet: pass a JSON file written by tern eval -o")
        }
        return try await history.baseline(runID: reference)
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
