import Foundation
import TernCore
import Testing
import TernData

@Suite("Dataset import, export and statistics")
struct DatasetToolsTests {
    @Test("CSV: quotes, escaped quotes, line breaks in fields, CRLF; an unclosed quote names its line")
    func csv() throws {
        let rows = try CSV.parse("a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",\n")
        #expect(rows == [["a", "b", "c"], ["1", "x, y", "say \"hi\""], ["2", "two\nlines", ""]])
        do {
            _ = try CSV.parse("a,b\n1,\"open\n2,3\n")
            Issue.record("an unclosed quote was accepted")
        } catch let error as TernError {
            #expect(error.message.contains("line 2"))
        }
        #expect(CSV.escape("plain") == "plain")
        #expect(CSV.escape("a,\"b\"") == "\"a,\"\"b\"\"\"")
    }

    @Test("CSV import with the default and an explicit mapping; export round-trips")
    func csvImport() throws {
        let text = "id,question,context,__expected,task,golden\nq1,Where?,shop,Here,qa,true\nq2,When?,,Now,,no\n"
        var counter = 0
        let items = try DatasetImport.csv(
            text,
            makeID: {
                counter += 1; return "gen\(counter)"
            })
        #expect(items.map(\.id) == ["q1", "q2"])
        #expect(items[0].input == ["question": "Where?", "context": "shop"])
        #expect(items[0].expectedOutput == "Here")
        #expect(items[0].metadata == ["task": "qa"])
        #expect(items[0].golden && !items[1].golden)
        let mapped = try DatasetImport.csv(text, mapping: CSVMapping(expected: "context", input: ["question"]))
        #expect(mapped[0].input == ["question": "Where?"] && mapped[0].expectedOutput == "shop")
        #expect(throws: TernError.self) { _ = try DatasetImport.csv(text, mapping: CSVMapping(expected: "missing")) }
        #expect(throws: TernError.self) { _ = try DatasetImport.csv("a,b\n1\n") }
        let again = try DatasetImport.csv(DatasetExport.csv(items))
        #expect(again == items)
        let viaJSONL = try DatasetImport.jsonl(DatasetExport.jsonl(items))
        #expect(viaJSONL == items)
    }

    @Test("JSONL import: objects or strings as input, errors name the line and key")
    func jsonl() throws {
        let items = try DatasetImport.jsonl(
            #"""
            {"input": {"q": "a"}, "expected": "x", "metadata": {"language": "de"}}

            {"vars": {"q": "b"}, "golden": true, "id": "fixed"}
            {"input": "plain text"}
            """#, makeID: { "id" })
        #expect(items.count == 3)
        #expect(items[0].expectedOutput == "x" && items[0].language == "de")
        #expect(items[1].id == "fixed" && items[1].golden)
        #expect(items[2].input == ["input": "plain text"])
        do {
            _ = try DatasetImport.jsonl("{\"input\": {}}\n{\"input\": {}, \"colour\": 1}\n")
            Issue.record("an unknown key was accepted")
        } catch let error as TernError {
            #expect(error.field == "line 2.colour")
        }
        #expect(throws: TernError.self) { _ = try DatasetImport.jsonl("{not json}") }
    }

    @Test("statistics: segments, lengths, exact and near duplicates, golden share")
    func stats() {
        let base = "How do I reset my password if I no longer have access to the email address on my account?"
        var items = [
            DatasetItem(id: "1", input: ["q": .string(base)], metadata: ["task": "qa", "language": "en"], golden: true),
            DatasetItem(id: "2", input: ["q": .string(base.uppercased())], metadata: ["task": "qa", "language": "en"]),
            DatasetItem(id: "3", input: ["q": .string(base.replacingOccurrences(of: "password", with: "passwords"))], metadata: ["task": "qa"]),
            DatasetItem(id: "4", input: ["q": "Wie spät ist es?"], metadata: ["task": "chat", "language": "de"]),
        ]
        items.append(DatasetItem(id: "5", input: ["q": "Completely different text about shipping rates to Canada."]))
        let stats = DatasetStats.compute(items)
        #expect(stats.itemCount == 5)
        #expect(stats.byTask == ["qa": 3, "chat": 1, "(none)": 1])
        #expect(stats.byLanguage == ["en": 2, "de": 1, "(none)": 2])
        #expect(stats.exactDuplicates == 1, "upper case is the same text once normalised")
        #expect(stats.nearDuplicates == 1, "one letter added to a long sentence")
        #expect(stats.nearDuplicatePairs == [["1", "3"]])
        #expect(stats.goldenShare == 0.2)
        #expect(stats.inputLengths.reduce(0) { $0 + $1.count } == 5)
        // MinHash estimates track the real Jaccard similarity.
        let a = MinHash.shingles("the quick brown fox jumps over the lazy dog")
        let b = MinHash.shingles("the quick brown fox jumped over the lazy dogs")
        let exact = Double(a.intersection(b).count) / Double(a.union(b).count)
        #expect(abs(MinHash.similarity(MinHash.signature(a), MinHash.signature(b)) - exact) < 0.2)
    }
}
