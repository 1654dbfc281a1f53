import ArgumentParser
import Foundation
import TernCore
import TernTestSupport
import Testing

/// `tern drift` on files, without a server: the documented JSON, the text table, the CI exit code, and
/// messages that name the column at fault.
@Suite("tern drift")
struct DriftCLITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TernMonitorTests/Fixtures/drift-report").standardized.path

    @Test("--format json gives columns with column, type, stattest, statistic, p_value, threshold, drift_detected, then share_drifted and dataset_drift")
    func json() async throws {
        let output = try await tern([
            "drift", "--reference", "\(Self.fixtures)/small-reference.csv", "--current", "\(Self.fixtures)/small-current.csv", "--format", "json",
        ])
        let report = try JSONValue.parse(Data(output.utf8))
        let columns = try #require(report["columns"]?.array)
        #expect(columns.count == 6)
        let latency = try #require(columns.first { $0["column"]?.string == "latency_ms" })
        #expect(latency["type"]?.string == "numeric" && latency["stattest"]?.string == "ks")
        #expect(latency["drift_detected"]?.bool == true && latency["threshold"]?.double == 0.05)
        #expect((latency["p_value"]?.double ?? 1) < 1e-10 && (latency["statistic"]?.double ?? 0) > 0)
        for key in ["column", "type", "stattest", "statistic", "p_value", "threshold", "drift_detected"] {
            #expect(columns.allSatisfy { $0[key] != nil }, "\(key)")
        }
        #expect(report["share_drifted"]?.double.map { abs($0 - 2.0 / 6.0) < 1e-12 } == true)
        #expect(report["dataset_drift"]?.bool == false)
        // Distances have no p-value: null, not absent.
        let large = try JSONValue.parse(
            Data(
                try await tern([
                    "drift", "--reference", "\(Self.fixtures)/large-reference.jsonl", "--current", "\(Self.fixtures)/large-current.jsonl",
                    "--column", "tokens", "--format", "json",
                ]).utf8))
        let tokens = try #require(large["columns"]?[0])
        #expect(tokens["stattest"]?.string == "wasserstein" && tokens["p_value"] == .null)
    }

    @Test("The text form is a table with a verdict line; --fail-on-drift exits 100 only when the dataset drifts")
    func textAndExitCode() async throws {
        let folder = try TempDirectory.make()
        defer { TempDirectory.remove(folder) }
        try (0..<300).map { #"{"latency": \#($0 % 50), "lang": "\#(["en", "de", "fr"][$0 % 3])"}"# }.joined(separator: "\n")
            .write(toFile: "\(folder)/ref.jsonl", atomically: true, encoding: .utf8)
        try (0..<300).map { #"{"latency": \#($0 % 50 + 20), "lang": "\#(["en", "ja", "ja"][$0 % 3])"}"# }.joined(separator: "\n")
            .write(toFile: "\(folder)/cur.jsonl", atomically: true, encoding: .utf8)
        let (text, error) = await ternCapturing(["drift", "--reference", "ref.jsonl", "--current", "cur.jsonl", "--fail-on-drift"], directory: folder)
        #expect(error as? ExitCode == ExitCode(100))
        #expect(text.contains("latency") && text.contains("DRIFT") && text.contains("Drift in 2 of 2 columns (100%): DATASET DRIFT"))
        // The same sample against itself: no drift, exit 0.
        let same = try await tern(["drift", "--reference", "ref.jsonl", "--current", "ref.jsonl", "--fail-on-drift"], directory: folder)
        #expect(same.contains("Drift in 0 of 2 columns (0%): no dataset drift"))
    }

    @Test("Missing columns, mixed types, unknown tests and unreadable files are refused naming what is wrong")
    func refusals() async throws {
        let folder = try TempDirectory.make()
        defer { TempDirectory.remove(folder) }
        try "{\"a\": 1}\n{\"a\": \"two\"}\n".write(toFile: "\(folder)/mixed.jsonl", atomically: true, encoding: .utf8)
        try "{\"a\": 1}\n{\"a\": 2}\n".write(toFile: "\(folder)/ok.jsonl", atomically: true, encoding: .utf8)
        try "{\"a\": 1}\nnot json\n".write(toFile: "\(folder)/broken.jsonl", atomically: true, encoding: .utf8)
        func message(_ arguments: [String]) async -> String {
            let (_, error) = await ternCapturing(["drift"] + arguments, directory: folder)
            return error.map { "\($0)" } ?? ""
        }
        #expect(await message(["--reference", "ok.jsonl", "--current", "ok.jsonl", "--column", "b"]).contains("no column \"b\" in ok.jsonl"))
        let mixed = await message(["--reference", "mixed.jsonl", "--current", "ok.jsonl"])
        #expect(mixed.contains("\"a\" mixes types in mixed.jsonl: number in row 1, text in row 2"))
        #expect(await message(["--reference", "broken.jsonl", "--current", "ok.jsonl"]).contains("broken.jsonl: line 2: not JSON"))
        #expect(await message(["--reference", "gone.jsonl", "--current", "ok.jsonl"]).contains("gone.jsonl: cannot read the file"))
        #expect(await message(["--reference", "ok.jsonl", "--current", "ok.jsonl", "--stattest", "psi"]).contains("unknown test \"psi\""))
    }

    @Test("--text compares a text column through the local model: a new topic of questions drifts and is named; --text-method is checked")
    func textColumn() async throws {
        let folder = try TempDirectory.make()
        defer { TempDirectory.remove(folder) }
        let old = ["How do I reset my password?", "My account is locked", "Why was my card charged twice?", "Where is my invoice?"]
        let new = ["Where is my parcel? Tracking has not moved", "The courier delivered my package to the wrong door"]
        func lines(_ pools: [[String]]) -> String {
            (0..<120).map { index in
                let pool = pools[index % pools.count]
                let question = pool[(index / pools.count) % pool.count] + ["", " Thanks.", " Please help."][index % 3]
                return #"{"question": "\#(question)", "latency": \#(100 + index % 7)}"#
            }.joined(separator: "\n")
        }
        try lines([old]).write(toFile: "\(folder)/ref.jsonl", atomically: true, encoding: .utf8)
        try lines([old, new]).write(toFile: "\(folder)/cur.jsonl", atomically: true, encoding: .utf8)
        let output = try await tern(
            ["drift", "--reference", "ref.jsonl", "--current", "cur.jsonl", "--text", "question", "--format", "json"], directory: folder)
        let report = try JSONValue.parse(Data(output.utf8))
        let text = try #require(report["text_columns"]?[0])
        #expect(text["column"]?.string == "question" && text["drift_detected"]?.bool == true && text["topics"]?["new_topic"]?.bool == true, "\(output)")
        #expect(report["columns"]?.array?.map { $0["column"]?.string } == ["latency"], "the text column is not also a category")
        let (_, error) = await ternCapturing(
            ["drift", "--reference", "ref.jsonl", "--current", "cur.jsonl", "--text", "question", "--text-method", "vibes"], directory: folder)
        #expect("\(error.map { "\($0)" } ?? "")".contains("--text-method"), "\(String(describing: error))")
        let (_, missing) = await ternCapturing(["drift", "--reference", "ref.jsonl", "--current", "cur.jsonl", "--text", "answer"], directory: folder)
        #expect("\(missing.map { "\($0)" } ?? "")".contains("answer"), "\(String(describing: missing))")
    }
}
