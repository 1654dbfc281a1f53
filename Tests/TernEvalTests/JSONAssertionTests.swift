import Foundation
import Testing
import TernCore
@testable import TernEval

/// The schema of promptfoo's documented is-json / contains-json example
/// (https://promptfoo.dev/docs/configuration/expected-outputs/deterministic/#is-json).
let latLongSchema: JSONValue = [
    "required": ["latitude", "longitude"],
    "type": "object",
    "properties": [
        "latitude": ["type": "number", "minimum": -90, "maximum": 90],
        "longitude": ["type": "number", "minimum": -180, "maximum": 180],
    ],
]

@Suite struct IsJSONTests {
    @Test func validAndInvalidJSON() async {
        #expect(await check(spec("is-json"), #"{"a": [1, 2]}"#).pass)
        #expect(await check(spec("is-json"), " [1, 2] \n").pass)
        #expect(await check(spec("is-json"), "42").pass)  // JSON.parse accepts scalars
        let invalid = await check(spec("is-json"), "{'a': 1}")
        #expect(!invalid.pass && !invalid.isError)
        #expect(invalid.reason.contains("not valid JSON"))
        #expect(!(await check(spec("is-json"), "Here: {\"a\": 1}").pass))
        #expect(await check(spec("not-is-json"), "plain text").pass)
    }

    @Test func documentedSchemaExample() async {
        #expect(await check(spec("is-json", latLongSchema), #"{"latitude": 48.85, "longitude": 2.35}"#).pass)
        let outOfRange = await check(spec("is-json", latLongSchema), #"{"latitude": 100, "longitude": 2.35}"#)
        #expect(!outOfRange.pass)
        #expect(outOfRange.reason.contains("/latitude must be <= 90"))
        let missing = await check(spec("is-json", latLongSchema), #"{"latitude": 10}"#)
        #expect(missing.reason.contains("(root) must have required property 'longitude'"))
        // not-is-json with a schema passes for JSON that does not conform.
        #expect(await check(spec("not-is-json", latLongSchema), #"{"latitude": "north"}"#).pass)
    }

    @Test func schemaGivenAsJSONText() async {
        let text = JSONValue.string(latLongSchema.jsonString())
        #expect(await check(spec("is-json", text), #"{"latitude": 1, "longitude": 2}"#).pass)
        #expect(await check(spec("is-json", ""), "{}").pass)  // an empty value means no schema
    }

    @Test func badSchemasAreErrors() async {
        let notJSON = await check(spec("is-json", "{not json"), "{}")
        #expect(notJSON.isError)
        #expect(notJSON.reason.contains("not valid JSON"))
        let badKeyword = await check(spec("is-json", ["type": "object", "properties": ["a": ["minimum": "zero"]]]), #"{"a": 1}"#)
        #expect(badKeyword.isError)
        #expect(badKeyword.reason.contains("minimum must be a number"))
        #expect(badKeyword.reason.contains("#/properties/a/minimum"))
        let badType = await check(spec("is-json", 5), "{}")
        #expect(badType.isError)
        let fileRef = await check(spec("is-json", "file://schema.json"), "{}")
        #expect(fileRef.isError)
        #expect(fileRef.reason.contains("file references"))
    }
}

@Suite struct ContainsJSONTests {
    @Test func findsJSONInText() async {
        #expect(await check(spec("contains-json"), "Sure! Here it is:\n```json\n{\"a\": {\"b\": \"}\"}}\n```\nAnything else?").pass)
        #expect(await check(spec("contains-json"), "The list: [1, 2, 3].").pass)
        #expect(!(await check(spec("contains-json"), "No JSON {here}, sorry").pass))
        #expect(await check(spec("not-contains-json"), "No JSON {here}, sorry").pass)
    }

    @Test func extraction() {
        let values = JSONExtraction.values(in: #"a {bad} b {"x": "[}"} c [1, {"y": 2}] d {"#)
        #expect(values == [["x": "[}"], [1, ["y": 2]]])
        #expect(JSONExtraction.values(in: "\"quoted\"") == ["quoted"])
        #expect(JSONExtraction.values(in: "nothing here").isEmpty)
    }

    @Test func documentedSchemaExample() async {
        // doc: contains-json with the latitude/longitude schema
        let output = "Location follows. {\"note\": \"not this one\"} and {\"latitude\": 40.7, \"longitude\": -74.0}"
        #expect(await check(spec("contains-json", latLongSchema), output).pass)
        let failing = await check(spec("contains-json", latLongSchema), "Here: {\"latitude\": 400, \"longitude\": 0}")
        #expect(!failing.pass)
        #expect(failing.reason.contains("/latitude must be <= 90"))
        // Elements of a JSON array are candidates too.
        #expect(await check(spec("contains-json", latLongSchema), #"[{"latitude": 1, "longitude": 2}]"#).pass)
    }
}

@Suite struct OpenAIToolsCallTests {
    static let tools: JSONValue = [
        [
            "type": "function",
            "function": [
                "name": "get_weather",
                "parameters": [
                    "type": "object",
                    "properties": [
                        "city": ["type": "string"],
                        "unit": ["type": "string", "enum": ["c", "f"]],
                    ],
                    "required": ["city"],
                    "additionalProperties": false,
                ],
            ],
        ],
        ["type": "file_search"],
    ]

    static func call(_ name: String, _ arguments: String) -> String {
        let calls: JSONValue = [["id": "call_1", "type": "function", "function": ["name": .string(name), "arguments": .string(arguments)]]]
        return calls.jsonString()
    }

    @Test func validCallsPass() async {
        let result = await check(
            spec("is-valid-openai-tools-call", config: ["tools": Self.tools]),
            Self.call("get_weather", #"{"city": "Paris", "unit": "c"}"#))
        #expect(result.pass, "\(result.reason)")
        // An object with tool_calls, tools from metadata (how a runner passes the provider's tools).
        let wrapped: JSONValue = ["tool_calls": [["type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Oslo"}"#]]]]
        #expect(await check(spec("is-valid-openai-tools-call"), wrapped.jsonString(), metadata: ["tools": Self.tools]).pass)
        // Tools in vars, arguments given as an object.
        let objectArguments: JSONValue = [["type": "function", "function": ["name": "get_weather", "arguments": ["city": "Rome"]]]]
        #expect(await check(spec("is-valid-openai-tools-call"), objectArguments.jsonString(), vars: ["tools": Self.tools]).pass)
    }

    @Test func invalidCallsFailWithTheReason() async {
        let tools = spec("is-valid-openai-tools-call", Self.tools)
        let unknown = await check(tools, Self.call("book_flight", "{}"))
        #expect(!unknown.pass)
        #expect(unknown.reason == "Called \"book_flight\", but there is no function with that name")
        let badArguments = await check(tools, Self.call("get_weather", #"{"unit": "k"}"#))
        #expect(!badArguments.pass)
        #expect(badArguments.reason.contains("does not match schema"))
        #expect(badArguments.reason.contains("must have required property 'city'"))
        #expect(badArguments.reason.contains("/unit must be equal to one of the allowed values"))
        let extra = await check(tools, Self.call("get_weather", #"{"city": "Paris", "days": 3}"#))
        #expect(extra.reason.contains("must NOT have additional properties ('days')"))
        let notJSONArguments = await check(tools, Self.call("get_weather", "{city: Paris}"))
        #expect(notJSONArguments.reason.contains("not valid JSON"))
        #expect(!(await check(tools, "I cannot call tools").pass))
        #expect(!(await check(tools, "[]").pass))
        #expect(!(await check(tools, #"{"content": "hi"}"#).pass))
        #expect(await check(spec("not-is-valid-openai-tools-call", Self.tools), "plain answer").pass)
    }

    @Test func missingToolsIsAnError() async {
        let result = await check(spec("is-valid-openai-tools-call"), Self.call("get_weather", "{}"))
        #expect(result.isError)
        #expect(result.reason.contains("no tools"))
        let badTool = await check(spec("is-valid-openai-tools-call", [["type": "function"]]), Self.call("x", "{}"))
        #expect(badTool.isError)
        #expect(badTool.reason.contains("`value`[0]"))
    }

    @Test func toolSchemasRenderVars() async {
        let tools: JSONValue = [["type": "function", "function": ["name": "{{ tool }}", "parameters": ["type": "object"]]]]
        #expect(await check(spec("is-valid-openai-tools-call", config: ["tools": tools]), Self.call("lookup", "{}"), vars: ["tool": "lookup"]).pass)
    }
}

@Suite struct JSONExtractionLimitTests {
    @Test func unbalancedTextStaysFast() {
        // 200 000 unclosed braces would take quadratic time without the scan budget.
        let text = String(repeating: "{", count: 200_000) + #" {"ok": true}"#
        let clock = ContinuousClock()
        let elapsed = clock.measure { _ = JSONExtraction.values(in: text) }
        #expect(elapsed < .seconds(10))
    }
}
