import ArgumentParser
import Foundation
import TernCore
import TernServer
import TernGateway
import TernProviders

/// `tern-bench write`: the storage half of the ingest benchmark, in process. CONCURRENCY tasks call
/// `store.traces.insert` for DURATION seconds with batches shaped like bench/ingest's requests (TRACES
/// trace events and SPANS observation events per trace, every id a fresh random UUID), so the write
/// path can be measured without HTTP and JSON. Prints observations per second and the process's CPU.
struct WriteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Time trace inserts shaped like ingest requests (no HTTP).")

    @OptionGroup var storage: StoreOptions

    @Option(name: .long, help: "Seconds of load after the warm-up.") var duration = 10.0
    @Option(name: .long, help: "Seconds of warm-up.") var warmup = 2.0
    @Option(name: .long, help: "Concurrent writers.") var concurrency = 4
    @Option(name: .long, help: "Traces per batch.") var traces = 100
    @Option(name: .long, help: "Observations per trace.") var spans = 5

    func run() async throws { try await execute() }

    func execute() async throws {
        let duration = duration, warmup = warmup, concurrency = max(1, concurrency), traces = traces, spans = spans
        let describe = storage.describe
        try await storage.withStore { store, project in
            say(
                "write: \(concurrency) writers, \(traces) traces x \(spans) observations per batch, \(fixed(warmup, 0))+\(fixed(duration, 0)) s into \(describe)"
            )
            let start = now()
            let measureFrom = start + warmup, stopAt = measureFrom + duration
            let cpu0 = processCPUSeconds()
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        var counted = 0
                        while true {
                            let at = now()
                            if at >= stopAt { return counted }
                            try await store.traces.insert(Self.batch(projectID: project.id, traces: traces, spans: spans))
                            if at >= measureFrom && now() <= stopAt { counted += traces * spans }
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            let cpu = processCPUSeconds() - cpu0
            let wall = now() - start
            say(
                "  \(formatCount(Int(Double(counts) / duration))) observations/s over \(fixed(duration, 0)) s; process CPU \(fixed(cpu, 1)) s in \(fixed(wall, 1)) s"
            )
        }
    }

    /// Like one bench/ingest request after parsing: a trace event per trace, then an observation event
    /// per span that names its trace (the trace row merges from both).
    static func batch(projectID: String, traces: Int, spans: Int) -> [TraceBatchItem] {
        var items: [TraceBatchItem] = []
        let base = Date()
        for t in 0..<traces {
            let traceID = UUID().uuidString.lowercased()
            let start = base.addingTimeInterval(Double(t) * 0.01)
            items.append(
                TraceBatchItem(
                    trace: Trace(
                        id: traceID, projectID: projectID, name: "chat-turn", userID: "user-\(t % 500)", sessionID: "sess-\(Int.random(in: 0..<2000))",
                        tags: ["web", "bench"], metadata: .object(["task": .string("chat"), "language": .string("en"), "domain": .string("support")]),
                        release: "2026.11.3", environment: "production", input: "How do I reset my password on the mobile app?",
                        output: "Open Settings, then Security.", startTime: start), observations: []))
            let rootID = UUID().uuidString.lowercased()
            for s in 0..<spans {
                let oStart = start.addingTimeInterval(0.001 + Double(s) * 0.4)
                let observation: Observation
                if s == 0 {
                    observation = Observation(
                        id: rootID, traceID: traceID, projectID: projectID, type: .span, name: "handle-request",
                        startTime: oStart, endTime: start.addingTimeInterval(0.4 * Double(spans) + 0.1))
                } else {
                    let usage = TokenUsage(inputTokens: 420, outputTokens: 96)
                    observation = Observation(
                        id: UUID().uuidString.lowercased(), traceID: traceID, projectID: projectID, parentID: rootID, type: .generation,
                        name: "llm-call", startTime: oStart, endTime: oStart.addingTimeInterval(0.35), model: "gpt-4o-mini", provider: "openai",
                        modelParameters: .object(["temperature": .number(0.2)]),
                        input: "[{\"role\":\"user\",\"content\":\"How do I reset my password on the mobile app?\"}]",
                        output: "Open Settings, then Security, then Reset password.", usage: usage,
                        cost: PriceTable.shared.price(for: "gpt-4o-mini")?.cost(usage),
                        metadata: .object(["step": .number(Double(s))]))
                }
                items.append(
                    TraceBatchItem(
                        trace: Trace(id: traceID, projectID: projectID, startTime: oStart, endTime: observation.endTime),
                        observations: [observation]))
            }
        }
        return items
    }
}

/// User plus system CPU seconds of this process.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}
