import ArgumentParser
import Foundation
import TernCore
import TernServer
import TernMonitor

/// `tern-bench dashboard`: times, in process, the queries the dashboard and the trace list make.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Time the dashboard's metrics queries and the trace list pages (median and p95 over --runs, after a warm-up).")

    @OptionGroup var storage: StoreOptions

    @Option(name: .long, help: "Timed runs per query (after one warm-up).") var runs = 30
    @Option(name: .long, help: "Model of the filtered queries.") var model = "gpt-4o"
    @Option(name: .long, help: "Language of the filtered trace list.") var language = "de"
    @Option(name: .long, help: ArgumentHelp("Write the figures as JSON here.", valueName: "file")) var json: String?
    @Option(name: .long, help: "Give up on a query after this many seconds (it is then reported as timed out).") var timeout = 60.0
    @Option(name: .long, help: "Only the queries whose name contains this text (for profiling).") var only: String?
    @Option(name: .long, help: "Fewer runs for a slow query: at most this many seconds of runs per query.") var budget = 120.0

    struct Case: Sendable {
        var name: String
        /// metrics, metrics-scan or list.
        var kind: String
        var run: @Sendable () async throws -> String
    }

    func run() async throws { try await execute() }

    func execute() async throws {
        let runs = max(1, runs), model = model, language = language, json = json, timeout = timeout, budget = budget, only = only
        let describe = storage.describe
        try await storage.withStore { store, project in
            let total = try await store.traces.count(projectID: project.id)
            guard let newest = try await store.traces.list(projectID: project.id, query: TraceQuery(limit: 1)).traces.first else {
                throw ValidationError("no traces in project \(project.slug): run tern-bench seed first")
            }
            // The dashboard's "now": the hour after the newest trace, so reruns on the same data ask the same.
            let end = Timestamp.date(MetricsBucket.hour.next(after: MetricsBucket.hour.start(of: Timestamp.micros(newest.trace.startTime))))
            let from30 = end.addingTimeInterval(-30 * 86_400)
            let from24 = end.addingTimeInterval(-86_400)
            say(
                "dashboard: \(describe), project \(project.slug), \(formatCount(total)) traces; range \(from30.formatted(.iso8601)) .. \(end.formatted(.iso8601)); \(runs) runs after a warm-up"
            )

            func metrics(
                _ from: Date, _ bucket: MetricsBucket, _ group: MetricsDimension?, filter: TraceFilter = TraceFilter()
            ) -> @Sendable () async throws -> String {
                var query = MetricsQuery(filter: filter, bucket: bucket, groupBy: group)
                query.filter.from = from
                query.filter.to = end
                let fixed = query
                return {
                    let result = try await MetricsEngine.run(fixed, projectID: project.id, repository: store.metrics)
                    return "\(result.source): \(result.groups.count) groups, \(result.series.count) points, \(formatCount(result.totals.traces)) traces"
                }
            }
            func list(_ query: TraceQuery) -> @Sendable () async throws -> String {
                return {
                    let page = try await store.traces.list(projectID: project.id, query: query)
                    return "\(page.traces.count) rows, next \(page.nextCursor == nil ? "none" : "cursor")"
                }
            }
            // The cursor of page 5, found by paging (not timed).
            var cursor: String?
            for _ in 0..<4 {
                cursor = try await store.traces.list(projectID: project.id, query: TraceQuery(limit: 50, cursor: cursor)).nextCursor
            }
            let allCases: [Case] = [
                Case(name: "30d totals + series (day)", kind: "metrics", run: metrics(from30, .day, nil)),
                Case(name: "30d by model (day)", kind: "metrics", run: metrics(from30, .day, .model)),
                Case(name: "30d by task (day)", kind: "metrics", run: metrics(from30, .day, .task)),
                Case(name: "30d by language (day)", kind: "metrics", run: metrics(from30, .day, .language)),
                Case(name: "30d by domain (day)", kind: "metrics", run: metrics(from30, .day, .domain)),
                Case(name: "30d by prompt (day)", kind: "metrics", run: metrics(from30, .day, .prompt)),
                Case(name: "30d by user (day)", kind: "metrics", run: metrics(from30, .day, .user)),
                Case(name: "30d by tag (day)", kind: "metrics", run: metrics(from30, .day, .tag)),
                Case(name: "24h totals + series (hour)", kind: "metrics", run: metrics(from24, .hour, nil)),
                Case(name: "list: first page", kind: "list", run: list(TraceQuery(limit: 50))),
                Case(name: "list: sort=cost", kind: "list", run: list(TraceQuery(sort: .cost, limit: 50))),
                Case(name: "list: sort=latency", kind: "list", run: list(TraceQuery(sort: .latency, limit: 50))),
                Case(name: "list: q=refund", kind: "list", run: list(TraceQuery(filter: TraceFilter(text: "refund"), limit: 50))),
                Case(name: "list: page 5 (cursor)", kind: "list", run: list(TraceQuery(limit: 50, cursor: cursor))),
                // Filters on the model read the observations of each trace: last, as they may run long.
                Case(
                    name: "list: model=\(model) language=\(language)", kind: "list",
                    run: list(TraceQuery(filter: TraceFilter(model: model, language: language), limit: 50))),
                Case(name: "30d model=\(model) (day, scan)", kind: "metrics-scan", run: metrics(from30, .day, nil, filter: TraceFilter(model: model))),
            ]
            let selected = only.map { text in allCases.filter { $0.name.contains(text) } } ?? allCases
            var results: [JSONValue] = []
            let nameWidth = selected.map(\.name.count).max() ?? 20
            say("\("query".padding(toLength: nameWidth, withPad: " ", startingAt: 0))   median ms    p95 ms    max ms   result")
            var timedOut = false
            for item in selected {
                let note = timedOut ? " (a timed-out query was still running)" : ""
                guard let (answer, first) = await race(item.run, timeout: timeout) else {  // warm-up
                    timedOut = true
                    say("\(item.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0))  timed out after \(fixed(timeout, 0)) s (warm-up)\(note)")
                    results.append(
                        .object([
                            "name": .string(item.name), "kind": .string(item.kind), "timed_out": .bool(true), "timeout_s": .number(timeout),
                            "note": .string(note),
                        ]))
                    continue
                }
                let count = first > 0 ? min(runs, max(3, Int(budget * 1000 / first))) : runs
                var times: [Double] = []
                var failed = false
                for _ in 0..<count {
                    guard let (_, ms) = await race(item.run, timeout: timeout) else {
                        failed = true
                        timedOut = true
                        break
                    }
                    times.append(ms)
                }
                let sorted = times.sorted()
                let median = percentile(sorted, 0.5)
                let p95 = percentile(sorted, 0.95)
                let runNote = (count < runs ? " [\(count) runs]" : "") + (failed ? " [a run timed out]" : "") + note
                say(
                    "\(item.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0))  \(pad(fixed(median, 1), 10))  \(pad(fixed(p95, 1), 8))  \(pad(fixed(sorted.last ?? 0, 1), 8))   \(answer)\(runNote)"
                )
                results.append(
                    .object([
                        "name": .string(item.name), "kind": .string(item.kind), "median_ms": .number(median), "p95_ms": .number(p95),
                        "min_ms": .number(sorted.first ?? 0), "max_ms": .number(sorted.last ?? 0), "runs": .number(Double(times.count)),
                        "result": .string(answer), "timed_out": .bool(failed), "note": .string(note),
                    ]))
            }
            if let json {
                let document = JSONValue.object([
                    "store": .string(describe), "traces": .number(Double(total)), "runs": .number(Double(runs)),
                    "from": .string(from30.formatted(.iso8601)), "to": .string(end.formatted(.iso8601)), "cases": .array(results),
                ])
                try Data(document.jsonString().utf8).write(to: URL(fileURLWithPath: json))
            }
            // A timed-out query still holds a connection and a thread: leave without waiting for it.
            if timedOut { Foundation.exit(0) }
        }
    }
}

/// Nearest-rank percentile of sorted values.
func percentile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = max(1, Int((q * Double(sorted.count)).rounded(.up)))
    return sorted[min(sorted.count, rank) - 1]
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

/// Runs `body` and answers its result and wall time in ms, or nil when it has not finished after
/// `timeout` seconds (the body keeps running: a SQLite statement cannot be cancelled from here).
func race(_ body: @escaping @Sendable () async throws -> String, timeout: Double) async -> (String, Double)? {
    final class Once: @unchecked Sendable {
        let lock = NSLock()
        var done = false
        func claim() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            if done { return false }
            done = true
            return true
        }
    }
    let once = Once()
    return await withCheckedContinuation { (continuation: CheckedContinuation<(String, Double)?, Never>) in
        Task {
            let started = now()
            let answer: String
            do { answer = try await body() } catch { answer = "error: \(error)" }
            let ms = (now() - started) * 1000
            if once.claim() { continuation.resume(returning: (answer, ms)) }
        }
        Task {
            try? await Task.sleep(for: .seconds(timeout))
            if once.claim() { continuation.resume(returning: nil) }
        }
    }
}
