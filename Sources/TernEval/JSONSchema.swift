import Foundation
public import TernCore

/// One way an instance fails a schema.
public struct JSONSchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// JSON pointer to the failing part of the instance (`""` for the whole document, `/items/0/name`).
    public var pointer: String
    /// JSON pointer to the schema keyword that failed (`/properties/items/items/required`).
    public var schemaPath: String
    /// What is wrong, ajv style: `must be number`, `must have required property 'name'`.
    public var message: String

    public init(pointer: String, schemaPath: String, message: String) {
        self.pointer = pointer
        self.schemaPath = schemaPath
        self.message = message
    }

    public var description: String { "\(pointer.isEmpty ? "(root)" : pointer) \(message)" }
}

/// A schema that cannot be used: a keyword with a wrong value type, a `$ref` that does not resolve,
/// a `pattern` that does not compile.
public struct JSONSchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    public var schemaPath: String
    public var message: String

    public init(schemaPath: String, message: String) {
        self.schemaPath = schemaPath
        self.message = message
    }

    public var description: String { "\(message) (at schema \(schemaPath.isEmpty ? "#" : "#" + schemaPath))" }
}

/// A JSON Schema validator for the keywords of draft-07 and 2020-12 that configs use: `type`
/// (`integer` included), `enum`, `const`; numbers `minimum`, `maximum`, `exclusiveMinimum`,
/// `exclusiveMaximum` (numbers, or draft-04 booleans), `multipleOf`; strings `minLength`,
/// `maxLength` (counted in code points), `pattern` (unanchored); arrays `items` (a schema, or a
/// draft-07 tuple with `additionalItems`), `prefixItems`, `contains`, `minContains`, `maxContains`,
/// `minItems`, `maxItems`, `uniqueItems`; objects `properties`, `patternProperties`,
/// `additionalProperties`, `required`, `propertyNames`, `minProperties`, `maxProperties`,
/// `dependentRequired`, `dependentSchemas`, `dependencies`; `allOf`, `anyOf`, `oneOf`, `not`,
/// `if`/`then`/`else`; boolean schemas; `$ref` to JSON pointers inside the document (`#`,
/// `#/definitions/x`, `#/$defs/x`, any `#/...`).
///
/// Not supported: `format` (an annotation only, as in ajv without ajv-formats), remote or
/// `$id`-based references and `$anchor`s (reported as schema errors), `unevaluatedProperties` and
/// `unevaluatedItems` (ignored). Siblings of `$ref` apply (2019-09+ behaviour; draft-07 ignores them).
/// All violations are collected (ajv's `allErrors`), each with the instance's JSON pointer.
public struct JSONSchemaValidator: Sendable {
    public let schema: JSONValue

    /// The maximum depth of nested schemas and followed `$ref`s (guards against reference cycles).
    static let maxDepth = 256

    /// Throws when `schema` is neither an object nor a boolean.
    public init(schema: JSONValue) throws {
        switch schema {
        case .object, .bool: self.schema = schema
        default: throw JSONSchemaError(schemaPath: "", message: "a JSON schema must be an object or a boolean, got \(schema.kindName)")
        }
    }

    /// The violations of `instance` (empty when it conforms). Throws `JSONSchemaError` when the
    /// schema itself is unusable at a place the instance reaches.
    public func validate(_ instance: JSONValue) throws -> [JSONSchemaViolation] {
        var context = Context(root: schema)
        try context.check(instance, against: schema, pointer: "", schemaPath: "", depth: 0)
        return context.violations
    }

    /// True when `instance` conforms.
    public func isValid(_ instance: JSONValue) throws -> Bool {
        try validate(instance).isEmpty
    }

    /// Violations as one line, ajv's `errorsText` style: `/latitude must be <= 90, (root) must ...`.
    public static func describe(_ violations: [JSONSchemaViolation], limit: Int = 8) -> String {
        var parts = violations.prefix(limit).map(\.description)
        if violations.count > limit { parts.append("and \(violations.count - limit) more") }
        return parts.joined(separator: ", ")
    }

    private struct Context {
        let root: JSONValue
        var violations: [JSONSchemaViolation] = []

        init(root: JSONValue) { self.root = root }

        mutating func fail(_ pointer: String, _ schemaPath: String, _ message: String) {
            violations.append(JSONSchemaViolation(pointer: pointer, schemaPath: schemaPath, message: message))
        }

        /// Whether `instance` conforms to `schema`, without recording violations.
        mutating func conforms(
            _ instance: JSONValue, to schema: JSONValue, pointer: String, schemaPath: String,
            depth: Int
        ) throws -> Bool {
            var nested = Context(root: root)
            try nested.check(instance, against: schema, pointer: pointer, schemaPath: schemaPath, depth: depth)
            return nested.violations.isEmpty
        }

        mutating func check(
            _ instance: JSONValue, against schema: JSONValue, pointer: String, schemaPath: String,
            depth: Int
        ) throws {
            guard depth < JSONSchemaValidator.maxDepth else {
                throw JSONSchemaError(schemaPath: schemaPath, message: "schema nests deeper than \(JSONSchemaValidator.maxDepth) levels (a $ref cycle?)")
            }
            let keywords: [String: JSONValue]
            switch schema {
            case .bool(true): return
            case .bool(false):
                fail(pointer, schemaPath, "must not be present (schema is false)")
                return
            case .object(let object): keywords = object
            default:
                throw JSONSchemaError(schemaPath: schemaPath, message: "a schema must be an object or a boolean, got \(schema.kindName)")
            }

            if let ref = keywords["$ref"] {
                guard case .string(let reference) = ref else {
                    throw JSONSchemaError(schemaPath: schemaPath + "/$ref", message: "$ref must be a string")
                }
                let target = try resolve(reference, schemaPath: schemaPath + "/$ref")
                try check(instance, against: target, pointer: pointer, schemaPath: schemaPath + "/$ref", depth: depth + 1)
            }

            if let type = keywords["type"] { try checkType(instance, type, pointer: pointer, schemaPath: schemaPath + "/type") }
            if let allowed = keywords["enum"] {
                guard case .array(let values) = allowed else {
                    throw JSONSchemaError(schemaPath: schemaPath + "/enum", message: "enum must be an array")
                }
                if !values.contains(where: { Self.jsonEqual($0, instance) }) {
                    fail(
                        pointer, schemaPath + "/enum", "must be equal to one of the allowed values (\(values.map { $0.jsonString() }.joined(separator: ", ")))")
                }
            }
            if let constant = keywords["const"], !Self.jsonEqual(constant, instance) {
                fail(pointer, schemaPath + "/const", "must be equal to constant \(constant.jsonString())")
            }

            switch instance {
            case .number(let number): try checkNumber(number, keywords, pointer: pointer, schemaPath: schemaPath)
            case .string(let text): try checkString(text, keywords, pointer: pointer, schemaPath: schemaPath)
            case .array(let items): try checkArray(items, keywords, pointer: pointer, schemaPath: schemaPath, depth: depth)
            case .object(let object): try checkObject(object, keywords, pointer: pointer, schemaPath: schemaPath, depth: depth)
            default: break
            }

            if let all = keywords["allOf"] {
                let schemas = try schemaList(all, schemaPath: schemaPath + "/allOf")
                for (index, sub) in schemas.enumerated() {
                    try check(instance, against: sub, pointer: pointer, schemaPath: schemaPath + "/allOf/\(index)", depth: depth + 1)
                }
            }
            if let any = keywords["anyOf"] {
                let schemas = try schemaList(any, schemaPath: schemaPath + "/anyOf")
                var matched = false
                var branchErrors: [JSONSchemaViolation] = []
                for (index, sub) in schemas.enumerated() {
                    var nested = Context(root: root)
                    try nested.check(instance, against: sub, pointer: pointer, schemaPath: schemaPath + "/anyOf/\(index)", depth: depth + 1)
                    if nested.violations.isEmpty {
                        matched = true
                        break
                    }
                    branchErrors += nested.violations
                }
                if !matched {
                    let detail = branchErrors.isEmpty ? "" : " (\(JSONSchemaValidator.describe(branchErrors, limit: 4)))"
                    fail(pointer, schemaPath + "/anyOf", "must match a schema in anyOf\(detail)")
                }
            }
            if let one = keywords["oneOf"] {
                let schemas = try schemaList(one, schemaPath: schemaPath + "/oneOf")
                var matches: [Int] = []
                for (index, sub) in schemas.enumerated() {
                    if try conforms(instance, to: sub, pointer: pointer, schemaPath: schemaPath + "/oneOf/\(index)", depth: depth + 1) {
                        matches.append(index)
                    }
                }
                if matches.count != 1 {
                    let detail = matches.isEmpty ? "matched none" : "matched schemas \(matches.map(String.init).joined(separator: ", "))"
                    fail(pointer, schemaPath + "/oneOf", "must match exactly one schema in oneOf (\(detail))")
                }
            }
            if let not = keywords["not"],
                try conforms(instance, to: not, pointer: pointer, schemaPath: schemaPath + "/not", depth: depth + 1)
            {
                fail(pointer, schemaPath + "/not", "must NOT be valid against the schema in not")
            }
            if let condition = keywords["if"] {
                if try conforms(instance, to: condition, pointer: pointer, schemaPath: schemaPath + "/if", depth: depth + 1) {
                    if let then = keywords["then"] {
                        try check(instance, against: then, pointer: pointer, schemaPath: schemaPath + "/then", depth: depth + 1)
                    }
                } else if let otherwise = keywords["else"] {
                    try check(instance, against: otherwise, pointer: pointer, schemaPath: schemaPath + "/else", depth: depth + 1)
                }
            }
        }

        // MARK: Keywords by instance kind

        mutating func checkType(_ instance: JSONValue, _ type: JSONValue, pointer: String, schemaPath: String) throws {
            let names: [String]
            switch type {
            case .string(let name): names = [name]
            case .array(let list):
                names = try list.map {
                    guard case .string(let name) = $0 else {
                        throw JSONSchemaError(schemaPath: schemaPath, message: "type must be a string or an array of strings")
                    }
                    return name
                }
            default: throw JSONSchemaError(schemaPath: schemaPath, message: "type must be a string or an array of strings")
            }
            let known: Set<String> = ["null", "boolean", "object", "array", "number", "integer", "string"]
            for name in names where !known.contains(name) {
                throw JSONSchemaError(schemaPath: schemaPath, message: "unknown type \"\(name)\"")
            }
            let matches = names.contains { name in
                switch (name, instance) {
                case ("null", .null), ("boolean", .bool), ("object", .object), ("array", .array),
                    ("number", .number), ("string", .string):
                    true
                case ("integer", .number(let number)): number.isFinite && number == number.rounded()
                default: false
                }
            }
            if !matches { fail(pointer, schemaPath, "must be \(names.joined(separator: ","))") }
        }

        mutating func checkNumber(_ number: Double, _ keywords: [String: JSONValue], pointer: String, schemaPath: String) throws {
            let exclusiveMinimumFlag = keywords["exclusiveMinimum"]?.bool == true
            let exclusiveMaximumFlag = keywords["exclusiveMaximum"]?.bool == true
            if let minimum = try numberKeyword(keywords, "minimum", schemaPath) {
                if exclusiveMinimumFlag ? number <= minimum : number < minimum {
                    fail(pointer, schemaPath + "/minimum", "must be \(exclusiveMinimumFlag ? ">" : ">=") \(minimum.shortText)")
                }
            }
            if let maximum = try numberKeyword(keywords, "maximum", schemaPath) {
                if exclusiveMaximumFlag ? number >= maximum : number > maximum {
                    fail(pointer, schemaPath + "/maximum", "must be \(exclusiveMaximumFlag ? "<" : "<=") \(maximum.shortText)")
                }
            }
            if case .number(let bound)? = keywords["exclusiveMinimum"], number <= bound {
                fail(pointer, schemaPath + "/exclusiveMinimum", "must be > \(bound.shortText)")
            }
            if case .number(let bound)? = keywords["exclusiveMaximum"], number >= bound {
                fail(pointer, schemaPath + "/exclusiveMaximum", "must be < \(bound.shortText)")
            }
            for key in ["exclusiveMinimum", "exclusiveMaximum"] {
                if let value = keywords[key], value.double == nil, value.bool == nil {
                    throw JSONSchemaError(schemaPath: schemaPath + "/" + key, message: "\(key) must be a number")
                }
            }
            if let divisor = try numberKeyword(keywords, "multipleOf", schemaPath) {
                guard divisor > 0 else {
                    throw JSONSchemaError(schemaPath: schemaPath + "/multipleOf", message: "multipleOf must be greater than 0")
                }
                let quotient = number / divisor
                if !quotient.isFinite || abs(quotient - quotient.rounded()) > 1e-9 * max(1, abs(quotient)) {
                    fail(pointer, schemaPath + "/multipleOf", "must be multiple of \(divisor.shortText)")
                }
            }
        }

        mutating func checkString(_ text: String, _ keywords: [String: JSONValue], pointer: String, schemaPath: String) throws {
            let length = text.unicodeScalars.count
            if let minimum = try countKeyword(keywords, "minLength", schemaPath), length < minimum {
                fail(pointer, schemaPath + "/minLength", "must NOT have fewer than \(minimum) characters")
            }
            if let maximum = try countKeyword(keywords, "maxLength", schemaPath), length > maximum {
                fail(pointer, schemaPath + "/maxLength", "must NOT have more than \(maximum) characters")
            }
            if let pattern = keywords["pattern"] {
                guard case .string(let source) = pattern else {
                    throw JSONSchemaError(schemaPath: schemaPath + "/pattern", message: "pattern must be a string")
                }
                let regex = try Self.regex(source, schemaPath: schemaPath + "/pattern")
                if regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
                    fail(pointer, schemaPath + "/pattern", "must match pattern \"\(source)\"")
                }
            }
        }

        mutating func checkArray(
            _ items: [JSONValue], _ keywords: [String: JSONValue], pointer: String, schemaPath: String,
            depth: Int
        ) throws {
            if let minimum = try countKeyword(keywords, "minItems", schemaPath), items.count < minimum {
                fail(pointer, schemaPath + "/minItems", "must NOT have fewer than \(minimum) items")
            }
            if let maximum = try countKeyword(keywords, "maxItems", schemaPath), items.count > maximum {
                fail(pointer, schemaPath + "/maxItems", "must NOT have more than \(maximum) items")
            }
            if keywords["uniqueItems"]?.bool == true {
                outer: for first in items.indices {
                    for second in items.indices where second > first && Self.jsonEqual(items[first], items[second]) {
                        fail(pointer, schemaPath + "/uniqueItems", "must NOT have duplicate items (items \(first) and \(second) are identical)")
                        break outer
                    }
                }
            }
            var covered = 0
            if let prefix = keywords["prefixItems"] {
                let schemas = try schemaList(prefix, schemaPath: schemaPath + "/prefixItems")
                for (index, sub) in schemas.enumerated() where index < items.count {
                    try check(items[index], against: sub, pointer: pointer + "/\(index)", schemaPath: schemaPath + "/prefixItems/\(index)", depth: depth + 1)
                }
                covered = schemas.count
            }
            if let itemsSchema = keywords["items"] {
                if case .array(let tuple) = itemsSchema {
                    // Draft-07 tuple form; `additionalItems` covers the rest.
                    for (index, sub) in tuple.enumerated() where index < items.count {
                        try check(items[index], against: sub, pointer: pointer + "/\(index)", schemaPath: schemaPath + "/items/\(index)", depth: depth + 1)
                    }
                    if let additional = keywords["additionalItems"] {
                        for index in tuple.count..<max(tuple.count, items.count) {
                            try check(
                                items[index], against: additional, pointer: pointer + "/\(index)", schemaPath: schemaPath + "/additionalItems", depth: depth + 1
                            )
                        }
                    }
                } else {
                    for index in covered..<max(covered, items.count) {
                        try check(items[index], against: itemsSchema, pointer: pointer + "/\(index)", schemaPath: schemaPath + "/items", depth: depth + 1)
                    }
                }
            }
            if let contains = keywords["contains"] {
                var count = 0
                for (index, item) in items.enumerated() {
                    if try conforms(item, to: contains, pointer: pointer + "/\(index)", schemaPath: schemaPath + "/contains", depth: depth + 1) {
                        count += 1
                    }
                }
                let minimum = try countKeyword(keywords, "minContains", schemaPath) ?? 1
                if count < minimum {
                    fail(pointer, schemaPath + "/contains", "must contain at least \(minimum) valid item(s)")
                }
                if let maximum = try countKeyword(keywords, "maxContains", schemaPath), count > maximum {
                    fail(pointer, schemaPath + "/maxContains", "must contain at most \(maximum) valid item(s)")
                }
            }
        }

        mutating func checkObject(
            _ object: [String: JSONValue], _ keywords: [String: JSONValue], pointer: String,
            schemaPath: String, depth: Int
        ) throws {
            let keys = object.keys.sorted()
            if let minimum = try countKeyword(keywords, "minProperties", schemaPath), object.count < minimum {
                fail(pointer, schemaPath + "/minProperties", "must NOT have fewer than \(minimum) properties")
            }
            if let maximum = try countKeyword(keywords, "maxProperties", schemaPath), object.count > maximum {
                fail(pointer, schemaPath + "/maxProperties", "must NOT have more than \(maximum) properties")
            }
            if let required = keywords["required"] {
                for name in try stringList(required, schemaPath: schemaPath + "/required") where object[name] == nil {
                    fail(pointer, schemaPath + "/required", "must have required property '\(name)'")
                }
            }
            var properties: [String: JSONValue] = [:]
            if let declared = keywords["properties"] {
                guard case .object(let map) = declared else {
                    throw JSONSchemaError(schemaPath: schemaPath + "/properties", message: "properties must be an object")
                }
                properties = map
                for key in keys {
                    if let sub = map[key], let value = object[key] {
                        try check(
                            value, against: sub, pointer: pointer + "/" + Self.escape(key),
                            schemaPath: schemaPath + "/properties/" + Self.escape(key), depth: depth + 1)
                    }
                }
            }
            var patterns: [(source: String, regex: NSRegularExpression, schema: JSONValue)] = []
            if let declared = keywords["patternProperties"] {
                guard case .object(let map) = declared else {
                    throw JSONSchemaError(schemaPath: schemaPath + "/patternProperties", message: "patternProperties must be an object")
                }
                for source in map.keys.sorted() {
                    let path = schemaPath + "/patternProperties/" + Self.escape(source)
                    patterns.append((source, try Self.regex(source, schemaPath: path), map[source]!))
                }
                for key in keys {
                    for pattern in patterns where pattern.regex.firstMatch(in: key, range: NSRange(key.startIndex..., in: key)) != nil {
                        try check(
                            object[key]!, against: pattern.schema, pointer: pointer + "/" + Self.escape(key),
                            schemaPath: schemaPath + "/patternProperties/" + Self.escape(pattern.source), depth: depth + 1)
                    }
                }
            }
            if let additional = keywords["additionalProperties"] {
                let extra = keys.filter { key in
                    properties[key] == nil
                        && !patterns.contains { $0.regex.firstMatch(in: key, range: NSRange(key.startIndex..., in: key)) != nil }
                }
                if additional == .bool(false) {
                    for key in extra {
                        fail(pointer, schemaPath + "/additionalProperties", "must NOT have additional properties ('\(key)')")
                    }
                } else {
                    for key in extra {
                        try check(
                            object[key]!, against: additional, pointer: pointer + "/" + Self.escape(key),
                            schemaPath: schemaPath + "/additionalProperties", depth: depth + 1)
                    }
                }
            }
            if let names = keywords["propertyNames"] {
                for key in keys {
                    if try !conforms(.string(key), to: names, pointer: pointer, schemaPath: schemaPath + "/propertyNames", depth: depth + 1) {
                        fail(pointer, schemaPath + "/propertyNames", "property name '\(key)' is invalid")
                    }
                }
            }
            if let dependent = keywords["dependentRequired"] {
                guard case .object(let map) = dependent else {
                    throw JSONSchemaError(schemaPath: schemaPath + "/dependentRequired", message: "dependentRequired must be an object")
                }
                for key in map.keys.sorted() where object[key] != nil {
                    let path = schemaPath + "/dependentRequired/" + Self.escape(key)
                    for name in try stringList(map[key]!, schemaPath: path) where object[name] == nil {
                        fail(pointer, path, "must have property '\(name)' when property '\(key)' is present")
                    }
                }
            }
            for keyword in ["dependentSchemas", "dependencies"] {
                guard let dependent = keywords[keyword] else { continue }
                guard case .object(let map) = dependent else {
                    throw JSONSchemaError(schemaPath: schemaPath + "/" + keyword, message: "\(keyword) must be an object")
                }
                for key in map.keys.sorted() where object[key] != nil {
                    let path = schemaPath + "/\(keyword)/" + Self.escape(key)
                    if keyword == "dependencies", case .array = map[key]! {
                        for name in try stringList(map[key]!, schemaPath: path) where object[name] == nil {
                            fail(pointer, path, "must have property '\(name)' when property '\(key)' is present")
                        }
                    } else {
                        try check(.object(object), against: map[key]!, pointer: pointer, schemaPath: path, depth: depth + 1)
                    }
                }
            }
        }

        // MARK: Helpers

        func resolve(_ reference: String, schemaPath: String) throws -> JSONValue {
            guard reference.hasPrefix("#") else {
                throw JSONSchemaError(
                    schemaPath: schemaPath, message: "unsupported $ref \"\(reference)\": only references inside the schema (#/...) are supported")
            }
            let fragment = String(reference.dropFirst()).removingPercentEncoding ?? String(reference.dropFirst())
            if fragment.isEmpty { return root }
            guard fragment.hasPrefix("/") else {
                throw JSONSchemaError(schemaPath: schemaPath, message: "unsupported $ref \"\(reference)\": anchors are not supported, use a JSON pointer")
            }
            var current = root
            for token in fragment.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
                let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                if case .array = current, let index = Int(key), let next = current[index] {
                    current = next
                } else if let next = current[key] {
                    current = next
                } else {
                    throw JSONSchemaError(schemaPath: schemaPath, message: "$ref \"\(reference)\" does not resolve")
                }
            }
            return current
        }

        func schemaList(_ value: JSONValue, schemaPath: String) throws -> [JSONValue] {
            guard case .array(let list) = value, !list.isEmpty else {
                throw JSONSchemaError(schemaPath: schemaPath, message: "must be a non-empty array of schemas")
            }
            return list
        }

        func stringList(_ value: JSONValue, schemaPath: String) throws -> [String] {
            guard case .array(let list) = value else {
                throw JSONSchemaError(schemaPath: schemaPath, message: "must be an array of strings")
            }
            return try list.map {
                guard case .string(let name) = $0 else {
                    throw JSONSchemaError(schemaPath: schemaPath, message: "must be an array of strings")
                }
                return name
            }
        }

        func numberKeyword(_ keywords: [String: JSONValue], _ name: String, _ schemaPath: String) throws -> Double? {
            guard let value = keywords[name] else { return nil }
            guard case .number(let number) = value else {
                throw JSONSchemaError(schemaPath: schemaPath + "/" + name, message: "\(name) must be a number")
            }
            return number
        }

        func countKeyword(_ keywords: [String: JSONValue], _ name: String, _ schemaPath: String) throws -> Int? {
            guard let value = keywords[name] else { return nil }
            guard let count = value.int, count >= 0 else {
                throw JSONSchemaError(schemaPath: schemaPath + "/" + name, message: "\(name) must be a non-negative integer")
            }
            return count
        }

        static func regex(_ source: String, schemaPath: String) throws -> NSRegularExpression {
            do {
                return try NSRegularExpression(pattern: source)
            } catch {
                throw JSONSchemaError(schemaPath: schemaPath, message: "pattern \"\(source)\" is not a valid regular expression")
            }
        }

        static func escape(_ token: String) -> String {
            token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
        }

        /// JSON equality: numbers by value, objects by keys regardless of order.
        static func jsonEqual(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool { lhs == rhs }
    }
}
