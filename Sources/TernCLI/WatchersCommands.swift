import ArgumentParser
import Foundation
import TernCore

/// `tern watchers`: online evaluators on a Tern server's live traffic.
struct WatchersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watchers", abstract: "Score live traffic with evaluators on a Tern server: create, list, show, pause, delete.",
        discussion: """
            A watcher runs assertions (as in tern eval) on a sample of finished traces that match its filter;
            each result is a score named after it (docs/MONITORING.md).
              tern watchers create refund-policy \\
                --assert '{"type": "icontains", "value": "refund"}' \\
                --filter prompt_name=support --sampling-rate 0.1
              tern watchers show refund-policy --jobs failed
              tern watchers backfill refund-policy --from 2026-12-01 --wait
            """,
        subcommands: [Create.self, List.self, Show.self, Backfill.self, Pause.self, Resume.self, Delete.self])

    static func path(_ name: String) -> String {
        "/api/v1/watchers/" + (name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name)
    }

    /// The fields of a JSON (or YAML) file, or none.
    static func body(file: String?) throws -> [String: JSONValue] {
        guard let file else { return [:] }
        let path = file.hasPrefix("/") ? file : (CLIEnvironment.directory as NSString).appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: path) else { throw TernError.invalid("--file", "cannot read \(file)") }
        guard case .object(let object) = try JSONValue.parse(data) else { throw TernError.invalid("--file", "expected a JSON object") }
        return object
    }

    /// `--filter KEY=VALUE` pairs into the body's `filter` (metadata.KEY, tags=a,b, prompt_version=N).
    static func filter(_ pairs: [String], into body: inout [String: JSONValue]) throws {
        guard !pairs.isEmpty else { return }
        var filter: [String: JSONValue] = body["filter"].flatMap { if case .object(let o) = $0 { o } else { nil } } ?? [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw TernError.invalid("--filter", "expected KEY=VALUE, got \"\(pair)\"")
            }
            let key = String(pair[..<equals]), value = String(pair[pair.index(after: equals)...])
            if key.hasPrefix("metadata.") {
                var metadata: [String: JSONValue] = filter["metadata"].flatMap { if case .object(let o) = $0 { o } else { nil } } ?? [:]
                metadata[String(key.dropFirst("metadata.".count))] = .string(value)
                filter["metadata"] = .object(metadata)
            } else if key == "tags" {
                filter["tags"] = .array(value.split(separator: ",").map { .string(String($0)) })
            } else if key == "prompt_version", let version = Int(value) {
                filter["prompt_version"] = .number(Double(version))
            } else {
                filter[key] = .string(value)
            }
        }
        body["filter"] = .object(filter)
    }

    static func queue(_ watcher: JSONValue) -> String {
        let queue = watcher["queue"]
        let lag = queue?["lag_seconds"]?.double.map { "\(Int($0)) s" } ?? "-"
        return "\(queue?["pending"]?.int ?? 0) pending, \(queue?["running"]?.int ?? 0) running, \(queue?["done"]?.int ?? 0) done, "
            + "\(queue?["failed"]?.int ?? 0) failed; lag \(lag); judges today \(ExperimentsCommand.usd(queue?["cost_today"]?.double))"
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a watcher.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name (letters, digits, '-', '_', '.').") var name: String
        @Option(name: .shortAndLong, help: ArgumentHelp("A JSON or YAML file with the watcher's fields (flags override them).", valueName: "file"))
        var file: String?
        @Option(name: .customLong("assert"), help: "An assertion as JSON, as in tern eval (repeatable).") var assertions: [String] = []
        @Option(
            name: .customLong("filter"), help: ArgumentHelp("A trace filter KEY=VALUE: model, prompt_name, language, ... (repeatable).", valueName: "key=value")
        )
        var filters: [String] = []
        @Option(name: .customLong("sampling-rate"), help: "The share of matching traces scored (0-1].") var samplingRate: Double?
        @Option(name: .long, help: "Evaluate the observation of this name instead of the trace.") var observation: String?
        @Option(name: .customLong("daily-cost-cap"), help: "USD of judge calls per UTC day.") var dailyCostCap: Double?

        func run() async throws {
            var body = try WatchersCommand.body(file: file)
            body["name"] = .string(name)
            if !assertions.isEmpty {
                body["assertions"] = .array(
                    try assertions.map { text in
                        do { return try JSONValue.parse(Data(text.utf8)) } catch { throw TernError.invalid("--assert", "not JSON: \(text)") }
                    })
            }
            try WatchersCommand.filter(filters, into: &body)
            if let samplingRate { body["sampling_rate"] = .number(samplingRate) }
            if let observation { body["observation"] = .string(observation) }
            if let dailyCostCap { body["daily_cost_cap"] = .number(dailyCostCap) }
            let watcher = try await server.client().post("/api/v1/watchers", .object(body))
            say("created watcher \(watcher["name"]?.string ?? name) (\(watcher["id"]?.string ?? ""), version \(watcher["version"]?.int ?? 1))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the project's watchers with their queues.")
        @OptionGroup var server: ServerOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let page = try await server.client().get("/api/v1/watchers")
            if json { return say(page.jsonString()) }
            let watchers = page["data"]?.array ?? []
            if watchers.isEmpty { return say("no watchers (tern watchers create NAME --assert JSON)") }
            table(
                ["NAME", "VERSION", "STATE", "SAMPLING", "PENDING", "DONE", "FAILED", "LAG"],
                watchers.map { watcher in
                    let queue = watcher["queue"]
                    return [
                        watcher["name"]?.string ?? "", "\(watcher["version"]?.int ?? 1)", watcher["enabled"]?.bool == false ? "paused" : "on",
                        ExperimentsCommand.percent(watcher["sampling_rate"]?.double), "\(queue?["pending"]?.int ?? 0)", "\(queue?["done"]?.int ?? 0)",
                        "\(queue?["failed"]?.int ?? 0)", queue?["lag_seconds"]?.double.map { "\(Int($0)) s" } ?? "-",
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a watcher, its queue and its latest jobs.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        @Option(name: .long, help: ArgumentHelp("Jobs of this status: pending, running, done, failed.", valueName: "status")) var jobs: String?
        @Option(name: .long, help: "At most this many jobs.") var limit = 20
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let client = try server.client()
            let watcher = try await client.get(WatchersCommand.path(name))
            let id = watcher["id"]?.string ?? name
            let list = try await client.get("/api/v1/watchers/\(id)/jobs?limit=\(limit)" + (jobs.map { "&status=\($0)" } ?? ""))
            if json { return say(JSONValue.object(["watcher": watcher, "jobs": list["data"] ?? .array([])]).jsonString()) }
            say("\(watcher["name"]?.string ?? name) v\(watcher["version"]?.int ?? 1) (\(watcher["enabled"]?.bool == false ? "paused" : "on"))")
            say("assertions: \(watcher["assertions"]?.jsonString() ?? "[]")")
            say("filter: \(watcher["filter"]?.jsonString() ?? "{}"); sampling \(ExperimentsCommand.percent(watcher["sampling_rate"]?.double))")
            say("queue: \(WatchersCommand.queue(watcher))")
            for backfill in (try await client.get("/api/v1/watchers/\(id)/backfills")["data"]?.array ?? []).prefix(3) {
                say("backfill \(backfill["from"]?.string ?? "") .. \(backfill["to"]?.string ?? ""): \(WatchersCommand.progress(backfill))")
            }
            let rows = (list["data"]?.array ?? []).map { job in
                [
                    job["trace_id"]?.string ?? "", job["status"]?.string ?? "", "\(job["attempts"]?.int ?? 0)",
                    ExperimentsCommand.usd(job["cost"]?.double), String((job["last_error"]?.string ?? "").prefix(80)),
                ]
            }
            if !rows.isEmpty {
                say()
                table(["TRACE", "STATUS", "ATTEMPTS", "COST", "LAST ERROR"], rows)
            }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a watcher from queueing traces (its queue is still worked).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        func run() async throws {
            _ = try await server.client().patch(WatchersCommand.path(name), ["enabled": false])
            say("paused \(name)")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a paused watcher queue traces again.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        func run() async throws {
            _ = try await server.client().patch(WatchersCommand.path(name), ["enabled": true])
            say("resumed \(name)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a watcher and its queue (its scores stay).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        func run() async throws {
            _ = try await server.client().delete(WatchersCommand.path(name))
            say("deleted \(name)")
        }
    }

    struct Backfill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a watcher over past traces started in a time range.",
            discussion: "Traces its current version already scored are skipped; progress shows in tern watchers show.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        @Option(name: .long, help: ArgumentHelp("Start: ISO 8601 time, YYYY-MM-DD or Unix seconds.", valueName: "time")) var from: String
        @Option(name: .long, help: ArgumentHelp("End (default now).", valueName: "time")) var to: String?
        @Option(name: .customLong("sampling-rate"), help: "The share of traces scored (default the watcher's).") var samplingRate: Double?
        @Flag(name: .long, help: "Wait until every queued trace is scored, printing progress.") var wait = false
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let client = try server.client()
            let watcher = try await client.get(WatchersCommand.path(name))
            let id = watcher["id"]?.string ?? name
            var body: [String: JSONValue] = ["from": .string(from)]
            if let to { body["to"] = .string(to) }
            if let samplingRate { body["sampling_rate"] = .number(samplingRate) }
            var backfill = try await client.post("/api/v1/watchers/\(id)/backfill", .object(body))
            let backfillID = backfill["id"]?.string ?? ""
            if wait {
                while true {
                    let list = try await client.get("/api/v1/watchers/\(id)/backfills")
                    backfill = list["data"]?.array?.first { $0["id"]?.string == backfillID } ?? backfill
                    if !json { say(WatchersCommand.progress(backfill)) }
                    let jobs = backfill["jobs"]
                    let open = (jobs?["pending"]?.int ?? 0) + (jobs?["running"]?.int ?? 0)
                    if backfill["status"]?.string != "running", open == 0 { break }
                    try await Task.sleep(for: .seconds(2))
                }
            }
            if json { return say(backfill.jsonString()) }
            if !wait { say("backfill \(backfillID) started: \(WatchersCommand.progress(backfill))") }
        }
    }

    static func progress(_ backfill: JSONValue) -> String {
        let jobs = backfill["jobs"]
        let share = Int(((backfill["progress"]?.double ?? 0) * 100).rounded())
        return "\(backfill["status"]?.string ?? "?") \(share)%: \(backfill["scanned"]?.int ?? 0) traces read, \(backfill["queued"]?.int ?? 0) queued; "
            + "\(jobs?["done"]?.int ?? 0) done, \(jobs?["failed"]?.int ?? 0) failed, \(jobs?["pending"]?.int ?? 0) waiting"
            + (backfill["note"]?.string.map { " (\($0))" } ?? "")
    }
}
