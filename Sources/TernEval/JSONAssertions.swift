import Foundation
public import TernCore

// JSON assertions: is-json, contains-json, is-valid-openai-tools-call.
// Semantics from promptfoo's src/assertions/{json,openai}.ts and
// https://promptfoo.dev/docs/configuration/expected-outputs/deterministic/#is-json

/// The schema of an `is-json` / `contains-json` value, or nil when there is none (no value, `null`
/// or an empty string, as in promptfoo).
///
/// Deviation: promptfoo also reads a string value as YAML and loads `file://` schemas; Tern reads
/// a string as JSON, and file references must be resolved when the config is loaded.
func jsonSchemaValidator(_ spec: AssertionSpec) throws -> JSONSchemaValidator? {
    guard let value = spec.value, value != .null, value != .string("") else { return nil }
    let schema = try SpecValues.jsonValue(value, what: "`value` (a JSON schema)")
    do {
        return try JSONSchemaValidator(schema: schema)
    } catch let error as JSONSchemaError {
        throw EvaluationError("`value` is not a valid JSON schema: \(error)")
    }
}

/// Validates `instance`, turning schema problems into a spec error.
func violations(of instance: JSONValue, _ validator: JSONSchemaValidator) throws -> [JSONSchemaViolation] {
    do {
        return try validator.validate(instance)
    } catch let error as JSONSchemaError {
        throw EvaluationError("`value` is not a valid JSON schema: \(error)")
    }
}

/// `is-json`: the whole output parses as JSON (any JSON value, as `JSON.parse` accepts), and
/// conforms to the schema in `value` when one is given.
public struct IsJSONEvaluator: Evaluator {
    public static let types = ["is-json"]

    public init() {}

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let validator = try jsonSchemaValidator(spec)
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(Data(input.output.utf8))
        } catch {
            return .check(spec, pass: false, reason: "Output is not valid JSON: \(error)")
        }
        guard let validator else { return .check(spec, pass: true, reason: "Output is valid JSON") }
        let problems = try violations(of: parsed, validator)
        return .check(
            spec, pass: problems.isEmpty,
            reason: problems.isEmpty
                ? "Output is JSON conforming to the schema"
                : "Output is JSON that does not conform to the schema: \(JSONSchemaValidator.describe(problems))")
    }
}

/// `contains-json`: the output contains JSON (a JSON object or array embedded in text, such as a
/// fenced code block, or an output that is JSON as a whole); with a schema in `value`, at least
/// one JSON value found (or, for an array, one of its elements) conforms.
///
/// Deviation: promptfoo runs the whole output through `jsonrepair`, which also accepts broken JSON
/// (trailing commas, single quotes, unquoted keys); Tern only finds well-formed JSON.
public struct ContainsJSONEvaluator: Evaluator {
    public static let types = ["contains-json"]

    public init() {}

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let validator = try jsonSchemaValidator(spec)
        let found = JSONExtraction.values(in: input.output)
        guard !found.isEmpty else { return .check(spec, pass: false, reason: "Output contains no JSON") }
        guard let validator else {
            return .check(spec, pass: true, reason: "Output contains JSON (\(found.count) value\(found.count == 1 ? "" : "s"))")
        }
        var candidates: [JSONValue] = []
        for value in found {
            candidates.append(value)
            if case .array(let items) = value { candidates += items }
        }
        var firstProblems: [JSONSchemaViolation]?
        for candidate in candidates {
            let problems = try violations(of: candidate, validator)
            if problems.isEmpty { return .check(spec, pass: true, reason: "Output contains JSON conforming to the schema") }
            if firstProblems == nil { firstProblems = problems }
        }
        return .check(spec, pass: false, reason: "Output contains JSON, but none conforms to the schema: \(JSONSchemaValidator.describe(firstProblems ?? []))")
    }
}

/// Finds JSON objects and arrays embedded in text.
public enum JSONExtraction {
    /// The JSON values in `text`, in order: the whole text when it is JSON, else every well-formed
    /// top-level object or array (brackets inside JSON strings are respected; text that only looks
    /// like JSON, such as `{not json}`, is skipped).
    /// The scan gives up after `limit` values, or after examining 20 MB in total (text with many
    /// unbalanced brackets would otherwise take quadratic time).
    public static func values(in text: String, limit: Int = 1_000) -> [JSONValue] {
        let bytes = Array(text.utf8)
        if let whole = try? JSONValue.parse(bytes: bytes) { return [whole] }
        var values: [JSONValue] = []
        var start = 0
        var budget = 20_000_000
        while start < bytes.count, values.count < limit, budget > 0 {
            let byte = bytes[start]
            guard byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") else {
                start += 1
                continue
            }
            if let end = matchingEnd(bytes, from: start, budget: &budget),
                let value = try? JSONValue.parse(bytes: bytes[start...end])
            {
                values.append(value)
                start = end + 1
            } else {
                start += 1
            }
        }
        return values
    }

    /// The index of the bracket closing the one at `start`, skipping JSON strings; nil when the
    /// brackets do not balance.
    static func matchingEnd(_ bytes: [UInt8], from start: Int, budget: inout Int) -> Int? {
        var stack: [UInt8] = []
        var index = start
        var inString = false
        defer { budget -= index - start + 1 }
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") {
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"): stack.append(UInt8(ascii: "}"))
                case UInt8(ascii: "["): stack.append(UInt8(ascii: "]"))
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    guard stack.last == byte else { return nil }
                    stack.removeLast()
                    if stack.isEmpty { return index }
                default: break
                }
            }
            index += 1
        }
        return nil
    }
}

/// `is-valid-openai-tools-call`: the output is OpenAI tool calls (a JSON array of
/// `{"type": "function", "function": {"name", "arguments"}}`, or an object with a `tool_calls`
/// array), at least one, and every call names a function among the tools and has arguments that
/// conform to that function's `parameters` schema.
///
/// The tools (OpenAI format, `[{"type": "function", "function": {"name", "parameters"}}]`; bare
/// `{"name", "parameters"}` functions are accepted too; non-function tools are skipped) are taken
/// from the first of: `value`, `config.tools`, the case's `vars.tools`, the case's
/// `metadata.tools`. `{{ var }}` references in the tools' strings are rendered.
///
/// Deviation: promptfoo reads the tools from the provider's config (`providers[].config.tools`);
/// Tern's evaluators do not see providers, so the runner passes them as `metadata.tools` (or the
/// config names them). Arguments given as a JSON object rather than a JSON string are accepted.
/// promptfoo's MCP result markers ("MCP Tool Result") are not interpreted.
public struct OpenAIToolsCallEvaluator: Evaluator {
    public static let types = ["is-valid-openai-tools-call"]

    public init() {}

    public func evaluate(_ spec: AssertionSpec, _ input: EvaluationCase) async throws -> AssertionResult {
        let functions = try toolFunctions(spec, input)
        guard let output = try? JSONValue.parse(Data(input.output.utf8)) else {
            return .check(spec, pass: false, reason: "Output is not JSON, so it is not an OpenAI tools call: \(SpecValues.quoted(input.output))")
        }
        let calls: [JSONValue]
        switch output {
        case .array(let list): calls = list
        case .object where output["tool_calls"]?.array != nil: calls = output["tool_calls"]!.array!
        default:
            return .check(
                spec, pass: false,
                reason:
                    "Output is not a valid-looking tools response (expected an array of tool calls or an object with tool_calls): \(SpecValues.quoted(output.jsonString()))"
            )
        }
        guard !calls.isEmpty else { return .check(spec, pass: false, reason: "Output has no tool calls") }
        for (index, call) in calls.enumerated() {
            guard let function = call["function"], let name = function["name"]?.string, let rawArguments = function["arguments"] else {
                return .check(
                    spec, pass: false,
                    reason:
                        "Tool call \(index) is not a valid-looking tool call (needs function.name and function.arguments): \(SpecValues.quoted(call.jsonString()))"
                )
            }
            let arguments: JSONValue
            switch rawArguments {
            case .string(let text):
                guard let parsed = try? JSONValue.parse(Data(text.utf8)) else {
                    return .check(spec, pass: false, reason: "Call to \"\(name)\" has arguments that are not valid JSON: \(SpecValues.quoted(text))")
                }
                arguments = parsed
            case .object: arguments = rawArguments
            default:
                return .check(spec, pass: false, reason: "Call to \"\(name)\" has arguments that are neither a JSON string nor an object")
            }
            guard let definition = functions.first(where: { $0["name"]?.string == name }) else {
                return .check(spec, pass: false, reason: "Called \"\(name)\", but there is no function with that name")
            }
            let parameters = definition["parameters"] ?? .object([:])
            let validator: JSONSchemaValidator
            do {
                validator = try JSONSchemaValidator(schema: parameters)
            } catch {
                throw EvaluationError("the parameters of tool \"\(name)\" are not a JSON schema: \(error)")
            }
            let problems = try violations(of: arguments, validator)
            if !problems.isEmpty {
                return .check(spec, pass: false, reason: "Call to \"\(name)\" does not match schema: \(JSONSchemaValidator.describe(problems))")
            }
        }
        let names = calls.compactMap { $0["function"]?["name"]?.string }.map { "\"\($0)\"" }.joined(separator: ", ")
        return .check(spec, pass: true, reason: "Tool calls \(names) match their function schemas")
    }

    /// The function definitions of the tools the call may use.
    func toolFunctions(_ spec: AssertionSpec, _ input: EvaluationCase) throws -> [JSONValue] {
        let sources: [(String, JSONValue?)] = [
            ("`value`", spec.value),
            ("`config.tools`", spec.config?["tools"]),
            ("`vars.tools`", input.vars["tools"]),
            ("`metadata.tools`", input.metadata["tools"]),
        ]
        guard let (origin, found) = sources.first(where: { $0.1 != nil && $0.1 != .null }), let found else {
            throw EvaluationError(
                "no tools to validate against: give them in `value` or `config.tools`, or pass the provider's tools as vars.tools or metadata.tools")
        }
        let tools = try SpecValues.jsonValue(found, what: origin)
        guard case .array(let list) = tools else {
            throw EvaluationError("\(origin) must be an array of tools, got \(tools.kindName)")
        }
        var functions: [JSONValue] = []
        for (index, tool) in list.enumerated() {
            let rendered = Self.renderStrings(tool, vars: input.vars)
            if let type = rendered["type"]?.string {
                guard type == "function" else { continue }
                guard let function = rendered["function"], function["name"]?.string?.isEmpty == false else {
                    throw EvaluationError("\(origin)[\(index)] is a function tool without function.name")
                }
                functions.append(function)
            } else if rendered["name"]?.string?.isEmpty == false {
                functions.append(rendered)
            } else {
                throw EvaluationError("\(origin)[\(index)] is not a tool (needs type \"function\" and function.name)")
            }
        }
        return functions
    }

    static func renderStrings(_ value: JSONValue, vars: [String: JSONValue]) -> JSONValue {
        switch value {
        case .string(let text): .string(EvaluationTemplate.render(text, vars: vars))
        case .array(let items): .array(items.map { renderStrings($0, vars: vars) })
        case .object(let object): .object(object.mapValues { renderStrings($0, vars: vars) })
        default: value
        }
    }
}
