import CompressNIO
import Foundation
import HTTPTypes
import NIOCore
import TernCore
import TernServer
import TernTestSupport
import Testing

@Suite("OTLP/JSON ingest")
struct OTLPTests {
    static let traceID = "5b8efff798038103d269b633813fc60c"
    static let payload = """
        {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"support-app"}},
                                                    {"key":"service.version","value":{"stringValue":"1.4.2"}}]},
          "scopeSpans":[{"scope":{"name":"app"},"spans":[
            {"traceId":"\(traceID)","spanId":"eee19b7ec3c1b174","name":"handle ticket","kind":1,
             "startTimeUnixNano":"1800000000000000000","endTimeUnixNano":"1800000002000000000",
             "attributes":[{"key":"user.id","value":{"stringValue":"ada"}},{"key":"session.id","value":{"stringValue":"s-42"}}]},
            {"traceId":"\(traceID)","spanId":"eee19b7ec3c1b173","parentSpanId":"eee19b7ec3c1b174","name":"chat gpt-4o-mini","kind":3,
             "startTimeUnixNano":"1800000000500000000","endTimeUnixNano":"1800000001500000000",
             "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
                           {"key":"gen_ai.system","value":{"stringValue":"openai"}},
                           {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}},
                           {"key":"gen_ai.response.model","value":{"stringValue":"gpt-4o-mini-2024-07-18"}},
                           {"key":"gen_ai.usage.prompt_tokens","value":{"intValue":"2000"}},
                           {"key":"gen_ai.usage.output_tokens","value":{"intValue":1000}},
                           {"key":"gen_ai.request.temperature","value":{"doubleValue":0.3}},
                           {"key":"gen_ai.response.finish_reasons","value":{"arrayValue":{"values":[{"stringValue":"stop"}]}}},
                           {"key":"gen_ai.input.messages","value":{"stringValue":"[{\\"role\\":\\"user\\",\\"parts\\":[{\\"type\\":\\"text\\",\\"content\\":\\"Hi\\"}]}]"}}]},
            {"traceId":"\(traceID)","spanId":"eee19b7ec3c1b172","parentSpanId":"eee19b7ec3c1b174","name":"db query",
             "startTimeUnixNano":"1800000001600000000","endTimeUnixNano":"1800000001700000000",
             "status":{"code":2,"message":"timeout"}}
          ]}]}]}
        """

    @Test("GenAI spans become generations with model, tokens and cost; other spans stay spans in their trace", arguments: StoreKind.available)
    func genAI(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            let reply = try await h.call(.post, "/v1/traces", key: h.adminKey, json: Self.payload)
            #expect(reply.status == .ok, "\(reply.text)")
            let detail = try #require(try await h.store.traces.get(projectID: h.project.id, id: Self.traceID))
            #expect(detail.trace.name == "handle ticket")
            #expect(detail.trace.userID == "ada")
            #expect(detail.trace.sessionID == "s-42")
            #expect(detail.trace.release == "1.4.2")
            #expect(abs(detail.trace.startTime.timeIntervalSince1970 - 1_800_000_000) < 0.001)
            #expect(abs((detail.trace.endTime?.timeIntervalSince1970 ?? 0) - 1_800_000_002) < 0.001)
            #expect(detail.observations.count == 3)
            let chat = try #require(detail.observations.first { $0.id == "eee19b7ec3c1b173" })
            #expect(chat.type == .generation)
            #expect(chat.parentID == "eee19b7ec3c1b174")
            #expect(chat.model == "gpt-4o-mini-2024-07-18")
            #expect(chat.provider == "openai")
            #expect(chat.usage == TokenUsage(inputTokens: 2000, outputTokens: 1000))
            // A dated model prices as its base: 2000 x $0.15/M + 1000 x $0.60/M.
            #expect(abs((chat.cost ?? 0) - 0.0009) < 1e-12)
            #expect(chat.modelParameters?["temperature"]?.double == 0.3)
            #expect(chat.metadata?["finish_reasons"] == ["stop"])
            #expect(chat.input?.contains("Hi") == true)
            let db = try #require(detail.observations.first { $0.id == "eee19b7ec3c1b172" })
            #expect(db.type == .span)
            #expect(db.level == .error)
            #expect(db.statusMessage == "timeout")

            let again = try await h.call(.post, "/v1/traces", key: h.adminKey, json: Self.payload)
            #expect(again.status == .ok)
            #expect(try await h.store.traces.get(projectID: h.project.id, id: Self.traceID)?.observations.count == 3, "re-export adds nothing")
        }
    }

    static func fixture(_ name: String) throws -> ByteBuffer {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("TernIngestTests/Fixtures/\(name)")
        return ByteBuffer(bytes: [UInt8](try Data(contentsOf: url)))
    }

    @Test("protobuf bodies, plain and gzip, as the official Python exporter sends them", arguments: StoreKind.available)
    func protobuf(kind: StoreKind) async throws {
        try await withHarness(kind) { h in
            for (name, gzip) in [("otel-python-genai.pb", false), ("otel-python-genai.pb.gz", true)] {
                var headers: HTTPFields = [.contentType: "application/x-protobuf"]
                if gzip { headers[.contentEncoding] = "gzip" }
                let reply = try await h.call(.post, "/v1/traces", key: h.adminKey, body: try Self.fixture(name), headers: headers)
                #expect(reply.status == .ok, "\(reply.text)")
                #expect(reply.headers[.contentType] == "application/x-protobuf")
            }
            let page = try await h.store.traces.list(projectID: h.project.id, query: TraceQuery())
            #expect(page.traces.count == 1, "the gzip copy is the same trace and adds nothing")
            let summary = try #require(page.traces.first)
            #expect(summary.model == "gpt-4o-mini-2024-07-18")
            #expect(summary.inputTokens == 120 && summary.outputTokens == 35)
            #expect((summary.cost ?? 0) > 0)
            let detail = try #require(try await h.store.traces.get(projectID: h.project.id, id: summary.trace.id))
            let generation = try #require(detail.observations.first { $0.type == .generation })
            let root = try #require(detail.observations.first { $0.parentID == nil })
            #expect(generation.parentID == root.id)
            #expect(detail.trace.name == "chat-session")
            #expect(generation.modelParameters?["temperature"]?.double == 0.2)
        }
    }

    @Test("bad OTLP input is refused with a reason")
    func badInput() async throws {
        try await withHarness { h in
            let protobuf = try await h.call(
                .post, "/v1/traces", key: h.adminKey, body: ByteBuffer(bytes: [0x0a, 0x05, 0xff]),
                headers: [.contentType: "application/x-protobuf"])
            #expect(protobuf.status == .badRequest)
            #expect((protobuf.error["message"] as? String)?.contains("protobuf") == true)
            let notGzip = try await h.call(
                .post, "/v1/traces", key: h.adminKey, body: ByteBuffer(string: "plain"),
                headers: [.contentType: "application/x-protobuf", .contentEncoding: "gzip"])
            #expect(notGzip.status == .badRequest)
            #expect(notGzip.errorCode == "malformed_gzip")
            let brotli = try await h.call(.post, "/v1/traces", key: h.adminKey, json: "{}", headers: [.contentEncoding: "br"])
            #expect(brotli.errorCode == "unsupported_encoding")
            let xml = try await h.call(.post, "/v1/traces", key: h.adminKey, body: ByteBuffer(string: "<a/>"), headers: [.contentType: "text/xml"])
            #expect(xml.errorCode == "unsupported_media_type")
            // A small gzip body that inflates past the body limit (64 KiB here) is refused, not inflated.
            var zeros = ByteBuffer(bytes: [UInt8](repeating: 0, count: 1_000_000))
            let bomb = try zeros.compress(with: .gzip())
            #expect(bomb.readableBytes < 64 * 1024)
            let refused = try await h.call(
                .post, "/v1/traces", key: h.adminKey, body: bomb,
                headers: [.contentType: "application/x-protobuf", .contentEncoding: "gzip"])
            #expect(refused.status == .contentTooLarge)
            let badID = try await h.call(
                .post, "/v1/traces", key: h.adminKey,
                json: #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"eee19b7ec3c1b174","name":"a"}]}]}]}"#)
            #expect(badID.status == .badRequest)
            #expect((badID.error["param"] as? String)?.hasSuffix("traceId") == true)
            #expect(try await h.call(.post, "/v1/traces", json: "{}").status == .unauthorized)
        }
    }
}
