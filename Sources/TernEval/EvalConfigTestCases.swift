import Foundation
import TernCore

// `tests:` and `defaultTest:` of an eval config: inline tests, and CSV, JSONL, YAML and JSON files
// (promptfoo's CSV special columns included).

extension EvalConfigParser {
    /// `tests`: a file reference, or a list of inline tests and file references.
    func tests(_ node: ConfigNode) throws -> [EvalTest] {
        if node.isScalar { return try testFiles(try node.string(), at: node) }
        var out: [EvalTest] = []
        for item in try node.sequence() {
            if item.isScalar {
                out += try testFiles(try item.string(), at: item)
            } else {
                out += try expandedTest(item, source: source)
            }
        }
        return out
    }

    /// `defaultTest`: a test object without a description, or a `file://` YAML/JSON file holding one.
    func defaultTest(_ node: ConfigNode) throws -> EvalTest {
        guard node.isScalar else { return try test(node, source: source, allowDescription: false) }
        let reference = try node.string()
        let file = try files(reference, at: node)
        guard file.count == 1 else { throw node.error("\(reference) must name one file") }
        let text = try read(file[0].url, display: file[0].display, at: node)
        guard let root = try ConfigNode.parse(yaml: text, source: file[0].display) else { throw node.error("\(file[0].display) is empty") }
        return try test(root, source: file[0].display, allowDescription: false)
    }

    /// One test object.
    func test(_ node: ConfigNode, source: String, allowDescription: Bool) throws -> EvalTest {
        var keys = Self.testKeys
        if !allowDescription { keys.removeAll { $0 == "description" } }
        if flavor == .tern { keys.append("golden") }
        var test = EvalTest(location: EvalLocation(node, source: source))
        for (key, value) in try entries(node, supported: keys, refused: Self.refusedTestKeys) {
            switch key {
            case "description": test.description = try scalarText(value)
            case "vars":
                for (name, variable) in try value.mapping(allowed: nil) { test.vars[name] = try resolvingFiles(variable) }
            case "assert": test.assertions = try value.sequence().map { try assertion($0, source: source) }
            case "threshold": test.threshold = try value.double(in: 0...1)
            case "metadata":
                guard let fields = value.json.object else { throw value.error("expected a mapping") }
                test.metadata = fields
            case "golden": test.golden = try value.bool()
            case "options":
                let refused = [
                    "transform": "output transforms run JavaScript, which tern eval does not run",
                    "runSerially": "use evaluateOptions.maxConcurrency: 1",
                ]
                for (option, setting) in try entries(value, supported: Self.testOptionKeys, refused: refused) {
                    switch option {
                    case "prefix": test.prefix = try setting.string()
                    case "suffix": test.suffix = try setting.string()
                    case "provider": test.gradingProvider = try gradingOptionProvider(setting)
                    case "rubricPrompt": test.rubricPrompt = try resolvingFiles(setting)
                    default: _ = try setting.bool()
                    }
                }
            default: break
            }
        }
        if test.metadata["golden"]?.bool == true { test.golden = true }
        return test
    }

    /// An inline or file test, once per combination of its array variables as promptfoo runs it
    /// (unless `options.disableVarExpansion: true`).
    func expandedTest(_ node: ConfigNode, source: String) throws -> [EvalTest] {
        let test = try test(node, source: source, allowDescription: true)
        if let flag = node.value("options")?.value("disableVarExpansion"), try flag.bool() { return [test] }
        var combinations: [[String: JSONValue]] = [[:]]
        for name in test.vars.keys.sorted() {
            let value = test.vars[name]!
            let choices = value.array.map { $0.isEmpty ? [value] : $0 } ?? [value]
            combinations = combinations.flatMap { partial in choices.map { partial.merging([name: $0]) { _, new in new } } }
        }
        return combinations.map { vars in
            var copy = test
            copy.vars = vars
            return copy
        }
    }

    /// One assertion object (`assert-set`s hold more under `assert`).
    func assertion(_ node: ConfigNode, source: String) throws -> EvalAssertion {
        var spec = AssertionSpec(type: "")
        var providerNode: ConfigNode?
        for (key, value) in try entries(node, supported: Self.assertionKeys, refused: Self.refusedAssertionKeys) {
            switch key {
            case "type": spec.type = try value.string()
            case "value": spec.value = try resolvingFiles(value)
            case "threshold":
                guard let number = value.json.double, number.isFinite else { throw value.error("expected a number") }
                spec.threshold = number
            case "weight": spec.weight = try value.double(in: 0...1_000_000)
            case "metric": spec.metric = try value.string()
            case "provider":
                spec.provider = value.json
                providerNode = value
            case "rubricPrompt": spec.rubricPrompt = try resolvingFiles(value)
            case "config": spec.config = value.json
            case "assert": spec.assertions = try value.sequence().map { try assertion($0, source: source).spec }
            default: break
            }
        }
        guard !spec.type.isEmpty else { throw node.error("an assertion needs a type (contains, equals, regex, is-json...)") }
        if let note = Self.unsupportedAssertionNote(spec.baseType), ["javascript", "python", "ruby", "webhook"].contains(spec.baseType) {
            throw node.error("not supported by tern eval: \(note)")
        }
        if spec.type == "assert-set", spec.assertions?.isEmpty ?? true {
            throw node.error("an assert-set needs assert: a list of assertions")
        }
        if let providerNode, let grading = GraderReference.Kind.grading(spec.baseType) { try checkGraders(providerNode, primary: grading.primary) }
        return EvalAssertion(spec: spec, location: EvalLocation(node, source: source))
    }

    // MARK: Files

    func testFiles(_ reference: String, at node: ConfigNode) throws -> [EvalTest] {
        for scheme in ["huggingface://", "http://", "https://", "sharepoint://"] where reference.hasPrefix(scheme) {
            throw node.error("not supported by tern eval: tests from \(scheme) (use CSV, JSONL, YAML or JSON files, or dataset:)")
        }
        if Self.isCode(reference) {
            throw node.error("\(reference) generates tests with code; tern eval does not run JavaScript or Python")
        }
        var out: [EvalTest] = []
        for file in try files(reference, at: node) {
            let ext = file.url.pathExtension.lowercased()
            if Self.codeExtensions.contains(ext) {
                throw node.error("\(file.display) generates tests with code; tern eval does not run JavaScript or Python")
            }
            guard ["csv", "jsonl", "json", "yaml", "yml"].contains(ext) else {
                throw node.error("not supported by tern eval: tests from .\(ext) files (use .csv, .jsonl, .yaml, .yml or .json)")
            }
            let text = try read(file.url, display: file.display, at: node)
            switch ext {
            case "csv": out += try csvTests(text, source: file.display)
            case "jsonl":
                for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                    do {
                        guard let root = try ConfigNode.parse(yaml: String(line), source: file.display), root.isMapping else {
                            throw ConfigError(source: file.display, path: nil, line: nil, message: "expected a JSON object (a test)")
                        }
                        out += try expandedTest(root, source: file.display)
                    } catch var error as ConfigError {
                        error.line = index + 1
                        throw error
                    }
                }
            default:
                guard let root = try ConfigNode.parse(yaml: text, source: file.display) else { continue }
                let items = root.isSequence ? try root.sequence() : [root]
                for item in items { out += try expandedTest(item, source: file.display) }
            }
        }
        return out
    }

    /// promptfoo's CSV tests: every column is a variable except the special ones: `__expected`
    /// (and `__expected1`, `__expected2`...) hold assertions written as `type: value`,
    /// `__description`, `__prefix`, `__suffix`, `__metric`, `__threshold`, `__metadata:KEY`
    /// (`__metadata:KEY[]` splits on commas, `\,` escapes one) and
    /// `__config:__expected[N]:threshold|weight|metric`.
    func csvTests(_ text: String, source: String) throws -> [EvalTest] {
        let rows: [[String]]
        do {
            rows = try CSV.parse(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text)
        } catch let error as TernError {
            throw ConfigError(source: source, path: nil, line: nil, message: error.message)
        }
        guard let header = rows.first else { return [] }
        let columns = header.map { $0.trimmingCharacters(in: .whitespaces) }
        for (index, column) in columns.enumerated() {
            let at = EvalLocation(source: source, path: "column \(index + 1) (\(column))", line: 1)
            if column == "__providerOutput" { throw at.error("not supported by tern eval: canned provider outputs") }
            if column == "__metadata" { throw at.error("name the field: __metadata:KEY") }
            // promptfoo warns and reads such a column as a variable; a typo would silently drop the assertion.
            if !column.hasPrefix("__"), let special = Self.csvSpecialColumns.first(where: { column.hasPrefix("_" + $0) }) {
                throw at.error("did you mean _\(column)? The special column is __\(special) (two underscores); rename the column if it is a variable")
            }
            if column.hasPrefix("__config:") {
                let parts = column.split(separator: ":").map(String.init)
                guard parts.count == 3, parts[1].hasPrefix("__expected"), columns.contains(parts[1]), ["threshold", "weight", "metric"].contains(parts[2])
                else {
                    throw at.error("expected __config:__expected[N]:threshold|weight|metric naming an __expected column of this file")
                }
            }
        }
        var out: [EvalTest] = []
        for (offset, row) in rows.dropFirst().enumerated() {
            let at = EvalLocation(source: source, path: "row \(offset + 2)", line: nil)
            guard row.count == columns.count else {
                throw at.error("expected \(columns.count) fields like the header, found \(row.count)")
            }
            var test = EvalTest(location: at)
            var assertionColumns: [String: Int] = [:]
            var metric: String?
            for (index, column) in columns.enumerated() {
                let value = row[index]
                let cell = EvalLocation(source: source, path: "row \(offset + 2), \(column)", line: nil)
                if column.hasPrefix("__expected") {
                    // Trimmed, as promptfoo trims the cell.
                    let expected = value.trimmingCharacters(in: .whitespacesAndNewlines)
                    guard !expected.isEmpty else { continue }
                    assertionColumns[column] = test.assertions.count
                    test.assertions.append(EvalAssertion(spec: try Self.assertion(fromCSV: expected, at: cell), location: cell))
                } else if column == "__description" {
                    test.description = value
                } else if column == "__prefix" {
                    test.prefix = value
                } else if column == "__suffix" {
                    test.suffix = value
                } else if column == "__metric" {
                    metric = value.isEmpty ? nil : value
                } else if column == "__threshold" {
                    guard !value.isEmpty else { continue }
                    guard let number = Double(value), number.isFinite else { throw cell.error("expected a number, got \"\(value)\"") }
                    test.threshold = number
                } else if column.hasPrefix("__metadata:") {
                    let key = String(column.dropFirst("__metadata:".count))
                    guard !value.isEmpty else { continue }
                    if key.hasSuffix("[]") {
                        test.metadata[String(key.dropLast(2))] = .array(Self.splitEscapedCommas(value).map(JSONValue.string))
                    } else {
                        test.metadata[key] = .string(value)
                    }
                } else if !column.hasPrefix("__config:") {
                    test.vars[column] = .string(value)
                }
            }
            for index in test.assertions.indices { test.assertions[index].spec.metric = metric }
            for (index, column) in columns.enumerated() where column.hasPrefix("__config:") && !row[index].isEmpty {
                let parts = column.split(separator: ":").map(String.init)
                guard let position = assertionColumns[parts[1]] else { continue }
                let cell = EvalLocation(source: source, path: "row \(offset + 2), \(column)", line: nil)
                let text = row[index]
                switch parts[2] {
                case "metric": test.assertions[position].spec.metric = text
                default:
                    guard let number = Double(text), number.isFinite else { throw cell.error("expected a number, got \"\(text)\"") }
                    if parts[2] == "weight" { test.assertions[position].spec.weight = number } else { test.assertions[position].spec.threshold = number }
                }
            }
            if test.metadata["golden"]?.string?.lowercased() == "true" { test.golden = true }
            out.append(test)
        }
        return out
    }

    /// promptfoo's special column names, without their `__`.
    static let csvSpecialColumns = ["expected", "prefix", "suffix", "description", "providerOutput", "metric", "threshold", "metadata", "config"]

    static func splitEscapedCommas(_ text: String) -> [String] {
        var items: [String] = []
        var current = ""
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "," {
                items.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            } else {
                current.append(character)
            }
        }
        items.append(current.trimmingCharacters(in: .whitespaces))
        return items.filter { !$0.isEmpty }
    }

    /// The promptfoo assertion types `__expected` cells may name as `type:` or `type(threshold):`.
    static let csvAssertionTypes = [
        "equals", "contains-any", "contains-all", "icontains-any", "icontains-all", "contains-json", "is-json", "is-sql", "is-xml", "contains-xml",
        "regex", "icontains", "contains", "starts-with", "webhook", "rouge-n", "bleu", "similar", "levenshtein", "classifier",
        "model-graded-factuality", "factuality", "model-graded-closedqa", "answer-relevance", "context-recall", "context-relevance",
        "context-faithfulness", "is-valid-openai-function-call", "is-valid-openai-tools-call", "latency", "perplexity", "perplexity-score",
        "cost", "select-best", "g-eval", "llm-rubric", "moderation",
    ]
    /// Types whose `__expected` form gets promptfoo's default threshold when none is written.
    static let csvThresholdTypes: Set<String> = [
        "answer-relevance", "classifier", "context-faithfulness", "context-recall", "context-relevance", "cost", "latency", "levenshtein",
        "perplexity-score", "perplexity", "rouge-n", "similar", "starts-with",
    ]

    /// An `__expected` cell as promptfoo reads it: `grade:`/`llm-rubric:` text, `[not-]type[(threshold)][:value]`,
    /// else `equals` with the whole cell. Code (`javascript:`, `fn:`, `python:`, `file://*.js|py`) is refused.
    ///
    /// Deviation: spaces after the colon are dropped (`contains: Paris` checks for `Paris`);
    /// promptfoo keeps them.
    static func assertion(fromCSV expected: String, at location: EvalLocation) throws -> AssertionSpec {
        for prefix in ["javascript:", "fn:", "eval:", "python:"] where expected.hasPrefix(prefix) {
            throw location.error("not supported by tern eval: \(prefix) assertions run code")
        }
        if expected.hasPrefix("file://"), codeExtensions.contains(where: { expected.hasSuffix(".\($0)") || expected.contains(".\($0):") }) {
            throw location.error("not supported by tern eval: assertions from code files")
        }
        for prefix in ["grade:", "llm-rubric:"] where expected.hasPrefix(prefix) {
            return AssertionSpec(type: "llm-rubric", value: .string(String(expected.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)))
        }
        var rest = expected[...]
        let negated = rest.hasPrefix("not-")
        if negated { rest = rest.dropFirst(4) }
        // Longest name first, so `contains-any` is not read as `contains`.
        for type in csvAssertionTypes.sorted(by: { $0.count > $1.count }) where rest.hasPrefix(type) {
            var tail = rest.dropFirst(type.count)
            var threshold: Double?
            if tail.hasPrefix("(") {
                guard let close = tail.firstIndex(of: ")"), let number = Double(tail[tail.index(after: tail.startIndex)..<close]), number >= 0 else { continue }
                threshold = number
                tail = tail[tail.index(after: close)...]
            }
            guard tail.isEmpty || tail.hasPrefix(":") else { continue }
            let text = tail.isEmpty ? "" : String(tail.dropFirst()).trimmingCharacters(in: .whitespaces)
            let fullType = (negated ? "not-" : "") + type
            switch type {
            case "contains-any", "contains-all", "icontains-any", "icontains-all":
                return AssertionSpec(type: fullType, value: .array(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }))
            case "is-json", "contains-json":
                return AssertionSpec(type: fullType, value: text.isEmpty ? nil : .string(text), threshold: threshold)
            default:
                if threshold == nil, csvThresholdTypes.contains(type) { threshold = type == "similar" ? 0.8 : 0.75 }
                return AssertionSpec(type: fullType, value: .string(text), threshold: threshold)
            }
        }
        return AssertionSpec(type: "equals", value: .string(expected))
    }
}
