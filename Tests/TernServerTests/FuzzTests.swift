import Foundation
import HummingbirdTesting
import TernCore
import TernServer
import TernTestSupport
import Testing
import TernMonitor

/// Property-based fuzzing of the running server over HTTP: `Tests/Fuzz/fuzz_server.py` (hypothesis, a fixed
/// seed) sends hostile ingest batches, OTLP bodies (JSON, protobuf, gzip, gzip bombs), trace/session/metrics
/// query parameters, web UI filters, dataset, score and prompt bodies, and gateway requests; every answer must
/// be below 500 (but for 503 with Retry-After and the gateway's 502/504) with a JSON error body, and nothing
/// may be half written. scripts/test installs hypothesis into the interop virtualenv.
@Suite("Fuzz: hypothesis against a live server", .timeLimit(.minutes(15)))
struct FuzzTests {
    static var hypothesisInstalled: Bool {
        return pythonImports(InteropTests.python, "hypothesis")
    }

    @Test("the fuzz run is part of scripts/test")
    func installedWhenRequired() {
        if InteropTests.required {
            #expect(Self.hypothesisInstalled, "TERN_TEST_REQUIRE_INTEROP=1 but `import hypothesis` fails in \(InteropTests.python)")
        }
    }

    @Test(
        "ingest, OTLP, trace queries, datasets, scores, prompts and the gateway survive hostile input; the store stays consistent",
        .enabled(if: FuzzTests.hypothesisInstalled, "the hypothesis Python package is not installed (scripts/test installs it)"),
        arguments: StoreKind.available)
    func fuzzServer(kind: StoreKind) async throws {
        // The run lasts about a minute: the test client's pooled connection must outlive it (idle timeout).
        try await withGateway(kind, setup: .live, configure: { $0.server.idleTimeoutSeconds = 3600 }) { g in
            let h = g.h
            let port = try #require(h.client.port)
            let (viewer, _) = try await KeyIssuer.issue(
                store: h.store, projectID: h.project.id, name: "fuzz-viewer", role: .viewer,
                createdBy: "test")
            // A signed-in member, so the web UI's filtered pages are fuzzed too.
            let password = "fuzz test password"
            _ = try await UserAdmin.create(
                store: h.store, hasher: .fastForTests, email: "fuzz@example.com", name: nil, role: .member,
                password: password)
            let login = try await h.call(.post, "/api/v1/auth/login", json: #"{"email": "fuzz@example.com", "password": "\#(password)"}"#)
            let cookie = try #require(login.headers[.setCookie]?.split(separator: ";").first.map(String.init), "\(login.text)")

            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fuzz/fuzz_server.py").path
            var environment = ProcessInfo.processInfo.environment
            environment["TERN_URL"] = "http://127.0.0.1:\(port)"
            environment["TERN_KEY"] = h.adminKey
            environment["TERN_VIEWER_KEY"] = viewer
            environment["TERN_COOKIE"] = cookie
            environment["TERN_GATEWAY_MODEL"] = "support-bot"  // defaultModels: the stub upstream behind OpenAI and Anthropic deployments
            environment["TERN_FUZZ_MAX_BODY"] = "\(64 * 1024)"  // withHarness's server.max_body_bytes
            environment["PYTHONUNBUFFERED"] = "1"
            // The rollups over the fuzzed data are run (and awaited) below instead of waiting for the job.
            environment["TERN_FUZZ_SETTLE"] = "0"
            if InstalledModel.installed { environment["TERN_LOCAL_MODEL"] = "1" }  // gateway requests may name all-minilm-l6-v2 too
            let (status, text) = try await runExternalProcess([InteropTests.python, script], environment: environment)
            print(text)  // one line per property: requests and statuses seen
            #expect(status == 0, "\(text)")
            #expect(text.contains("fuzz: all properties passed"), "\(text)")

            // The monitoring job (languages, rollups) over everything the run stored, then every summary read.
            await h.gateway.traces.flush()
            await MonitoringJob(store: h.store, logger: h.logs.logger(label: "fuzz-job")).run(detect: { _ in nil })
            let to = Int(Date().timeIntervalSince1970) + 86_400
            for path in [
                "/api/v1/metrics?from=0&to=\(to)&bucket=month", "/api/v1/metrics?from=\(to - 3 * 86_400)&to=\(to)&group_by=model",
                "/api/v1/traces?sort=cost", "/api/v1/traces?sort=latency", "/api/v1/sessions",
            ] {
                let reply = try await h.call(.get, path, key: h.adminKey)
                #expect(reply.status.code < 500, "\(path): \(reply.status) \(reply.text.prefix(300))")
            }
            for page in ["/ui/default/dashboard", "/ui/default/traces", "/ui/default/sessions", "/ui/default/users"] {
                let reply = try await h.call(.get, page, headers: [.cookie: cookie])
                #expect(reply.status == .ok, "\(page): \(reply.status)")
            }

            // The store is consistent after the run: every trace the list shows can be read, with its own
            // observations, the count agrees with the list, and no observation lacks its trace.
            await h.gateway.traces.flush()
            var query = TraceQuery(limit: 500)
            var listed = 0
            while true {
                let page = try await h.store.traces.list(projectID: h.project.id, query: query)
                for summary in page.traces {
                    listed += 1
                    let detail = try #require(
                        try await h.store.traces.get(projectID: h.project.id, id: summary.trace.id),
                        "trace \(summary.trace.id) is listed but cannot be read")
                    #expect(
                        detail.observations.allSatisfy { $0.traceID == summary.trace.id && $0.projectID == h.project.id },
                        "trace \(summary.trace.id) has observations of another trace")
                }
                guard let next = page.nextCursor, !page.traces.isEmpty else { break }
                query.cursor = next
            }
            #expect(listed > 0, "the fuzz run stored traces")
            #expect(try await h.store.traces.count(projectID: h.project.id) == listed, "every stored trace is listed")
            do {
                // Inserting the number of orphaned observations into a column that must be 0 fails when there is one.
                try await h.test.execute(sql: "CREATE TABLE fuzz_orphans (observations INTEGER NOT NULL CHECK (observations = 0))")
                try await h.test.execute(
                    sql: """
                        INSERT INTO fuzz_orphans (observations) SELECT count(*) FROM observations o
                        WHERE NOT EXISTS (SELECT 1 FROM traces t WHERE t.id = o.trace_id AND t.project_id = o.project_id)
                        """)
            } catch {
                Issue.record("observations without their trace after the fuzz run: \(error)")
            }
        }
    }
}
