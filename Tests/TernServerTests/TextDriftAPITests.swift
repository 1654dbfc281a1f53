import Foundation
import TernCore
import TernMonitor
import TernTestSupport
import Testing

/// Drift of the text of traffic through the local embedding model (all-minilm-l6-v2, pulled by scripts/test):
/// the drift endpoint's `text=`, drift monitors' `text`, topics over time and the topics page.
@Suite("Text drift and topics API")
struct TextDriftAPITests {
    static let billing = [
        "How do I update the credit card used for billing?", "Why was I charged twice this month?", "Can I get a refund for my last invoice?",
        "Where can I download my invoice as a PDF?", "My payment failed, what should I do?", "How do I change my billing address?",
        "Is there a discount for annual billing?", "Why did my subscription price go up?",
    ]
    static let login = [
        "I forgot my password and cannot log in", "How do I reset two-factor authentication?", "My account is locked after too many attempts",
        "The login page keeps showing an error", "How do I change the email I use to sign in?", "I never received the password reset email",
    ]
    static let shipping = [
        "Where is my package? The tracking has not updated", "My order arrived damaged, how do I return it?",
        "Can I change the delivery address of my shipment?", "How long does international shipping take?",
        "The courier left my parcel at the wrong door", "Do you ship to Canada and what are the delivery fees?",
    ]

    /// 48 traces a day over two days, inputs as chat messages: the older day asks about billing and logins, the
    /// last day half about shipping (a topic the older day never had).
    static func seed(_ h: Harness, now: Date, prefix: String = "t") async throws {
        var items: [TraceBatchItem] = []
        let suffixes = ["", " Thanks.", " Please help.", " Any idea?"]
        for index in 0..<96 {
            let recent = index < 48
            let start = now.addingTimeInterval(-Double(index) * 1_790 - 60)
            let pool = recent && index % 2 == 0 ? shipping : (index % 4 < 2 ? billing : login)
            let question = pool[(index / 4) % pool.count] + suffixes[(index / 3) % suffixes.count]
            let input = #"[{"role":"system","content":"You are a support agent."},{"role":"user","content":"\#(question)"}]"#
            let observation = Observation(
                id: "\(prefix)o\(index)", traceID: "\(prefix)\(index)", projectID: h.project.id, type: .generation, name: "chat", startTime: start,
                endTime: start.addingTimeInterval(1), model: "gpt-4o-mini", usage: TokenUsage(inputTokens: 30, outputTokens: 20))
            items.append(
                TraceBatchItem(
                    trace: Trace(
                        id: "\(prefix)\(index)", projectID: h.project.id, input: input, output: "We are on it.", startTime: start,
                        endTime: start.addingTimeInterval(1)),
                    observations: [observation]))
        }
        try await h.store.traces.insert(items)
    }

    static func iso(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }

    @Test("the drift endpoint compares the inputs' text: the shipping day drifts and its new topic is named", arguments: StoreKind.available)
    func driftEndpoint(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let now = Date()
            try await Self.seed(h, now: now)
            let day = now.addingTimeInterval(-86_400), before = now.addingTimeInterval(-2 * 86_400)
            let reply = try await h.call(
                .get,
                "/api/v1/monitoring/drift?reference_from=\(Self.iso(before))&reference_to=\(Self.iso(day))&from=\(Self.iso(day))&to=\(Self.iso(now))&text=input&column=latency_ms",
                key: h.adminKey)
            #expect(reply.status == .ok, "\(reply.text)")
            let text = try #require((reply.json["text_columns"] as? [[String: Any]])?.first, "\(reply.text)")
            #expect(text["column"] as? String == "input" && text["model"] as? String == "all-minilm-l6-v2" && text["method"] as? String == "model")
            #expect(text["drift_detected"] as? Bool == true && (text["reference_count"] as? Int ?? 0) + (text["current_count"] as? Int ?? 0) == 96, "\(text)")
            let topics = try #require(text["topics"] as? [String: Any])
            #expect(topics["new_topic"] as? Bool == true, "\(topics)")
            let terms = Set(topics["new_topic_terms"] as? [String] ?? [])
            #expect(!terms.isDisjoint(with: ["shipping", "delivery", "package", "parcel", "courier", "shipment", "damaged", "tracking", "canada"]), "\(terms)")
            #expect((reply.json["columns"] as? [[String: Any]])?.map { $0["column"] as? String } == ["latency_ms"], "only the named column besides")
            #expect(reply.json["number_drifted"] as? Int == 1 && reply.json["share_drifted"] as? Double == 0.5)

            // The same day against itself: no drift, no new topic.
            let steady = try await h.call(
                .get,
                "/api/v1/monitoring/drift?reference_from=\(Self.iso(before))&reference_to=\(Self.iso(day))&from=\(Self.iso(before))&to=\(Self.iso(day))&text=input",
                key: h.adminKey)
            let steadyText = try #require((steady.json["text_columns"] as? [[String: Any]])?.first, "\(steady.text)")
            #expect(steadyText["drift_detected"] as? Bool == false, "\(steadyText)")

            for (query, field) in [("text=vibes", "text"), ("text=input&text_method=guess", "text_method"), ("text=input&text_rows=5", "text_rows")] {
                let bad = try await h.call(
                    .get, "/api/v1/monitoring/drift?reference_from=\(Self.iso(before))&reference_to=\(Self.iso(day))&\(query)", key: h.adminKey)
                #expect(bad.status == .badRequest && bad.errorField == field, "\(query): \(bad.text)")
            }
        }
    }

    @Test("a drift monitor with text reports the input as drifted; an unknown text column is refused by name")
    func monitor() async throws {
        try await withHarness { h in
            let now = Date()
            try await Self.seed(h, now: now)
            let created = try await h.call(
                .post, "/api/v1/monitoring/drift-monitors", key: h.adminKey,
                json: #"{"name": "topics", "window_seconds": 86400, "columns": ["latency_ms"], "text": ["input"], "text_rows": 200}"#)
            #expect(created.status == .created && created.json["text"] as? [String] == ["input"] && created.json["text_rows"] as? Int == 200, "\(created.text)")
            let report = try await h.call(.post, "/api/v1/monitoring/drift-monitors/topics/run", key: h.adminKey)
            #expect(report.status == .created, "\(report.text)")
            #expect(report.json["drifted"] as? [String] == ["input"] && report.json["share_drifted"] as? Double == 0.5, "\(report.text)")
            let full = try #require(report.json["report"] as? [String: Any])
            #expect(((full["text_columns"] as? [[String: Any]])?.first?["topics"] as? [String: Any])?["new_topic"] as? Bool == true)
            let bad = try await h.call(.post, "/api/v1/monitoring/drift-monitors", key: h.adminKey, json: #"{"name": "x", "text": ["body"]}"#)
            #expect(bad.status == .badRequest && bad.errorField == "text", "\(bad.text)")
        }
    }

    @Test("topics over two days by hour: the shipping topic appears on the second day and is new; the page draws it", arguments: StoreKind.available)
    func topics(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let now = Date()
            try await Self.seed(h, now: now)
            let from = now.addingTimeInterval(-2 * 86_400)
            let reply = try await h.call(.get, "/api/v1/monitoring/topics?from=\(Self.iso(from))&to=\(Self.iso(now))", key: h.adminKey)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.json["bucket"] as? String == "hour" && reply.json["sampled"] as? Int == 96, "\(reply.text.prefix(400))")
            #expect((reply.json["buckets"] as? [[String: Any]])?.count == 48)
            let clusters = try #require(reply.json["clusters"] as? [[String: Any]])
            let new = clusters.filter { $0["new"] as? Bool == true }
            #expect(!new.isEmpty && reply.json["new_topic"] as? Bool == true, "\(clusters)")
            let newTerms = Set(new.flatMap { $0["terms"] as? [String] ?? [] })
            #expect(
                !newTerms.isDisjoint(with: ["shipping", "delivery", "package", "parcel", "courier", "shipment", "damaged", "tracking", "canada"]), "\(newTerms)"
            )
            #expect(!new.contains { Set($0["terms"] as? [String] ?? []).contains("password") }, "a topic of both days is not new")

            for (query, field) in [("bucket=week", "bucket"), ("field=metadata", "field"), ("k=1", "k"), ("sample=5", "sample")] {
                let bad = try await h.call(.get, "/api/v1/monitoring/topics?\(query)", key: h.adminKey)
                #expect(bad.status == .badRequest && bad.errorField == field, "\(query): \(bad.text)")
            }
            let empty = try await h.call(.get, "/api/v1/monitoring/topics?from=2020-01-01T00:00:00Z&to=2020-01-03T00:00:00Z", key: h.adminKey)
            #expect(empty.status == .ok && empty.json["sampled"] as? Int == 0 && (empty.json["note"] as? String)?.isEmpty == false)

            let member = try await Web.signIn(h, email: "m@example.com", name: "M", role: "member")
            let page = try await Web.get(h, "/ui/default/monitoring/topics?range=7d", cookie: member)
            #expect(
                page.status == .ok && page.text.contains(#"id="topics-table""#) && page.text.contains(#"<span class="badge error">new</span>"#),
                "\(page.text.prefix(500))")
            #expect(page.text.contains("<svg") && page.text.contains(#"id="topics-sampled">96<"#))
        }
    }

    @Test(
        "a dataset version as the reference: the day with shipping questions drifts from what the dataset expected, on the endpoint and in a monitor",
        arguments: StoreKind.available)
    func datasetReference(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let now = Date()
            try await Self.seed(h, now: now)
            _ = try await h.store.datasets.create(projectID: h.project.id, name: "expected", description: nil)
            let items = (0..<48).map { index in
                let pool = index % 2 == 0 ? Self.billing : Self.login
                return DatasetItem(
                    id: "i\(index)", input: ["question": .string(pool[(index / 2) % pool.count])], expectedOutput: "We are on it.",
                    metadata: ["language": "en"])
            }
            _ = try await h.store.datasets.apply(projectID: h.project.id, dataset: "expected", upserts: items, removals: [], author: "test", message: nil)
            let day = now.addingTimeInterval(-86_400)
            let reply = try await h.call(
                .get, "/api/v1/monitoring/drift?reference_dataset=expected&from=\(Self.iso(day))&to=\(Self.iso(now))&text=input", key: h.adminKey)
            #expect(reply.status == .ok, "\(reply.text)")
            let reference = reply.json["reference"] as? [String: Any]
            #expect(reference?["dataset"] as? String == "expected" && reference?["rows"] as? Int == 48, "\(reply.text.prefix(300))")
            let text = try #require((reply.json["text_columns"] as? [[String: Any]])?.first, "\(reply.text)")
            #expect(text["drift_detected"] as? Bool == true && (text["topics"] as? [String: Any])?["new_topic"] as? Bool == true, "\(text)")
            let compared = Set((reply.json["columns"] as? [[String: Any]] ?? []).compactMap { $0["column"] as? String })
            #expect(compared.contains("input_chars") && !compared.contains("latency_ms"), "items have no latency: \(compared)")

            let monitor = try await h.call(
                .post, "/api/v1/monitoring/drift-monitors", key: h.adminKey,
                json: #"{"name": "vs-dataset", "reference": {"dataset": "expected", "version": 1}, "columns": ["input_chars"], "text": ["input"]}"#)
            #expect(monitor.status == .created && (monitor.json["reference"] as? [String: Any])?["dataset"] as? String == "expected", "\(monitor.text)")
            let report = try await h.call(.post, "/api/v1/monitoring/drift-monitors/vs-dataset/run", key: h.adminKey)
            #expect((report.json["drifted"] as? [String] ?? []).contains("input") && report.json["reference_rows"] as? Int == 48, "\(report.text)")

            for (query, field) in [("reference_dataset=nope", "reference_dataset"), ("reference_dataset=expected&reference_version=0", "reference_version")] {
                let bad = try await h.call(.get, "/api/v1/monitoring/drift?\(query)", key: h.adminKey)
                #expect(bad.status == .badRequest && bad.errorField == field, "\(query): \(bad.text)")
            }
            for (body, field) in [
                (#"{"name": "x", "reference": {"dataset": ""}}"#, "reference.dataset"),
                (#"{"name": "x", "reference": {"dataset": "d", "version": 0}}"#, "reference.version"),
                (#"{"name": "x", "reference": {"dataset": "d", "colour": 1}}"#, "reference.colour"),
            ] {
                let bad = try await h.call(.post, "/api/v1/monitoring/drift-monitors", key: h.adminKey, json: body)
                #expect(bad.status == .badRequest && bad.errorField == field, "\(body): \(bad.text)")
            }
            // A monitor whose dataset went away reports why instead of failing.
            let gone = try await h.call(
                .post, "/api/v1/monitoring/drift-monitors", key: h.adminKey, json: #"{"name": "gone", "reference": {"dataset": "deleted-one"}}"#)
            #expect(gone.status == .created)
            let goneReport = try await h.call(.post, "/api/v1/monitoring/drift-monitors/gone/run", key: h.adminKey)
            #expect(((goneReport.json["report"] as? [String: Any])?["note"] as? String)?.contains("deleted-one") == true, "\(goneReport.text)")
        }
    }
}
