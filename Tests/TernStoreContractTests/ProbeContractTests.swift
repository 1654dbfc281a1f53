import Foundation
import TernCore
import TernTestSupport
import Testing

/// Probes on both stores: definitions, names unique per project, runs newest first, deletion.
@Suite("Storage contract: probes (0018)")
struct ProbeContractTests {
    @Test("a probe is stored, listed, changed, records its runs with its last run time, and is deleted with its run list", arguments: StoreKind.available)
    func lifecycle(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let now = Timestamp.now()
            let experiment: JSONValue = ["dataset": "canary", "prompts": ["qa@1"], "models": ["m"]]
            var probe = try await test.store.probes.create(
                Probe(
                    id: TernID.make(), projectID: project.id, name: "canary", experiment: experiment, everySeconds: 600, createdBy: "key:k", createdAt: now,
                    updatedAt: now))
            await #expect(throws: TernError.self) {
                try await test.store.probes.create(
                    Probe(id: TernID.make(), projectID: project.id, name: "canary", experiment: experiment, createdBy: "key:k", createdAt: now, updatedAt: now))
            }
            #expect(try await test.store.probes.get(projectID: project.id, name: "canary") == probe)
            #expect(try await test.store.probes.listEnabled().map(\.id) == [probe.id])
            for offset in [0.0, 600, 1200] {
                try await test.store.probes.recordRun(
                    ProbeRun(probeID: probe.id, projectID: project.id, experimentID: "run-\(Int(offset))", startedAt: now.addingTimeInterval(offset)))
            }
            #expect(try await test.store.probes.runs(projectID: project.id, probeID: probe.id, limit: 2).map(\.experimentID) == ["run-1200", "run-600"])
            #expect(try await test.store.probes.get(projectID: project.id, id: probe.id)?.lastRunAt == now.addingTimeInterval(1200))
            probe.enabled = false
            probe.everySeconds = 3600
            _ = try await test.store.probes.update(probe)
            #expect(try await test.store.probes.listEnabled().isEmpty)
            #expect(try await test.store.probes.get(projectID: project.id, id: probe.id)?.everySeconds == 3600)
            #expect(try await test.store.probes.delete(projectID: project.id, id: probe.id))
            #expect(try await test.store.probes.runs(projectID: project.id, probeID: probe.id, limit: 10).isEmpty)
            #expect(try await test.store.probes.get(projectID: project.id, id: probe.id) == nil)
        }
    }
}
