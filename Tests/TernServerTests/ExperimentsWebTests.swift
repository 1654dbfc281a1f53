import Foundation
import HTTPTypes
import TernCore
import TernServer
import TernTestSupport
import Testing

@Suite("Web UI: experiments")
struct ExperimentsWebTests {
    @Test("runs list, a run's matrix with trace links and charts, and the comparison; outputs are escaped", arguments: StoreKind.available)
    func pages(kind: StoreKind) async throws {
        try await withGateway(kind, models: experimentModels) { g in
            let h = g.h
            try await ExperimentFixture.seed(h)
            // An item whose output (the echoed prompt) is markup.
            let hostile = try await h.call(.post, "/api/v1/datasets/words/items", key: h.adminKey,
                                           json: #"{"items": [{"id": "zz<i>evil</i>", "input": {"word": "<script>alert(1)</script>"}}]}"#)
            #expect(hostile.status == .created, "\(hostile.text)")
            var ids: [String] = []
            for prompt in ["qa@1", "qa@2"] {
                let id = try await ExperimentFixture.start(h, """
                    {"name": "<b>run</b> \(prompt)", "dataset": "words", "prompts": ["\(prompt)"], "models": ["echo-a", "echo-b"],
                     "assert": [\(ExperimentFixture.assertion)]}
                    """)
                #expect(try await ExperimentFixture.finished(h, id).json["status"] as? String == "completed")
                ids.append(id)
            }
            let cookie = try await WebUITests.signIn(h)

            let list = try await h.call(.get, "/ui/default/experiments", headers: [.cookie: cookie])
            #expect(list.status == .ok, "\(list.text.prefix(800))")
            #expect(list.text.contains(#"id="experiments-table""#))
            #expect(list.text.contains(#"href="/ui/default/experiments/\#(ids[0])""#))
            #expect(list.text.contains("&lt;b&gt;run&lt;/b&gt; qa@1") && !list.text.contains("<b>run</b>"))
            #expect(list.text.contains("words@2"))
            #expect(list.text.contains(#"id="nav-experiments" href="/ui/default/experiments""#))

            let matrix = try await h.call(.get, "/ui/default/experiments/\(ids[0])", headers: [.cookie: cookie])
            #expect(matrix.status == .ok, "\(matrix.text.prefix(800))")
            #expect(matrix.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(matrix.text.contains(#"id="experiment-matrix""#))
            #expect(matrix.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the output is shown, escaped")
            #expect(!matrix.text.contains("<script>alert(1)"), "and never as markup")
            #expect(!matrix.text.contains("<i>evil</i>"))
            let cells = try await ExperimentFixture.cells(h, ids[0])
            let traceID = try #require(cells.first?["trace_id"] as? String)
            #expect(matrix.text.contains(#"href="/ui/default/traces/\#(traceID)""#), "cells link to their traces")
            #expect(matrix.text.contains("PASS") && matrix.text.contains("FAIL"))
            #expect(matrix.text.contains("<svg"), "pass rate and cost charts")
            #expect(matrix.text.contains("qa@1") && matrix.text.contains("echo-b"))
            let trace = try await h.call(.get, "/ui/default/traces/\(traceID)", headers: [.cookie: cookie])
            #expect(trace.status == .ok)

            let compare = try await h.call(.get, "/ui/default/experiments/compare?base=\(ids[0])&head=\(ids[1])", headers: [.cookie: cookie])
            #expect(compare.status == .ok, "\(compare.text.prefix(800))")
            #expect(compare.text.contains(#"id="significance""#) && compare.text.contains("McNemar"))
            #expect(compare.text.contains(#"id="regression-count">4<"#), "beta and gamma regress under both models")
            let regressions = try #require(compare.text.range(of: #"id="regressions""#))
            let improvements = try #require(compare.text.range(of: #"id="improvements""#))
            #expect(regressions.lowerBound < improvements.lowerBound, "regressions come first")
            #expect(!compare.text.contains("<script>alert(1)") && !compare.text.contains("<b>run</b>"))
            let unknown = try await h.call(.get, "/ui/default/experiments/compare?base=\(ids[0])&head=nope", headers: [.cookie: cookie])
            #expect(unknown.status == .notFound)
            let picker = try await h.call(.get, "/ui/default/experiments/compare", headers: [.cookie: cookie])
            #expect(picker.status == .ok)
        }
    }
}
