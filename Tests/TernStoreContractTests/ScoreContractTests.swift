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
                Score(id: "s1", projectID: a.id, traceID: "t1", name: "helpfulness", dataType: .numeric, numericValue: 0.8, source: .model,
                      comment: "clear answer", author: "judge:gpt-4o", createdAt: start),
                Score(id: "s2", projectID: a.id, traceID: "t1", observationID: "o1", name: "tone", dataType: .categorical, stringValue: "polite",
                      source: .human, author: "user:u1", createdAt: start.addingTimeInterval(1)),
                Score(id: "s3", projectID: a.id, traceID: "t2", name: "correct", dataType: .boolean, numericValue: 1, stringValue: "true",
                      source: .rule, createdAt: start.addingTimeInterval(2)),
                Score(id: "s1", projectID: b.id, traceID: "t1", name: "other", dataType: .numeric, numericValue: 3, source: .api, createdAt: start),
            ]
            try await test.store.scores.insert(scores)
            try await test.store.scores.insert([scores[0]])
            #expect(try await test.store.scores.count(projectID: a.id) == 3)
            #expect(try await test.store.scores.list(projectID: a.id, traceID: "t1") == [scores[0], scores[1]])
            #expect(try await test.store.scores.list(projectID: b.id, traceID: "t1") == [scores[3]])
            #expect(try await test.store.scores.list(projectID: b.id, traceID: "t2").isEmpty)
        }
    }

    @Test("score configs: unique names per project, round trip", arguments: StoreKind.available)
    func configs(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let a = try await test.store.projects.create(slug: "a", name: "A")
            let b = try await test.store.projects.create(slug: "b", name: "B")
            let tone = ScoreConfig(id: TernID.make(), projectID: a.id, name: "tone", dataType: .categorical,
                                   categories: ["polite", "rude"], description: "How it sounds", createdAt: Timestamp.now())
            let range = ScoreConfig(id: TernID.make(), projectID: a.id, name: "quality", dataType: .numeric, minValue: 0, maxValue: 5,
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
