import ArgumentParser
import Foundation
import TernCore

/// `tern alerts`: rules on a Tern server's metrics, with webhooks.
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "Alert on metrics of a Tern server: create, list, show, silence, test, delete.",
        discussion: """
            A rule measures a metric over a window on a schedule and notifies webhooks when it starts and stops
            holding (docs/MONITORING.md#alerts).
              tern alerts create error-rate --metric error_rate --above 0.05 --window 15m \\
                --filter model=gpt-4o-mini --webhook https://hooks.example.com/tern --secret "$WEBHOOK_SECRET"
              tern alerts create slow --metric latency_p95_ms --above 3000 --slack https://hooks.slack.com/services/...
              tern alerts test error-rate
              tern alerts silence error-rate --for 2h
            """,
        subcommands: [Create.self, List.self, Show.self, Silence.self, Test.self, Pause.self, Resume.self, Delete.self])

    static func path(_ name: String) -> String {
        "/api/v1/alerts/" + (name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name)
    }

    /// `90`, `30s`, `15m`, `2h`, `1d` as seconds.
    static func seconds(_ text: String, flag: String) throws -> Int {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let plain = Int(text), plain >= 0 { return plain }
        guard let unit = text.last.flatMap({ units[$0] }), let count = Int(text.dropLast()), count >= 0, count <= 1_000_000 else {
            throw TernError.invalid(flag, "expected a duration such as 90, 30s, 15m, 2h or 1d, got \"\(text)\"")
        }
        return count * unit
    }

    static func condition(_ rule: JSONValue) -> String {
        let threshold = rule["threshold"]?.double.map(AlertNotification.format) ?? "?"
        return "\(rule["metric"]?.string ?? "?") \(rule["condition"]?.string ?? "?") \(threshold) over \(rule["window_seconds"]?.int ?? 0) s"
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an alert rule.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name (letters, digits, '-', '_', '.').") var name: String
        @Option(name: .shortAndLong, help: ArgumentHelp("A JSON file with the rule's fields (flags override them).", valueName: "file"))
        var file: String?
        @Option(
            name: .long,
            help: "error_rate, latency_p50_ms, latency_p95_ms, latency_p99_ms, cost, traces, mean_score, watcher_backlog, watcher_failed or segment_gap.")
        var metric: String?
        @Option(name: .long, help: "Fire when the value is above this.") var above: Double?
        @Option(name: .long, help: "Fire when the value is below this.") var below: Double?
        @Option(name: .long, help: ArgumentHelp("The window measured (default 1h).", valueName: "duration")) var window: String?
        @Option(name: .long, help: ArgumentHelp("How often it is evaluated (default 1m).", valueName: "duration")) var every: String?
        @Option(name: .long, help: ArgumentHelp("Firing notifications at least this far apart (default 10m).", valueName: "duration"))
        var cooldown: String?
        @Option(name: .customLong("filter"), help: ArgumentHelp("A trace filter KEY=VALUE (repeatable).", valueName: "key=value"))
        var filters: [String] = []
        @Option(name: .long, help: "mean_score: the score's name.") var score: String?
        @Option(name: .long, help: "watcher_backlog, watcher_failed: the watcher's name.") var watcher: String?
        @Option(name: .long, help: "segment_gap: latency, cost, tokens, error_rate or score:NAME.") var measure: String?
        @Option(name: .long, help: "segment_gap: the segment, e.g. language or metadata.tier.") var by: String?
        @Option(name: .customLong("min-count"), help: "Fewer traces in the window than this: no value.") var minCount: Int?
        @Option(name: .long, help: "A webhook URL for the signed JSON body (repeatable).") var webhook: [String] = []
        @Option(name: .long, help: "A Slack-compatible incoming webhook URL (repeatable).") var slack: [String] = []
        @Option(name: .long, help: "The HMAC-SHA256 key of the --webhook signatures (16-200 characters).") var secret: String?

        func run() async throws {
            var body = try WatchersCommand.body(file: file)
            body["name"] = .string(name)
            if let metric { body["metric"] = .string(metric) }
            if above != nil, below != nil { throw TernError.invalid("--above", "give --above or --below, not both") }
            if let above {
                body["condition"] = ">"
                body["threshold"] = .number(above)
            }
            if let below {
                body["condition"] = "<"
                body["threshold"] = .number(below)
            }
            if let window { body["window_seconds"] = .number(Double(try AlertsCommand.seconds(window, flag: "--window"))) }
            if let every { body["every_seconds"] = .number(Double(try AlertsCommand.seconds(every, flag: "--every"))) }
            if let cooldown { body["cooldown_seconds"] = .number(Double(try AlertsCommand.seconds(cooldown, flag: "--cooldown"))) }
            try WatchersCommand.filter(filters, into: &body)
            for (key, value) in [("score", score), ("watcher", watcher), ("measure", measure), ("by", by)] {
                if let value { body[key] = .string(value) }
            }
            if let minCount { body["min_count"] = .number(Double(minCount)) }
            var destinations: [JSONValue] = webhook.map { url in
                var item: [String: JSONValue] = ["url": .string(url), "format": "json"]
                if let secret { item["secret"] = .string(secret) }
                return .object(item)
            }
            destinations += slack.map { ["url": .string($0), "format": "slack"] }
            if !destinations.isEmpty { body["notify"] = .array(destinations) }
            let rule = try await server.client().post("/api/v1/alerts", .object(body))
            say("created alert \(rule["name"]?.string ?? name): \(AlertsCommand.condition(rule)), every \(rule["every_seconds"]?.int ?? 60) s")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the project's alert rules with their state.")
        @OptionGroup var server: ServerOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let page = try await server.client().get("/api/v1/alerts")
            if json { return say(page.jsonString()) }
            let rules = page["data"]?.array ?? []
            if rules.isEmpty { return say("no alerts (tern alerts create NAME --metric METRIC --above N --webhook URL)") }
            table(
                ["NAME", "STATE", "CONDITION", "LAST VALUE", "SINCE", "SILENCED UNTIL"],
                rules.map { rule in
                    [
                        rule["name"]?.string ?? "", rule["enabled"]?.bool == false ? "paused" : rule["state"]?.string ?? "",
                        AlertsCommand.condition(rule), rule["last_value"]?.double.map(AlertNotification.format) ?? "-",
                        rule["state_since"]?.string ?? "-", rule["silenced_until"]?.string ?? "-",
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a rule, its history and its deliveries.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let client = try server.client()
            let rule = try await client.get(AlertsCommand.path(name))
            let id = rule["id"]?.string ?? name
            let events = try await client.get("/api/v1/alerts/\(id)/events?limit=20")["data"] ?? .array([])
            let deliveries = try await client.get("/api/v1/alerts/\(id)/deliveries?limit=20")["data"] ?? .array([])
            if json { return say(JSONValue.object(["alert": rule, "events": events, "deliveries": deliveries]).jsonString()) }
            say("\(rule["name"]?.string ?? name): \(rule["state"]?.string ?? "?") since \(rule["state_since"]?.string ?? "-")")
            say(
                "condition: \(AlertsCommand.condition(rule)); every \(rule["every_seconds"]?.int ?? 0) s; last value \(rule["last_value"]?.double.map(AlertNotification.format) ?? "-")"
            )
            say("filter: \(rule["filter"]?.jsonString() ?? "{}")")
            for destination in rule["notify"]?.array ?? [] {
                say("notify: \(destination["url"]?.string ?? "") (\(destination["format"]?.string ?? "json")\(destination["secret"] != nil ? ", signed" : ""))")
            }
            let history = (events.array ?? []).map { event in
                [
                    event["at"]?.string ?? "", event["kind"]?.string ?? "", String((event["message"]?.string ?? "").prefix(90)),
                    event["notification"]?.string ?? "",
                ]
            }
            if !history.isEmpty {
                say()
                table(["AT", "EVENT", "MESSAGE", "NOTIFICATION"], history)
            }
            let sent = (deliveries.array ?? []).map { delivery in
                [
                    delivery["created_at"]?.string ?? "", delivery["url"]?.string ?? "", delivery["status"]?.string ?? "",
                    "\(delivery["attempts"]?.int ?? 0)", delivery["response_status"]?.int.map(String.init) ?? "-", delivery["last_error"]?.string ?? "",
                ]
            }
            if !sent.isEmpty {
                say()
                table(["CREATED", "URL", "STATUS", "ATTEMPTS", "ANSWER", "LAST ERROR"], sent)
            }
        }
    }

    struct Silence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Silence a rule's notifications for a while (its history goes on).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        @Option(name: .long, help: ArgumentHelp("How long, e.g. 2h.", valueName: "duration")) var `for`: String?
        @Option(name: .long, help: ArgumentHelp("Until this time (ISO 8601).", valueName: "time")) var until: String?
        @Flag(name: .long, help: "End the silence.") var off = false

        func run() async throws {
            let value: JSONValue
            if off {
                value = .null
            } else if let until {
                value = .string(until)
            } else if let duration = `for` {
                let seconds = try AlertsCommand.seconds(duration, flag: "--for")
                value = .string(Date().addingTimeInterval(Double(seconds)).formatted(.iso8601))
            } else {
                throw TernError.invalid("--for", "give --for DURATION, --until TIME or --off")
            }
            let rule = try await server.client().patch(AlertsCommand.path(name), ["silenced_until": value])
            say(off ? "\(name) is no longer silenced" : "\(name) silenced until \(rule["silenced_until"]?.string ?? "?")")
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a test notification to each of a rule's destinations.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String

        func run() async throws {
            let client = try server.client()
            let rule = try await client.get(AlertsCommand.path(name))
            let result = try await client.post("/api/v1/alerts/\(rule["id"]?.string ?? name)/test", .object([:]))
            var failed = 0
            for delivery in result["data"]?.array ?? [] {
                let ok = delivery["status"]?.string == "delivered"
                if !ok { failed += 1 }
                let answer = delivery["response_status"]?.int.map { "answered \($0)" } ?? (delivery["last_error"]?.string ?? "no answer")
                say("\(ok ? "delivered" : "not delivered") \(delivery["url"]?.string ?? ""): \(ok ? answer : delivery["last_error"]?.string ?? answer)")
            }
            if failed > 0 { throw TernError.invalid("notify", "\(failed) destination(s) did not accept the test; it is retried like any notification") }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop evaluating a rule.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        func run() async throws {
            _ = try await server.client().patch(AlertsCommand.path(name), ["enabled": false])
            say("paused \(name)")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Evaluate a paused rule again.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        func run() async throws {
            _ = try await server.client().patch(AlertsCommand.path(name), ["enabled": true])
            say("resumed \(name)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a rule with its history and deliveries.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Its name or id.") var name: String
        func run() async throws {
            _ = try await server.client().delete(AlertsCommand.path(name))
            say("deleted \(name)")
        }
    }
}
