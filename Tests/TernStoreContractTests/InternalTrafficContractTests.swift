import Foundation
import TernCore
import TernStoreSQL
import TernTestSupport
import Testing

/// Traces Tern's own callers make (`TraceOrigin`) stay out of production views unless asked for, and
/// migration 0013 marks the ones stored before they carried their origin.
@Suite("Storage contract: internal traffic (0013)")
struct InternalTrafficContractTests {
    @Test("experiment and playground traces are left out of lists, sessions and facts unless included or named", arguments: StoreKind.available)
    func filters(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let start = Timestamp.date(Timestamp.micros(Date(timeIntervalSince1970: 1_800_000_000)))
            func trace(_ id: String, environment: String?, session: String) -> TraceBatchItem {
                TraceBatchItem(
                    trace: Trace(id: id, projectID: project.id, sessionID: session, environment: environment, startTime: start, endTime: start),
                    observations: [])
            }
            try await test.store.traces.insert([
                trace("app", environment: nil, session: "s1"), trace("prod", environment: "production", session: "s1"),
                trace("cell", environment: TraceOrigin.experiment, session: "experiment:r1"),
                trace("play", environment: TraceOrigin.playground, session: "s2"),
            ])
            func ids(_ filter: TraceFilter) async throws -> Set<String> {
                Set(try await test.store.traces.list(projectID: project.id, query: TraceQuery(filter: filter, limit: 50)).traces.map(\.trace.id))
            }
            #expect(try await ids(TraceFilter()) == ["app", "prod"])
            var all = TraceFilter()
            all.includeInternal = true
            #expect(try await ids(all) == ["app", "prod", "cell", "play"])
            #expect(try await ids(TraceFilter(environment: TraceOrigin.experiment)) == ["cell"], "naming the environment finds them")
            #expect(try await ids(TraceFilter(sessionID: "experiment:r1")) == ["cell"], "so does naming their session")
            let sessions = try await test.store.traces.sessions(projectID: project.id, filter: TraceFilter(), limit: 10)
            #expect(sessions.map(\.id) == ["s1"])
            #expect(Set(try await test.store.traces.sessions(projectID: project.id, filter: all, limit: 10).map(\.id)) == ["s1", "s2", "experiment:r1"])
            #expect(try await test.store.traces.count(projectID: project.id) == 4, "nothing is hidden from the store's own counts")
        }
    }

    @Test("0013 gives experiment and playground traces stored before it their origin and recomputes their hours", arguments: StoreKind.available)
    func migration(kind: StoreKind) async throws {
        try await withTestStore(kind, migrate: false) { test in
            try await test.migrate(upTo: "0012_scopes_and_bounds")
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let start = Timestamp.micros(Date(timeIntervalSince1970: 1_800_000_000))
            try await test.execute(
                sql: """
                    INSERT INTO traces (id, project_id, name, session_id, tags, environment, start_time, observation_count)
                    VALUES ('cell', '\(project.id)', 'chat', 'experiment:r1', '["experiment"]', NULL, \(start), 0),
                           ('play', '\(project.id)', 'chat', NULL, '["playground"]', NULL, \(start + 7_200_000_000), 0),
                           ('app', '\(project.id)', 'chat', 's1', '["web"]', NULL, \(start), 0),
                           ('named', '\(project.id)', 'chat', 'experiment:r2', '[]', 'staging', \(start), 0)
                    """)
            #expect(try await test.store.migrate() == ["0013_internal_traffic", "0014_watchers", "0015_watcher_backfills", "0016_alerts", "0017_promotions", "0018_probes_and_drift_monitors"])
            var environments: [String: String?] = [:]
            for id in ["cell", "play", "app", "named"] { environments[id] = try await test.store.traces.get(projectID: project.id, id: id)?.trace.environment }
            #expect(environments == ["cell": "experiment", "play": "playground", "app": nil, "named": "staging"])
            let dirty = Set(try await test.store.metrics.dirtyBuckets(limit: 10).filter { $0.projectID == project.id }.map(\.bucket))
            #expect(dirty == [TraceSQL.hour(start), TraceSQL.hour(start + 7_200_000_000)], "both hours are recomputed")
        }
    }
}
