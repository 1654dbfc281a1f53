import ArgumentParser
import Foundation
import Logging
import TernCore
import TernMonitor
import TernServer

/// `tern-bench watch`: how many finished traces a deterministic watcher scores per second (issue 18: at
/// least 5,000 on the 2-core machine), scan and queue included, on the store the options name.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Time a deterministic watcher scoring stored traces (scan, queue, evaluation, scores).")

    @OptionGroup var storage: StoreOptions
    @Option(name: .long, help: "Traces to score.") var traces = 20_000
    @Option(name: .long, help: "Jobs claimed and evaluated at once (the runner's concurrency).") var batch = 200

    func run() async throws { try await execute() }

    func execute() async throws {
        let count = traces, batch = batch
        let describe = storage.describe
        try await storage.withStore { store, project in
            let created = Date().addingTimeInterval(-1)
            let start = Date()
            var items: [TraceBatchItem] = []
            for index in 0..<count {
                let at = start.addingTimeInterval(Double(index) / 1000)
                items.append(
                    TraceBatchItem(
                        trace: Trace(
                            id: "w-\(index)", projectID: project.id, input: "Where is my order \(index)?",
                            output: index % 3 == 0 ? "Your refund is on its way." : "It ships tomorrow.", startTime: at, endTime: at),
                        observations: []))
                if items.count == 1000 {
                    try await store.traces.insert(items)
                    items = []
                }
            }
            if !items.isEmpty { try await store.traces.insert(items) }
            let definition = WatcherDefinition(
                assertions: [["type": "icontains", "value": "refund"], ["type": "regex", "value": "^[A-Z]"], ["type": "not-contains", "value": "error"]])
            _ = try await store.watchers.create(
                Watcher(id: TernID.make(), projectID: project.id, name: "bench", definition: definition, createdAt: created, updatedAt: created))
            let runner = WatcherRunner(
                store: store, concurrency: batch, settle: .zero, logger: Logger(label: "bench"), evaluate: WatcherEvaluation.deterministic())
            say("watch: \(count) traces, 3 deterministic assertions, \(batch) jobs per claim, into \(describe)")
            let scanStart = now()
            let queued = try await runner.scan(now: Date().addingTimeInterval(5), batch: 5000)
            let scanSeconds = now() - scanStart
            let workStart = now()
            var done = 0
            while true {
                let took = try await runner.work(now: Date().addingTimeInterval(5))
                if took == 0 { break }
                done += took
            }
            let workSeconds = now() - workStart
            let scores = try await store.scores.count(projectID: project.id)
            say("  scan: \(queued) jobs queued in \(fixed(scanSeconds, 2)) s (\(formatCount(Int(Double(queued) / scanSeconds))) traces/s)")
            say(
                "  work: \(done) jobs in \(fixed(workSeconds, 2)) s: \(formatCount(Int(Double(done) / workSeconds))) traces/s; "
                    + "with the scan \(formatCount(Int(Double(done) / (workSeconds + scanSeconds)))) traces/s; \(scores) scores")
        }
    }
}
