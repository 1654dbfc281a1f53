import Foundation
public import TernCore

// What `tern eval` prints and writes: the matrix table and summary, JSON (promptfoo's result
// shape plus a `tern` section), JUnit XML and CSV. (The HTML report lives in TernCLI, next to the
// web UI's charts.)

public enum EvalReport {
    // MARK: Terminal

    /// The matrix: one row per test, one column per prompt x provider; PASS, FAIL or ERROR with
    /// the reason, shortened to fit `cellWidth`.
    public static func matrix(_ outcome: EvalOutcome, cellWidth: Int = 44, testWidth: Int = 32) -> [String] {
        let header = ["TEST"] + outcome.columns.indices.map { columnHeader(outcome, $0, width: cellWidth) }
        var rows: [[String]] = []
        for (index, test) in outcome.tests.enumerated() {
            var row = [shorten((test.golden ? "★ " : "") + test.label, testWidth)]
            for column in outcome.columns.indices {
                row.append(shorten(cellText(outcome, test: index, column: column), cellWidth))
            }
            rows.append(row)
        }
        return aligned([header] + rows)
    }

    /// The widths that fit the matrix to a terminal `columns` wide: the test column 32 (less when
    /// narrow), the cells sharing the rest (16-60 each).
    public static func widths(terminalColumns columns: Int, cellCount: Int) -> (cell: Int, test: Int) {
        let test = min(32, max(16, columns / 4))
        let cells = max(1, cellCount)
        let cell = (columns - test - 2 * cells) / cells
        return (min(60, max(16, cell)), test)
    }

    /// A column's header: with several prompts, the prompt's number and start, then the provider,
    /// which is never cut off, so two providers (or two prompts without a label) stay apart; a
    /// provider listed twice gets its place (`#2`).
    static func columnHeader(_ outcome: EvalOutcome, _ index: Int, width: Int) -> String {
        let column = outcome.columns[index]
        guard outcome.providers.indices.contains(column.provider), outcome.prompts.indices.contains(column.prompt) else {
            return shorten(column.label, width)
        }
        let provider = outcome.providers[column.provider]
        var name = provider.label ?? provider.id
        if outcome.providers.filter({ ($0.label ?? $0.id) == name }).count > 1 { name += " #\(column.provider + 1)" }
        guard outcome.prompts.count > 1 else { return shorten(name, width) }
        let prompt = "p\(column.prompt + 1) " + outcome.prompts[column.prompt].label
        let room = width - name.count - 3
        guard room >= 6 else { return shorten("p\(column.prompt + 1) | \(name)", width) }
        return shorten(prompt, room) + " | " + name
    }

    /// Every failed or errored cell with its whole reason, wrapped to `width` (the matrix shows only the
    /// first line of each); at most `limit`, then where to find the rest.
    public static func failures(_ outcome: EvalOutcome, width: Int = 100, limit: Int = 50) -> [String] {
        let failing = outcome.cells.filter { $0.status != .pass }
        guard !failing.isEmpty else { return [] }
        var lines = ["Failures and errors (\(failing.count)):"]
        for cell in failing.prefix(limit) {
            let test = outcome.tests.indices.contains(cell.test) ? outcome.tests[cell.test].label : "test \(cell.test + 1)"
            let column = outcome.columns.indices.contains(cell.column) ? columnHeader(outcome, cell.column, width: 60) : ""
            let repetition = cell.repetition > 0 ? " (repeat \(cell.repetition + 1))" : ""
            lines += wrap("\(cell.status.word) \(shorten(test, 60)) · \(column)\(repetition): \(cell.reason)", width: width, indent: "    ")
        }
        if failing.count > limit { lines.append("... and \(failing.count - limit) more: every reason is in the JSON output (-o results.json)") }
        return lines
    }

    /// Lines of at most `width` characters (longer words are cut), the later ones indented.
    static func wrap(_ text: String, width: Int, indent: String) -> [String] {
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = lines.isEmpty ? "" : indent
            for word in paragraph.split(separator: " ") {
                let prefix = line.trimmingCharacters(in: .whitespaces).isEmpty ? line : line + " "
                if prefix.count + word.count > width, !line.trimmingCharacters(in: .whitespaces).isEmpty {
                    lines.append(line)
                    line = indent + word
                } else {
                    line = prefix + word
                }
                while line.count > width {
                    lines.append(String(line.prefix(width)))
                    line = indent + line.dropFirst(width)
                }
            }
            if !line.trimmingCharacters(in: .whitespaces).isEmpty || lines.isEmpty { lines.append(line) }
        }
        return lines
    }

    /// A test's cell: its status over repetitions (`PASS 2/3` when they differ), and the first
    /// failing reason.
    static func cellText(_ outcome: EvalOutcome, test: Int, column: Int) -> String {
        let cells = outcome.cells(test: test, column: column)
        guard let status = outcome.status(test: test, column: column) else { return "-" }
        var text = status.word
        if cells.count > 1 { text += " \(cells.filter { $0.status == .pass }.count)/\(cells.count)" }
        if status != .pass, let failing = cells.first(where: { $0.status == status }) {
            text += ": " + (failing.reason.split(separator: "\n").first.map(String.init) ?? "")
        }
        return text
    }

    /// Successes, failures, errors, pass rate, tokens, cost and duration.
    public static func summary(_ outcome: EvalOutcome) -> [String] {
        let stats = outcome.stats
        var tokens = "Tokens: \((stats.inputTokens + stats.outputTokens)) (prompt \(stats.inputTokens), completion \(stats.outputTokens))"
        if stats.cached > 0 { tokens += "; \(stats.cached) of \(stats.cells) answers from the cache" }
        var lines = [
            "Successes: \(stats.passed)",
            "Failures: \(stats.failed)",
            "Errors: \(stats.errors)",
            "Pass rate: \(percent(stats.passRate))",
            tokens,
            "Cost: $" + String(format: "%.6f", stats.cost),
            "Duration: " + String(format: "%.2f s", outcome.durationMs / 1000),
        ]
        let gradingTokens = stats.gradingInputTokens + stats.gradingOutputTokens
        if gradingTokens > 0 || stats.gradingCost > 0 {
            lines.insert(
                "Grading: \(gradingTokens) tokens (prompt \(stats.gradingInputTokens), completion \(stats.gradingOutputTokens)), cost $"
                    + String(format: "%.6f", stats.gradingCost), at: lines.count - 1)
        }
        if outcome.tests.contains(where: \.golden) {
            lines.insert("Golden failures: \(stats.goldenFailed)", at: 4)
        }
        return lines
    }

    public static func percent(_ rate: Double) -> String { String(format: "%.2f%%", rate * 100) }

    static func shorten(_ text: String, _ width: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= width ? flat : String(flat.prefix(max(1, width - 1))) + "…"
    }

    static func aligned(_ rows: [[String]]) -> [String] {
        guard let first = rows.first else { return [] }
        let widths = first.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }

    // MARK: JSON

    /// promptfoo's JSON output shape (`evalId`, `results.{version, timestamp, prompts, results,
    /// stats}`, `config`), each result with a `tern` section (test and column keys for baselines),
    /// and a top-level `tern` section with the pass rate, cost and duration.
    public static func json(_ outcome: EvalOutcome, config: JSONValue = .null) -> JSONValue {
        var value = json(outcome, config: config, results: nil)
        if case .object(var top) = value, case .object(var results)? = top["results"] {
            results["results"] = .array(outcome.cells.map { result($0, in: outcome) })
            top["results"] = .object(results)
            value = .object(top)
        }
        return value
    }

    /// The JSON output as `json` gives it, written to `path` one result at a time, so a run of
    /// many thousand calls does not hold the whole document in memory twice over.
    public static func writeJSON(_ outcome: EvalOutcome, config: JSONValue = .null, to path: String) throws {
        let placeholder = "tern-results-\(UUID().uuidString)"
        let skeleton = jsonText(json(outcome, config: config, results: .string(placeholder)))
        guard let range = skeleton.range(of: "\"\(placeholder)\"") else { throw TernError.internalError("the JSON skeleton lost its results") }
        let lineStart = skeleton[..<range.lowerBound].lastIndex(of: "\n").map { skeleton.index(after: $0) } ?? skeleton.startIndex
        let indent = String(skeleton[lineStart..<range.lowerBound].prefix { $0 == " " })
        let partial = path + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: nil), let file = FileHandle(forWritingAtPath: partial) else {
            throw TernError.invalid("--output", "cannot write \(path)")
        }
        defer {
            try? file.close()
            try? FileManager.default.removeItem(atPath: partial)
        }
        try file.write(contentsOf: Data(skeleton[..<range.lowerBound].utf8))
        try file.write(contentsOf: Data("[".utf8))
        var buffer = ""
        for (index, cell) in outcome.cells.enumerated() {
            let lines = jsonText(result(cell, in: outcome)).dropLast().split(separator: "\n", omittingEmptySubsequences: false)
            buffer += (index == 0 ? "\n" : ",\n") + lines.map { $0.isEmpty ? "" : indent + "  " + $0 }.joined(separator: "\n")
            if buffer.utf8.count > 1 << 20 {
                try file.write(contentsOf: Data(buffer.utf8))
                buffer = ""
            }
        }
        buffer += outcome.cells.isEmpty ? "]" : "\n" + indent + "]"
        try file.write(contentsOf: Data(buffer.utf8))
        try file.write(contentsOf: Data(skeleton[range.upperBound...].utf8))
        try file.close()
        guard rename(partial, path) == 0 else { throw TernError.invalid("--output", "cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    /// The document with `results.results` set to `results` (nil: left out).
    static func json(_ outcome: EvalOutcome, config: JSONValue, results resultsValue: JSONValue?) -> JSONValue {
        let timestamp = ISO8601DateFormatter().string(from: outcome.startedAt)
        let prompts: [JSONValue] = outcome.columns.enumerated().map { index, column in
            let cells = outcome.cells.filter { $0.column == index }
            let prompt = outcome.prompts[column.prompt]
            let provider = outcome.providers[column.provider]
            return [
                "raw": .string(prompt.raw), "label": .string(prompt.label), "provider": .string(provider.label ?? provider.id),
                "metrics": [
                    "score": .number(cells.reduce(0) { $0 + $1.score }),
                    "testPassCount": .number(Double(cells.filter { $0.status == .pass }.count)),
                    "testFailCount": .number(Double(cells.filter { $0.status == .fail }.count)),
                    "testErrorCount": .number(Double(cells.filter { $0.status == .error }.count)),
                    "tokenUsage": tokenUsage(prompt: cells.reduce(0) { $0 + $1.inputTokens }, completion: cells.reduce(0) { $0 + $1.outputTokens }),
                    "totalLatencyMs": .number(cells.reduce(0) { $0 + ($1.latencyMs ?? 0) }),
                    "cost": .number(cells.reduce(0) { $0 + ($1.cost ?? 0) }),
                ],
            ]
        }
        let stats = outcome.stats
        var results: [String: JSONValue] = [
            "version": 3, "timestamp": .string(timestamp), "prompts": .array(prompts),
            "stats": [
                "successes": .number(Double(stats.passed)), "failures": .number(Double(stats.failed)),
                "errors": .number(Double(stats.errors)), "total": .number(Double(stats.cells)),
                "tokenUsage": tokenUsage(
                    prompt: stats.inputTokens, completion: stats.outputTokens,
                    assertions: tokenUsage(prompt: stats.gradingInputTokens, completion: stats.gradingOutputTokens)),
            ],
        ]
        if let resultsValue { results["results"] = resultsValue }
        var tern: [String: JSONValue] = [
            "description": outcome.description.map(JSONValue.string) ?? .null,
            "passRate": .number(stats.passRate), "cost": .number(stats.cost), "durationMs": .number(outcome.durationMs),
            "gradingCost": .number(stats.gradingCost),
            "gradingTokens": ["prompt": .number(Double(stats.gradingInputTokens)), "completion": .number(Double(stats.gradingOutputTokens))],
            "cachedCells": .number(Double(stats.cached)), "goldenFailures": .number(Double(stats.goldenFailed)),
            "repeat": .number(Double(outcome.repeatCount)),
            "columns": .array(outcome.columns.map { ["label": .string($0.label), "key": .string($0.key)] }),
        ]
        if !outcome.judgePrompts.isEmpty { tern["judgePrompts"] = .object(outcome.judgePrompts.mapValues(JSONValue.string)) }
        return [
            "evalId": .string(outcome.id),
            "results": .object(results),
            "config": config,
            "shareableUrl": .null,
            "tern": .object(tern),
        ]
    }

    /// One call's result in promptfoo's shape, with its `tern` section.
    static func result(_ cell: EvalOutcome.Cell, in outcome: EvalOutcome) -> JSONValue {
        let column = outcome.columns[cell.column]
        let test = outcome.tests[cell.test]
        let provider = outcome.providers[column.provider]
        var testCase: [String: JSONValue] = ["vars": .object(test.vars), "assert": encoded(test.assertions)]
        if let description = test.description { testCase["description"] = .string(description) }
        if let threshold = test.threshold { testCase["threshold"] = .number(threshold) }
        var result: [String: JSONValue] = [
            "promptIdx": .number(Double(column.prompt)), "testIdx": .number(Double(cell.test)),
            "provider": ["id": .string(provider.id), "label": provider.label.map(JSONValue.string) ?? .null],
            "prompt": ["raw": cell.prompt.map(JSONValue.string) ?? .null, "label": .string(outcome.prompts[column.prompt].label)],
            "vars": .object(test.vars), "testCase": .object(testCase),
            "response": [
                "output": cell.output.map(JSONValue.string) ?? .null, "cached": .bool(cell.cached),
                "tokenUsage": tokenUsage(prompt: cell.inputTokens, completion: cell.outputTokens),
            ],
            "success": .bool(cell.status == .pass), "score": .number(cell.score),
            "failureReason": .number(cell.status == .pass ? 0 : cell.status == .fail ? 1 : 2),
            "error": cell.status == .error ? .string(cell.reason) : .null,
            "latencyMs": cell.latencyMs.map(JSONValue.number) ?? .null, "cost": cell.cost.map(JSONValue.number) ?? .null,
            "gradingResult": cell.grading.map(grading) ?? .null,
            "namedScores": .object((cell.grading?.namedScores ?? [:]).mapValues(JSONValue.number)),
            "tern": [
                "testKey": .string(test.key), "columnKey": .string(column.key), "column": .string(column.label),
                "repetition": .number(Double(cell.repetition)), "status": .string(cell.status.rawValue), "golden": .bool(test.golden),
                "reason": .string(cell.reason), "attempts": .number(Double(cell.attempts)), "traceId": cell.traceID.map(JSONValue.string) ?? .null,
            ],
        ]
        if cell.status != .pass { result["failureMessage"] = .string(cell.reason) }
        return .object(result)
    }

    /// promptfoo's token usage (`assertions`: the judge calls' usage, in the run's stats).
    static func tokenUsage(prompt: Int, completion: Int, assertions: JSONValue? = nil) -> JSONValue {
        var usage: [String: JSONValue] = [
            "total": .number(Double(prompt + completion)), "prompt": .number(Double(prompt)),
            "completion": .number(Double(completion)),
        ]
        if let assertions { usage["assertions"] = assertions }
        return .object(usage)
    }

    static func encoded<T: Encodable>(_ value: T) -> JSONValue {
        (try? JSONEncoder().encode(value)).flatMap { try? JSONValue.parse($0) } ?? .null
    }

    /// An assertion result in promptfoo's `GradingResult` shape.
    static func grading(_ result: AssertionResult) -> JSONValue {
        var out: [String: JSONValue] = [
            "pass": .bool(result.pass), "score": .number(result.score), "reason": .string(result.reason),
            "assertion": ["type": .string(result.type), "metric": result.metric.map(JSONValue.string) ?? .null],
        ]
        if !result.namedScores.isEmpty { out["namedScores"] = .object(result.namedScores.mapValues(JSONValue.number)) }
        if !result.components.isEmpty { out["componentResults"] = .array(result.components.map(grading)) }
        if result.isError { out["error"] = true }
        if let tokens = result.gradingTokens { out["tokensUsed"] = tokenUsage(prompt: tokens.input, completion: tokens.output) }
        var tern: [String: JSONValue] = [:]
        if let cost = result.gradingCost { tern["gradingCost"] = .number(cost) }
        if !result.gradingTraceIDs.isEmpty { tern["gradingTraceIds"] = .array(result.gradingTraceIDs.map(JSONValue.string)) }
        if !tern.isEmpty { out["tern"] = .object(tern) }
        return .object(out)
    }

    /// Pretty-printed JSON text with sorted keys.
    public static func jsonText(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self) + "\n"
    }

    // MARK: JUnit XML

    /// JUnit XML: one `testsuite` per prompt x provider, one `testcase` per test (and repetition),
    /// failures and errors with their reasons, outputs in `system-out`.
    public static func junit(_ outcome: EvalOutcome) -> String {
        let stats = outcome.stats
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml +=
            "<testsuites name=\"\(xmlEscape(outcome.description ?? "tern eval"))\" tests=\"\(stats.cells)\" failures=\"\(stats.failed)\" "
            + "errors=\"\(stats.errors)\" time=\"\(seconds(outcome.durationMs))\">\n"
        for (index, column) in outcome.columns.enumerated() {
            let cells = outcome.cells.filter { $0.column == index }
            let time = cells.reduce(0) { $0 + ($1.latencyMs ?? 0) }
            xml +=
                "  <testsuite name=\"\(xmlEscape(column.label))\" tests=\"\(cells.count)\" failures=\"\(cells.filter { $0.status == .fail }.count)\" "
                + "errors=\"\(cells.filter { $0.status == .error }.count)\" skipped=\"0\" time=\"\(seconds(time))\">\n"
            xml += "    <properties>\n"
            xml += "      <property name=\"prompt\" value=\"\(xmlEscape(outcome.prompts[column.prompt].label))\"/>\n"
            xml += "      <property name=\"provider\" value=\"\(xmlEscape(outcome.providers[column.provider].id))\"/>\n"
            xml += "    </properties>\n"
            for cell in cells {
                let test = outcome.tests[cell.test]
                let name = test.label + (outcome.repeatCount > 1 ? " #\(cell.repetition + 1)" : "")
                xml += "    <testcase name=\"\(xmlEscape(name))\" classname=\"\(xmlEscape(column.label))\" time=\"\(seconds(cell.latencyMs ?? 0))\">\n"
                switch cell.status {
                case .pass: break
                case .fail:
                    xml += "      <failure message=\"\(xmlEscape(shorten(cell.reason, 500)))\" type=\"assertion\">\(xmlEscape(cell.reason))</failure>\n"
                case .error:
                    xml += "      <error message=\"\(xmlEscape(shorten(cell.reason, 500)))\" type=\"error\">\(xmlEscape(cell.reason))</error>\n"
                }
                if let output = cell.output { xml += "      <system-out>\(xmlEscape(output))</system-out>\n" }
                xml += "    </testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    static func seconds(_ milliseconds: Double) -> String { String(format: "%.3f", milliseconds / 1000) }

    /// Text for XML content and attributes: markup characters escaped, characters XML 1.0 forbids dropped.
    public static func xmlEscape(_ text: String) -> String { MarkupEscape.escape(text, xml: true) }

    // MARK: CSV

    /// One row per call: the test's variables (one column each), then test, prompt, provider,
    /// repetition, pass, status, score, reason, output, latency, tokens, cost, cached, golden.
    public static func csv(_ outcome: EvalOutcome) -> String {
        let fixed = [
            "test", "description", "prompt", "provider", "repetition", "pass", "status", "score", "reason", "output", "latency",
            "prompt_tokens", "completion_tokens", "cost", "cached", "golden",
        ]
        let variables = Array(Set(outcome.tests.flatMap(\.vars.keys))).sorted()
        let variableColumns = variables.map { fixed.contains($0) ? "var:\($0)" : $0 }
        var lines = [(variableColumns + fixed).map(CSV.escape).joined(separator: ",")]
        for cell in outcome.cells {
            let test = outcome.tests[cell.test]
            let column = outcome.columns[cell.column]
            let provider = outcome.providers[column.provider]
            let values =
                variables.map { name in test.vars[name].map(EvaluationTemplate.text(of:)) ?? "" } + [
                    test.key, test.description ?? "", outcome.prompts[column.prompt].label, provider.label ?? provider.id, String(cell.repetition),
                    cell.status == .pass ? "true" : "false", cell.status.rawValue, String(cell.score), cell.status == .pass ? "" : cell.reason,
                    cell.output ?? "", cell.latencyMs.map { String(format: "%.1f", $0) } ?? "", String(cell.inputTokens), String(cell.outputTokens),
                    cell.cost.map { String($0) } ?? "", cell.cached ? "true" : "false", test.golden ? "true" : "false",
                ]
            lines.append(values.map(CSV.escape).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
