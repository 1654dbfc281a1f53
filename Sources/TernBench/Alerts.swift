import ArgumentParser
import Foundation
import Logging
import TernCore
import TernMonitor

/// `tern-bench alerts`: one evaluation cycle of many alert rules over a seeded store (issue 18: 100 rules at
/// 1M traces under 1 s on SQLite). Rules of every trace metric, over 1-hour and 24-hour windows, with and
/// without filters; every rule is due each cycle. Prints each cycle's time and the median.
struct AlertsBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "Time evaluation cycles of alert rules over a seeded store (tern-bench seed first).")

    @OptionGroup var storage: StoreOptions
    @Option(name: .long, help: "Rules to evaluate each cycle.") var rules = 100
    @Option(name: .long, help: "Cycles to time.") var cycles = 5

    func run() async throws { try await execute() }

    func execute() async throws {
        let count = rules, cycles = cycles
        let describe = storage.describe
        try await storage.withStore { store, project in
            for rule in try await store.alerts.list(projectID: project.id) { try await store.alerts.delete(projectID: project.id, id: rule.id) }
            let metrics: [AlertMetric] = [.errorRate, .latencyP95, .cost, .traces, .latencyP50]
            let models = ["gpt-4o-mini", "gpt-4.1-mini", "claude-3-5-haiku", "gpt-4o", "o3"]
            let languages = ["en", "de", "fr", "es", "ja"]
            let created = Date()
            for index in 0..<count {
                var filter = WatcherFilter()
                switch index % 4 {
                case 1: filter.model = models[index % models.count]
                case 2: filter.language = languages[index % languages.count]
                case 3: filter.tags = ["beta"]
                default: break
                }
                let definition = AlertDefinition(
                    metric: metrics[index % metrics.count], threshold: 1e12, windowSeconds: index % 5 == 0 ? 86_400 : 3_600, filter: filter,
                    everySeconds: 10)
                _ = try await store.alerts.create(
                    AlertRule(id: TernID.make(), projectID: project.id, name: "bench-\(index)", definition: definition, createdAt: created, updatedAt: created))
            }
            let runner = AlertRunner(store: store, logger: Logger(label: "bench")) { _, _, _ in WebhookOutcome(status: 200) }
            say(
                "alerts: \(count) rules (error rate, p50/p95 latency, cost, traffic; 1 h and 24 h windows; a fifth each by model, language, tag) on \(describe)"
            )
            var times: [Double] = []
            for cycle in 0..<cycles {
                let start = now()
                _ = try await runner.evaluate(now: Date().addingTimeInterval(Double(cycle + 1) * 20))
                times.append(now() - start)
                say("  cycle \(cycle + 1): \(fixed(times.last! * 1000, 0)) ms")
            }
            let sorted = times.sorted()
            say("  median \(fixed(sorted[sorted.count / 2] * 1000, 0)) ms per cycle of \(count) rules (target: under 1,000 ms)")
            for rule in try await store.alerts.list(projectID: project.id) { try await store.alerts.delete(projectID: project.id, id: rule.id) }
        }
    }
}
