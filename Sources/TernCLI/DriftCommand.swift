import ArgumentParser
import Foundation
import TernCore
import TernMonitor

/// `tern drift`: data drift between two files, column by column, with Evidently's tests and defaults.
struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Compare a current sample with a reference, column by column, for data drift (no server needed).",
        discussion: """
            Reads two JSONL, JSON (an array of objects) or CSV files; nested objects become dotted columns \
            (metadata.language). A column's type comes from its values: numbers are numeric (with at most 5 distinct \
            values they are tested as categories), text and booleans are categorical.

            Tests and thresholds are Evidently's defaults: with up to 1,000 reference values, Kolmogorov-Smirnov \
            (numeric) or chi-squared (categorical; the z-test for two values), drift at p < 0.05; with more, \
            the Wasserstein distance normed by the reference's standard deviation (numeric) or the \
            Jensen-Shannon distance (categorical), drift at >= 0.1. The dataset drifts when at least half of \
            the columns drift (--drift-share).

            Exit codes: 0, or 100 with --fail-on-drift when the dataset drifts; 1 on bad input.

            Examples:
              tern drift --reference last-month.jsonl --current today.jsonl
              tern drift --reference ref.csv --current cur.csv \\
                --column latency_ms --column language --format json
              tern drift --reference ref.jsonl --current cur.jsonl \\
                --stattest wasserstein --threshold 0.2 --fail-on-drift
            """)

    @Option(name: .long, help: ArgumentHelp("The reference sample: a .jsonl, .json or .csv file.", valueName: "file"))
    var reference: String

    @Option(name: .long, help: ArgumentHelp("The current sample: a .jsonl, .json or .csv file.", valueName: "file"))
    var current: String

    @Option(name: .customLong("column"), help: ArgumentHelp("A column to compare (repeatable; default: every shared column).", valueName: "name"))
    var columns: [String] = []

    @Option(name: .customLong("numeric"), help: ArgumentHelp("Treat this column as numeric (repeatable).", valueName: "name"))
    var numeric: [String] = []

    @Option(name: .customLong("categorical"), help: ArgumentHelp("Treat this column as categorical (repeatable).", valueName: "name"))
    var categorical: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "One test for every column: \(DriftStatTest.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "test"))
    var stattest: String?

    @Option(name: .long, help: ArgumentHelp("The test's threshold (default: 0.05 for p-values, 0.1 for distances).", valueName: "x"))
    var threshold: Double?

    @Option(name: .customLong("drift-share"), help: ArgumentHelp("Share of drifting columns that makes dataset drift.", valueName: "x"))
    var driftShare = 0.5

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format = "text"

    @Flag(name: .customLong("fail-on-drift"), help: "Exit 100 when the dataset drifts.")
    var failOnDrift = false

    func run() async throws {
        guard format == "text" || format == "json" else {
            throw ValidationError("--format: expected text or json, got \(format)")
        }
        var options = DriftOptions()
        options.columns = columns
        options.numeric = Set(numeric)
        options.categorical = Set(categorical)
        if let stattest {
            guard let test = DriftStatTest(rawValue: stattest) else {
                throw ValidationError(
                    "--stattest: unknown test \"\(stattest)\"; expected one of \(DriftStatTest.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            options.stattest = test
        }
        options.threshold = threshold
        options.driftShare = driftShare
        let directory = CLIEnvironment.directory
        func path(_ name: String) -> String { name.hasPrefix("/") ? name : (directory as NSString).appendingPathComponent(name) }
        var referenceTable = try DriftTable.read(path: path(reference))
        referenceTable.source = reference
        var currentTable = try DriftTable.read(path: path(current))
        currentTable.source = current
        let report = try DriftAnalysis.report(reference: referenceTable, current: currentTable, options: options)
        if format == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            say(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            Self.printText(report)
        }
        if failOnDrift, report.datasetDrift { throw ExitCode(100) }
    }

    static func printText(_ report: DriftReport) {
        func number(_ value: Double?) -> String {
            guard let value else { return "-" }
            guard value.isFinite else { return value.isNaN ? "nan" : "inf" }
            return value != 0 && abs(value) < 0.0001 ? String(format: "%.2e", value) : String(format: "%.4f", value)
        }
        let rows = report.columns.map { column in
            [
                column.column, column.type.rawValue, column.stattest.rawValue, number(column.statistic), number(column.pValue),
                (column.pValue != nil ? "p < " : ">= ") + number(column.threshold), column.driftDetected ? "DRIFT" : "ok",
                "\(column.referenceCount) / \(column.currentCount)",
            ]
        }
        table(["column", "type", "test", "statistic", "p-value", "drift at", "result", "rows ref / cur"], rows)
        for skipped in report.skipped { say("skipped \(skipped.column): \(skipped.reason)") }
        say()
        let percent = Int((report.shareDrifted * 100).rounded())
        say(
            "Drift in \(report.numberDrifted) of \(report.columns.count) columns (\(percent)%): "
                + (report.datasetDrift ? "DATASET DRIFT" : "no dataset drift")
                + " (at \(Int((report.driftShare * 100).rounded()))% of the columns)")
    }
}
