import ArgumentParser
import Foundation
import TernCore
import TernServer
import TernMonitor
import TernLanguage

/// `tern-bench seed`: N realistic traces straight into a store through `store.traces.insert`, then the
/// background duties a server would run on them (language detection, rollups), each timed.
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Insert realistic traces (deterministic for a seed and an end time), then build the rollups.")

    @OptionGroup var storage: StoreOptions

    @Option(name: .long, help: "How many traces.") var traces = 1_000_000
    @Option(name: .long, help: "Spread over the last DAYS days before --end.") var days = 30
    @Option(name: .long, help: "Seed of the random draws.") var seed: UInt64 = 4
    @Option(name: .long, help: ArgumentHelp("End of the range: ISO 8601 time, or 'now' (rounded down to the minute).", valueName: "time"))
    var end = "now"
    @Option(name: .customLong("batch-size"), help: "Traces per insert call.") var batchSize = 1_000
    @Option(name: .long, help: "Distinct users (Zipf-distributed).") var users = 5_000
    @Flag(name: .customLong("skip-rollups"), help: "Leave language detection and rollups to the server.") var skipRollups = false
    @Option(name: .long, help: ArgumentHelp("Write the figures as JSON here.", valueName: "file")) var json: String?

    func run() async throws { try await execute() }

    func execute() async throws {
        let endMicros: Int64
        if end == "now" {
            endMicros = Timestamp.micros(Date()) / 60_000_000 * 60_000_000
        } else if let date = try? Date(end, strategy: .iso8601) {
            endMicros = Timestamp.micros(date)
        } else {
            throw ValidationError("--end: expected an ISO 8601 time or 'now', got \(end)")
        }
        let traces = traces, days = days, seed = seed, batchSize = max(1, batchSize), users = users, skipRollups = skipRollups
        let describe = storage.describe
        let json = json
        try await storage.withStore { store, project in
            let existing = try await store.traces.count(projectID: project.id)
            say(
                "seed: \(formatCount(traces)) traces over \(days) days ending \(Timestamp.date(endMicros).formatted(.iso8601)), seed \(seed), into \(describe) (project \(project.slug), \(formatCount(existing)) traces before)"
            )
            let generator = TraceGenerator(seed: seed, projectID: project.id, users: users)
            var t0 = now()
            let slots = generator.slots(count: traces, end: endMicros, days: days)
            say("  time slots drawn in \(fixed(now() - t0, 1)) s")

            // Generation of the next batch overlaps the insert of this one.
            @Sendable func batch(_ from: Int) -> ([TraceBatchItem], [Score], Int) {
                var items: [TraceBatchItem] = []
                var scores: [Score] = []
                var observations = 0
                items.reserveCapacity(batchSize)
                for index in from..<min(from + batchSize, slots.count) {
                    let (item, itemScores) = generator.make(index: index, slot: slots[index])
                    items.append(item)
                    scores += itemScores
                    observations += item.observations.count
                }
                return (items, scores, observations)
            }
            var observationTotal = 0
            var scoreTotal = 0
            var insertSeconds = 0.0
            var reported = now()
            t0 = now()
            var pending = Task { batch(0) }
            var from = 0
            while from < slots.count {
                let (items, scores, observations) = await pending.value
                let next = from + batchSize
                if next < slots.count { pending = Task { batch(next) } }
                let started = now()
                try await store.traces.insert(items)
                try await store.scores.insert(scores)
                insertSeconds += now() - started
                observationTotal += observations
                scoreTotal += scores.count
                from = next
                if now() - reported >= 10 {
                    reported = now()
                    let done = min(from, slots.count)
                    say("  \(formatCount(done)) traces, \(fixed(Double(done) / (now() - t0), 0)) traces/s")
                }
            }
            let wall = now() - t0
            say(
                "inserted \(formatCount(traces)) traces, \(formatCount(observationTotal)) observations, \(formatCount(scoreTotal)) scores "
                    + "in \(fixed(wall, 1)) s: \(fixed(Double(traces) / wall, 0)) traces/s, \(fixed(Double(observationTotal) / wall, 0)) observations/s "
                    + "(insert calls alone \(fixed(insertSeconds, 1)) s)")
            let figures: [String: JSONValue] = [
                "traces": .number(Double(traces)), "observations": .number(Double(observationTotal)), "scores": .number(Double(scoreTotal)),
                "days": .number(Double(days)), "seed": .number(Double(seed)), "end": .string(Timestamp.date(endMicros).formatted(.iso8601)),
                "insert_seconds": .number(wall), "traces_per_second": .number(Double(traces) / wall),
                "observations_per_second": .number(Double(observationTotal) / wall),
            ]
            if let json { try Data(JSONValue.object(figures).jsonString().utf8).write(to: URL(fileURLWithPath: json)) }
        }
        guard !skipRollups else { return }
        try await storage.withStore { store, _ in
            var figures: [String: JSONValue] = [:]
            if let json, let data = try? Data(contentsOf: URL(fileURLWithPath: json)), let object = try? JSONValue.parse(data).object {
                figures = object
            }
            do {
                // What the server's monitoring job does in the background, run to the end here.
                var t0 = now()
                var detected = 0
                while true {
                    let count = try await MetricsEngine.detectLanguages(store.metrics, limit: 1_000) {
                        LanguageDetector.shared.segment(TraceText.forLanguage($0))
                    }
                    detected += count
                    if count == 0 { break }
                }
                let detectSeconds = now() - t0
                say("language detection: \(formatCount(detected)) traces in \(fixed(detectSeconds, 1)) s")
                t0 = now()
                var hours = 0
                while true {
                    let count = try await MetricsEngine.refresh(store.metrics, limit: 500)
                    hours += count
                    if count == 0 { break }
                }
                let rollupSeconds = now() - t0
                say("rollup build: \(formatCount(hours)) dirty hours in \(fixed(rollupSeconds, 1)) s")
                figures["language_detected"] = .number(Double(detected))
                figures["language_seconds"] = .number(detectSeconds)
                figures["rollup_hours"] = .number(Double(hours))
                figures["rollup_seconds"] = .number(rollupSeconds)
                // The planner statistics the server refreshes at start and hourly.
                t0 = now()
                try await store.metrics.refreshPlannerStatistics()
                figures["statistics_seconds"] = .number(now() - t0)
                say("planner statistics (the server's own refresh): \(fixed(now() - t0, 1)) s")
            }
            if let json {
                try Data(JSONValue.object(figures).jsonString().utf8).write(to: URL(fileURLWithPath: json))
            }
        }
    }
}
