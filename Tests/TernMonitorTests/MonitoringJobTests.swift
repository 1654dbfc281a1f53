import Foundation
import TernCore
@testable import TernMonitor
import TernTestSupport
import Testing

@Suite("Monitoring job: languages and rollups of the filling hour")
struct MonitoringJobsTests {
    static func trace(_ id: String, project: String, at start: Date, input: String? = nil, language: String? = "en") -> TraceBatchItem {
        TraceBatchItem(
            trace: Trace(
                id: id, projectID: project, metadata: language.map { ["language": .string($0)] }, input: input,
                startTime: start, endTime: start.addingTimeInterval(1)), observations: [])
    }

    static func traces(in store: any TernStore, project: String, around now: Date) async throws -> Int {
        let hour = Timestamp.date(Timestamp.hour(Timestamp.micros(now)))
        let result = try await MetricsEngine.run(
            MetricsQuery(filter: TraceFilter(from: hour, to: hour.addingTimeInterval(3600)), bucket: .hour),
            projectID: project, repository: store.metrics)
        #expect(result.source == "rollup")
        return result.totals.traces
    }

    @Test("the filling hour is recomputed, then left for the next round; a detected language lands; the wait grows with the cost")
    func fillingHour() async throws {
        try await withTestStore(.sqlite) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            // A fixed clock: half past an hour, and the job's own instants, so the test never depends on
            // when it runs (an hour boundary) or how fast the machine is (the 10 s wait).
            let now = Timestamp.date(Timestamp.hour(Timestamp.micros(Date(timeIntervalSince1970: 1_795_000_000)))).addingTimeInterval(1800)
            let start = ContinuousClock.now
            try await test.store.traces.insert([
                Self.trace("t1", project: project.id, at: now),
                Self.trace("t2", project: project.id, at: now, input: "Bonjour, je voudrais changer mon mot de passe s'il vous plaît.", language: nil),
            ])
            let job = MonitoringJob(store: test.store, logger: .quiet)
            await job.run(detect: { _ in "fr" }, date: now, now: start)
            #expect(try await Self.traces(in: test.store, project: project.id, around: now) == 2)
            #expect(try await test.store.traces.get(projectID: project.id, id: "t2")?.trace.language == "fr")
            // 5 s later the filling hour waits (its mark stays), so a new trace is not counted yet.
            try await test.store.traces.insert([Self.trace("t3", project: project.id, at: now)])
            await job.run(detect: { _ in nil }, date: now.addingTimeInterval(5), now: start + .seconds(5))
            #expect(try await Self.traces(in: test.store, project: project.id, around: now) == 2)
            let marks = try await test.store.metrics.dirtyBuckets(limit: 100).filter { $0.projectID == project.id }
            #expect(marks.map(\.bucket) == [Timestamp.hour(Timestamp.micros(now))])
            // A past hour is never deferred.
            let past = now.addingTimeInterval(-7200)
            try await test.store.traces.insert([Self.trace("t4", project: project.id, at: past)])
            await job.run(detect: { _ in nil }, date: now.addingTimeInterval(6), now: start + .seconds(6))
            #expect(try await Self.traces(in: test.store, project: project.id, around: past) == 1)
            // Once the wait has passed (and as soon as the hour is a past one), the filling hour is recomputed.
            await job.run(detect: { _ in nil }, date: now.addingTimeInterval(60), now: start + .seconds(60))
            #expect(try await Self.traces(in: test.store, project: project.id, around: now) == 3)
        }
        #expect(MonitoringJob.currentHourWait(after: .milliseconds(200)) == .seconds(10))
        #expect(MonitoringJob.currentHourWait(after: .seconds(3)) == .seconds(27))
    }
}
