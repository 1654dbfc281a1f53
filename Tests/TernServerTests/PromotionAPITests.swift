import Foundation
import TernCore
import TernTestSupport
import Testing

/// The response loop's gate: `POST /api/v1/prompts/{name}/promote` moves a label only when a completed run shows
/// no regression of the candidate on the golden items, names the regressed items otherwise, and records both.
@Suite("Prompt promotion API")
struct PromotionAPITests {
    /// A completed run of `qa@1` and `qa@2` on the dataset's version with these verdicts per (item, version).
    static func run(_ h: Harness, dataset: Dataset, verdicts: [(String, Int, Bool)]) async throws -> String {
        let now = Date()
        let run = try await h.store.experiments.create(
            ExperimentRun(
                id: TernID.make(), projectID: h.project.id, name: "fix", datasetID: dataset.id, datasetName: dataset.name,
                datasetVersion: dataset.latestVersion, prompts: ["qa@1", "qa@2"], models: ["m"], repeats: 1, assertions: .array([]),
                options: .object([:]), plannedCells: verdicts.count, createdAt: now, createdBy: "test"))
        try await h.store.experiments.addCells(
            projectID: h.project.id, experimentID: run.id,
            verdicts.map { ExperimentCell(itemID: $0.0, promptName: "qa", promptVersion: $0.1, model: "m", repetition: 0, passed: $0.2, createdAt: now) },
            heartbeat: now)
        _ = try await h.store.experiments.transition(projectID: h.project.id, id: run.id, from: [.queued], to: .running, error: nil, at: now)
        _ = try await h.store.experiments.transition(projectID: h.project.id, id: run.id, from: [.running], to: .completed, error: nil, at: now)
        return run.id
    }

    @Test("a regression on a golden item refuses with the item named; a run without one promotes; both recorded", arguments: StoreKind.available)
    func gate(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            for (index, text) in ["Answer: {{q}}", "Answer briefly: {{q}}"].enumerated() {
                let pushed = try await h.call(
                    .post, "/api/v1/prompts", key: h.adminKey,
                    json: #"{"name": "qa", "prompt": "\#(text)", "labels": \#(index == 0 ? #"["production"]"# : "[]")}"#)
                #expect(pushed.status == .created, "\(pushed.text)")
            }
            #expect(try await h.call(.post, "/api/v1/datasets", key: h.adminKey, json: #"{"name": "golden"}"#).status == .created)
            let items = try await h.call(
                .post, "/api/v1/datasets/golden/items", key: h.adminKey,
                json:
                    #"{"items": [{"id": "a", "input": {"q": "1"}, "golden": true}, {"id": "b", "input": {"q": "2"}, "golden": true}, {"id": "c", "input": {"q": "3"}}]}"#
            )
            #expect(items.status.code < 300, "\(items.text)")
            let dataset = try #require(try await h.store.datasets.get(projectID: h.project.id, name: "golden"))

            let bad = try await Self.run(
                h, dataset: dataset, verdicts: [("a", 1, true), ("a", 2, false), ("b", 1, true), ("b", 2, true), ("c", 1, true), ("c", 2, true)])
            let refused = try await h.call(.post, "/api/v1/prompts/qa/promote", key: h.adminKey, json: #"{"version": 2, "experiment": "\#(bad)"}"#)
            #expect(refused.status == .conflict && refused.errorCode == "regression", "\(refused.text)")
            #expect(
                (refused.error["message"] as? String)?.contains("regresses on 1 of 2 pairs of 2 golden items against qa@1: a (m)") == true, "\(refused.text)")
            #expect((refused.json["regressions"] as? [[String: Any]])?.first?["item_id"] as? String == "a")
            #expect(try await h.store.prompts.get(projectID: h.project.id, name: "qa", label: "production")?.version == 1, "the label stayed")

            // c is not golden: its regression does not count.
            let good = try await Self.run(
                h, dataset: dataset, verdicts: [("a", 1, true), ("a", 2, true), ("b", 1, false), ("b", 2, true), ("c", 1, true), ("c", 2, false)])
            let promoted = try await h.call(.post, "/api/v1/prompts/qa/promote", key: h.adminKey, json: #"{"version": 2, "experiment": "\#(good)"}"#)
            #expect(promoted.status == .ok, "\(promoted.text)")
            #expect((promoted.json["summary"] as? String)?.contains("qa@2 took production from qa@1: 2 of 2 pairs of 2 golden items pass") == true)
            #expect(try await h.store.prompts.get(projectID: h.project.id, name: "qa", label: "production")?.version == 2)
            let history = try await h.call(.get, "/api/v1/prompts/qa/promotions", key: h.adminKey).data
            #expect(history.map { $0["outcome"] as? String } == ["promoted", "refused"])
            #expect(
                history.map { $0["experiment_id"] as? String } == [good, bad] && history.allSatisfy { ($0["actor"] as? String)?.hasPrefix("key:") == true })
            #expect(history[0]["from_version"] as? Int == 1 && history[0]["to_version"] as? Int == 2)
            // The label move records who made it.
            let moves = try await h.store.prompts.labelMoves(projectID: h.project.id, name: "qa")
            #expect(moves.first?.toVersion == 2 && moves.first?.author.hasPrefix("key:") == true)

            for (body, field) in [
                (#"{"experiment": "\#(good)"}"#, "version"), (#"{"version": 2}"#, "experiment"), (#"{"version": 9, "experiment": "\#(good)"}"#, "version"),
                (#"{"version": 1, "experiment": "nope"}"#, "experiment"), (#"{"version": 2, "experiment": "\#(good)"}"#, "version"),
                (#"{"version": 1, "experiment": "\#(good)", "label": "latest"}"#, "label"),
            ] {
                let reply = try await h.call(.post, "/api/v1/prompts/qa/promote", key: h.adminKey, json: body)
                #expect(reply.status.code >= 400 && reply.errorField == field, "\(body): \(reply.text)")
            }
        }
    }
}
