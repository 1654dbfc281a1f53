import Foundation
import TernCore
import TernTestSupport
import Testing
import TernStoreSQL

/// Migration 0008 (observations keyed by trace) and the batch merge that gives each trace one upsert.
@Suite("Storage contract: ingest layout")
struct IngestLayoutContractTests {
    static let base = Date(timeIntervalSince1970: 1_800_000_000)

    /// A trace event and one event per observation, each naming the trace, as ingest sends them.
    static func events(trace: String, project: String, observations: [String], offset: Double = 0) -> [TraceBatchItem] {
        let start = base.addingTimeInterval(offset)
        var items = [
            TraceBatchItem(
                trace: Trace(
                    id: trace, projectID: project, name: "turn", userID: "u1", tags: ["web"],
                    metadata: ["task": "chat"], input: "hi", startTime: start.addingTimeInterval(1)),
                observations: [])
        ]
        for (index, id) in observations.enumerated() {
            let at = start.addingTimeInterval(Double(index))
            let observation = Observation(
                id: id, traceID: trace, projectID: project, type: .generation, name: "llm", startTime: at, endTime: at.addingTimeInterval(0.5),
                model: index == 0 ? "gpt-4o" : "gpt-4o-mini", usage: TokenUsage(inputTokens: 10, outputTokens: 2), cost: 0.01)
            items.append(
                TraceBatchItem(
                    trace: Trace(id: trace, projectID: project, startTime: at, endTime: at.addingTimeInterval(0.5)),
                    observations: [observation]))
        }
        return items
    }

    @Test("migration 0008 keeps every trace and observation", arguments: StoreKind.available)
    func migrationKeepsRows(kind: StoreKind) async throws {
        try await withTestStore(kind, migrate: false) { test in
            try await test.migrate(upTo: "0007_daily_rollups")
            let project = try await test.store.projects.create(slug: "p", name: "P")
            // Rows as version 0007 wrote them (observations keyed by project and id).
            let start = Timestamp.micros(Self.base)
            try await test.execute(
                sql: """
                    INSERT INTO traces (id, project_id, name, start_time, end_time, observation_count, input_tokens, output_tokens, total_cost, model)
                    VALUES ('t1', '\(project.id)', 'turn', \(start), \(start + 2_000_000), 2, 20, 4, 0.02, 'gpt-4o'),
                           ('t2', '\(project.id)', 'turn', \(start + 10_000_000), \(start + 11_000_000), 1, 10, 2, 0.01, 'gpt-4o-mini')
                    """)
            try await test.execute(
                sql: """
                    INSERT INTO observations (id, trace_id, project_id, type, name, start_time, end_time, model, usage_input, usage_output, cost)
                    VALUES ('o1', 't1', '\(project.id)', 'generation', 'llm', \(start), \(start + 1_000_000), 'gpt-4o', 10, 2, 0.01),
                           ('o2', 't1', '\(project.id)', 'generation', 'llm', \(start + 1_000_000), \(start + 2_000_000), 'gpt-4o-mini', 10, 2, 0.01),
                           ('o3', 't2', '\(project.id)', 'generation', 'llm', \(start + 10_000_000), \(start + 11_000_000), 'gpt-4o-mini', 10, 2, 0.01)
                    """)
            let applied = try await test.store.migrate()
            #expect(
                applied == [
                    "0008_ingest_layout", "0009_experiments", "0010_append_layout", "0011_trace_keys", "0012_scopes_and_bounds", "0013_internal_traffic",
                    "0014_watchers", "0015_watcher_backfills", "0016_alerts", "0017_promotions", "0018_probes_and_drift_monitors",
                ])
            #expect(try await test.store.traces.get(projectID: project.id, id: "t1")?.observations.map(\.id) == ["o1", "o2"])
            #expect(try await test.store.traces.get(projectID: project.id, id: "t2")?.observations.map(\.id) == ["o3"])
            let page = try await test.store.traces.list(projectID: project.id, query: TraceQuery(limit: 10))
            #expect(page.traces.map(\.trace.id) == ["t2", "t1"])
            #expect(page.traces.map(\.observationCount) == [1, 2])
            // Writes after the migration: a repeated observation adds nothing, a later one adds to the totals
            // and an earlier generation becomes the trace's first.
            let repeated = Observation(id: "o1", traceID: "t1", projectID: project.id, type: .generation, startTime: Self.base, model: "gpt-4o")
            let earlier = Observation(
                id: "o0", traceID: "t1", projectID: project.id, type: .generation, startTime: Self.base.addingTimeInterval(-1),
                endTime: Self.base, model: "claude", usage: TokenUsage(inputTokens: 5, outputTokens: 1), cost: 0.5)
            try await test.store.traces.insert([
                TraceBatchItem(trace: Trace(id: "t1", projectID: project.id, startTime: Self.base), observations: [repeated, earlier])
            ])
            let t1 = try #require(try await test.store.traces.list(projectID: project.id, query: TraceQuery(limit: 10)).traces.last)
            #expect(t1.trace.id == "t1")
            // Many traces at once: what get gives for each that exists, in the project only.
            let details = try await test.store.traces.details(projectID: project.id, ids: ["t1", "t2", "nope", "t1"])
            #expect(Set(details.keys) == ["t1", "t2"])
            #expect(details["t1"] == (try await test.store.traces.get(projectID: project.id, id: "t1")) && details["t1"]?.observations.count == 3)
            #expect(details["t2"] == (try await test.store.traces.get(projectID: project.id, id: "t2")))
            #expect(try await test.store.traces.details(projectID: "other", ids: ["t1"]).isEmpty)
            #expect(try await test.store.traces.details(projectID: project.id, ids: []).isEmpty)
            #expect(t1.observationCount == 3)
            #expect(t1.inputTokens == 25)
            #expect(abs((t1.cost ?? 0) - 0.52) < 1e-9)
            #expect(t1.model == "claude")
        }
    }

    @Test("migration 0010 keeps rows written before it; ids stay unique and rows append (SQLite rowid tables)", arguments: StoreKind.available)
    func appendLayoutMigration(kind: StoreKind) async throws {
        try await withTestStore(kind, migrate: false) { test in
            try await test.migrate(upTo: "0009_experiments")
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let batch =
                Self.events(trace: "t1", project: project.id, observations: ["o1", "o2"])
                + Self.events(trace: "t2", project: project.id, observations: ["o3"], offset: 10)
            // The same rows as `batch` makes, written as version 0009 stored them (today's insert needs 0011).
            let start = Timestamp.micros(Self.base)
            try await test.execute(
                sql: """
                    INSERT INTO traces (id, project_id, name, user_id, tags, input, task, start_time, end_time, observation_count, input_tokens,
                                        output_tokens, total_cost, model)
                    VALUES ('t1', '\(project.id)', 'turn', 'u1', '["web"]', 'hi', 'chat', \(start), \(start + 1_500_000), 2, 20, 4, 0.02, 'gpt-4o'),
                           ('t2', '\(project.id)', 'turn', 'u1', '["web"]', 'hi', 'chat', \(start + 10_000_000), \(start + 10_500_000), 1, 10, 2, 0.01, 'gpt-4o')
                    """)
            try await test.execute(
                sql: """
                    INSERT INTO observations (id, trace_id, project_id, type, name, start_time, end_time, model, usage_input, usage_output, cost)
                    VALUES ('o1', 't1', '\(project.id)', 'generation', 'llm', \(start), \(start + 500_000), 'gpt-4o', 10, 2, 0.01),
                           ('o2', 't1', '\(project.id)', 'generation', 'llm', \(start + 1_000_000), \(start + 1_500_000), 'gpt-4o-mini', 10, 2, 0.01),
                           ('o3', 't2', '\(project.id)', 'generation', 'llm', \(start + 10_000_000), \(start + 10_500_000), 'gpt-4o', 10, 2, 0.01)
                    """)
            #expect(
                try await test.store.migrate() == [
                    "0010_append_layout", "0011_trace_keys", "0012_scopes_and_bounds", "0013_internal_traffic", "0014_watchers", "0015_watcher_backfills",
                    "0016_alerts", "0017_promotions", "0018_probes_and_drift_monitors",
                ])
            let schema = try await test.dumpSchema()
            if kind == .sqlite {
                // Both tables lost WITHOUT ROWID; traces are unique by (project, id) and have an integer key
                // of their own, observations are unique by (trace key, id) (0011).
                let creates = try ["traces", "observations"].map { try Self.create(of: $0, in: schema) }
                #expect(!creates[0].contains("WITHOUT ROWID") && !creates[1].contains("WITHOUT ROWID"), "\(creates)")
                #expect(creates[0].contains("trace_key INTEGER PRIMARY KEY AUTOINCREMENT"), "\(creates[0])")
                #expect(creates[0].contains("UNIQUE (project_id, id)"), "\(creates[0])")
                #expect(creates[1].contains("UNIQUE (trace_key, id)"), "\(creates[1])")
            }
            #expect(try await test.store.traces.get(projectID: project.id, id: "t1")?.observations.map(\.id) == ["o1", "o2"])
            #expect(try await test.store.traces.get(projectID: project.id, id: "t2")?.observations.map(\.id) == ["o3"])
            // The unique keys still make a retried batch a no-op and serve as the upserts' conflict targets.
            try await test.store.traces.insert(batch)
            try await test.store.traces.insert(Self.events(trace: "t1", project: project.id, observations: ["o4"], offset: 20))
            let page = try await test.store.traces.list(projectID: project.id, query: TraceQuery(limit: 10))
            #expect(page.traces.map(\.trace.id).sorted() == ["t1", "t2"])
            #expect(page.traces.first { $0.trace.id == "t1" }?.observationCount == 3)
            #expect(page.traces.first { $0.trace.id == "t2" }?.observationCount == 1)
            #expect(try await test.store.traces.get(projectID: project.id, id: "t1")?.observations.map(\.id) == ["o1", "o2", "o4"])
        }
    }

    /// The CREATE statement of `table` in a `dumpSchema()` text (entries are "type name: sql" sorted by
    /// type then name, and the SQL spans lines).
    static func create(of table: String, in schema: String) throws -> Substring {
        let start = try #require(schema.range(of: "table \(table): "))
        let rest = schema[start.upperBound...]
        return rest[..<(rest.range(of: "\ntable ")?.lowerBound ?? rest.endIndex)]
    }

    @Test("migration 0011 keys observations by their trace's key: rows before it stay, an orphan observation gets its trace", arguments: StoreKind.available)
    func traceKeyMigration(kind: StoreKind) async throws {
        try await withTestStore(kind, migrate: false) { test in
            try await test.migrate(upTo: "0010_append_layout")
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let other = try await test.store.projects.create(slug: "q", name: "Q")
            // Rows as version 0010 wrote them; the same trace and observation ids in a second project,
            // and an observation whose trace row is missing (written by hand: the write path never does).
            let start = Timestamp.micros(Self.base)
            for (p, cost) in [(project.id, 0.01), (other.id, 0.5)] {
                try await test.execute(
                    sql: """
                        INSERT INTO traces (id, project_id, name, start_time, end_time, observation_count, input_tokens, output_tokens, total_cost, model)
                        VALUES ('t1', '\(p)', 'turn', \(start), \(start + 2_000_000), 2, 20, 4, \(2 * cost), 'gpt-4o')
                        """)
                try await test.execute(
                    sql: """
                        INSERT INTO observations (id, trace_id, project_id, type, name, start_time, end_time, model, usage_input, usage_output, cost)
                        VALUES ('o1', 't1', '\(p)', 'generation', 'llm', \(start), \(start + 1_000_000), 'gpt-4o', 10, 2, \(cost)),
                               ('o2', 't1', '\(p)', 'generation', 'llm', \(start + 1_000_000), \(start + 2_000_000), 'gpt-4o-mini', 10, 2, \(cost))
                        """)
            }
            try await test.execute(
                sql: """
                    INSERT INTO observations (id, trace_id, project_id, type, name, start_time, model, usage_input, usage_output)
                    VALUES ('o9', 'lost', '\(project.id)', 'generation', 'llm', \(start + 5_000_000), 'gpt-4o', 1, 1)
                    """)
            #expect(
                try await test.store.migrate() == [
                    "0011_trace_keys", "0012_scopes_and_bounds", "0013_internal_traffic", "0014_watchers", "0015_watcher_backfills", "0016_alerts",
                    "0017_promotions", "0018_probes_and_drift_monitors",
                ])
            #expect(try await test.store.traces.get(projectID: project.id, id: "t1")?.observations.map(\.id) == ["o1", "o2"])
            #expect(try await test.store.traces.get(projectID: other.id, id: "t1")?.observations.map(\.cost) == [0.5, 0.5])
            if kind == .sqlite {
                // The orphan got a trace row; PostgreSQL's schema did not change.
                let lost = try #require(try await test.store.traces.get(projectID: project.id, id: "lost"))
                #expect(lost.observations.map(\.id) == ["o9"])
                #expect(lost.trace.startTime == Self.base.addingTimeInterval(5))
            }
            // After it: a retried observation adds nothing (per project), a new one adds to its own trace only,
            // and new traces' observations are theirs.
            let repeated = Observation(id: "o1", traceID: "t1", projectID: project.id, type: .generation, startTime: Self.base, model: "gpt-4o")
            let added = Observation(
                id: "o3", traceID: "t1", projectID: project.id, type: .generation, startTime: Self.base.addingTimeInterval(3),
                model: "gpt-4o", usage: TokenUsage(inputTokens: 5, outputTokens: 1), cost: 0.1)
            try await test.store.traces.insert([
                TraceBatchItem(trace: Trace(id: "t1", projectID: project.id, startTime: Self.base), observations: [repeated, added])
            ])
            try await test.store.traces.insert(Self.events(trace: "t2", project: project.id, observations: ["o1", "o2"], offset: 10))
            let page = try await test.store.traces.list(projectID: project.id, query: TraceQuery(limit: 10))
            let t1 = try #require(page.traces.first { $0.trace.id == "t1" })
            #expect(t1.observationCount == 3)
            #expect(t1.inputTokens == 25)
            #expect(try await test.store.traces.get(projectID: project.id, id: "t1")?.observations.map(\.id) == ["o1", "o2", "o3"])
            #expect(try await test.store.traces.get(projectID: project.id, id: "t2")?.observations.map(\.id) == ["o1", "o2"])
            #expect(try await test.store.traces.get(projectID: other.id, id: "t1")?.observations.map(\.id) == ["o1", "o2"])
        }
    }

    @Test("an observation whose trace has no event in the batch gets a trace row, and retention removes both", arguments: StoreKind.available)
    func observationWithoutTraceEvent(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let stray = Observation(id: "o1", traceID: "t9", projectID: project.id, type: .span, name: "step", startTime: Self.base)
            try await test.store.traces.insert([TraceBatchItem(trace: Trace(id: "t1", projectID: project.id, startTime: Self.base), observations: [stray])])
            let t9 = try #require(try await test.store.traces.get(projectID: project.id, id: "t9"))
            #expect(t9.observations.map(\.id) == ["o1"])
            #expect(try await test.store.traces.get(projectID: project.id, id: "t1")?.observations.isEmpty == true)
            // Newer traces stay; an old trace goes with its observations (a later trace with the same ids starts empty).
            try await test.store.traces.insert(Self.events(trace: "t2", project: project.id, observations: ["o2"], offset: 3600))
            #expect(try await test.store.traces.deleteOlderThan(projectID: project.id, cutoff: Self.base.addingTimeInterval(60)) == 2)
            #expect(try await test.store.traces.get(projectID: project.id, id: "t2")?.observations.map(\.id) == ["o2"])
            try await test.store.traces.insert([
                TraceBatchItem(
                    trace: Trace(id: "t9", projectID: project.id, startTime: Self.base.addingTimeInterval(7200)),
                    observations: [])
            ])
            #expect(try await test.store.traces.get(projectID: project.id, id: "t9")?.observations.isEmpty == true)
        }
    }

    @Test("a batch that cannot be stored fails whole and keeps nothing; the next batch is stored", arguments: StoreKind.available)
    func failedBatchKeepsNothing(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let good = Self.events(trace: "t1", project: project.id, observations: ["o1", "o2"])
            // Rows must belong to an existing project (a foreign key): this trace's observation cannot be stored.
            let orphan = Self.events(trace: "t2", project: "no-such-project", observations: ["o3"])
            await #expect(throws: (any Error).self) { try await test.store.traces.insert(good + orphan) }
            #expect(try await test.store.traces.get(projectID: project.id, id: "t1") == nil)
            #expect(try await test.store.traces.count(projectID: project.id) == 0)
            // The prepared statements are reset after the error and serve the next batch.
            try await test.store.traces.insert(good)
            #expect(try await test.store.traces.get(projectID: project.id, id: "t1")?.observations.map(\.id) == ["o1", "o2"])
        }
    }

    @Test("a retried batch adds nothing; an observation id is unique within its trace", arguments: StoreKind.available)
    func idempotentByTrace(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let batch = Self.events(trace: "t1", project: project.id, observations: ["o1", "o2"])
            try await test.store.traces.insert(batch)
            try await test.store.traces.insert(batch)
            let detail = try #require(try await test.store.traces.get(projectID: project.id, id: "t1"))
            #expect(detail.observations.map(\.id) == ["o1", "o2"])
            let summary = try #require(try await test.store.traces.list(projectID: project.id, query: TraceQuery(limit: 10)).traces.first)
            #expect(summary.observationCount == 2)
            #expect(summary.inputTokens == 20)
            #expect(summary.model == "gpt-4o")
            #expect(detail.trace.name == "turn")
            #expect(detail.trace.task == "chat")
            #expect(detail.trace.startTime == Self.base)  // the earliest event's start
            // The same observation id under another trace is that trace's own observation.
            try await test.store.traces.insert(Self.events(trace: "t2", project: project.id, observations: ["o1"], offset: 5))
            #expect(try await test.store.traces.get(projectID: project.id, id: "t2")?.observations.map(\.id) == ["o1"])
            #expect(try await test.store.traces.get(projectID: project.id, id: "t1")?.observations.count == 2)
        }
    }
}

@Suite("Trace batch merge")
struct TraceBatchMergeTests {
    @Test("one row per trace, merged in batch order, in order of first appearance")
    func merge() {
        let base = IngestLayoutContractTests.base
        var items = IngestLayoutContractTests.events(trace: "b", project: "p", observations: ["x", "y"])
        items += IngestLayoutContractTests.events(trace: "a", project: "p", observations: ["z"], offset: 7200)
        items.append(TraceBatchItem(trace: Trace(id: "b", projectID: "p", name: "renamed", startTime: base.addingTimeInterval(3)), observations: []))
        items.append(TraceBatchItem(trace: Trace(id: "b", projectID: "q", startTime: base), observations: []))
        let merged = TraceBatchItem.mergedTraces(items)
        #expect(merged.traces.map { "\($0.projectID)/\($0.id)" } == ["p/b", "p/a", "q/b"])
        let b = merged.traces[0]
        #expect(b.name == "renamed")
        #expect(b.userID == "u1")
        #expect(b.tags == ["web"])
        #expect(b.task == "chat")
        #expect(b.startTime == base)
        #expect(b.endTime == base.addingTimeInterval(1.5))
        let hour = TraceSQL.hour(Timestamp.micros(base))
        #expect(merged.hours.map { "\($0.projectID)@\($0.hour)" } == ["p@\(hour)", "p@\(hour + 3_600_000_000 * 2)", "q@\(hour)"])
    }
}
