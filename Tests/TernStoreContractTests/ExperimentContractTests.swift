import Foundation
import TernCore
import TernTestSupport
import Testing

@Suite("Storage contract: experiments")
struct ExperimentContractTests {
    static func run(_ id: String, projectID: String, createdAt: Date, name: String = "baseline") -> ExperimentRun {
        ExperimentRun(
            id: id, projectID: projectID, name: name, datasetID: "d1", datasetName: "faq", datasetVersion: 2, prompts: ["qa@1", "qa@2"],
            models: ["small", "large"], repeats: 1, assertions: [["type": "contains", "value": "order"]], options: ["max_concurrency": 4],
            plannedCells: 8, createdAt: createdAt, createdBy: "user:ada")
    }

    static func cell(
        _ item: String, _ prompt: Int, _ model: String, passed: Bool, error: String? = nil, cost: Double = 0.01,
        output: String = "out"
    ) -> ExperimentCell {
        ExperimentCell(
            itemID: item, promptName: "qa", promptVersion: prompt, model: model, repetition: 0, output: output, passed: passed,
            score: passed ? 1 : 0, assertions: ["type": "contains", "pass": .bool(passed)], latencyMs: 12.5, inputTokens: 10,
            outputTokens: 5, cost: cost, gradingInputTokens: 3, gradingOutputTokens: 1, gradingCost: 0.001, traceID: "t-\(item)-\(prompt)-\(model)",
            error: error, createdAt: Timestamp.now())
    }

    @Test("runs: create, read, list newest first with keyset pages, status moves only from allowed states", arguments: StoreKind.available)
    func runs(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let other = try await test.store.projects.create(slug: "q", name: "Q")
            let experiments = test.store.experiments
            let base = Timestamp.date(1_800_000_000_000_000)
            let a = try await experiments.create(Self.run("a", projectID: project.id, createdAt: base))
            _ = try await experiments.create(Self.run("b", projectID: project.id, createdAt: base.addingTimeInterval(1)))
            _ = try await experiments.create(Self.run("c", projectID: project.id, createdAt: base.addingTimeInterval(1)))
            await #expect(throws: TernError.self) { _ = try await experiments.create(Self.run("a", projectID: project.id, createdAt: base)) }
            #expect(try await experiments.get(projectID: project.id, id: "a") == a, "every field round-trips")
            #expect(try await experiments.get(projectID: other.id, id: "a") == nil, "projects are apart")
            #expect(try await experiments.list(projectID: project.id, before: nil, limit: 10).map(\.id) == ["c", "b", "a"])
            let first = try await experiments.list(projectID: project.id, before: nil, limit: 2)
            #expect(first.map(\.id) == ["c", "b"])
            let last = try #require(first.last)
            #expect(try await experiments.list(projectID: project.id, before: (last.createdAt, last.id), limit: 2).map(\.id) == ["a"])
            #expect(try await experiments.list(projectID: other.id, before: nil, limit: 10).isEmpty)

            let start = base.addingTimeInterval(5)
            let running = try #require(try await experiments.transition(projectID: project.id, id: "a", from: [.queued], to: .running, error: nil, at: start))
            #expect(running.status == .running && running.startedAt == start && running.finishedAt == nil)
            #expect(
                try await experiments.transition(projectID: project.id, id: "a", from: [.queued], to: .running, error: nil, at: start) == nil,
                "not queued any more")
            #expect(try await experiments.transition(projectID: other.id, id: "a", from: [.running], to: .cancelled, error: nil, at: start) == nil)
            let cancelled = try #require(
                try await experiments.transition(
                    projectID: project.id, id: "a", from: [.queued, .running], to: .cancelled,
                    error: "cancelled by user:ada", at: start.addingTimeInterval(1)))
            #expect(cancelled.status == .cancelled && cancelled.finishedAt == start.addingTimeInterval(1) && cancelled.error == "cancelled by user:ada")
            #expect(
                try await experiments.transition(projectID: project.id, id: "a", from: [.running], to: .completed, error: nil, at: start) == nil,
                "a cancelled run is not completed afterwards")
            #expect(try await experiments.heartbeat(projectID: project.id, id: "a", at: start) == .cancelled)
            #expect(try await experiments.heartbeat(projectID: project.id, id: "nope", at: start) == nil)
        }
    }

    @Test("cells: stored as they stream, counted once, paged by cell key in matrix order", arguments: StoreKind.available)
    func cells(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let other = try await test.store.projects.create(slug: "q", name: "Q")
            let experiments = test.store.experiments
            _ = try await experiments.create(Self.run("r", projectID: project.id, createdAt: Timestamp.now()))
            let beat = Timestamp.now()
            // Out of order, as a concurrent runner finishes them; item "a1" must sort after "a".
            let batch1 = [
                Self.cell("b", 2, "small", passed: false), Self.cell("a1", 1, "small", passed: true),
                Self.cell("a", 2, "large", passed: true), Self.cell("a", 1, "small", passed: false, error: "timeout", cost: 0),
            ]
            #expect(try await experiments.addCells(projectID: project.id, experimentID: "r", batch1, heartbeat: beat) == 4)
            // A retried batch adds only what is new.
            let batch2 = [Self.cell("a", 1, "small", passed: true), Self.cell("a", 1, "large", passed: true, output: "<script>alert(1)</script>")]
            #expect(try await experiments.addCells(projectID: project.id, experimentID: "r", batch2, heartbeat: beat) == 1)
            await #expect(throws: TernError.self) {
                _ = try await experiments.addCells(projectID: other.id, experimentID: "r", [Self.cell("z", 1, "small", passed: true)], heartbeat: beat)
            }
            let run = try #require(try await experiments.get(projectID: project.id, id: "r"))
            #expect(run.totals.cells == 5 && run.totals.passed == 3 && run.totals.failed == 1 && run.totals.errors == 1)
            #expect(run.totals.inputTokens == 50 && run.totals.outputTokens == 25)
            #expect(abs(run.totals.cost - 0.04) < 1e-12)
            #expect(run.totals.gradingInputTokens == 15 && abs(run.totals.gradingCost - 0.005) < 1e-12)
            #expect(abs(run.totals.latencyMs - 62.5) < 1e-9)
            #expect(run.heartbeatAt == beat)

            let all = try await experiments.cells(projectID: project.id, experimentID: "r", after: nil, limit: 100)
            #expect(
                all.map { "\($0.itemID)/\($0.promptLabel)/\($0.model)" } == ["a/qa@1/large", "a/qa@1/small", "a/qa@2/large", "a1/qa@1/small", "b/qa@2/small"])
            let stored = try #require(all.first { $0.itemID == "a" && $0.model == "small" })
            #expect(stored.error == "timeout" && stored.passed == false, "the first write of a cell stays")
            #expect(all.first?.output == "<script>alert(1)</script>")
            #expect(stored == batch1[3], "every field round-trips")
            var paged: [ExperimentCell] = []
            var after: String?
            repeat {
                let page = try await experiments.cells(projectID: project.id, experimentID: "r", after: after, limit: 2)
                paged += page
                after = page.count == 2 ? page.last?.cellKey : nil
            } while after != nil
            #expect(paged == all)
            #expect(try await experiments.cells(projectID: other.id, experimentID: "r", after: nil, limit: 100).isEmpty, "projects are apart")
            let columns = try await experiments.columns(projectID: project.id, experimentID: "r")
            #expect(columns.map { "\($0.prompt)/\($0.model)" } == ["qa@1/large", "qa@1/small", "qa@2/large", "qa@2/small"])
            let small1 = try #require(columns.first { $0.prompt == "qa@1" && $0.model == "small" }).totals
            #expect(small1.cells == 2 && small1.passed == 1 && small1.failed == 0 && small1.errors == 1 && small1.inputTokens == 20)
            #expect(abs(small1.cost - 0.01) < 1e-12 && abs(small1.gradingCost - 0.002) < 1e-12 && abs(small1.latencyMs - 25) < 1e-9)
            #expect(try await experiments.columns(projectID: other.id, experimentID: "r").isEmpty)
        }
    }

    @Test("runs whose process stopped giving signs of life are failed with the reason", arguments: StoreKind.available)
    func staleRuns(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let experiments = test.store.experiments
            let old = Timestamp.date(1_800_000_000_000_000)
            _ = try await experiments.create(Self.run("stale", projectID: project.id, createdAt: old))
            _ = try await experiments.create(Self.run("queued", projectID: project.id, createdAt: old))
            _ = try await experiments.create(Self.run("alive", projectID: project.id, createdAt: old))
            _ = try await experiments.create(Self.run("done", projectID: project.id, createdAt: old))
            _ = try await experiments.transition(projectID: project.id, id: "stale", from: [.queued], to: .running, error: nil, at: old)
            _ = try await experiments.transition(projectID: project.id, id: "alive", from: [.queued], to: .running, error: nil, at: old)
            _ = try await experiments.heartbeat(projectID: project.id, id: "alive", at: old.addingTimeInterval(120))
            _ = try await experiments.transition(projectID: project.id, id: "done", from: [.queued], to: .completed, error: nil, at: old)
            let failed = try await experiments.failStale(before: old.addingTimeInterval(60), error: "interrupted", at: old.addingTimeInterval(90))
            #expect(Set(failed) == ["stale", "queued"])
            let stale = try #require(try await experiments.get(projectID: project.id, id: "stale"))
            #expect(stale.status == .failed && stale.error == "interrupted" && stale.finishedAt == old.addingTimeInterval(90))
            #expect(try await experiments.get(projectID: project.id, id: "alive")?.status == .running)
            #expect(try await experiments.get(projectID: project.id, id: "done")?.status == .completed)
        }
    }
}
