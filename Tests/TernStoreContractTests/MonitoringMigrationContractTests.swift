import Foundation
import TernCore
import TernMonitor
import TernTestSupport
import Testing

/// Migrations 0004 (trace totals and hour marks for the traces already stored) and 0007 (daily rollups:
/// every hour with traces marked again), with rows written before them.
@Suite("Storage contract: monitoring migrations carry the stored traces")
struct MonitoringMigrationContractTests {
    @Test("traces stored before 0004 get their totals, and their hours are rolled up after 0007", arguments: StoreKind.available)
    func totalsAndRollupsOfOldTraces(kind: StoreKind) async throws {
        try await withTestStore(kind, migrate: false) { test in
            try await test.migrate(upTo: "0003_scores")
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let hour = Timestamp.hour(Timestamp.micros(Date(timeIntervalSince1970: 1_800_000_000)))
            let (first, second) = (hour + 60_000_000, hour + 3_600_000_000 + 60_000_000)  // two different hours
            // Rows as version 0003 wrote them: traces without totals, observations keyed by project and id.
            try await test.execute(
                sql: """
                    INSERT INTO traces (id, project_id, name, start_time, end_time)
                    VALUES ('t1', '\(project.id)', 'turn', \(first), \(first + 2_000_000)),
                           ('t2', '\(project.id)', 'turn', \(second), \(second + 1_000_000))
                    """)
            try await test.execute(
                sql: """
                    INSERT INTO observations (id, trace_id, project_id, type, name, start_time, end_time, model, usage_input, usage_output, cost)
                    VALUES ('o1', 't1', '\(project.id)', 'generation', 'llm', \(first), \(first + 1_000_000), 'gpt-4o', 10, 2, 0.01),
                           ('o2', 't1', '\(project.id)', 'generation', 'llm', \(first + 1_000_000), \(first + 2_000_000), 'gpt-4o-mini', 30, 4, 0.03),
                           ('o3', 't2', '\(project.id)', 'generation', 'llm', \(second), \(second + 1_000_000), 'gpt-4o-mini', 5, 1, 0.005)
                    """)
            let applied = try await test.store.migrate()
            #expect(applied.first == "0004_monitoring" && applied.contains("0007_daily_rollups"), "\(applied)")

            // 0004 computed each trace's totals from its observations.
            let page = try await test.store.traces.list(projectID: project.id, query: TraceQuery(limit: 10))
            let byID = Dictionary(uniqueKeysWithValues: page.traces.map { ($0.trace.id, $0) })
            let t1 = try #require(byID["t1"])
            #expect(t1.observationCount == 2 && t1.inputTokens == 40 && t1.outputTokens == 6)
            #expect(abs((t1.cost ?? 0) - 0.04) < 1e-9)
            #expect(t1.model == "gpt-4o", "the first generation's model")
            let t2 = try #require(byID["t2"])
            #expect(t2.observationCount == 1 && t2.inputTokens == 5 && t2.model == "gpt-4o-mini")

            // Both hours are marked, and the rollups made from the marks agree with the traces.
            let marks = try await test.store.metrics.dirtyBuckets(limit: 100).filter { $0.projectID == project.id }.map(\.bucket)
            #expect(Set(marks) == [hour, hour + 3_600_000_000], "\(marks)")
            while try await MetricsEngine.refresh(test.store.metrics) > 0 {}
            let from = Timestamp.date(hour), to = Timestamp.date(hour + 2 * 3_600_000_000)
            let result = try await MetricsEngine.run(
                MetricsQuery(filter: TraceFilter(from: from, to: to), bucket: .hour), projectID: project.id, repository: test.store.metrics)
            #expect(result.source == "rollup")
            #expect(result.totals.traces == 2)
            #expect(result.totals.totalTokens == 40 + 6 + 5 + 1)
            #expect(abs(result.totals.cost - 0.045) < 1e-9)
            let daily = try await MetricsEngine.run(
                MetricsQuery(filter: TraceFilter(from: Timestamp.date(hour - 86_400_000_000), to: Timestamp.date(hour + 86_400_000_000)), bucket: .day),
                projectID: project.id, repository: test.store.metrics)
            #expect(daily.totals.traces == 2, "the daily rollups of 0007 hold the old traces too")
        }
    }
}
