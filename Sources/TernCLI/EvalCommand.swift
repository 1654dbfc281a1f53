import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import TernCore
public import TernEval
import TernLocal
import TernGateway
import TernProviders
import TernPrompts

/// The environment and working folder the commands read configuration from (`TERN_*` variables, provider
/// keys, `./tern.yaml`); tests run with their own, so a developer's variables or files never reach them.
public enum CLIEnvironment {
    @TaskLocal public static var current: [String: String] = ProcessInfo.processInfo.environment
    @TaskLocal public static var directory: String = FileManager.default.currentDirectoryPath
}

/// Defaults of `tern eval` that come from other modules.
public enum EvalDefaults {
    /// The embedding model of `similar` and `answer-relevance` when the config names none: the local
    /// all-minilm-l6-v2 (TernLocal, in process), loaded on first use; when it is not installed, such
    /// assertions fail with the command that installs it. Tests bind their own.
    @TaskLocal public static var embedding: EvalDefaultEmbedding? = EvalDefaultEmbedding(modelName: LocalModels.defaultModel) {
        try SharedLocalEmbedder()
    }
}

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Run prompts x providers x tests and gate CI on the results (promptfoo-compatible configs).",
        discussion: """
            Reads tern-eval.yaml (else promptfooconfig.yaml): prompts, providers (openai:chat:MODEL, anthropic:messages:MODEL, \
            Tern logical models with --server), tests (inline, CSV, JSONL, YAML, JSON), defaultTest, evaluateOptions. \
            Unsupported promptfoo features are refused by name. Answers are cached under .tern/cache (--no-cache to call again).

            Model-graded assertions (llm-rubric, g-eval, factuality, model-graded-closedqa, answer-relevance, context-faithfulness, \
            similar, select-best) are graded by the assertion's provider, else the test's or defaultTest's options.provider, else \
            --grader ID. similar and answer-relevance embed with the assertion's embedding provider (openai:embedding:MODEL), \
            else the local model all-minilm-l6-v2 in process (tern models pull all-minilm-l6-v2). Their cost (embeddings \
            included) is shown apart (Grading). With --server, judge prompts are the server's tern-judge-* prompts labelled production.

            Every run gets an id (eval-...) and is kept in .tern/evals (--runs-dir; --no-write keeps nothing): \
            tern eval list and tern eval show ID read them back, and --baseline ID (or latest) compares with one.

            Exit codes: 0 when the pass rate reaches --pass-rate (default 100); 100 when it does not, or a test that passed \
            in --baseline fails now; 1 on configuration or provider errors, and on failing golden items with --require-golden \
            (or golden: require-all).

            Examples:
              # run tern-eval.yaml
              tern eval
              # a promptfoo config as it is, with JSON and HTML reports
              tern eval --from-promptfoo promptfooconfig.yaml \\
                -o results.json -o report.html
              # a JUnit report for CI, 95% to pass, no regression against a baseline
              tern eval -o junit.xml --pass-rate 95 --baseline main-results.json
              # fail on any regression against the previous run of this config
              tern eval --baseline latest
              # the stored runs, newest first
              tern eval list
            """,
        subcommands: [EvalListCommand.self, EvalShowCommand.self])

    @Option(name: [.customShort("c"), .long], help: ArgumentHelp("Config file (default: tern-eval.yaml, else promptfooconfig.yaml).", valueName: "file"))
    var config: String?

    @Option(name: .customLong("from-promptfoo"), help: ArgumentHelp("Run a promptfoo config as it is.", valueName: "file"))
    var fromPromptfoo: String?

    @Option(
        name: [.customShort("o"), .customLong("output")],
        help: ArgumentHelp("Write results; the format follows the extension: .json, .xml (JUnit), .csv, .html (repeatable).", valueName: "file"))
    var outputs: [String] = []

    @Option(name: .customLong("pass-rate"), help: ArgumentHelp("Required pass rate in percent.", valueName: "percent"))
    var passRate: Double = 100

    @Option(
        name: .long,
        help: ArgumentHelp(
            "An earlier run: a JSON results file (-o x.json), a stored run id (eval-..., or a unique prefix), latest (the newest stored run "
                + "of this config), or with --server an experiment id of that server. Any test that passed there and fails now fails the run (exit 100).",
            valueName: "file|id"))
    var baseline: String?

    @Option(name: .customLong("runs-dir"), help: ArgumentHelp("The run history.", valueName: "dir"))
    var runsDir = EvalRunsOption.defaultDirectory

    @Flag(name: .customLong("no-write"), help: "Do not keep this run in the run history.")
    var noWrite = false

    @Option(name: .customLong("max-concurrency"), help: ArgumentHelp("Calls at once (default: evaluateOptions.maxConcurrency, else 4).", valueName: "n"))
    var maxConcurrency: Int?

    @Option(name: .customLong("repeat"), help: ArgumentHelp("Run each test this many times (default: evaluateOptions.repeat, else 1).", valueName: "n"))
    var repeatCount: Int?

    @Flag(name: .customLong("no-cache"), help: "Call the models again instead of reading answers from .tern/cache.")
    var noCache = false

    @Option(name: .customLong("cache-dir"), help: ArgumentHelp("The response cache.", valueName: "dir"))
    var cacheDir = ".tern/cache"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A Tern server (key in TERN_API_KEY): its gateway serves logical models, its datasets back dataset:, its tern-judge-* prompts "
                + "(label production) grade model-graded assertions, and its experiments can be --baseline.", valueName: "url"))
    var server: String?

    @Option(name: .customLong("filter-pattern"), help: ArgumentHelp("Only tests whose description matches this regular expression.", valueName: "regex"))
    var filterPattern: String?

    @Flag(name: .customLong("require-golden"), help: "Every result of a golden test must pass (else exit 1).")
    var requireGolden = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The judge of model-graded assertions that name none (no provider on the assertion or in defaultTest.options.provider): "
                + "a provider id such as openai:chat:gpt-4o-mini, anthropic:messages:MODEL or a Tern logical model (with --server).",
            valueName: "id"))
    var grader: String?

    func validate() throws {
        guard (0...100).contains(passRate) else { throw TernError.invalid("--pass-rate", "expected a percentage 0-100, got \(passRate)") }
        if let maxConcurrency, !(1...1000).contains(maxConcurrency) { throw TernError.invalid("--max-concurrency", "expected 1-1000") }
        if let repeatCount, !(1...1000).contains(repeatCount) { throw TernError.invalid("--repeat", "expected 1-1000") }
        if config != nil, fromPromptfoo != nil { throw TernError.invalid("--from-promptfoo", "give -c or --from-promptfoo, not both") }
        for output in outputs where EvalOutputFormat(path: output) == nil {
            throw TernError.invalid("--output", "\(output): the extension must be .json, .xml, .csv or .html")
        }
        if let server, !(server.hasPrefix("http://") || server.hasPrefix("https://")) {
            throw TernError.invalid("--server", "expected an http:// or https:// URL, got \"\(server)\"")
        }
    }

    func configFile() throws -> (String, EvalConfigFlavor) {
        if let fromPromptfoo { return (fromPromptfoo, .promptfoo) }
        if let config { return (config, config.hasSuffix("promptfooconfig.yaml") || config.hasSuffix("promptfooconfig.yml") ? .promptfoo : .tern) }
        for (name, flavor) in [
            ("tern-eval.yaml", EvalConfigFlavor.tern), ("tern-eval.yml", .tern), ("promptfooconfig.yaml", .promptfoo), ("promptfooconfig.yml", .promptfoo),
        ]
        where FileManager.default.fileExists(atPath: name) {
            return (name, flavor)
        }
        throw ConfigError(source: "tern eval", path: nil, line: nil, message: "no tern-eval.yaml or promptfooconfig.yaml here; give one with -c FILE")
    }

    /// The implementation that calls an endpoint.
    static func provider(_ endpoint: EvalEndpoint, http: UpstreamHTTP, environment: [String: String]) -> any LLMProvider {
        endpoint.type == .anthropic ? AnthropicProvider(http: http, environment: environment) : OpenAICompatibleProvider(http: http, environment: environment)
    }

    static let price: @Sendable (String, TokenUsage) -> Double? = { model, usage in PriceTable.shared.price(for: model)?.cost(usage) }

    func run() async throws {
        let (path, flavor) = try configFile()
        let config = try EvalConfig.load(path: path, flavor: flavor)
        let environment = CLIEnvironment.current.merging(config.environment) { _, fromConfig in fromConfig }
        let defaultJudge = try grader.map { try EvalConfig.grader(id: $0, flavor: flavor, source: "--grader") }
        var tests = config.tests
        if let dataset = config.dataset {
            guard let server else {
                throw dataset.location.error("dataset: \(dataset.name) is stored on a Tern server; give --server URL (and TERN_API_KEY)")
            }
            tests += config.tests(fromDataset: try await EvalDatasetFetcher.items(dataset, server: server, environment: environment))
        }
        if let filterPattern {
            let pattern: Regex<AnyRegexOutput>
            do { pattern = try Regex(filterPattern) } catch { throw TernError.invalid("--filter-pattern", "not a regular expression: \(error)") }
            tests = tests.filter { (try? pattern.firstMatch(in: $0.description ?? "")) != nil }
        }
        guard !tests.isEmpty else {
            throw ConfigError(
                source: path, path: "tests", line: nil, message: filterPattern == nil ? "no tests to run" : "no test description matches --filter-pattern")
        }
        for output in config.outputPaths where EvalOutputFormat(path: output) == nil {
            throw ConfigError(source: path, path: "outputPath", line: nil, message: "\(output): the extension must be .json, .xml, .csv or .html")
        }
        let cache = noCache || config.cache == false ? nil : try ResponseDiskCache(directory: URL(fileURLWithPath: cacheDir))
        let options = EvalRunOptions(
            maxConcurrency: maxConcurrency ?? config.maxConcurrency ?? 4, repeatCount: repeatCount ?? config.repeatCount ?? 1, cache: cache)
        let timeout = config.timeoutSeconds ?? 120

        let http = UpstreamHTTP()
        let outcome: EvalOutcome
        var reference: EvalBaseline?
        do {
            let connections = EvalConnections(
                environment: environment, server: server, timeoutSeconds: timeout,
                provider: { Self.provider($0, http: http, environment: environment) }, price: Self.price, cache: cache)
            let graders = EvalGraders(config: config, connections: connections, defaultJudge: defaultJudge, defaultEmbedding: EvalDefaults.embedding)
            var judgePrompts = JudgePrompts()
            if let server, EvalConfig.usesJudges(tests) {
                guard let key = environment["TERN_API_KEY"], !key.isEmpty else {
                    throw ConfigError(
                        source: "--server", path: nil, line: nil,
                        message: "model-graded assertions take their judge prompts from \(server): set TERN_API_KEY to an API key of that server")
                }
                judgePrompts = JudgePrompts(overrides: try await EvalServerJudgePrompts.fetch(client: TernAPIClient(base: Self.trimmed(server), key: key)))
            }
            let registry = EvalEvaluators.registry(graders: graders, prompts: judgePrompts)
            try config.validate(tests: tests, registry: registry)
            try config.validateGraders(tests: tests, graders: graders)
            let endpoints = try config.providers.map { try $0.endpoint(environment: environment, server: server) }
            // A provider nothing listens for fails the run at once, not after every cell's connect retries.
            var probed: Set<String> = []
            for (provider, endpoint) in zip(config.providers, endpoints) {
                guard let endpoint, probed.insert(endpoint.baseURL).inserted else { continue }
                if let problem = await Reachability.problem(endpoint.baseURL) {
                    throw TernError.unavailable("cannot reach provider \(provider.displayName) at \(endpoint.baseURL): \(problem)")
                }
            }
            if let baseline { reference = try await resolveBaseline(baseline, configPath: path, environment: environment) }
            let clients = endpoints.map { endpoint -> EvalProviderClient in
                guard let endpoint else { return EvalProviderClient(client: EchoModelClient(), identity: "echo") }
                let client = ProviderModelClient(
                    endpoint: endpoint, provider: Self.provider(endpoint, http: http, environment: environment),
                    timeoutSeconds: timeout, price: Self.price)
                return EvalProviderClient(client: client, identity: endpoint.identity)
            }
            let progress = EvalProgress()
            var report: (@Sendable (Int, Int) -> Void)?
            if progress.isEnabled, config.showProgressBar {
                report = { @Sendable done, total in progress.update(done, total) }
            } else if !progress.isEnabled {
                report = { @Sendable done, total in progress.count(done, total) }
                // On standard error, so results piped from standard output stay clean.
                progress.startLines { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
            }
            let finished: EvalOutcome
            do {
                var run = try await EvalRunner.run(config: config, tests: tests, clients: clients, registry: registry, options: options, progress: report)
                run.judgePrompts = judgePrompts.overrides.mapValues { "\($0.name)@\($0.version)" }
                finished = run
                progress.stopLines()
            } catch {
                progress.stopLines()
                throw error
            }
            outcome = finished
            if progress.isEnabled, config.showProgressBar { progress.finish() }
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw error
        }

        let terminal = Self.terminalColumns()
        let widths = EvalReport.widths(terminalColumns: terminal, cellCount: outcome.columns.count)
        for line in EvalReport.matrix(outcome, cellWidth: widths.cell, testWidth: widths.test) { say(line) }
        let failures = EvalReport.failures(outcome, width: max(60, terminal))
        if !failures.isEmpty {
            say()
            for line in failures { say(line) }
        }
        say()
        for line in EvalReport.summary(outcome) { say(line) }
        if let server, !outcome.judgePrompts.isEmpty {
            say("Judge prompts from \(server) (production): " + outcome.judgePrompts.values.sorted().joined(separator: ", "))
        }
        var regressions: [EvalRegression] = []
        if let reference {
            regressions = reference.regressions(in: outcome)
            say("Baseline: \(reference.source), \(reference.comparedPairs(in: outcome)) test x column pairs compared, \(regressions.count) regressed")
            for regression in regressions {
                say("  REGRESSION \(regression.test) [\(regression.column)]: \(regression.now.word): \(regression.reason.split(separator: "\n").first ?? "")")
            }
        }
        for output in outputs + config.outputPaths {
            try EvalOutputFormat(path: output)?.write(outcome, config: config, to: output)
            say("Wrote \(output)")
        }
        if !noWrite {
            do {
                try EvalRunStore(directory: URL(fileURLWithPath: runsDir)).save(outcome, config: config.raw, configPath: path)
                say("Run \(outcome.id) kept in \(runsDir) (tern eval show \(outcome.id))")
            } catch {
                say("WARNING: the run could not be kept in \(runsDir): \(error)")
            }
        }
        let verdict = EvalVerdict.judge(outcome, passRate: passRate, requireGolden: requireGolden || config.goldenRequireAll, regressions: regressions)
        for message in verdict.messages { say("FAILED: \(message)") }
        if verdict.exitCode != 0 { throw ExitCode(verdict.exitCode) }
    }
}

extension EvalCommand {
    static func trimmed(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }

    /// `--baseline`: a file, a run of the local history, else (with `--server`) an experiment of the server.
    func resolveBaseline(_ reference: String, configPath: String, environment: [String: String]) async throws -> EvalBaseline {
        var histories: [any EvalRunHistory] = [EvalRunStore(directory: URL(fileURLWithPath: runsDir), configPath: configPath)]
        var hint = "give a JSON file written with -o, a run id of \(runsDir) (tern eval list) or latest"
        if let server {
            guard let key = environment["TERN_API_KEY"], !key.isEmpty else {
                throw ConfigError(
                    source: "--baseline", path: nil, line: nil,
                    message: "\(reference) may be an experiment of --server \(server): set TERN_API_KEY to an API key of that server")
            }
            histories.append(EvalServerExperiments(client: TernAPIClient(base: Self.trimmed(server), key: key)))
            hint += ", or an experiment id of \(server)"
        } else {
            hint += "; experiment ids of a Tern server need --server URL"
        }
        return try await EvalBaseline.resolve(reference, histories: histories, hint: hint)
    }
}

/// Output files by extension.
enum EvalOutputFormat {
    case json, junit, csv, html

    init?(path: String) {
        switch (path as NSString).pathExtension.lowercased() {
        case "json": self = .json
        case "xml": self = .junit
        case "csv": self = .csv
        case "html", "htm": self = .html
        default: return nil
        }
    }

    func write(_ outcome: EvalOutcome, config: EvalConfig, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let text: String
        switch self {
        case .json: return try EvalReport.writeJSON(outcome, config: config.raw, to: path)
        case .junit: text = EvalReport.junit(outcome)
        case .csv: text = EvalReport.csv(outcome)
        case .html: text = EvalHTMLReport.render(outcome)
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
}

/// A progress line on standard error, only when it is a terminal.
extension EvalCommand {
    /// The terminal's width: the window's when standard output is one, else `$COLUMNS`, else 160 (logs
    /// and files do not wrap).
    static func terminalColumns() -> Int {
        var size = winsize()
        if isatty(STDOUT_FILENO) != 0, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let text = ProcessInfo.processInfo.environment["COLUMNS"], let columns = Int(text), columns > 20 { return columns }
        return 160
    }
}

final class EvalProgress: Sendable {
    let isEnabled = isatty(STDERR_FILENO) != 0 && CLIOutput.current === CLIOutput.standard
    private let last = Mutex(-1)
    private let counts = Mutex((done: 0, total: 0))
    private let ticker = Mutex<Task<Void, Never>?>(nil)

    /// Where there is no terminal to redraw (CI logs), a line every `interval` while the run goes on,
    /// so a slow run never looks stuck: "eval: 12/40 cells done (30%), 20 s".
    func startLines(every interval: Duration = .seconds(10), write: @escaping @Sendable (String) -> Void) {
        let started = ContinuousClock.now
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled, let self else { return }
                let (done, total) = self.counts.withLock { $0 }
                let seconds = Int(started.duration(to: .now).components.seconds)
                write("eval: \(done)/\(total) cells done (\(total == 0 ? 100 : done * 100 / total)%), \(seconds) s")
            }
        }
        ticker.withLock { $0 = task }
    }

    func count(_ done: Int, _ total: Int) { counts.withLock { $0 = (done, total) } }

    func stopLines() { ticker.withLock { $0?.cancel() } }

    func update(_ done: Int, _ total: Int) {
        count(done, total)
        let percent = total == 0 ? 100 : done * 100 / total
        let changed = last.withLock { previous in
            defer { previous = percent }
            return previous != percent || done == total
        }
        guard changed else { return }
        let width = 30
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) \(percent)%".utf8))
    }

    func finish() {
        if isEnabled { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }
}

/// The items of a dataset stored on a Tern server (`GET /api/v1/datasets/NAME/items`, all pages).
enum EvalDatasetFetcher {
    static func items(_ reference: EvalDatasetReference, server: String, environment: [String: String]) async throws -> [DatasetItem] {
        guard let key = environment["TERN_API_KEY"], !key.isEmpty else {
            throw reference.location.error("dataset: \(reference.name) is read from --server \(server): set TERN_API_KEY to an API key of that server")
        }
        let base =
            (server.hasSuffix("/") ? String(server.dropLast()) : server) + "/api/v1/datasets/"
            + (reference.name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? reference.name) + "/items"
        var items: [DatasetItem] = []
        var cursor: String?
        repeat {
            var query = ["limit=1000"]
            if let version = reference.version { query.append("version=\(version)") }
            if let cursor { query.append("cursor=" + (cursor.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? cursor)) }
            var request = HTTPClientRequest(url: base + "?" + query.joined(separator: "&"))
            request.headers.add(name: "authorization", value: "Bearer \(key)")
            let response: HTTPClientResponse
            let body: ByteBuffer
            do {
                response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
                body = try await response.body.collect(upTo: 256 * 1024 * 1024)
            } catch {
                throw reference.location.error("dataset: cannot reach \(server): \(error)")
            }
            let json = try? JSONValue.parse(Data(body.readableBytesView))
            guard response.status.code == 200, let page = json?["data"]?.array else {
                let message = json?["error"]?["message"]?.string ?? "HTTP \(response.status.code)"
                throw reference.location.error("dataset: \(reference.name)\(reference.version.map { "@\($0)" } ?? "") from \(server): \(message)")
            }
            for value in page {
                guard let id = value["id"]?.string, let input = value["input"]?.object else {
                    throw reference.location.error("dataset: \(server) sent an item without id or input")
                }
                items.append(
                    DatasetItem(
                        id: id, input: input, expectedOutput: value["expected_output"]?.string, metadata: value["metadata"]?.object ?? [:],
                        golden: value["golden"]?.bool ?? false))
            }
            cursor = json?["next_cursor"]?.string
        } while cursor != nil
        return items
    }
}
