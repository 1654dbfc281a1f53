import Foundation
import Synchronization
import TernCore
import TernMonitor
import TernTestSupport
import Testing

/// Watchers on both stores: which traces are finished, the persisted queue (restarts, leases, retries,
/// failures with reasons), and at most one score per watcher version and trace whatever happens.
@Suite("Storage contract: watchers (0014)")
struct WatcherContractTests {
    static func watcher(_ project: String, name: String = "w", definition: WatcherDefinition, createdAt: Date) -> Watcher {
        Watcher(id: TernID.make(), projectID: project, name: name, definition: definition, createdAt: createdAt, updatedAt: createdAt)
    }

    static func trace(_ id: String, project: String, model: String? = nil, ended: Bool = true, output: String = "ok") -> TraceBatchItem {
        let start = Date()
        var observations: [Observation] = []
        if let model {
            observations.append(
                Observation(
                    id: "o-\(id)", traceID: id, projectID: project, type: .generation, name: "chat", startTime: start, endTime: start, model: model,
                    output: output))
        }
        return TraceBatchItem(
            trace: Trace(id: id, projectID: project, input: "question \(id)", output: output, startTime: start, endTime: ended ? start : nil),
            observations: observations)
    }

    /// Counts the evaluations it makes.
    final class Calls: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    static func counting(_ verdict: @escaping @Sendable (WatchedItem) throws -> WatcherVerdict) -> (WatcherRunner.Evaluate, Calls) {
        let calls = Calls()
        return (
            { _, item in
                calls.add()
                return try verdict(item)
            }, calls
        )
    }

    @Test("ended traces matching the filter are queued at once, unended ones after the idle time; each is scored once", arguments: StoreKind.available)
    func scanAndScore(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let created = Date().addingTimeInterval(-1)
            var filter = WatcherFilter()
            filter.model = "gpt-4o-mini"
            let watcher = try await test.store.watchers.create(
                Self.watcher(
                    project.id, definition: WatcherDefinition(assertions: [["type": "icontains", "value": "refund"]], filter: filter), createdAt: created))
            try await test.store.traces.insert([
                Self.trace("a", project: project.id, model: "gpt-4o-mini", output: "a refund is possible"),
                Self.trace("b", project: project.id, model: "gpt-4o-mini", output: "no"),
                Self.trace("other-model", project: project.id, model: "o3"),
                Self.trace("open", project: project.id, model: "gpt-4o-mini", ended: false),
            ])
            let (evaluate, calls) = Self.counting { item in
                WatcherVerdict(score: item.output.contains("refund") ? 1 : 0, passed: item.output.contains("refund"), reason: "checked")
            }
            let runner = WatcherRunner(store: test.store, settle: .zero, logger: .quiet, evaluate: evaluate)
            let now = Date().addingTimeInterval(1)
            #expect(try await runner.scan(now: now) == 2, "the ended traces of the model")
            #expect(try await runner.work(now: now) == 2)
            let a = try await test.store.scores.list(projectID: project.id, traceID: "a")
            #expect(a.count == 1 && a[0].source == .watcher && a[0].numericValue == 1 && a[0].name == "w" && a[0].comment == "checked")
            #expect(a[0].author == "w v1")
            #expect(try await test.store.scores.list(projectID: project.id, traceID: "b").first?.numericValue == 0)
            // Scanning and working again changes nothing: one score per trace and version.
            #expect(try await runner.scan(now: now.addingTimeInterval(1)) == 0)
            #expect(try await runner.work(now: now.addingTimeInterval(1)) == 0)
            #expect(calls.value == 2)
            // The unended trace: finished once nothing was written to it for the idle time (180 s).
            #expect(try await runner.scan(now: now.addingTimeInterval(60)) == 0)
            #expect(try await runner.scan(now: now.addingTimeInterval(200)) == 1)
            #expect(try await runner.work(now: now.addingTimeInterval(200)) == 1)
            #expect(try await test.store.scores.list(projectID: project.id, traceID: "open").count == 1)
            let stats = try #require(try await test.store.watchers.stats(projectID: project.id, now: now).first)
            #expect(stats.watcherID == watcher.id && stats.done == 3 && stats.pending == 0 && stats.failed == 0)
            #expect(try await test.store.scores.list(projectID: project.id, traceID: "other-model").isEmpty)
            // Old finished jobs are pruned; their scores stay, and nothing is queued again.
            #expect(try await test.store.watchers.pruneJobs(finishedBefore: now.addingTimeInterval(-86_400)) == 0)
            #expect(try await test.store.watchers.pruneJobs(finishedBefore: now.addingTimeInterval(86_400)) == 3)
            #expect(try await test.store.scores.list(projectID: project.id, traceID: "a").count == 1)
            #expect(try await runner.scan(now: now.addingTimeInterval(300)) == 0)
        }
    }

    @Test(
        "the queue survives a restart, a job whose worker died is taken again after its lease, and its score is still one row", arguments: StoreKind.available)
    func restartAndLease(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let created = Date().addingTimeInterval(-1)
            _ = try await test.store.watchers.create(
                Self.watcher(project.id, definition: WatcherDefinition(assertions: [["type": "contains", "value": "ok"]]), createdAt: created))
            try await test.store.traces.insert([Self.trace("t1", project: project.id), Self.trace("t2", project: project.id)])
            let now = Date().addingTimeInterval(1)
            let first = WatcherRunner(store: test.store, settle: .zero, logger: .quiet) { _, _ in WatcherVerdict(score: 1, passed: true) }
            #expect(try await first.scan(now: now) == 2)
            // A worker takes both jobs and dies before finishing them.
            let taken = try await test.store.watchers.claim(limit: 10, now: now, leaseUntil: now.addingTimeInterval(300))
            #expect(taken.count == 2)
            // A new process: nothing is due while the lease runs; after it, the jobs are taken again.
            let (evaluate, calls) = Self.counting { _ in WatcherVerdict(score: 1, passed: true) }
            let second = WatcherRunner(store: test.store, settle: .zero, logger: .quiet, evaluate: evaluate)
            #expect(try await second.work(now: now.addingTimeInterval(10)) == 0)
            #expect(try await second.work(now: now.addingTimeInterval(301)) == 2)
            #expect(calls.value == 2)
            // The dead worker comes back and completes its stale claim: refused, and still one score.
            let stale = try #require(taken.first)
            let score = Score(
                id: "wsc_" + stale.id.dropFirst(3), projectID: project.id, traceID: stale.traceID, name: "w", dataType: .numeric, numericValue: 0,
                source: .watcher, createdAt: now)
            #expect(try await test.store.watchers.complete(stale, score: score, cost: nil, judgeTraceID: nil, at: now) == false)
            let scores = try await test.store.scores.list(projectID: project.id, traceID: stale.traceID)
            #expect(scores.count == 1 && scores[0].numericValue == 1)
            let jobs = try await test.store.watchers.jobs(projectID: project.id, watcherID: stale.watcherID, status: .done, limit: 10)
            #expect(jobs.count == 2 && jobs.allSatisfy { $0.attempts == 2 })
        }
    }

    @Test(
        "a failing evaluation is retried with backoff and ends failed with its reason; a cost cap postpones to the next UTC day", arguments: StoreKind.available
    )
    func retriesAndCap(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let created = Date().addingTimeInterval(-1)
            let watcher = try await test.store.watchers.create(
                Self.watcher(project.id, definition: WatcherDefinition(assertions: [["type": "llm-rubric", "value": "polite"]]), createdAt: created))
            try await test.store.traces.insert([Self.trace("t", project: project.id)])
            let runner = WatcherRunner(store: test.store, maxAttempts: 3, settle: .zero, logger: .quiet) { _, _ in
                throw WatcherEvaluationError("judge timed out after 30 s", cost: 0.001)
            }
            var now = Date().addingTimeInterval(1)
            try await runner.scan(now: now)
            #expect(try await runner.work(now: now) == 1)
            var job = try #require(try await test.store.watchers.jobs(projectID: project.id, watcherID: watcher.id, status: nil, limit: 1).first)
            #expect(job.status == .pending && job.attempts == 1)
            #expect(job.lastError?.contains("judge timed out after 30 s (attempt 1 of 3; next in 10 s)") == true, "\(job.lastError ?? "")")
            #expect(try await runner.work(now: now.addingTimeInterval(5)) == 0, "not before its backoff")
            now = now.addingTimeInterval(11)
            #expect(try await runner.work(now: now) == 1)
            now = now.addingTimeInterval(21)
            #expect(try await runner.work(now: now) == 1)
            job = try #require(try await test.store.watchers.jobs(projectID: project.id, watcherID: watcher.id, status: nil, limit: 1).first)
            #expect(job.status == .failed && job.attempts == 3 && job.lastError?.contains("(after 3 attempts)") == true)
            #expect(abs((job.cost ?? 0) - 0.003) < 1e-12, "what the failed attempts spent is kept")
            #expect(try await test.store.scores.list(projectID: project.id, traceID: "t").isEmpty)

            // A cap already spent: the next job waits for the next UTC day, with the reason, its attempt not counted.
            var capped = watcher
            capped.definition.dailyCostCap = 0.002
            capped.version += 1
            _ = try await test.store.watchers.update(capped)
            try await test.store.traces.insert([Self.trace("t2", project: project.id)])
            let later = now.addingTimeInterval(1)
            #expect(
                try await test.store.watchers.enqueue([
                    WatcherJob(
                        id: WatcherRunner.jobID(watcherID: watcher.id, version: 2, traceID: "t2", observationID: ""), projectID: project.id,
                        watcherID: watcher.id, watcherVersion: 2, traceID: "t2", notBefore: later, createdAt: later)
                ]) == 1)
            #expect(try await runner.work(now: later) == 1)
            let waiting = try #require(
                try await test.store.watchers.jobs(projectID: project.id, watcherID: watcher.id, status: .pending, limit: 5).first)
            #expect(waiting.attempts == 0 && waiting.lastError?.contains("daily cost cap") == true)
            #expect(waiting.notBefore == Calendar.utc.date(byAdding: .day, value: 1, to: Calendar.utc.startOfDay(for: later)))
        }
    }

    @Test("traces written in one batch share a time: a scan paged below the batch size still queues every one", arguments: StoreKind.available)
    func pagesWithinOneWriteTime(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            _ = try await test.store.watchers.create(
                Self.watcher(
                    project.id, definition: WatcherDefinition(assertions: [["type": "contains", "value": "ok"]]), createdAt: Date().addingTimeInterval(-1)))
            try await test.store.traces.insert((0..<250).map { Self.trace("t\($0)", project: project.id) })
            let runner = WatcherRunner(store: test.store, settle: .zero, logger: .quiet) { _, _ in WatcherVerdict(score: 1, passed: true) }
            #expect(try await runner.scan(now: Date().addingTimeInterval(1), batch: 100) == 250)
        }
    }

    @Test("a sampling rate keeps about that share of traces, the same ones on every replica")
    func sampling() {
        let definition = WatcherDefinition(assertions: [], samplingRate: 0.25)
        let kept = (0..<4000).filter { definition.samples(traceID: "trace-\($0)") }.count
        #expect((800...1200).contains(kept), "\(kept)")
        #expect((0..<100).allSatisfy { definition.samples(traceID: "t\($0)") == definition.samples(traceID: "t\($0)") })
        #expect(WatcherDefinition(assertions: []).samples(traceID: "anything"))
    }

    @Test(
        "a backfill walks past traces of its range in pages, queues the sampled ones once, skips what the version scored and reports progress",
        arguments: StoreKind.available)
    func backfill(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let day = Date().addingTimeInterval(-86_400)
            // 30 past traces a minute apart, 5 of another model, and one after the range.
            var items = (0..<30).map { i -> TraceBatchItem in
                var item = Self.trace("old\(i)", project: project.id, model: "m", output: i % 2 == 0 ? "refund" : "no")
                item.trace.startTime = day.addingTimeInterval(Double(i) * 60)
                return item
            }
            items += (0..<5).map { i in
                var item = Self.trace("other\(i)", project: project.id, model: "x")
                item.trace.startTime = day.addingTimeInterval(Double(i) * 60)
                return item
            }
            var late = Self.trace("late", project: project.id, model: "m")
            late.trace.startTime = day.addingTimeInterval(7_200)
            items.append(late)
            try await test.store.traces.insert(items)
            var filter = WatcherFilter()
            filter.model = "m"
            // Created after the traces were written: live scans leave them alone.
            let watcher = try await test.store.watchers.create(
                Self.watcher(
                    project.id, definition: WatcherDefinition(assertions: [["type": "contains", "value": "refund"]], filter: filter),
                    createdAt: Date().addingTimeInterval(1)))
            let runner = WatcherRunner(store: test.store, settle: .zero, logger: .quiet) { _, item in
                WatcherVerdict(score: item.output.contains("refund") ? 1 : 0, passed: item.output.contains("refund"))
            }
            #expect(try await runner.scan(now: Date().addingTimeInterval(2)) == 0)
            let backfill = WatcherBackfill(
                id: TernID.make(), projectID: project.id, watcherID: watcher.id, watcherVersion: 1, from: day, to: day.addingTimeInterval(3_600),
                createdAt: Date())
            try await test.store.watchers.createBackfill(backfill)
            // Pages of 7, 14 traces a call: three calls walk the 30 matching traces.
            #expect(try await runner.advanceBackfills(batch: 7, budget: 14) == 14)
            var state = try #require(try await test.store.watchers.backfills(projectID: project.id, watcherID: watcher.id).first)
            #expect(state.status == .running && state.scanned == 14 && state.queued == 14 && state.jobs.pending == 14)
            #expect(state.scannedShare > 0.2 && state.scannedShare < 0.3, "\(state.scannedShare)")
            #expect(try await runner.advanceBackfills(batch: 7, budget: 14) == 14)
            #expect(try await runner.advanceBackfills(batch: 7, budget: 14) == 2)
            state = try #require(try await test.store.watchers.backfills(projectID: project.id, watcherID: watcher.id).first)
            #expect(state.status == .done && state.scanned == 30 && state.queued == 30 && state.finishedAt != nil)
            #expect(try await runner.advanceBackfills() == 0, "nothing left to walk")
            while try await runner.work() > 0 {}
            state = try #require(try await test.store.watchers.backfills(projectID: project.id, watcherID: watcher.id).first)
            #expect(state.jobs.done == 30 && state.jobs.pending == 0 && state.progress == 1)
            #expect(try await test.store.scores.list(projectID: project.id, traceID: "old0").first?.numericValue == 1)
            #expect(try await test.store.scores.list(projectID: project.id, traceID: "late").isEmpty, "outside the range")
            #expect(try await test.store.scores.list(projectID: project.id, traceID: "other0").isEmpty, "another model")
            // A second backfill of the same version finds everything scored.
            let again = WatcherBackfill(
                id: TernID.make(), projectID: project.id, watcherID: watcher.id, watcherVersion: 1, from: day, to: day.addingTimeInterval(86_000),
                createdAt: Date().addingTimeInterval(1))
            try await test.store.watchers.createBackfill(again)
            #expect(try await runner.advanceBackfills() == 1, "only the late trace is new")
            // A new version cancels a running backfill, with the reason.
            var changed = watcher
            changed.version = 2
            _ = try await test.store.watchers.update(changed)
            let stale = WatcherBackfill(
                id: TernID.make(), projectID: project.id, watcherID: watcher.id, watcherVersion: 1, from: day, to: Date(),
                createdAt: Date().addingTimeInterval(2))
            try await test.store.watchers.createBackfill(stale)
            #expect(try await runner.advanceBackfills() == 0)
            let list = try await test.store.watchers.backfills(projectID: project.id, watcherID: watcher.id)
            #expect(list.map(\.id) == [stale.id, again.id, backfill.id], "newest first")
            #expect(list[0].status == .cancelled && list[0].note?.contains("version 2") == true)
        }
    }

    @Test("a backfill feeds the queue in slices: it waits while its watcher has a full queue", arguments: StoreKind.available)
    func backfillQueueDepth(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let start = Date().addingTimeInterval(-3_600)
            try await test.store.traces.insert(
                (0..<(WatcherRunner.backfillQueueDepth + 500)).map { i in
                    var item = Self.trace("t\(i)", project: project.id)
                    item.trace.startTime = start.addingTimeInterval(Double(i) / 100)
                    return item
                })
            let watcher = try await test.store.watchers.create(
                Self.watcher(
                    project.id, definition: WatcherDefinition(assertions: [["type": "contains", "value": "ok"]]), createdAt: Date().addingTimeInterval(1)))
            try await test.store.watchers.createBackfill(
                WatcherBackfill(id: TernID.make(), projectID: project.id, watcherID: watcher.id, watcherVersion: 1, from: start, to: Date(), createdAt: Date()))
            // A small claim: hundreds of reads at once can starve the shared dispatch threads of a busy test process.
            let runner = WatcherRunner(store: test.store, concurrency: 40, settle: .zero, logger: .quiet) { _, _ in WatcherVerdict(score: 1, passed: true) }
            #expect(try await runner.advanceBackfills(batch: 1000, budget: 100_000) == WatcherRunner.backfillQueueDepth)
            #expect(try await runner.advanceBackfills(batch: 1000, budget: 100_000) == 0, "the queue is full")
            #expect(try await runner.work() == 40)
            #expect(try await runner.advanceBackfills(batch: 1000, budget: 100_000) == 500, "below the depth again: one more page (the last 500)")
        }
    }
}
