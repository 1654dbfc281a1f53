import Foundation
import TernCore
import Testing

@Suite("Scores")
struct ScoreTests {
    func score(_ value: JSONValue, _ type: ScoreDataType? = nil) throws -> Score {
        let (dataType, number, text) = try Score.value(value, dataType: type)
        return Score(
            id: "s", projectID: "p", traceID: "t", name: "n", dataType: dataType, numericValue: number, stringValue: text,
            source: .api, createdAt: Date())
    }

    @Test("values: numbers, categories and booleans, inferred or declared")
    func values() throws {
        #expect(try score(0.5).dataType == .numeric)
        #expect(try score("good").stringValue == "good")
        let flag = try score(true)
        #expect(flag.dataType == .boolean && flag.numericValue == 1 && flag.stringValue == "true")
        #expect(try score(0, .boolean).stringValue == "false")
        #expect(try score("false", .boolean).numericValue == 0)
        #expect(throws: TernError.self) { _ = try score(2, .boolean) }
        #expect(throws: TernError.self) { _ = try score("x", .numeric) }
        #expect(throws: TernError.self) { _ = try score(["a": 1]) }
    }

    @Test("configs check range, categories and type, naming the field")
    func configs() throws {
        let range = ScoreConfig(id: "c", projectID: "p", name: "quality", dataType: .numeric, minValue: 0, maxValue: 5, createdAt: Date())
        try range.validateDefinition()
        try range.validate(try score(3))
        let high = #expect(throws: TernError.self) { try range.validate(try score(7)) }
        #expect(high?.field == "value")
        #expect(high?.message.contains("at most 5") == true)
        #expect(throws: TernError.self) { try range.validate(try score("x")) }
        let tone = ScoreConfig(id: "c", projectID: "p", name: "tone", dataType: .categorical, categories: ["polite", "rude"], createdAt: Date())
        try tone.validate(try score("polite"))
        let other = #expect(throws: TernError.self) { try tone.validate(try score("meh")) }
        #expect(other?.message.contains("polite, rude") == true)
        #expect(throws: TernError.self) {
            try ScoreConfig(id: "c", projectID: "p", name: "x", dataType: .categorical, createdAt: Date()).validateDefinition()
        }
        #expect(throws: TernError.self) {
            try ScoreConfig(id: "c", projectID: "p", name: "x", dataType: .numeric, minValue: 5, maxValue: 1, createdAt: Date()).validateDefinition()
        }
    }
}
