import Foundation
import TernCore
import TernTestSupport
import Testing

@Suite("Storage contract: scores")
struct ScoreContractTests {
    @Test("scores: stored once per id, listed per trace in order, scoped to their project", arguments: StoreKind.available)
    func scores(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let a = try await test.store.projects.create(slug: "a", name: "A")
            let b = try await test.store.projects.create(slug: "b", name: "B")
            let start = Timestamp.date(Timestamp.micros(Date(timeIntervalSince1970: 1_800_000_000)))
            let scores = [
                Score(
                    id: "s1", projectID: a.id, traceID: "t1", name: "helpfulness", dataType: .numeric, numericValue: 0.8, source: .model,
                    comment: "clear answer", author: "judge:gpt-4o", createdAt: start),
                Score(
                    id: "s2", projectID: a.id, traceID: "t1", observationID: "o1", name: "tone", dataType: .categorical, stringValue: "polite",
                    source: .human, author: "user:u1", createdAt: start.addingTimeInterval(1)),
                Score(
                    id: "s3", projectID: a.id, traceID: "t2", name: "correct", dataType: .boolean, numericValue: 1, stringValue: "true",
                    source: .rule, createdAt: start.addingTimeInterval(2)),
                Score(id: "s1", projectID: b.id, traceID: "t1", name: "other", dataType: .numeric, numericValue: 3, source: .api, createdAt: start),
            ]
            try await test.store.scores.insert(scores)
            try await test.store.scores.insert([scores[0]])
            #expect(try await test.store.scores.count(projectID: a.id) == 3)
            #expect(try await test.store.scores.list(projectID: a.id, traceID: "t1") == [scores[0], scores[1]])
            #expect(try await test.store.scores.list(projectID: b.id, traceID: "t1") == [scores[3]])
            #expect(try await test.store.scores.list(projectID: b.id, traceID: "t2").isEmpty)
            // The numbers of many traces at once (drift's score.NAME): per trace and name, the mean; text scores left out.
            try await test.store.scores.insert([
                Score(id: "s4", projectID: a.id, traceID: "t1", name: "helpfulness", dataType: .numeric, numericValue: 0.4, source: .model, createdAt: start)
            ])
            let means = try await test.store.scores.numericMeans(projectID: a.id, traceIDs: ["t1", "t2", "t9", "t1"])
            #expect(Set(means.keys) == ["t1", "t2"] && means["t1"]?.keys.sorted() == ["helpfulness"] && means["t2"] == ["correct": 1])
            #expect(abs((means["t1"]?["helpfulness"] ?? 0) - 0.6) < 1e-12)
            #expect(try await test.store.scores.numericMeans(projectID: b.id, traceIDs: ["t1"]) == ["t1": ["other": 3]])
            #expect(try await test.store.scores.numericMeans(projectID: a.id, traceIDs: []).isEmpty)
        }
    }

    @Test("the data type a name holds is its oldest score's, per project", arguments: StoreKind.available)
    func dataTypeOfName(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let a = try await test.store.projects.create(slug: "a", name: "A")
            let b = try await test.store.projects.create(slug: "b", name: "B")
            let start = Timestamp.date(Timestamp.micros(Date(timeIntervalSince1970: 1_800_000_000)))
            #expect(try await test.store.scores.dataType(projectID: a.id, name: "quality") == nil)
            try await test.store.scores.insert([
                Score(
                    id: "late", projectID: a.id, traceID: "t1", name: "quality", dataType: .categorical, stringValue: "good", source: .api,
                    createdAt: start.addingTimeInterval(60)),
                Score(id: "early", projectID: a.id, traceID: "t2", name: "quality", dataType: .numeric, numericValue: 3, source: .api, createdAt: start),
                Score(
                    id: "other", projectID: b.id, traceID: "t1", name: "quality", dataType: .boolean, numericValue: 1, stringValue: "true",
                    source: .api, createdAt: start.addingTimeInterval(-60)),
            ])
            #expect(try await test.store.scores.dataType(projectID: a.id, name: "quality") == .numeric)
            #expect(try await test.store.scores.dataType(projectID: b.id, name: "quality") == .boolean)
            #expect(try await test.store.scores.dataType(projectID: a.id, name: "Quality") == nil, "names are case-sensitive")
        }
    }

    @Test("score configs: unique names per project, round trip", arguments: StoreKind.available)
    func configs(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let a = try await test.store.projects.create(slug: "a", name: "A")
            let b = try await test.store.projects.create(slug: "b", name: "B")
            let tone = ScoreConfig(
                id: TernID.make(), projectID: a.id, name: "tone", dataType: .categorical,
                categories: ["polite", "rude"], description: "How it sounds", createdAt: Timestamp.now())
            let range = ScoreConfig(
                id: TernID.make(), projectID: a.id, name: "quality", dataType: .numeric, minValue: 0, maxValue: 5,
                createdAt: Timestamp.now())
            _ = try await test.store.scoreConfigs.create(tone)
            _ = try await test.store.scoreConfigs.create(range)
            #expect(try await test.store.scoreConfigs.get(projectID: a.id, name: "tone") == tone)
            #expect(try await test.store.scoreConfigs.list(projectID: a.id).map(\.name) == ["quality", "tone"])
            #expect(try await test.store.scoreConfigs.get(projectID: b.id, name: "tone") == nil)
            var again = tone
            again.id = TernID.make()
            let error = await #expect(throws: TernError.self) { _ = try await test.store.scoreConfigs.create(again) }
            #expect(error?.kind == .conflict)
            #expect(error?.field == "name")
            again.projectID = b.id
            _ = try await test.store.scoreConfigs.create(again)
        }
    }
}

@Suite("Storage contract: retention")
struct RetentionContractTests {
    @Test("deleting old traces takes their observations and scores, in that project only", arguments: StoreKind.available)
    func deleteOld(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let a = try await test.store.projects.create(slug: "a", name: "A")
            let b = try await test.store.projects.create(slug: "b", name: "B")
            let now = Timestamp.now()
            func item(_ id: String, _ project: Project, daysAgo: Double) -> TraceBatchItem {
                let start = now.addingTimeInterval(-daysAgo * 86_400)
                return TraceBatchItem(
                    trace: Trace(id: id, projectID: project.id, startTime: start),
                    observations: [Observation(id: "o-\(id)", traceID: id, projectID: project.id, type: .span, startTime: start)])
            }
            try await test.store.traces.insert([item("old", a, daysAgo: 40), item("new", a, daysAgo: 1), item("old", b, daysAgo: 40)])
            try await test.store.scores.insert([
                Score(
                    id: "s", projectID: a.id, traceID: "old", name: "x", dataType: .numeric, numericValue: 1,
                    source: .api, createdAt: now)
            ])
            let deleted = try await test.store.traces.deleteOlderThan(projectID: a.id, cutoff: now.addingTimeInterval(-30 * 86_400))
            #expect(deleted == 1)
            #expect(try await test.store.traces.get(projectID: a.id, id: "old") == nil)
            #expect(try await test.store.traces.get(projectID: a.id, id: "new")?.observations.count == 1)
            #expect(try await test.store.scores.count(projectID: a.id) == 0)
            #expect(try await test.store.traces.get(projectID: b.id, id: "old")?.observations.count == 1, "another project is untouched")
            #expect(try await test.store.projects.setRetention(id: a.id, days: 30)?.retentionDays == 30)
        }
    }
}
