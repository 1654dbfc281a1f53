import Foundation
import TernCore
import Testing

@Suite("JSON reading and writing")
struct JSONValueTests {
    @Test("parses what Foundation parses, escapes and Unicode included, and writes it back the same")
    func roundTrip() throws {
        let samples = [
            #"{"a":1,"b":[true,false,null],"c":{"d":"e"},"f":-12.5e-3,"g":"line\nbreak \"quoted\" \\ slash\/ tab\t","h":[]}"#,
            #"{"emoji":"😀 \ud83d\ude00","accents":"Ünïcødé","cjk":"中文","control":"\u0001\u001f","zero":0,"big":12345678901234}"#,
            #"[1,2.5,-0.25,1e10,3E-2,"x",{},[[]]]"#,
            "  {\"spaced\" :\t[ 1 , 2 ]\r\n}  ",
            #""just a string""#, "42", "true", "null",
        ]
        for sample in samples {
            let data = Data(sample.utf8)
            let fast = try JSONValue.parse(data)
            let reference = try JSONDecoder().decode(JSONValue.self, from: data)
            #expect(fast == reference, "\(sample)")
            let written = fast.data()
            #expect(try JSONValue.parse(written) == fast, "\(sample) -> \(String(decoding: written, as: UTF8.self))")
            #expect(try JSONSerialization.jsonObject(with: written, options: [.fragmentsAllowed]) as Any? != nil)
        }
        #expect(try JSONValue.parse(Data(#""\ud83d\ude00""#.utf8)) == .string("😀"))
        #expect(JSONValue.string("a\"b\\c\n\u{01}").jsonString() == #""a\"b\\c\n\u0001""#)
        #expect(JSONValue.number(3).jsonString() == "3")
        #expect(JSONValue.number(0.1).jsonString() == "0.1")
        #expect(JSONValue.number(.infinity).jsonString() == "null")
    }

    @Test("canonical form sorts keys at every level")
    func canonical() {
        let value: JSONValue = ["b": ["z": 1, "a": 2], "a": [["y": true, "x": false]]]
        #expect(String(decoding: value.canonicalData(), as: UTF8.self) == #"{"a":[{"x":false,"y":true}],"b":{"a":2,"z":1}}"#)
    }

    @Test("malformed input is rejected with a position")
    func errors() {
        for bad in [
            #"{"a": }"#, #"{"a" 1}"#, "[1,2", #""unterminated"#, "tru", "01", "1.", "-", #"{"a":1}x"#, #""\x""#,
            #""\ud83d""#, "\"tab\tin\"", "", String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        ] {
            #expect(throws: (any Error).self, "\(bad.prefix(20))") { _ = try JSONValue.parse(Data(bad.utf8)) }
        }
        let error = #expect(throws: (any Error).self) { _ = try JSONValue.parse(Data(#"{"model": x}"#.utf8)) }
        #expect(error.map { "\($0)" } == "unexpected character 'x' at byte 10")
    }
}
