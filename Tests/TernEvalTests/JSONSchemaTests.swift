import Foundation
import Testing
import TernCore
@testable import TernEval

@Suite struct JSONSchemaTests {
    func violations(_ schema: JSONValue, _ instance: JSONValue) throws -> [String] {
        try JSONSchemaValidator(schema: schema).validate(instance).map(\.description)
    }

    func valid(_ schema: JSONValue, _ instance: JSONValue) throws -> Bool {
        try JSONSchemaValidator(schema: schema).isValid(instance)
    }

    @Test func types() throws {
        #expect(try valid(["type": "integer"], 3))
        #expect(try !valid(["type": "integer"], 3.5))
        #expect(try valid(["type": "number"], 3.5))
        #expect(try valid(["type": ["string", "null"]], nil))
        #expect(try violations(["type": "string"], 1) == ["(root) must be string"])
        #expect(try violations(["type": ["string", "null"]], true) == ["(root) must be string,null"])
        #expect(try valid(true, ["anything": 1]))
        #expect(try violations(false, 1) == ["(root) must not be present (schema is false)"])
    }

    @Test func numbers() throws {
        let schema: JSONValue = ["minimum": 1, "maximum": 10, "multipleOf": 0.5]
        #expect(try valid(schema, 2.5))
        #expect(try violations(schema, 0) == ["(root) must be >= 1"])
        #expect(try violations(schema, 10.25) == ["(root) must be <= 10", "(root) must be multiple of 0.5"])
        #expect(try violations(["exclusiveMinimum": 0, "exclusiveMaximum": 1], 1) == ["(root) must be < 1"])
        #expect(try violations(["exclusiveMinimum": 0], 0) == ["(root) must be > 0"])
        // Draft-04 boolean form.
        #expect(try violations(["minimum": 0, "exclusiveMinimum": true], 0) == ["(root) must be > 0"])
        #expect(try valid(["multipleOf": 0.1], 0.3))
        // Keywords of another kind do not apply.
        #expect(try valid(["minimum": 5], "a string"))
    }

    @Test func strings() throws {
        #expect(try violations(["minLength": 3], "ab") == ["(root) must NOT have fewer than 3 characters"])
        #expect(try violations(["maxLength": 3], "abcd") == ["(root) must NOT have more than 3 characters"])
        #expect(try valid(["maxLength": 2], "é😀"))  // code points, not bytes or UTF-16 units
        #expect(try valid(["pattern": "^[a-z]+-\\d+$"], "abc-12"))
        #expect(try valid(["pattern": "\\d"], "a1b"))  // unanchored
        #expect(try violations(["pattern": "^a"], "ba") == ["(root) must match pattern \"^a\""])
        #expect(try valid(["format": "email"], "not an email"))  // format is an annotation
    }

    @Test func arrays() throws {
        let schema: JSONValue = ["type": "array", "items": ["type": "integer"], "minItems": 1, "maxItems": 3, "uniqueItems": true]
        #expect(try valid(schema, [1, 2, 3]))
        #expect(try violations(schema, [1, "x"]) == ["/1 must be integer"])
        #expect(try violations(schema, []) == ["(root) must NOT have fewer than 1 items"])
        #expect(try violations(schema, [1, 2, 3, 4]) == ["(root) must NOT have more than 3 items"])
        #expect(try violations(schema, [1, 2, 1]) == ["(root) must NOT have duplicate items (items 0 and 2 are identical)"])
        #expect(try valid(["uniqueItems": true], [["a": 1], ["a": 2]]))
        #expect(try !valid(["uniqueItems": true], [["a": 1, "b": 2], ["b": 2, "a": 1]]))
    }

    @Test func tuples() throws {
        // 2020-12: prefixItems, then items for the rest.
        let modern: JSONValue = ["prefixItems": [["type": "string"], ["type": "number"]], "items": ["type": "boolean"]]
        #expect(try valid(modern, ["a", 1, true, false]))
        #expect(try violations(modern, ["a", "b", true, 3]) == ["/1 must be number", "/3 must be boolean"])
        #expect(try violations(["prefixItems": [["type": "string"]], "items": false], ["a", 1]) == ["/1 must not be present (schema is false)"])
        // Draft-07: items as an array, additionalItems for the rest.
        let legacy: JSONValue = ["items": [["type": "string"]], "additionalItems": false]
        #expect(try valid(legacy, ["a"]))
        #expect(try violations(legacy, ["a", 1]) == ["/1 must not be present (schema is false)"])
        let contains: JSONValue = ["contains": ["type": "integer"], "minContains": 2]
        #expect(try valid(contains, ["a", 1, 2]))
        #expect(try violations(contains, ["a", 1]) == ["(root) must contain at least 2 valid item(s)"])
    }

    @Test func objects() throws {
        let schema: JSONValue = [
            "type": "object",
            "properties": ["name": ["type": "string"], "tags": ["type": "array", "items": ["type": "string"]]],
            "required": ["name"],
            "additionalProperties": false,
        ]
        #expect(try valid(schema, ["name": "x", "tags": ["a"]]))
        #expect(
            try violations(schema, ["tags": ["a", 2], "extra": 1]) == [
                "(root) must have required property 'name'",
                "/tags/1 must be string",
                "(root) must NOT have additional properties ('extra')",
            ])
        let patterns: JSONValue = ["patternProperties": ["^x-": ["type": "string"]], "additionalProperties": ["type": "number"]]
        #expect(try valid(patterns, ["x-a": "s", "n": 1]))
        #expect(try violations(patterns, ["x-a": 1, "n": "s"]) == ["/x-a must be string", "/n must be number"])
        #expect(try violations(["propertyNames": ["maxLength": 3]], ["abcd": 1]) == ["(root) property name 'abcd' is invalid"])
        #expect(try violations(["minProperties": 2], ["a": 1]) == ["(root) must NOT have fewer than 2 properties"])
        #expect(
            try violations(["dependentRequired": ["card": ["billing"]]], ["card": 1]) == ["(root) must have property 'billing' when property 'card' is present"]
        )
        // Pointers escape ~ and /.
        #expect(try violations(["properties": ["a/b~c": ["type": "string"]]], ["a/b~c": 1]) == ["/a~1b~0c must be string"])
    }

    @Test func combinators() throws {
        let anyOf: JSONValue = ["anyOf": [["type": "string"], ["type": "number", "minimum": 10]]]
        #expect(try valid(anyOf, "x"))
        #expect(try valid(anyOf, 12))
        let anyFailure = try violations(anyOf, 3)
        #expect(anyFailure.count == 1 && anyFailure[0].hasPrefix("(root) must match a schema in anyOf"))
        let oneOf: JSONValue = ["oneOf": [["type": "integer"], ["type": "number", "maximum": 5]]]
        #expect(try valid(oneOf, 7))
        #expect(try violations(oneOf, 3) == ["(root) must match exactly one schema in oneOf (matched schemas 0, 1)"])
        #expect(try violations(oneOf, 7.5) == ["(root) must match exactly one schema in oneOf (matched none)"])
        #expect(try valid(["allOf": [["type": "string"], ["minLength": 2]]], "ab"))
        #expect(try violations(["allOf": [["type": "string"], ["minLength": 2]]], "a") == ["(root) must NOT have fewer than 2 characters"])
        #expect(try violations(["not": ["type": "null"]], nil) == ["(root) must NOT be valid against the schema in not"])
        let conditional: JSONValue = ["if": ["properties": ["kind": ["const": "a"]]], "then": ["required": ["a"]], "else": ["required": ["b"]]]
        #expect(try valid(conditional, ["kind": "a", "a": 1]))
        #expect(try violations(conditional, ["kind": "b"]) == ["(root) must have required property 'b'"])
        #expect(try violations(["enum": ["red", "green"]], "blue") == [#"(root) must be equal to one of the allowed values ("red", "green")"#])
        #expect(try violations(["const": ["a": 1]], ["a": 2]) == [#"(root) must be equal to constant {"a":1}"#])
    }

    @Test func references() throws {
        let schema: JSONValue = [
            "definitions": ["positive": ["type": "number", "exclusiveMinimum": 0]],
            "$defs": ["node": ["type": "object", "properties": ["value": ["$ref": "#/definitions/positive"], "next": ["$ref": "#/$defs/node"]]]],
            "$ref": "#/$defs/node",
        ]
        #expect(try valid(schema, ["value": 1, "next": ["value": 2, "next": ["value": 3]]]))
        #expect(try violations(schema, ["value": 1, "next": ["value": -2]]) == ["/next/value must be > 0"])
        // A reference to the root, recursively.
        let tree: JSONValue = ["type": "object", "properties": ["children": ["type": "array", "items": ["$ref": "#"]]]]
        #expect(try violations(tree, ["children": [["children": [1]]]]) == ["/children/0/children/0 must be object"])
    }

    @Test func unusableSchemasThrow() throws {
        #expect(throws: JSONSchemaError.self) { try JSONSchemaValidator(schema: 3) }
        #expect(throws: JSONSchemaError.self) { try JSONSchemaValidator(schema: ["$ref": "#/definitions/missing"]).validate(1) }
        #expect(throws: JSONSchemaError.self) { try JSONSchemaValidator(schema: ["$ref": "https://example.com/s.json"]).validate(1) }
        #expect(throws: JSONSchemaError.self) { try JSONSchemaValidator(schema: ["type": "text"]).validate(1) }
        #expect(throws: JSONSchemaError.self) { try JSONSchemaValidator(schema: ["pattern": "("]).validate("a") }
        // A cycle that never consumes the instance is caught.
        #expect(throws: JSONSchemaError.self) {
            try JSONSchemaValidator(schema: ["$defs": ["a": ["$ref": "#/$defs/a"]], "$ref": "#/$defs/a"]).validate(1)
        }
        do {
            _ = try JSONSchemaValidator(schema: ["properties": ["a": ["maxLength": -1]]]).validate(["a": "x"])
            Issue.record("expected an error")
        } catch let error as JSONSchemaError {
            #expect(error.schemaPath == "/properties/a/maxLength")
        }
    }
}
