import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import TernCore

/// For commands that work on the database or, with `--server`, through a running server's REST API
/// (the way to reach a server whose database is not on this machine).
struct RemoteOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("Go through a running Tern server's API instead of opening the database (with --api-key or $TERN_API_KEY).", valueName: "url"))
    var server: String?

    @Option(name: .customLong("api-key"), help: ArgumentHelp("An API key for --server (default: $TERN_API_KEY).", valueName: "key"))
    var apiKey: String?

    /// The client, when `--server` is given.
    func client() throws -> TernAPIClient? {
        guard let server else { return nil }
        return try TernAPIClient.make(server: server, apiKey: apiKey)
    }
}

/// Where a server-side command sends its requests.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The Tern server (default: $TERN_SERVER, else http://127.0.0.1:7777).", valueName: "url"))
    var server: String?

    @Option(name: .customLong("api-key"), help: ArgumentHelp("An API key of the project (default: $TERN_API_KEY).", valueName: "key"))
    var apiKey: String?

    func client() throws -> TernAPIClient {
        try TernAPIClient.make(server: server ?? CLIEnvironment.current["TERN_SERVER"] ?? "http://127.0.0.1:7777", apiKey: apiKey)
    }
}

extension TernAPIClient {
    /// A client of `server` with `apiKey`, else `$TERN_API_KEY`; errors name the flag.
    static func make(server base: String, apiKey: String?) throws -> TernAPIClient {
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw TernError.invalid("--server", "expected an http:// or https:// URL, got \"\(base)\"")
        }
        guard let key = apiKey ?? CLIEnvironment.current["TERN_API_KEY"], !key.isEmpty else {
            throw TernError.invalid("--api-key", "an API key is required: --api-key or $TERN_API_KEY (tern keys create)")
        }
        return TernAPIClient(base: base.hasSuffix("/") ? String(base.dropLast()) : base, key: key)
    }
}

/// A small JSON client of Tern's REST API. Errors come back as the server's `TernError` (code,
/// message, field).
struct TernAPIClient: Sendable {
    let base: String
    let key: String

    func get(_ path: String) async throws -> JSONValue { try await send(path, body: nil) }
    func post(_ path: String, _ body: JSONValue) async throws -> JSONValue { try await send(path, body: body) }
    func delete(_ path: String) async throws -> JSONValue { try await send(path, body: nil, deleting: true) }
    func patch(_ path: String, _ body: JSONValue) async throws -> JSONValue { try await send(path, body: body, patching: true) }

    /// A GET, a POST or PATCH of `body`, or a DELETE.
    func send(_ path: String, body: JSONValue?, deleting: Bool = false, patching: Bool = false) async throws -> JSONValue {
        var request = HTTPClientRequest(url: base + path)
        request.method = deleting ? .DELETE : body == nil ? .GET : patching ? .PATCH : .POST
        request.headers.add(name: "authorization", value: "Bearer \(key)")
        request.headers.add(name: "accept", value: "application/json")
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.data()))
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        } catch {
            throw TernError.unavailable("cannot reach the Tern server at \(base): \(error)")
        }
        let data = Data(try await response.body.collect(upTo: 64 * 1024 * 1024).readableBytesView)
        let json = (try? JSONValue.parse(data)) ?? .null
        guard (200..<300).contains(response.status.code) else {
            let error = json["error"]
            let message = error?["message"]?.string ?? String(decoding: data.prefix(300), as: UTF8.self)
            let kind: TernError.Kind =
                switch response.status.code {
                case 400: .invalidInput
                case 401: .unauthorized
                case 403: .forbidden
                case 404: .notFound
                case 409: .conflict
                default: .unavailable
                }
            throw TernError(kind, code: error?["code"]?.string ?? "http_\(response.status.code)", message: message, field: error?["field"]?.string)
        }
        return json
    }
}

struct ExperimentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiments", abstract: "Run experiments on a Tern server, list them, show one, compare two.",
        discussion: """
            Experiments run on the server, through its gateway: every cell is a traced, costed call.
              tern experiments run --dataset faq --prompt qa@3 --prompt qa:staging \\
                --model gpt-4o-mini --assert '{"type": "icontains", "value": "refund"}'
              tern experiments compare BASE_ID HEAD_ID --fail-on-regression
            """,
        subcommands: [Run.self, List.self, Show.self, Compare.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a run and wait for it (Ctrl-C leaves it running on the server).",
            discussion:
                "Exits 0 when every cell was answered and evaluated (failed assertions included), 1 when a cell ended in an error (each printed with its reason) or the run failed."
        )
        @OptionGroup var server: ServerOptions
        @Option(name: .shortAndLong, help: ArgumentHelp("A JSON or YAML file with the request body (flags override its fields).", valueName: "file"))
        var file: String?
        @Option(name: .long, help: "A name for the run (default: the prompts and models).") var name: String?
        @Option(name: .long, help: "Dataset name.") var dataset: String?
        @Option(name: .customLong("dataset-version"), help: "Dataset version (default: the latest).") var datasetVersion: Int?
        @Option(name: .customLong("prompt"), help: "name@version, name:label or name (repeatable).") var prompts: [String] = []
        @Option(name: .customLong("model"), help: "A model of the gateway (repeatable).") var models: [String] = []
        @Option(name: .long, help: "Repetitions of every cell.") var repeats: Int?
        @Option(name: .customLong("assert"), help: "An assertion as JSON, promptfoo style (repeatable).") var assertions: [String] = []
        @Option(name: .customLong("max-concurrency"), help: "Cells in flight at once (default 4).") var maxConcurrency: Int?
        @Option(name: .long, help: "Default judge model for model-graded assertions.") var grader: String?
        @Option(name: .long, help: "Default embedding model for similar and answer-relevance.") var embedder: String?
        @Flag(name: .customLong("no-wait"), help: "Print the run and return at once.") var noWait = false
        @Flag(name: .long, help: "Print JSON.") var json = false

        func body() throws -> JSONValue {
            var body: [String: JSONValue] = [:]
            if let file {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                let value = file.hasSuffix(".json") ? try JSONValue.parse(Data(text.utf8)) : try JSONValue.parse(yaml: text, source: file)
                guard let object = value.object else { throw TernError.invalid("--file", "\(file) must hold an object") }
                body = object
            }
            if let dataset { body["dataset"] = .string(dataset) }
            if let datasetVersion { body["dataset_version"] = .number(Double(datasetVersion)) }
            if !prompts.isEmpty { body["prompts"] = .array(prompts.map(JSONValue.string)) }
            if !models.isEmpty { body["models"] = .array(models.map(JSONValue.string)) }
            if let repeats { body["repeats"] = .number(Double(repeats)) }
            if !assertions.isEmpty {
                body["assert"] = .array(
                    try assertions.enumerated().map { index, text in
                        do { return try JSONValue.parse(Data(text.utf8)) } catch {
                            throw TernError.invalid("--assert", "assertion \(index + 1) is not JSON: \(text)")
                        }
                    })
            }
            var options = body["options"]?.object ?? [:]
            if let maxConcurrency { options["max_concurrency"] = .number(Double(maxConcurrency)) }
            if let grader { options["grader"] = .string(grader) }
            if let embedder { options["embedder"] = .string(embedder) }
            if !options.isEmpty { body["options"] = .object(options) }
            if let name { body["name"] = .string(name) }
            if body["name"] == nil {
                let prompts = (body["prompts"]?.array ?? []).compactMap(\.string).joined(separator: ", ")
                let models = (body["models"]?.array ?? []).compactMap(\.string).joined(separator: ", ")
                body["name"] = .string("\(prompts) × \(models)")
            }
            return .object(body)
        }

        func run() async throws {
            let client = try server.client()
            var run = try await client.post("/api/v1/experiments", try body())
            guard let id = run["id"]?.string else { throw TernError.internalError("the server answered without a run id") }
            if !json { say("experiment \(id) started: \(ExperimentsCommand.describe(run))") }
            if !noWait {
                var last = ""
                while !ExperimentsCommand.finished(run) {
                    run = try await client.get("/api/v1/experiments/\(id)?wait=5")
                    let progress = ExperimentsCommand.progress(run)
                    if !json, progress != last { say(progress) }
                    last = progress
                }
                run = try await client.get("/api/v1/experiments/\(id)")
            }
            if json { return say(run.jsonString()) }
            if !noWait {
                ExperimentsCommand.show(run)
                let status = run["status"]?.string ?? ""
                if status != "completed" {
                    throw TernError(
                        .unavailable, code: "experiment_\(status)", message: "the run ended \(status)" + (run["error"]?.string.map { ": \($0)" } ?? ""))
                }
                // Cells that ended in an error (not a failed assertion): their reasons, and exit 1.
                let errors = run["summary"]?["errors"]?.int ?? 0
                if errors > 0 {
                    let shown = try await ExperimentsCommand.errorCells(client, id, limit: 10)
                    say()
                    say("\(errors) \(errors == 1 ? "cell" : "cells") ended in an error:")
                    for cell in shown {
                        say(
                            "  ERROR \(cell["item_id"]?.string ?? "?") · \(cell["prompt_name"]?.string ?? "?")@\(cell["prompt_version"]?.int ?? 0) · "
                                + "\(cell["model"]?.string ?? "?"): \(cell["error"]?.string ?? "")")
                    }
                    if errors > shown.count { say("  (every cell: tern experiments show \(id) --results)") }
                    throw ExitCode(1)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List runs, newest first.")
        @OptionGroup var server: ServerOptions
        @Option(name: .long, help: "At most this many (1-200).") var limit = 50
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let page = try await server.client().get("/api/v1/experiments?limit=\(limit)")
            if json { return say(page.jsonString()) }
            let runs = page["data"]?.array ?? []
            table(
                ["ID", "NAME", "STATUS", "DATASET", "PROMPTS x MODELS", "CELLS", "PASS", "COST", "STARTED"],
                runs.map { run in
                    let summary = run["summary"]
                    return [
                        run["id"]?.string ?? "", run["name"]?.string ?? "", run["status"]?.string ?? "",
                        "\(run["dataset"]?["name"]?.string ?? "")@\(run["dataset"]?["version"]?.int ?? 0)",
                        "\((run["prompts"]?.array ?? []).compactMap(\.string).joined(separator: ",")) x \((run["models"]?.array ?? []).compactMap(\.string).joined(separator: ","))",
                        "\(summary?["cells"]?.int ?? 0)/\(summary?["planned_cells"]?.int ?? 0)", ExperimentsCommand.percent(summary?["pass_rate"]?.double),
                        ExperimentsCommand.usd(summary?["cost"]?.double), run["started_at"]?.string ?? "-",
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a run: status, totals and each column (prompt version x model).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The run's id.") var id: String
        @Flag(name: .long, help: "Also print every cell.") var results = false
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let client = try server.client()
            let run = try await client.get("/api/v1/experiments/\(id)")
            if json, !results { return say(run.jsonString()) }
            if !json { ExperimentsCommand.show(run) }
            guard results else { return }
            var rows: [[String]] = []
            var cursor: String?
            repeat {
                let page = try await client.get("/api/v1/experiments/\(id)/results?limit=1000" + (cursor.map { "&cursor=\($0)" } ?? ""))
                for cell in page["data"]?.array ?? [] {
                    if json { say(cell.jsonString()); continue }
                    let verdict = cell["error"]?.string != nil ? "[ERROR]" : cell["passed"]?.bool == true ? "[PASS]" : "[FAIL]"
                    rows.append([
                        cell["item_id"]?.string ?? "", "\(cell["prompt_name"]?.string ?? "")@\(cell["prompt_version"]?.int ?? 0)",
                        cell["model"]?.string ?? "", verdict, cell["score"]?.double.map { String(format: "%.2f", $0) } ?? "-",
                        String((cell["error"]?.string ?? cell["output"]?.string ?? "").replacingOccurrences(of: "\n", with: " ").prefix(60)),
                    ])
                }
                cursor = page["next_cursor"]?.string
            } while cursor != nil
            if !json {
                say()
                table(["ITEM", "PROMPT", "MODEL", "VERDICT", "SCORE", "OUTPUT"], rows)
            }
        }
    }

    struct Compare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare two runs: regressions, improvements, pass rates and McNemar's test.",
            discussion: """
                Without ids it compares the two newest runs (the newer as HEAD); with one id, that run with the one before it.
                With --fail-on-regression the command exits with status 100 when a cell that passed in BASE fails in HEAD.
                """)
        @OptionGroup var server: ServerOptions
        @Argument(help: "The base run's id; given alone, the run to compare with the one before it.") var base: String?
        @Argument(help: "The run compared with it (default: the newest run).") var head: String?
        @Option(name: .long, help: "Pair cells by prompt_model, prompt, model or item (default: automatic).") var by: String?
        @Flag(name: .customLong("fail-on-regression"), help: "Exit with status 100 when there is a regression.") var failOnRegression = false
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let client = try server.client()
            let (base, head) = try await pair(client)
            if !json { say("Comparing \(base) (base) with \(head) (head)") }
            var path = "/api/v1/experiments/compare?base=\(URLQuery.encode(base))&head=\(URLQuery.encode(head))"
            if let by { path += "&by=\(URLQuery.encode(by))" }
            let result = try await client.get(path)
            if json {
                say(result.jsonString())
            } else {
                say(result["summary"]?.string ?? "")
                for (title, key, count) in [("REGRESSIONS", "regressions", "regression_count"), ("IMPROVEMENTS", "improvements", "improvement_count")] {
                    let pairs = result[key]?.array ?? []
                    guard !pairs.isEmpty else { continue }
                    say()
                    say("\(title) (\(result[count]?.int ?? pairs.count))")
                    table(
                        ["ITEM", "COLUMN", "BASE", "HEAD", "HEAD OUTPUT"],
                        pairs.map { pair in
                            func verdict(_ side: JSONValue?) -> String {
                                side?["error"]?.string != nil ? "ERROR" : side?["passed"]?.bool == true ? "PASS" : "FAIL"
                            }
                            return [
                                pair["item_id"]?.string ?? "", pair["column"]?.string ?? "",
                                "\(verdict(pair["base"])) \(pair["base"]?["prompt"]?.string ?? "")",
                                "\(verdict(pair["head"])) \(pair["head"]?["prompt"]?.string ?? "")",
                                String(
                                    (pair["head"]?["reason"]?.string ?? pair["head"]?["output"]?.string ?? "").replacingOccurrences(of: "\n", with: " ").prefix(
                                        60)),
                            ]
                        })
                }
            }
            if failOnRegression, (result["regression_count"]?.int ?? 0) > 0 { throw ExitCode(100) }
        }

        /// The ids given; one id is compared with the run before it; none, the newest run with the one before.
        func pair(_ client: TernAPIClient) async throws -> (base: String, head: String) {
            if let base, let head { return (base, head) }
            let runs = (try await client.get("/api/v1/experiments?limit=200")["data"]?.array ?? []).compactMap { $0["id"]?.string }
            if let only = base {
                guard let index = runs.firstIndex(of: only) else { throw TernError.notFound("run \(only)", field: "base") }
                guard index + 1 < runs.count else {
                    throw TernError.invalid("base", "run \(only) is the oldest run: name the run to compare it with")
                }
                return (runs[index + 1], only)
            }
            guard runs.count >= 2 else {
                throw TernError.invalid("base", "comparing needs two runs, the project has \(runs.count): name them or run another (tern experiments run)")
            }
            return (runs[1], runs[0])
        }
    }

    // MARK: - Output

    static func finished(_ run: JSONValue) -> Bool { ["completed", "failed", "cancelled"].contains(run["status"]?.string ?? "") }

    static func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }

    static func usd(_ value: Double?) -> String { value.map { String(format: "$%.4f", $0) } ?? "-" }

    static func describe(_ run: JSONValue) -> String {
        let prompts = (run["prompts"]?.array ?? []).compactMap(\.string).joined(separator: ", ")
        let models = (run["models"]?.array ?? []).compactMap(\.string).joined(separator: ", ")
        return "\(run["dataset"]?["name"]?.string ?? "")@\(run["dataset"]?["version"]?.int ?? 0) · \(prompts) × \(models) · "
            + "\(run["summary"]?["planned_cells"]?.int ?? 0) cells"
    }

    static func progress(_ run: JSONValue) -> String {
        let summary = run["summary"]
        return "\(run["status"]?.string ?? "?"): \(summary?["cells"]?.int ?? 0)/\(summary?["planned_cells"]?.int ?? 0) cells, "
            + "\(summary?["passed"]?.int ?? 0) passed, \(summary?["failed"]?.int ?? 0) failed, \(summary?["errors"]?.int ?? 0) errors"
    }

    /// Up to `limit` cells of a run that ended in an error, in cell order.
    static func errorCells(_ client: TernAPIClient, _ id: String, limit: Int) async throws -> [JSONValue] {
        var found: [JSONValue] = []
        var cursor: String?
        for _ in 0..<50 {
            let page = try await client.get(
                "/api/v1/experiments/\(URLQuery.encode(id))/results?limit=1000" + (cursor.map { "&cursor=\(URLQuery.encode($0))" } ?? ""))
            found += (page["data"]?.array ?? []).filter { $0["error"]?.string != nil }
            cursor = page["next_cursor"]?.string
            if found.count >= limit || cursor == nil { break }
        }
        return Array(found.prefix(limit))
    }

    static func show(_ run: JSONValue) {
        let summary = run["summary"]
        say("\(run["name"]?.string ?? "") (\(run["id"]?.string ?? "")): \(run["status"]?.string ?? "")" + (run["error"]?.string.map { " - \($0)" } ?? ""))
        say(describe(run))
        say(
            "pass rate \(percent(summary?["pass_rate"]?.double)) · \(summary?["passed"]?.int ?? 0) passed, \(summary?["failed"]?.int ?? 0) failed, "
                + "\(summary?["errors"]?.int ?? 0) errors · tokens \(summary?["input_tokens"]?.int ?? 0) in, \(summary?["output_tokens"]?.int ?? 0) out · "
                + "cost \(usd(summary?["cost"]?.double)) + grading \(usd(summary?["grading_cost"]?.double))")
        let columns = run["columns"]?.array ?? []
        guard !columns.isEmpty else { return }
        say()
        table(
            ["PROMPT", "MODEL", "PASS", "PASSED", "FAILED", "ERRORS", "COST", "MEAN LATENCY"],
            columns.map { column in
                let s = column["summary"]
                return [
                    column["prompt"]?.string ?? "", column["model"]?.string ?? "", percent(s?["pass_rate"]?.double), "\(s?["passed"]?.int ?? 0)",
                    "\(s?["failed"]?.int ?? 0)", "\(s?["errors"]?.int ?? 0)", usd(s?["cost"]?.double),
                    s?["mean_latency_ms"]?.double.map { String(format: "%.0f ms", $0) } ?? "-",
                ]
            })
    }
}

enum URLQuery {
    /// A query parameter value, percent-encoded.
    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
