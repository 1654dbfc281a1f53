import ArgumentParser
import Foundation
import TernCore

/// `tern probes`: canary prompts on a schedule, each run compared with the one before.
struct ProbesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probes", abstract: "Run canary prompts on a schedule and see when a model changes: create, list, show, run, delete.",
        discussion: """
            A probe runs a dataset through prompt versions and models with assertions (an experiment, answers not
            cached) every --every, and compares each run with the one before: pass rate (McNemar), scores
            (Kolmogorov-Smirnov), output length (Welch) and refusals (z-test) (docs/MONITORING.md#probes).
              tern probes create canary --dataset canary-prompts --prompt support:production --model gpt-4o-mini \\
                --assert '{"type": "icontains", "value": "refund"}' --every 1h
              tern probes run canary --wait 120
              tern probes show canary
            """,
        subcommands: [Create.self, List.self, Show.self, Run.self, Delete.self])

    static func path(_ name: String) -> String {
        "/api/v1/probes/" + (name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name)
    }

    static func shift(_ shift: JSONValue?) -> String {
        guard let shift, !shift.isNull else { return "no earlier completed run to compare with" }
        if shift["changed"]?.bool == true {
            return "CHANGED: " + (shift["reasons"]?.array ?? []).compactMap(\.string).joined(separator: "; ")
        }
        return "no significant change against the run before (\(shift["pairs"]?.int ?? 0) pairs)"
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a probe.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name (letters, digits, '-', '_', '.').") var name: String
        @Option(name: .long, help: "The dataset of canary prompts.") var dataset: String
        @Option(name: .customLong("prompt"), help: "name@version, name:label or name (repeatable).") var prompts: [String] = []
        @Option(name: .customLong("model"), help: "A model of the gateway (repeatable).") var models: [String] = []
        @Option(name: .customLong("assert"), help: "An assertion as JSON, as in tern eval (repeatable).") var assertions: [String] = []
        @Option(name: .long, help: ArgumentHelp("How often it runs (default 1h; at least 1m).", valueName: "duration")) var every: String?

        func run() async throws {
            var body: [String: JSONValue] = [
                "name": .string(name), "dataset": .string(dataset), "prompts": .array(prompts.map(JSONValue.string)),
                "models": .array(models.map(JSONValue.string)),
            ]
            body["assert"] = .array(
                try assertions.map { text in
                    do { return try JSONValue.parse(Data(text.utf8)) } catch { throw TernError.invalid("--assert", "not JSON: \(text)") }
                })
            if let every { body["every_seconds"] = .number(Double(try AlertsCommand.seconds(every, flag: "--every"))) }
            let probe = try await server.client().post("/api/v1/probes", .object(body))
            say("created probe \(probe["name"]?.string ?? name), every \(probe["every_seconds"]?.int ?? 3600) s")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the project's probes.")
        @OptionGroup var server: ServerOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let page = try await server.client().get("/api/v1/probes")
            if json { return say(page.jsonString()) }
            let probes = page["data"]?.array ?? []
            if probes.isEmpty { return say("no probes (tern probes create NAME --dataset D --prompt P --model M --assert JSON)") }
            table(
                ["NAME", "STATE", "EVERY", "LAST RUN"],
                probes.map { probe in
                    [
                        probe["name"]?.string ?? "", probe["enabled"]?.bool == false ? "paused" : "on", "\(probe["every_seconds"]?.int ?? 0) s",
                        probe["last_run_at"]?.string ?? "-",
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a probe's runs and how each differs from the one before.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let client = try server.client()
            let probe = try await client.get(ProbesCommand.path(name))
            let runs = try await client.get("\(ProbesCommand.path(probe["id"]?.string ?? name))/runs")["data"] ?? .array([])
            if json { return say(JSONValue.object(["probe": probe, "runs": runs]).jsonString()) }
            say("\(probe["name"]?.string ?? name): \(ProbesCommand.shift(probe["shift"]))")
            let rows = (runs.array ?? []).map { run in
                [
                    run["started_at"]?.string ?? "", run["experiment_id"]?.string ?? "", run["status"]?.string ?? "",
                    ExperimentsCommand.percent(run["pass_rate"]?.double), String(ProbesCommand.shift(run["shift"]).prefix(100)),
                ]
            }
            if !rows.isEmpty {
                say()
                table(["STARTED", "RUN", "STATUS", "PASS RATE", "AGAINST THE RUN BEFORE"], rows)
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a probe now.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        @Option(name: .long, help: "Wait up to this many seconds for the run to finish.") var wait = 0

        func run() async throws {
            let client = try server.client()
            let probe = try await client.get(ProbesCommand.path(name))
            let id = probe["id"]?.string ?? name
            let started = try await client.post("\(ProbesCommand.path(id))/run?wait=\(max(0, wait))", .object([:]))
            say("run \(started["experiment_id"]?.string ?? "?"): \(started["status"]?.string ?? "?")")
            if wait > 0 { say(ProbesCommand.shift(try await client.get(ProbesCommand.path(id))["shift"])) }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a probe (its experiment runs stay).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        func run() async throws {
            _ = try await server.client().delete(ProbesCommand.path(name))
            say("deleted \(name)")
        }
    }
}
