import Foundation
import TernCore
@testable import TernMonitor
import Testing

/// Whole-table drift against Evidently's DataDriftPreset on the same files (Fixtures/drift-report, made by
/// scripts/drift/make_report_fixture.py), and the refusals of bad tables.
@Suite("Drift report")
struct DriftReportTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/drift-report")

    struct Expected: Decodable {
        struct Column: Decodable {
            let stattest: String
            let score: Double
            let drift: Bool
            let threshold: Double
            let type: String
        }
        struct Report: Decodable {
            let dataset_drift: Bool
            let share_drifted: Double
            let columns: [String: Column]
        }
        let reports: [String: Report]
    }

    @Test(
        "Each column's type, test, score and verdict, and the dataset's drift, equal Evidently's (CSV and JSONL files)",
        arguments: [("small", "csv"), ("large", "jsonl")])
    func matchesEvidentlyPreset(name: String, fileExtension: String) throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.folder.appendingPathComponent("expected.json")))
        let want = try #require(expected.reports[name])
        let report = try DriftAnalysis.report(
            reference: DriftTable.read(path: Self.folder.appendingPathComponent("\(name)-reference.\(fileExtension)").path),
            current: DriftTable.read(path: Self.folder.appendingPathComponent("\(name)-current.\(fileExtension)").path))
        #expect(Set(report.columns.map(\.column)) == Set(want.columns.keys))
        #expect(report.skipped.isEmpty)
        for column in report.columns {
            let expected = try #require(want.columns[column.column])
            #expect(column.stattest.rawValue == expected.stattest, "\(column.column)")
            #expect(column.type.rawValue == expected.type, "\(column.column)")
            #expect(column.threshold == expected.threshold, "\(column.column)")
            #expect(column.driftDetected == expected.drift, "\(column.column)")
            let error = abs(column.score - expected.score) / max(abs(expected.score), 1e-300)
            #expect(error < 1e-6 || abs(column.score - expected.score) < 1e-12, "\(column.column): \(column.score) vs \(expected.score)")
        }
        #expect(report.datasetDrift == want.dataset_drift)
        #expect(abs(report.shareDrifted - want.share_drifted) < 1e-12)
    }

    static func table(_ jsonl: String, source: String = "t.jsonl") throws -> DriftTable {
        try DriftTable.parseJSONL(jsonl, source: source)
    }

    @Test("Nested objects become dotted columns; null and absent keys are missing; arrays are compared as their JSON text")
    func flattening() throws {
        let table = try Self.table(
            """
            {"metadata": {"language": "en", "tier": null}, "tags": ["a", "b"], "n": 1}
            {"metadata": {"language": "de"}, "n": 2.5}
            """)
        #expect(table.columns.sorted() == ["metadata.language", "metadata.tier", "n", "tags"])
        #expect(table.values["metadata.language"] == [.string("en"), .string("de")])
        #expect(table.values["metadata.tier"] == [.missing, .missing])
        #expect(table.values["tags"] == [.string(#"["a","b"]"#), .missing])
        #expect(table.values["n"] == [.number(1), .number(2.5)])
    }

    @Test("CSV cells read as pandas reads them: numbers, booleans, text, and NA markers as missing")
    func csvTypes() throws {
        let table = try DriftTable.parseCSV("a,b,c\n1,true,x\nNaN,False,\n3.5,TRUE,y\n", source: "t.csv")
        #expect(table.values["a"] == [.number(1), .missing, .number(3.5)])
        #expect(table.values["b"] == [.bool(true), .bool(false), .bool(true)])
        #expect(table.values["c"] == [.string("x"), .missing, .string("y")])
        #expect(throws: TernError.self) { try DriftTable.parseCSV("a,b\n1\n", source: "t.csv") }
    }

    @Test("The default test follows the reference's size and the number of distinct values")
    func defaultTests() throws {
        #expect(try DriftAnalysis.defaultTest(type: .numeric, referenceCount: 1000, distinct: 6) == .ks)
        #expect(try DriftAnalysis.defaultTest(type: .numeric, referenceCount: 1000, distinct: 5) == .chisquare)
        #expect(try DriftAnalysis.defaultTest(type: .numeric, referenceCount: 10, distinct: 2) == .z)
        #expect(try DriftAnalysis.defaultTest(type: .categorical, referenceCount: 1000, distinct: 3) == .chisquare)
        #expect(try DriftAnalysis.defaultTest(type: .categorical, referenceCount: 1000, distinct: 2) == .z)
        #expect(try DriftAnalysis.defaultTest(type: .numeric, referenceCount: 1001, distinct: 6) == .wasserstein)
        #expect(try DriftAnalysis.defaultTest(type: .numeric, referenceCount: 1001, distinct: 5) == .jensenshannon)
        #expect(try DriftAnalysis.defaultTest(type: .categorical, referenceCount: 5000, distinct: 40) == .jensenshannon)
    }

    @Test("A chosen test and threshold apply to every column; a numeric-only test on a categorical column is refused by name")
    func chosenTest() throws {
        let reference = try Self.table((0..<50).map { #"{"x": \#($0), "lang": "en"}"# }.joined(separator: "\n"))
        let current = try Self.table((0..<50).map { #"{"x": \#($0 + 10), "lang": "en"}"# }.joined(separator: "\n"))
        var options = DriftOptions()
        options.columns = ["x"]
        options.stattest = .wasserstein
        options.threshold = 0.5
        let report = try DriftAnalysis.report(reference: reference, current: current, options: options)
        let x = try #require(report.columns.first)
        #expect(x.stattest == .wasserstein && x.pValue == nil && x.threshold == 0.5)
        // Shifted by 10 with a standard deviation of about 14.4: a normed distance of about 0.69.
        #expect(abs(x.statistic - 10 / DriftStatistics.standardDeviation((0..<50).map(Double.init))) < 1e-9)
        #expect(x.driftDetected)
        options.columns = ["lang"]
        options.stattest = .ks
        #expect {
            try DriftAnalysis.report(reference: reference, current: current, options: options)
        } throws: { ($0 as? TernError)?.field == "lang" }
    }

    @Test("Bad tables are refused naming the column and why: absent, empty, mixed types, types differing between files")
    func refusals() throws {
        let reference = try Self.table(
            """
            {"a": 1, "b": "x", "c": 1, "d": null}
            {"a": 2, "b": 3, "c": 2, "d": null}
            """, source: "ref.jsonl")
        let current = try Self.table(
            """
            {"a": 1, "b": "y", "c": "one", "d": 4}
            """, source: "cur.jsonl")
        func refusal(_ columns: [String]) -> TernError? {
            var options = DriftOptions()
            options.columns = columns
            do {
                _ = try DriftAnalysis.report(reference: reference, current: current, options: options)
                return nil
            } catch { return error as? TernError }
        }
        let absent = refusal(["zzz"])
        #expect(absent?.field == "zzz" && absent?.message.contains("ref.jsonl") == true)
        let mixed = refusal(["b"])
        #expect(mixed?.field == "b" && mixed?.message.contains("number in row 2") == true && mixed?.message.contains("--categorical") == true)
        let differing = refusal(["c"])
        #expect(differing?.field == "c" && differing?.message.contains("number values in ref.jsonl and text in cur.jsonl") == true)
        let empty = refusal(["d"])
        #expect(empty?.field == "d" && empty?.message.contains("no values in ref.jsonl") == true)
        // By default the unusable columns are skipped with the reason, the rest compared.
        let report = try DriftAnalysis.report(
            reference: try Self.table(#"{"a": 1, "only_ref": 1}"# + "\n" + #"{"a": 2, "d": null}"#, source: "ref.jsonl"),
            current: try Self.table(#"{"a": 1, "d": 3}"#, source: "cur.jsonl"))
        #expect(report.columns.map(\.column) == ["a"])
        #expect(report.skipped.map(\.column).sorted() == ["d", "only_ref"])
        // --categorical compares a mixed column's values as text.
        var options = DriftOptions()
        options.columns = ["b"]
        options.categorical = ["b"]
        let categorical = try DriftAnalysis.report(reference: reference, current: current, options: options)
        #expect(categorical.columns.first?.type == .categorical)
    }

    @Test("Dataset drift when at least the drift share of the columns drift")
    func datasetDrift() throws {
        let reference = try Self.table((0..<200).map { #"{"x": \#($0 % 7), "y": \#($0 % 5), "z": "a"}"# }.joined(separator: "\n"))
        let current = try Self.table((0..<200).map { #"{"x": \#($0 % 7 + 3), "y": \#($0 % 5), "z": "a"}"# }.joined(separator: "\n"))
        var options = DriftOptions()
        let half = try DriftAnalysis.report(reference: reference, current: current, options: options)
        #expect(half.columns.map(\.driftDetected) == [true, false, false])
        #expect(half.numberDrifted == 1 && !half.datasetDrift)
        options.driftShare = 1.0 / 3.0
        #expect(try DriftAnalysis.report(reference: reference, current: current, options: options).datasetDrift)
    }
}
