import Foundation
import TernCore
import TernTestSupport
import Testing
import TernStoreSQL

/// Migration 0012: key scopes, and stored values brought into `InputBounds` so no old row can make a
/// read overflow (issue 14, defect 2).
@Suite("Storage contract: scopes and bounds (0012)")
struct BoundsMigrationContractTests {
    @Test(
        "keys made before scopes have their role's defaults; stored token counts, costs and scores beyond the bounds are clamped and their hours recomputed",
        arguments: StoreKind.available)
    func migration(kind: StoreKind) async throws {
        try await withTestStore(kind, migrate: false) { test in
            try await test.migrate(upTo: "0011_trace_keys")
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let start = Timestamp.micros(Date(timeIntervalSince1970: 1_800_000_000))
            let infinity = kind == .sqlite ? "9e999" : "'Infinity'::float8"
            try await test.execute(
                sql: """
                    INSERT INTO api_keys (id, project_id, name, prefix, key_hash, role, created_at)
                    VALUES ('k1', '\(project.id)', 'old viewer', 'tern_abc', 'hash1', 'viewer', \(start)),
                           ('k2', '\(project.id)', 'old admin', 'tern_def', 'hash2', 'admin', \(start))
                    """)
            try await test.execute(
                sql: """
                    INSERT INTO traces (id, project_id, name, start_time, end_time, observation_count, input_tokens, output_tokens, total_cost, model)
                    VALUES ('big', '\(project.id)', 'turn', \(start), \(start + 1_000_000), 2, 9000000000000000000, -5, \(infinity), 'gpt-4o'),
                           ('fine', '\(project.id)', 'turn', \(start), \(start + 1_000_000), 1, 10, 2, 0.5, 'gpt-4o')
                    """)
            let bigKey = kind == .sqlite ? ", trace_key" : ""
            let bigKeyValue = kind == .sqlite ? ", (SELECT trace_key FROM traces WHERE id = 'big')" : ""
            try await test.execute(
                sql: """
                    INSERT INTO observations (id, trace_id, project_id, type, name, start_time, end_time, model, usage_input, usage_output, cost\(bigKey))
                    VALUES ('o1', 'big', '\(project.id)', 'generation', 'llm', \(start), \(start + 500_000), 'gpt-4o', 2000000000, -3, \(infinity)\(bigKeyValue)),
                           ('o2', 'big', '\(project.id)', 'generation', 'llm', \(start), \(start + 500_000), 'gpt-4o', 10, 2, -1\(bigKeyValue))
                    """)
            try await test.execute(
                sql: """
                    INSERT INTO scores (id, project_id, trace_id, name, data_type, numeric_value, source, created_at)
                    VALUES ('s1', '\(project.id)', 'big', 'q', 'numeric', 1e300, 'api', \(start))
                    """)
            #expect(try await test.store.migrate() == ["0012_scopes_and_bounds", "0013_internal_traffic", "0014_watchers", "0015_watcher_backfills", "0016_alerts", "0017_promotions", "0018_probes_and_drift_monitors"])

            #expect(try await test.store.apiKeys.find(hash: "hash1")?.scopes == [.read])
            #expect(try await test.store.apiKeys.find(hash: "hash2")?.scopes == [.read, .write, .ingest, .gateway, .admin])
            let detail = try #require(try await test.store.traces.get(projectID: project.id, id: "big"))
            let o1 = try #require(detail.observations.first { $0.id == "o1" })
            #expect(o1.usage?.inputTokens == InputBounds.maxTokens)
            #expect(o1.usage?.outputTokens == 0)
            #expect(o1.cost == InputBounds.maxCost)
            #expect(detail.observations.first { $0.id == "o2" }?.cost == 0)
            let page = try await test.store.traces.list(projectID: project.id, query: TraceQuery(limit: 10))
            let big = try #require(page.traces.first { $0.trace.id == "big" })
            #expect(big.inputTokens == InputBounds.maxTokens * 1_000_000)
            #expect(big.outputTokens == 0)
            #expect(big.cost == InputBounds.maxCost * 1_000_000)
            #expect(page.traces.first { $0.trace.id == "fine" }?.cost == 0.5, "values in range are untouched")
            #expect(try await test.store.scores.list(projectID: project.id, traceID: "big").first?.numericValue == InputBounds.maxScore)
            // The clamped trace's hour waits for the monitoring job's recomputation.
            let dirty = try await test.store.metrics.dirtyBuckets(limit: 10)
            #expect(dirty.contains { $0.projectID == project.id && $0.bucket == TraceSQL.hour(start) }, "\(dirty)")
        }
    }
}
