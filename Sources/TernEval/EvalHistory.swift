public import Foundation
public import TernCore

// The run history of `tern eval`: every run is kept under `.tern/evals` (unless `--no-write`), so
// `--baseline ID` / `--baseline latest` compare with it and `tern eval list` / `show` read it back.
// One file per run, `ID.json`, holds the JSON results exactly as `-o results.json` writes them
// (promptfoo's shape plus the `tern` section); `index.jsonl` holds one summary line per run, so a
// listing does not read every result file.

/// Runs of `tern eval` kept in a directory (default `.tern/evals`).
public struct EvalRunStore: Sendable {
    /// One line of `index.jsonl`.
    public struct Summary: Sendable, Codable, Equatable {
        public var id: String
        public var startedAt: Date
        /// The config file, as an absolute path (`latest` means the newest run of the same file).
        public var config: String
        public var description: String?
        public var cells: Int
        public var passed: Int
        public var failed: Int
        public var errors: Int
        public var passRate: Double
        public var cost: Double
        public var gradingCost: Double
        public var durationMs: Double
    }

    public let directory: URL
    /// The config of the run being made: `latest` names its newest stored run (nil: the newest of any config).
    public var configPath: String?

    public init(directory: URL, configPath: String? = nil) {
        self.directory = directory
        self.configPath = configPath.map(Self.absolute)
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    var index: URL { directory.appendingPathComponent("index.jsonl") }

    /// Where a run's JSON results are.
    public func resultsPath(_ id: String) -> String { directory.appendingPathComponent(id + ".json").path }

    /// Keeps a finished run: its JSON results (streamed, as `-o` writes them), then its index line.
    @discardableResult
    public func save(_ outcome: EvalOutcome, config: JSONValue, configPath: String) throws -> Summary {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try EvalReport.writeJSON(outcome, config: config, to: resultsPath(outcome.id))
        let stats = outcome.stats
        let summary = Summary(
            id: outcome.id, startedAt: outcome.startedAt, config: Self.absolute(configPath), description: outcome.description,
            cells: stats.cells, passed: stats.passed, failed: stats.failed, errors: stats.errors, passRate: stats.passRate,
            cost: stats.cost, gradingCost: stats.gradingCost, durationMs: outcome.durationMs)
        let line = try Self.encoder.encode(summary) + Data("\n".utf8)
        // One write with O_APPEND, so runs finishing together do not interleave their lines.
        let descriptor = open(index.path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard descriptor >= 0 else { throw TernError.invalid("--runs-dir", "cannot write \(index.path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count else { throw TernError.invalid("--runs-dir", "cannot write \(index.path): \(String(cString: strerror(errno)))") }
        return summary
    }

    /// The stored runs, newest first. Lines that do not parse, and runs whose results file is
    /// gone, are left out.
    public func list() -> [Summary] {
        guard let data = try? Data(contentsOf: index) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let runs = data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(Summary.self, from: Data($0)) }
            .filter { FileManager.default.fileExists(atPath: resultsPath($0.id)) }
        // Ids are time-ordered (UUIDv7), so they order runs of the same second too.
        return runs.sorted { $0.id > $1.id }
    }

    /// The run `reference` names: `latest` (the newest run of `configPath`, else of any config),
    /// an id, or a unique prefix of one (`eval-0192f3`). Nil when `reference` is not of the form of
    /// a local run id (it may be a server experiment's); an error when it is but names no stored run.
    public func find(_ reference: String, source: String = "--baseline") throws -> Summary? {
        let runs = list()
        if reference == "latest" {
            let candidates = configPath.map { path in runs.filter { $0.config == path } } ?? runs
            guard let newest = candidates.first else {
                throw ConfigError(
                    source: source, path: nil, line: nil,
                    message: "latest: no run\(configPath.map { " of \($0)" } ?? "") is stored in \(directory.path) yet "
                        + "(every run is kept there unless --no-write)")
            }
            return newest
        }
        guard reference.hasPrefix("eval-") else { return nil }
        if let exact = runs.first(where: { $0.id == reference }) { return exact }
        let matching = runs.filter { $0.id.hasPrefix(reference) }
        guard matching.count <= 1 else {
            throw ConfigError(
                source: source, path: nil, line: nil,
                message: "\(reference) matches \(matching.count) stored runs (\(matching.prefix(3).map(\.id).joined(separator: ", "))...): give more of the id")
        }
        guard let found = matching.first else {
            throw ConfigError(
                source: source, path: nil, line: nil,
                message: "no run \(reference) is stored in \(directory.path) (tern eval list shows the stored runs)")
        }
        return found
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

extension EvalRunStore: EvalRunHistory {
    public func baseline(_ reference: String) async throws -> EvalBaseline? {
        guard let run = try find(reference) else { return nil }
        let started = ISO8601DateFormatter().string(from: run.startedAt)
        return try EvalBaseline.load(path: resultsPath(run.id), source: "run \(run.id) of \(started)")
    }
}

extension EvalOutcome {
    /// A run read back from its JSON results (`tern eval show`): enough for the matrix and the
    /// summary (each cell's verdict, reason, output, usage), not the per-assertion results.
    public init(resultsJSON json: JSONValue) throws {
        func invalid(_ what: String) -> ConfigError {
            ConfigError(source: "tern eval show", path: nil, line: nil, message: "not a results file of tern eval: \(what)")
        }
        guard let results = json["results"]?["results"]?.array, let columnList = json["tern"]?["columns"]?.array else {
            throw invalid("no results.results or tern.columns")
        }
        let promptInfo = json["results"]?["prompts"]?.array ?? []
        var prompts: [Prompt] = []
        var providers: [Provider] = []
        var columns: [Column] = []
        for (index, value) in columnList.enumerated() {
            guard let label = value["label"]?.string, let key = value["key"]?.string else { throw invalid("tern.columns[\(index)]") }
            let info = index < promptInfo.count ? promptInfo[index] : .null
            let prompt = Prompt(label: info["label"]?.string ?? label, key: info["label"]?.string ?? label, raw: info["raw"]?.string ?? "")
            let providerName = info["provider"]?.string ?? label
            let promptIndex =
                prompts.firstIndex(of: prompt)
                ?? {
                    prompts.append(prompt); return prompts.count - 1
                }()
            let provider = Provider(id: providerName, label: nil, model: providerName)
            let providerIndex =
                providers.firstIndex(of: provider)
                ?? {
                    providers.append(provider); return providers.count - 1
                }()
            columns.append(Column(prompt: promptIndex, provider: providerIndex, label: label, key: key))
        }
        let columnIndex = Dictionary(columns.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
        var tests: [Int: Test] = [:]
        var cells: [Cell] = []
        for (index, result) in results.enumerated() {
            guard let tern = result["tern"], let testIndex = result["testIdx"]?.int, let testKey = tern["testKey"]?.string,
                let column = tern["columnKey"]?.string.flatMap({ columnIndex[$0] }),
                let status = tern["status"]?.string.flatMap(Status.init(rawValue:))
            else {
                throw invalid("results.results[\(index)] lacks testIdx or tern.testKey, columnKey, status")
            }
            if tests[testIndex] == nil {
                let testCase = result["testCase"]
                let assertions = testCase?["assert"].flatMap { try? JSONDecoder().decode([AssertionSpec].self, from: $0.data()) } ?? []
                tests[testIndex] = Test(
                    key: testKey, description: testCase?["description"]?.string, vars: result["vars"]?.object ?? [:],
                    golden: tern["golden"]?.bool ?? false, assertions: assertions, threshold: testCase?["threshold"]?.double)
            }
            let usage = result["response"]?["tokenUsage"]
            cells.append(
                Cell(
                    test: testIndex, column: column, repetition: tern["repetition"]?.int ?? 0, status: status, score: result["score"]?.double ?? 0,
                    reason: tern["reason"]?.string ?? "", output: result["response"]?["output"]?.string, prompt: result["prompt"]?["raw"]?.string,
                    latencyMs: result["latencyMs"]?.double, inputTokens: usage?["prompt"]?.int ?? 0, outputTokens: usage?["completion"]?.int ?? 0,
                    cost: result["cost"]?.double, cached: result["response"]?["cached"]?.bool ?? false, attempts: tern["attempts"]?.int ?? 1,
                    traceID: tern["traceId"]?.string, grading: nil))
        }
        let count = (tests.keys.max() ?? -1) + 1
        guard tests.count == count else { throw invalid("test indexes are not contiguous") }
        let started = json["results"]?["timestamp"]?.string.flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date(timeIntervalSince1970: 0)
        self.init(
            id: json["evalId"]?.string ?? "", description: json["tern"]?["description"]?.string, startedAt: started, prompts: prompts,
            providers: providers, columns: columns, tests: (0..<count).map { tests[$0]! },
            cells: cells.sorted { ($0.test, $0.column, $0.repetition) < ($1.test, $1.column, $1.repetition) },
            stats: ExperimentSummary(), durationMs: json["tern"]?["durationMs"]?.double ?? 0, repeatCount: json["tern"]?["repeat"]?.int ?? 1)
        stats = Self.summary(self.cells, golden: Set(self.tests.indices.filter { self.tests[$0].golden }))
        stats.gradingInputTokens = json["tern"]?["gradingTokens"]?["prompt"]?.int ?? 0
        stats.gradingOutputTokens = json["tern"]?["gradingTokens"]?["completion"]?.int ?? 0
        stats.gradingCost = json["tern"]?["gradingCost"]?.double ?? 0
        judgePrompts = (json["tern"]?["judgePrompts"]?.object ?? [:]).compactMapValues(\.string)
    }
}
