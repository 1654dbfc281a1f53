import Foundation
import TernCore
import TernServer
import TernTestSupport
import Testing

@Suite("CLI: prompts promote")
struct PromoteCLITests {
    @Test("promote through a server: refused with the regressed item named, then promoted on a run without regression")
    func promote() async throws {
        try await withTestStore(.sqlite) { test in
            let seed = try await ExperimentSeed.make(test.store, words: ["a", "b"], templates: ["A {{ word }}", "B {{ word }}"])
            _ = try await test.store.prompts.setLabel(projectID: seed.project.id, name: "qa", label: "production", version: 1, author: "test")
            let dataset = try #require(try await test.store.datasets.get(projectID: seed.project.id, name: "words"))
            func run(_ verdicts: [(String, Int, Bool)]) async throws -> String {
                let now = Date()
                let run = try await test.store.experiments.create(
                    ExperimentRun(
                        id: TernID.make(), projectID: seed.project.id, name: "r", datasetID: dataset.id, datasetName: "words",
                        datasetVersion: dataset.latestVersion, prompts: ["qa@1", "qa@2"], models: ["m"], repeats: 1, assertions: .array([]),
                        options: .object([:]), plannedCells: 4, createdAt: now, createdBy: "test"))
                try await test.store.experiments.addCells(
                    projectID: seed.project.id, experimentID: run.id,
                    verdicts.map {
                        ExperimentCell(itemID: $0.0, promptName: "qa", promptVersion: $0.1, model: "m", repetition: 0, passed: $0.2, createdAt: now)
                    },
                    heartbeat: now)
                _ = try await test.store.experiments.transition(projectID: seed.project.id, id: run.id, from: [.queued], to: .completed, error: nil, at: now)
                return run.id
            }
            let bad = try await run([("a", 1, true), ("a", 2, true), ("b", 1, true), ("b", 2, false)])
            let good = try await run([("a", 1, true), ("a", 2, true), ("b", 1, false), ("b", 2, true)])
            var config = TernConfig()
            config.dataDir = test.directory
            config.monitoring.watchers = false
            config.alerts.enabled = false
            let server = try await BackgroundServer.tern(store: test.store, config: config, environment: [:])
            do {
                let flags = ["--server", server.baseURL, "--api-key", seed.key]
                let refused = await ternCapturing(["prompts", "promote", "qa", "--version", "2", "--experiment", bad] + flags)
                let error = try #require(refused.error as? TernError)
                #expect(error.message.contains("regresses on 1 of 2 pairs") && error.message.contains("b (m)"), "\(error)")
                let promoted = try await tern(["prompts", "promote", "qa", "--version", "2", "--experiment", good] + flags)
                #expect(promoted.contains("qa@2 took production from qa@1: 2 of 2 pairs"), "\(promoted)")
                #expect(try await test.store.prompts.get(projectID: seed.project.id, name: "qa", label: "production")?.version == 2)
                await server.stop()
            } catch {
                await server.stop()
                throw error
            }
        }
    }
}
