import Foundation
import HTTPTypes
import Logging
import TernCore
import TernGateway
import TernServer
import TernTestSupport
import Testing

/// Issue 14, defects 4 and 5: on a full or read-only database no acknowledged trace is lost silently;
/// `/readyz` fails while the store cannot write; ingest answers 503 with Retry-After; everything recovers
/// by itself when the disk is back; a trace journaled before the answer survives the process.
@Suite("Trace loss: full and read-only stores, the journal")
struct TraceLossTests {
    static func metric(_ text: String, _ name: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    @Test("/metrics says where the memory is: resident bytes, malloc's heap in use and kept free, and SQLite's own")
    func memoryGauges() async throws {
        try await withGateway(.sqlite) { g in
            _ = try await g.chat(text: "something to store")
            await g.h.gateway.traces.flush()
            let metrics = try await g.h.call(.get, "/metrics").text
            #expect((Self.metric(metrics, "tern_process_resident_bytes") ?? 0) > 10_000_000, "\(metrics)")
            #expect((Self.metric(metrics, #"tern_process_heap_bytes{state="in_use"}"#) ?? 0) > 1_000_000, "\(metrics)")
            #expect(Self.metric(metrics, #"tern_process_heap_bytes{state="free"}"#) != nil, "\(metrics)")
            let sqlite = Self.metric(metrics, "tern_sqlite_memory_bytes") ?? 0
            #expect(sqlite > 0, "\(metrics)")
        }
    }

    @Test(
        "a gateway call on a full or read-only store answers 200, its trace waits in the journal; /readyz and ingest say 503; when writes work again the trace is stored and /readyz recovers",
        arguments: StoreKind.available, [UnwritableMode.full, .readOnly])
    func unwritable(kind: StoreKind, mode: UnwritableMode) async throws {
        // SQLite's file and the data directory (the journal) sit on a 24 MB filesystem of the test's own.
        try await withGateway(kind, filesystemMegabytes: 24) { g in
            let h = g.h
            #expect(try await h.call(.get, "/readyz").status == .ok)
            try await h.test.setUnwritable(mode)
            let chat = try await g.chat(text: "while the disk is full")
            #expect(chat.status == .ok, "the call itself does not depend on the store")
            let traceID = try #require(chat.headers[HTTPField.Name("x-tern-trace-id")!])
            await h.gateway.traces.flush()
            #expect(h.gateway.traces.stats.written == 0)
            #expect(h.gateway.traces.stats.dropped == 0, "kept in the journal (or, on a read-only disk, in memory): not lost")

            let ready = try await h.call(.get, "/readyz")
            #expect(ready.status == .serviceUnavailable, "\(ready.text)")
            #expect(ready.text.contains("cannot write"), "\(ready.text)")
            #expect(ready.headers[.retryAfter] != nil)
            let metrics = try await h.call(.get, "/metrics").text
            #expect(Self.metric(metrics, "tern_store_writable") == 0, "\(metrics)")
            // On the full disk too: the journal's room was reserved before the disk filled up.
            #expect((Self.metric(metrics, "tern_trace_journal_files_to_replay") ?? 0) >= 1, "\(metrics)")
            #expect(metrics.contains(#"tern_traces_lost_total{reason="store_failed"} 0"#), "\(metrics)")

            let ingest = try await h.call(
                .post, "/api/v1/ingest", key: h.adminKey,
                json: #"{"batch":[{"id":"e","type":"trace-create","body":{"id":"ingested"}}]}"#)
            #expect(ingest.status == .serviceUnavailable, "\(ingest.text)")
            #expect(ingest.errorCode == "store_unavailable")
            #expect(ingest.headers[.retryAfter] == "5")
            let otlp = try await h.call(.post, "/v1/traces", key: h.adminKey, json: OTLPSamples.oneSpan)
            #expect(otlp.status == .serviceUnavailable, "\(otlp.text)")

            try await h.test.setUnwritable(nil)
            await h.gateway.traces.replayPending()
            #expect(try await h.store.traces.get(projectID: h.project.id, id: traceID) != nil, "the acknowledged trace was stored")
            #expect(h.gateway.traces.stats.replayed == 1)
            #expect(try await h.call(.get, "/readyz").status == .ok)
            let after = try await h.call(.get, "/metrics").text
            #expect(Self.metric(after, "tern_store_writable") == 1)
            #expect(Self.metric(after, "tern_trace_journal_files_to_replay") == 0)
            #expect(
                try await h.call(
                    .post, "/api/v1/ingest", key: h.adminKey,
                    json: #"{"batch":[{"id":"e","type":"trace-create","body":{"id":"ingested"}}]}"#
                ).status.code == 207)
        }
    }

    @Test("without the journal, refused traces wait in a bounded retry buffer; past its bound they are counted as lost by reason, and exported")
    func countedWithoutJournal() async throws {
        try await withGateway(
            .sqlite,
            configure: { config in
                config.gateway.traceJournal = false
                config.gateway.traceQueueMaxBytes = 40_000
            }, filesystemMegabytes: 24
        ) { g in
            try await g.h.test.setUnwritable(.readOnly)
            #expect(try await g.chat(text: String(repeating: "a", count: 12_000)).status == .ok)
            await g.h.gateway.traces.flush()
            #expect(g.h.gateway.traces.stats.retrying == 1)
            #expect(try await g.chat(text: String(repeating: "b", count: 12_000)).status == .ok)
            await g.h.gateway.traces.flush()
            #expect(g.h.gateway.traces.stats.lost[.storeFailed] == 1, "the second did not fit in the retry buffer")
            let metrics = try await g.h.call(.get, "/metrics").text
            #expect(metrics.contains(#"tern_traces_lost_total{reason="store_failed"} 1"#), "\(metrics)")
            #expect(Self.metric(metrics, "tern_traces_dropped_total") == 1)
            try await g.h.test.setUnwritable(nil)
            await g.h.gateway.traces.replayPending()
            #expect(try await g.h.store.traces.count(projectID: g.h.project.id) == 1, "the buffered one is stored once the disk is back")
        }
    }

    @Test("the queue is bounded in bytes too: a trace that would pass the bound is dropped and counted as queue_full")
    func boundedBytes() async throws {
        try await withTestStore(.sqlite) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let writer = TraceWriter(store: test.store, capacity: 1000, capacityBytes: 40_000, logger: .quiet)
            func item(_ size: Int) -> TraceBatchItem {
                TraceBatchItem(
                    trace: Trace(id: TernID.make(), projectID: project.id, input: String(repeating: "x", count: size), startTime: Date()),
                    observations: [])
            }
            #expect(writer.enqueue(item(30_000)))
            #expect(!writer.enqueue(item(30_000)), "over the byte bound")
            #expect(writer.enqueue(item(1_000)))
            #expect(writer.stats.lost[.queueFull] == 1)
            #expect(writer.stats.pendingBytes < 40_000)
            let run = Task { await writer.run() }
            await writer.flush()
            #expect(try await test.store.traces.count(projectID: project.id) == 2)
            writer.finish()
            await run.value
        }
    }

    @Test("at its byte bound the queue spills to the journal instead of dropping: memory stays bounded and every trace is stored")
    func spillToJournal() async throws {
        try await withTestStore(.sqlite) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let journal = try TraceJournal(root: (test.directory as NSString).appendingPathComponent("journal"), logger: .quiet)
            let writer = TraceWriter(store: test.store, capacity: 1000, capacityBytes: 30_000, journal: journal, logger: .quiet)
            for index in 0..<200 {
                #expect(
                    writer.enqueue(
                        TraceBatchItem(
                            trace: Trace(
                                id: "s\(index)", projectID: project.id, input: String(repeating: "z", count: 500),
                                startTime: Date()), observations: [])))
            }
            #expect(writer.stats.pendingBytes <= 30_000)
            #expect(writer.stats.spilled > 150, "\(writer.stats)")
            #expect(writer.stats.dropped == 0)
            let run = Task { await writer.run() }
            await writer.flush()
            await writer.replayPending()
            #expect(try await test.store.traces.count(projectID: project.id) == 200)
            #expect(writer.stats.replayed == writer.stats.spilled, "the replay skipped what the queue had stored: \(writer.stats)")
            writer.finish()
            await run.value
            #expect(journal.stats.segmentsToReplay == 0)
        }
    }

    @Test("traces journaled by a process that never stored them (killed) are replayed by the next one; a torn last line is skipped")
    func replayAfterKill() async throws {
        try await withTestStore(.sqlite) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let root = (test.directory as NSString).appendingPathComponent("journal")
            let ids = (0..<25).map { _ in TernID.make() }
            do {
                // The first "process": journals and queues, and dies before its writer runs.
                let journal = try TraceJournal(root: root, logger: .quiet)
                let writer = TraceWriter(store: test.store, capacity: 100, journal: journal, logger: .quiet)
                for id in ids {
                    #expect(writer.enqueue(TraceBatchItem(trace: Trace(id: id, projectID: project.id, input: "hi", startTime: Date()), observations: [])))
                }
            }
            // A crash in the middle of a write leaves half a line.
            let folder = try #require(try FileManager.default.contentsOfDirectory(atPath: root).first)
            let segment = (root as NSString).appendingPathComponent("\(folder)/1.jsonl")
            let handle = try #require(FileHandle(forWritingAtPath: segment))
            handle.seekToEndOfFile()
            handle.write(Data(#"{"trace":{"id":"torn","proj"#.utf8))
            try handle.close()

            let journal = try TraceJournal(root: root, logger: .quiet)
            #expect(journal.stats.segmentsToReplay == 1)
            let writer = TraceWriter(store: test.store, capacity: 100, journal: journal, logger: .quiet)
            await writer.replayPending()
            #expect(try await test.store.traces.count(projectID: project.id) == ids.count)
            #expect(writer.stats.replayed == ids.count)
            #expect(writer.stats.lost[.unreadable] == 1)
            #expect(journal.stats.segmentsToReplay == 0)
            #expect(!FileManager.default.fileExists(atPath: (root as NSString).appendingPathComponent(folder)), "the adopted folder is gone")
            // A second replay stores nothing twice.
            await writer.replayPending()
            #expect(try await test.store.traces.count(projectID: project.id) == ids.count)
        }
    }

    @Test("a stop does not wait for a long journal backlog: past its replay budget the files stay for the next start, which stores them")
    func stopLeavesBacklog() async throws {
        try await withTestStore(.sqlite) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let root = (test.directory as NSString).appendingPathComponent("journal")
            do {
                // A process that journaled traces and died before storing them.
                let journal = try TraceJournal(root: root, logger: .quiet)
                let writer = TraceWriter(store: test.store, capacity: 100, journal: journal, logger: .quiet)
                for index in 0..<30 {
                    writer.enqueue(TraceBatchItem(trace: Trace(id: "b\(index)", projectID: project.id, input: "hi", startTime: Date()), observations: []))
                }
            }
            // The next one is asked to stop at once, with no time to replay.
            let journal = try TraceJournal(root: root, logger: .quiet)
            let writer = TraceWriter(store: test.store, capacity: 100, batchSize: 10, journal: journal, shutdownReplayBudget: .zero, logger: .quiet)
            writer.finish()
            await writer.run()
            #expect(try await test.store.traces.count(projectID: project.id) == 0)
            #expect(journal.stats.segmentsToReplay == 1)
            // The start after stores every trace.
            let next = TraceWriter(store: test.store, capacity: 100, journal: try TraceJournal(root: root, logger: .quiet), logger: .quiet)
            await next.replayPending()
            #expect(try await test.store.traces.count(projectID: project.id) == 30)
        }
    }

    @Test("a journal segment is deleted once every trace in it is stored; the journal stays small under steady traffic")
    func segmentsGo() async throws {
        try await withTestStore(.sqlite) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let root = (test.directory as NSString).appendingPathComponent("journal")
            let journal = try TraceJournal(root: root, segmentBytes: 4096, logger: .quiet)
            let writer = TraceWriter(store: test.store, capacity: 1000, journal: journal, logger: .quiet)
            let run = Task { await writer.run() }
            for round in 0..<5 {
                for index in 0..<40 {
                    writer.enqueue(
                        TraceBatchItem(
                            trace: Trace(
                                id: "r\(round)-\(index)", projectID: project.id, input: String(repeating: "y", count: 200),
                                startTime: Date()), observations: []))
                }
                await writer.flush()
            }
            #expect(try await test.store.traces.count(projectID: project.id) == 200)
            // Only the segment being written remains (at most its 4 KiB).
            #expect(journal.stats.bytes <= 4096, "\(journal.stats)")
            writer.finish()
            await run.value
            // A clean stop leaves nothing for the next start to replay.
            #expect(journal.stats.bytes == 0)
            let left = try FileManager.default.subpathsOfDirectory(atPath: root).filter { $0.hasSuffix(".jsonl") }
            #expect(left.isEmpty, "\(left)")
        }
    }
}

enum OTLPSamples {
    static let oneSpan = """
        {"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",
         "spanId":"b7ad6b7169203331","name":"chat","startTimeUnixNano":"1767225600000000000","endTimeUnixNano":"1767225601000000000",
         "attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}}]}]}]}]}
        """
}
