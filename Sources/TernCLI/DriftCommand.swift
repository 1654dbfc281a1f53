import ArgumentParser
import Foundation
import TernCore
import TernLocal
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
              tern drift --reference ref.jsonl --current cur.jsonl --text question

            --text compares a column of text through embeddings of the local model (tern models pull \
            all-minilm-l6-v2), with Evidently's domain classifier by default (--text-method), and the \
            topics of the current sample against clusters fitted on the reference (a new topic is drift).
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

    @Option(name: .customLong("text"), help: ArgumentHelp("A text column to compare through embeddings (repeatable).", valueName: "name"))
    var text: [String] = []

    @Option(name: .customLong("text-method"), help: ArgumentHelp("model (default), mmd, ratio or distance.", valueName: "method"))
    var textMethod: String?

    @Option(name: .customLong("text-rows"), help: ArgumentHelp("Texts embedded per file, at most.", valueName: "n"))
    var textRows = 1_000

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
        var textOptions = TextDriftOptions()
        if let textMethod {
            guard let method = EmbeddingDriftMethod(rawValue: textMethod) else {
                throw ValidationError(
                    "--text-method: unknown method \"\(textMethod)\"; expected one of \(EmbeddingDriftMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            textOptions.method = method
        }
        guard (10...100_000).contains(textRows) else { throw ValidationError("--text-rows: expected 10-100000, got \(textRows)") }
        textOptions.maxRows = textRows
        let report = try await DriftAnalysis.report(
            reference: referenceTable, current: currentTable, options: options, text: text, textOptions: textOptions,
            embedder: { try SharedLocalEmbedder() })
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
        for text in report.text {
            say()
            say(
                "text \(text.column) (\(text.model), \(text.method.rawValue)): statistic \(number(text.statistic))"
                    + (text.pValue.map { ", p-value \(number($0))" } ?? "") + ", drift above \(number(text.threshold)): "
                    + (text.embeddingDrift ? "DRIFT" : "ok") + " (\(text.referenceCount) / \(text.currentCount) texts)")
            if let topics = text.topics {
                table(
                    ["topic", "reference", "current"],
                    topics.clusters.map { [$0.label, String(format: "%.1f%%", $0.referenceShare * 100), String(format: "%.1f%%", $0.currentShare * 100)] }
                        + [["(no topic)", "", String(format: "%.1f%%", topics.unassignedShare * 100)]])
                if topics.newTopic { say("NEW TOPIC in the current sample: \(topics.newTopicTerms.joined(separator: ", "))") }
            }
            if let note = text.note { say(note) }
        }
        say()
        let percent = Int((report.shareDrifted * 100).rounded())
        say(
            "Drift in \(report.numberDrifted) of \(report.columns.count + report.text.count) columns (\(percent)%): "
                + (report.datasetDrift ? "DATASET DRIFT" : "no dataset drift")
                + " (at \(Int((report.driftShare * 100).rounded()))% of the columns)")
    }
}
