import Foundation
import TernCore
@testable import TernMonitor
import Testing

/// JSONL lines read straight into rows give the rows of the parsed objects (`DriftTable.flatten`), whatever the
/// line holds; lines that are not objects are refused as before.
@Suite("Drift row parser")
struct DriftRowParserTests {
    static func row(_ line: String) throws -> [(String, DriftTable.Value)] {
        var line = line
        return try line.withUTF8 { try DriftRowParser.row($0, from: 0, to: $0.count) }
    }

    static func expected(_ line: String) throws -> [(String, DriftTable.Value)] {
        guard case .object(let object) = try JSONValue.parse(Data(line.utf8)) else { throw TernError.invalid(nil, "not an object") }
        return DriftTable.flatten(object)
    }

    @Test(
        "the same row as parsing and flattening",
        arguments: [
            #"{"b": 1, "a": "x", "c": null, "d": true, "e": false}"#,
            #"  {"n": -1.5e-3, "m": 0, "big": 12345678901234567890, "frac": 0.1}  "#,
            #"{"meta": {"lang": "de", "tier": {"x": 1, "a": [1, {"b": 2, "a": 1}]}}, "z": "é \u00e9 \ud83d\ude00 \"q\" \\ \/ \n"}"#,
            #"{"dup": 1, "dup": 2, "a": {"k": 1}, "a.k": 3}"#,
            #"{"empty": {}, "list": [], "s": ""}"#,
            #"{}"#,
        ])
    func sameRow(line: String) throws {
        let parsed = try Self.row(line), expected = try Self.expected(line)
        #expect(parsed.map(\.0) == expected.map(\.0), "\(line)")
        #expect(parsed.map(\.1) == expected.map(\.1), "\(line)")
    }

    @Test("lines that are not objects, or not JSON, are refused with the line's number")
    func refusals() throws {
        for (text, message) in [
            ("{\"a\": 1}\n[1, 2]\n", "line 2: expected a JSON object per line"), ("{\"a\": 1}\n\n{\"a\": }\n", "line 3: not JSON"),
            ("{\"a\": 1} x\n", "line 1: not JSON"), ("{\"a\": \"open\n", "line 1: not JSON"), ("\"text\"\n", "line 1: expected a JSON object per line"),
            ("{\"a\": tru}\n", "line 1: not JSON"), ("{\"a\": 1.}\n", "line 1: not JSON"),
        ] {
            do {
                _ = try DriftTable.parseJSONL(text, source: "f.jsonl")
                Issue.record("accepted \(text)")
            } catch let error as TernError {
                #expect(error.field == "f.jsonl" && error.message.hasPrefix(message), "\(text): \(error.message)")
            }
        }
        let table = try DriftTable.parseJSONL("{\"a\": 1}\r\n\n  \n{\"b\": \"x\"}", source: "f.jsonl")
        #expect(table.rowCount == 2 && table.columns == ["a", "b"] && table.values["a"] == [.number(1), .missing])
    }
}
