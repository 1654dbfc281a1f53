import Foundation
import Synchronization
import TernCore
import TernTestSupport
@testable import TernEval
import Testing

@Suite("Experiments")
struct ExperimentTests {
    static let prompt = PromptVersion(
        projectID: "p", name: "shout", version: 1, kind: .chat,
        messages: [PromptMessage(role: "user", content: "{{ q }}")], variables: ["q"], author: "t", createdAt: Date())
    static func items(_ count: Int) -> [DatasetItem] {
        (0..<count).map { DatasetItem(id: "i\($0)", input: ["q": .string("hello \($0)")], expectedOutput: "HELLO \($0)", golden: $0 == 0) }
    }

    @Test("the matrix: every item x prompt x model x repeat, evaluated, streamed, at the concurrency limit", .timeLimit(.minutes(1)))
    func matrix() async throws {
        let model = FakeModel(gate: 3)
        let seen = Mutex<[ExperimentCellResult]>([])
        let plan = ExperimentPlan(
            items: Self.items(10), prompts: [Self.prompt], models: ["good", "bad"], repeats: 2,
            assertions: [AssertionSpec(type: "equals")])
        let summary = try await ExperimentRunner.run(plan, client: model, registry: .deterministic(), options: ExperimentOptions(concurrency: 3)) { result in
            seen.withLock { $0.append(result) }
        }
        #expect(summary.cells == 40 && plan.cellCount == 40)
        #expect(summary.passed == 20 && summary.failed == 20, "good passes equals against the expected output, bad does not")
        #expect(summary.goldenFailed == 2, "the golden item failed with the bad model, twice")
        #expect(seen.withLock { $0.count } == 40)
        #expect(model.active.withLock { $0.peak } == 3, "three calls at once (the gate opens only then), never more")
        #expect(abs(summary.cost - 0.04) < 1e-9)
        let cells = Set(seen.withLock { $0.map { "\($0.itemID)/\($0.model)/\($0.repetition)" } })
        #expect(cells.count == 40)
    }

    @Test("retries transient failures, not permanent ones")
    func retries() async throws {
        let flaky = FakeModel(transientFailures: 2)
        let plan = ExperimentPlan(items: Self.items(1), prompts: [Self.prompt], models: ["good"])
        let results = Mutex<[ExperimentCellResult]>([])
        let summary = try await ExperimentRunner.run(
            plan, client: flaky, registry: .deterministic(),
            options: ExperimentOptions(retries: 2, backoff: .milliseconds(1))
        ) { r in results.withLock { $0.append(r) } }
        #expect(summary.errors == 0 && results.withLock { $0.first?.attempts } == 3)
        let broken = FakeModel(permanentFailure: true)
        let failed = try await ExperimentRunner.run(
            plan, client: broken, registry: .deterministic(),
            options: ExperimentOptions(retries: 3, backoff: .milliseconds(1))
        ) { _ in }
        #expect(failed.errors == 1)
        #expect(broken.calls.withLock { $0 } == 1, "a 400 is not retried")
    }

    @Test("a rerun of unchanged cells is served from the on-disk cache and costs nothing")
    func cache() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tern-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let options = ExperimentOptions(cache: try ResponseDiskCache(directory: directory))
        let plan = ExperimentPlan(items: Self.items(5), prompts: [Self.prompt], models: ["good"])
        let first = FakeModel()
        let run1 = try await ExperimentRunner.run(plan, client: first, registry: .deterministic(), options: options) { _ in }
        let second = FakeModel()
        let run2 = try await ExperimentRunner.run(plan, client: second, registry: .deterministic(), options: options) { _ in }
        #expect(first.calls.withLock { $0 } == 5)
        #expect(second.calls.withLock { $0 } == 0)
        #expect(run2.cached == 5 && run2.cost == 0 && run1.cost > 0)
        // A changed prompt is a new request: not cached.
        var changed = Self.prompt
        changed.messages = [PromptMessage(role: "user", content: "Please: {{ q }}")]
        let third = FakeModel()
        _ = try await ExperimentRunner.run(
            ExperimentPlan(items: Self.items(5), prompts: [changed], models: ["good"]), client: third,
            registry: .deterministic(), options: options
        ) { _ in }
        #expect(third.calls.withLock { $0 } == 5)
    }

    @Test("missing variables make error cells that name them")
    func missingVariables() async throws {
        let plan = ExperimentPlan(items: [DatasetItem(id: "x", input: ["other": "1"])], prompts: [Self.prompt], models: ["good"])
        let results = Mutex<[ExperimentCellResult]>([])
        let summary = try await ExperimentRunner.run(plan, client: FakeModel(), registry: .deterministic()) { r in results.withLock { $0.append(r) } }
        #expect(summary.errors == 1)
        #expect(results.withLock { $0.first?.error?.contains("q") } == true)
    }

    @Test("McNemar: exact for few discordant pairs, chi-square for many; values computed independently in Python")
    func mcNemar() {
        // Python: sum(comb(10, i) for i in range(2)) * 2 / 2**10 = 0.021484375 (exact two-sided binomial).
        #expect(abs(Significance.mcNemar(b: 1, c: 9) - 0.021484375) < 1e-9)
        #expect(Significance.mcNemar(b: 5, c: 5) == 1)
        #expect(Significance.mcNemar(b: 0, c: 0) == 1)
        // Python: x = (abs(10 - 30) - 1)**2 / 40; erfc(sqrt(x / 2)) = 0.002663119259 (chi-square, continuity corrected).
        #expect(abs(Significance.mcNemar(b: 10, c: 30) - 0.002663119259) < 1e-9)
        #expect(Significance.mcNemar(b: 30, c: 10) == Significance.mcNemar(b: 10, c: 30))
    }
}
