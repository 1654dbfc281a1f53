import Foundation
import SwiftProtobuf
import TernCore
@testable import TernIngest
import Testing

private typealias Request = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest
private typealias ProtoSpan = Opentelemetry_Proto_Trace_V1_Span
private typealias KeyValue = Opentelemetry_Proto_Common_V1_KeyValue
private typealias AnyValue = Opentelemetry_Proto_Common_V1_AnyValue

private func bytes(hex: String) -> Data {
    var out = Data()
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        out.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return out
}

private func kv(_ key: String, _ value: AnyValue.OneOf_Value?) -> KeyValue {
    KeyValue.with {
        $0.key = key
        $0.value = AnyValue.with { $0.value = value }
    }
}

private func any(_ value: AnyValue.OneOf_Value) -> AnyValue { AnyValue.with { $0.value = value } }

private let traceHex = "4bf92f3577b34da6a3ce929d0e0e4736"
private let rootHex = "00f067aa0ba902b7"
private let childHex = "53995c3f42cd8ad8"
private let otherTraceHex = "0af7651916cd43dd8448eb211c80319c"
private let otherSpanHex = "b7ad6b7169203331"

/// A request with every field `OTLPMapping.Span` reads, every AnyValue kind, two resources and
/// the fields the mapping ignores (kind, events, links, flags, dropped counts, scope).
private func sampleRequest() -> Request {
    let root = ProtoSpan.with {
        $0.traceID = bytes(hex: traceHex)
        $0.spanID = bytes(hex: rootHex)
        $0.name = "agent run"
        $0.kind = .server
        $0.flags = 0x101
        $0.traceState = "vendor=1"
        $0.startTimeUnixNano = 1_767_225_600_000_000_000
        $0.endTimeUnixNano = 1_767_225_602_500_000_000
        $0.attributes = [kv("user.id", .stringValue("u-1")), kv("gen_ai.conversation.id", .stringValue("c-1"))]
        $0.droppedAttributesCount = 2
        $0.events = [
            .with {
                $0.name = "started"; $0.timeUnixNano = 1_767_225_600_000_000_001; $0.attributes = [kv("n", .intValue(1))]
            }
        ]
        $0.droppedEventsCount = 1
        $0.links = [
            .with {
                $0.traceID = bytes(hex: otherTraceHex); $0.spanID = bytes(hex: otherSpanHex); $0.flags = 1
            }
        ]
        $0.droppedLinksCount = 3
    }
    var noValue = KeyValue()
    noValue.key = "novalue"
    let child = ProtoSpan.with {
        $0.traceID = bytes(hex: traceHex)
        $0.spanID = bytes(hex: childHex)
        $0.parentSpanID = bytes(hex: rootHex)
        $0.name = "chat gpt-4o-mini"
        $0.kind = .client
        $0.startTimeUnixNano = 1_767_225_600_005_000_000
        $0.endTimeUnixNano = 1_767_225_600_850_000_000
        $0.attributes = [
            kv("s", .stringValue("text")),
            kv("empty", .stringValue("")),
            kv("b", .boolValue(true)),
            kv("f", .boolValue(false)),
            kv("i", .intValue(-42)),
            kv("big", .intValue(1 << 53)),
            kv("d", .doubleValue(0.25)),
            kv(
                "arr",
                .arrayValue(
                    .with {
                        $0.values = [
                            any(.stringValue("a")), any(.intValue(1)), any(.boolValue(false)),
                            any(.arrayValue(.with { $0.values = [any(.doubleValue(1.5))] })),
                        ]
                    })),
            kv(
                "kv",
                .kvlistValue(
                    .with {
                        $0.values = [
                            kv("inner", .stringValue("x")), kv("n", .intValue(3)),
                            kv("deep", .kvlistValue(.with { $0.values = [kv("z", .boolValue(true))] })),
                        ]
                    })),
            kv("raw", .bytesValue(Data([0, 1, 2, 250, 255]))),
            noValue,
            kv("unset", nil),
            kv("strindex", .stringValueStrindex(5)),
            KeyValue.with {
                $0.keyStrindex = 3; $0.value = any(.stringValue("profiles only"))
            },
            kv("dup", .stringValue("first")),
            kv("dup", .stringValue("last")),
        ]
        $0.status = .with {
            $0.code = .error; $0.message = "boom"
        }
    }
    let other = ProtoSpan.with {
        $0.traceID = bytes(hex: otherTraceHex)
        $0.spanID = bytes(hex: otherSpanHex)
        $0.name = "worker"
        $0.startTimeUnixNano = 5
        $0.status = .with { $0.code = .ok }
    }
    return Request.with {
        $0.resourceSpans = [
            .with {
                $0.resource = .with {
                    $0.attributes = [kv("service.name", .stringValue("shop")), kv("service.version", .stringValue("1.2.3"))]
                }
                $0.schemaURL = "https://opentelemetry.io/schemas/1.30.0"
                $0.scopeSpans = [
                    .with {
                        $0.scope = .with {
                            $0.name = "tern.tests"; $0.version = "1"; $0.attributes = [kv("scope.attr", .boolValue(true))]
                        }
                        $0.spans = [root, child]
                    }
                ]
            },
            .with {
                $0.resource = .with { $0.attributes = [kv("service.name", .stringValue("worker")), kv("host.id", .bytesValue(Data([9])))] }
                $0.scopeSpans = [.with { $0.spans = [] }, .with { $0.spans = [other] }]
            },
        ]
    }
}

/// Span is not Equatable; this view compares every field.
private func canonical(_ spans: [OTLPMapping.Span]) -> JSONValue {
    .array(
        spans.map { span in
            var view: [String: JSONValue] = [:]
            view["traceID"] = .string(span.traceID)
            view["spanID"] = .string(span.spanID)
            view["parentSpanID"] = span.parentSpanID.map(JSONValue.string) ?? .null
            view["name"] = .string(span.name)
            view["startNanos"] = .string(String(span.startNanos))
            view["endNanos"] = .string(String(span.endNanos))
            view["attributes"] = .object(span.attributes)
            view["statusCode"] = .number(Double(span.statusCode))
            view["statusMessage"] = span.statusMessage.map(JSONValue.string) ?? .null
            view["resource"] = .object(span.resource)
            return .object(view)
        })
}

/// OTLP/JSON for a request: proto3 JSON with enums as integers and, unlike proto3 JSON, trace
/// and span ids as hex instead of base64.
private func otlpJSON(_ request: Request) throws -> JSONValue {
    var options = JSONEncodingOptions()
    options.alwaysPrintEnumsAsInts = true
    let proto3 = try JSONValue.parse(Data(try request.jsonString(options: options).utf8))
    func hexIDs(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let items): return .array(items.map(hexIDs))
        case .object(var object):
            for (key, item) in object {
                if ["traceId", "spanId", "parentSpanId"].contains(key), let text = item.string, let raw = Data(base64Encoded: text) {
                    object[key] = .string(OTLPMapping.hex(raw).uppercased())  // upper case: the JSON path lowercases too
                } else {
                    object[key] = hexIDs(item)
                }
            }
            return .object(object)
        default: return value
        }
    }
    return hexIDs(proto3)
}

private func decode(_ request: Request) throws -> [OTLPMapping.Span] {
    try OTLPMapping.spans(fromProtobuf: try request.serializedData())
}

private func fixture(_ name: String) throws -> Data {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
    return try Data(contentsOf: url)
}

@Suite struct OTLPProtobufTests {
    @Test func decodesEveryField() throws {
        let spans = try decode(sampleRequest())
        try #require(spans.count == 3)
        let (root, child, other) = (spans[0], spans[1], spans[2])

        #expect(root.traceID == traceHex)
        #expect(root.spanID == rootHex)
        #expect(root.parentSpanID == nil)
        #expect(root.name == "agent run")
        #expect(root.startNanos == 1_767_225_600_000_000_000)
        #expect(root.endNanos == 1_767_225_602_500_000_000)
        #expect(root.attributes == ["user.id": "u-1", "gen_ai.conversation.id": "c-1"])
        #expect(root.statusCode == 0)
        #expect(root.statusMessage == nil)
        #expect(root.resource == ["service.name": "shop", "service.version": "1.2.3"])

        #expect(child.traceID == traceHex)
        #expect(child.spanID == childHex)
        #expect(child.parentSpanID == rootHex)
        #expect(child.name == "chat gpt-4o-mini")
        #expect(child.startNanos == 1_767_225_600_005_000_000)
        #expect(child.endNanos == 1_767_225_600_850_000_000)
        #expect(child.statusCode == 2)
        #expect(child.statusMessage == "boom")
        #expect(child.resource == root.resource)
        let expected: [String: JSONValue] = [
            "s": "text", "empty": "", "b": true, "f": false, "i": -42, "big": .number(9_007_199_254_740_992), "d": 0.25,
            "arr": ["a", 1, false, [1.5]],
            "kv": ["inner": "x", "n": 3, "deep": ["z": true]],
            "raw": .string(Data([0, 1, 2, 250, 255]).base64EncodedString()),
            "novalue": .null, "unset": .null, "strindex": .null, "dup": "last",
        ]
        #expect(child.attributes == expected)
        #expect(child.attributes["raw"] == "AAEC+v8=")

        #expect(other.traceID == otherTraceHex)
        #expect(other.spanID == otherSpanHex)
        #expect(other.parentSpanID == nil)
        #expect(other.name == "worker")
        #expect(other.startNanos == 5)
        #expect(other.endNanos == 0)
        #expect(other.attributes.isEmpty)
        #expect(other.statusCode == 1)
        #expect(other.statusMessage == nil)
        #expect(other.resource == ["service.name": "worker", "host.id": "CQ=="])
    }

    @Test func jsonAndProtobufGiveIdenticalSpans() throws {
        let request = sampleRequest()
        let json = try otlpJSON(request)
        #expect(json["resourceSpans"]?[0]?["scopeSpans"]?[0]?["spans"]?[1]?["parentSpanId"] == .string(rootHex.uppercased()))
        let fromJSON = try OTLPMapping.spans(fromJSON: json)
        let fromProtobuf = try decode(request)
        #expect(fromJSON.count == 3)
        #expect(canonical(fromProtobuf) == canonical(fromJSON))
    }

    @Test func fixtureFromPythonExporter() throws {
        let spans = try OTLPMapping.spans(fromProtobuf: try fixture("otel-python-genai.pb"))
        try #require(spans.count == 2)
        let root = try #require(spans.first { $0.name == "chat-session" })
        let chat = try #require(spans.first { $0.name == "chat gpt-4o-mini" })
        #expect(root.traceID == traceHex)
        #expect(chat.traceID == traceHex)
        #expect(root.spanID == rootHex)
        #expect(chat.spanID == childHex)
        #expect(root.parentSpanID == nil)
        #expect(chat.parentSpanID == root.spanID)
        #expect(root.startNanos == 1_767_225_600_000_000_000)
        #expect(root.endNanos == 1_767_225_600_900_000_000)
        #expect(chat.startNanos == 1_767_225_600_005_000_000)
        #expect(chat.endNanos == 1_767_225_600_850_000_000)
        #expect(chat.statusCode == 1)
        #expect(root.statusCode == 0)
        #expect(root.attributes.isEmpty)

        let a = chat.attributes
        #expect(a["gen_ai.operation.name"] == "chat")
        #expect(a["gen_ai.provider.name"] == "openai")
        #expect(a["gen_ai.request.model"] == "gpt-4o-mini")
        #expect(a["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18")
        #expect(a["gen_ai.usage.input_tokens"]?.int == 120)
        #expect(a["gen_ai.usage.output_tokens"]?.int == 35)
        #expect(a["gen_ai.request.temperature"] == 0.2)
        #expect(a["gen_ai.request.max_tokens"]?.int == 256)
        #expect(a["gen_ai.response.finish_reasons"] == ["stop"])
        #expect(a["gen_ai.conversation.id"] == "conv-42")
        #expect(a["user.id"] == "user-7")
        let input = try #require(a["gen_ai.input.messages"]?.string)
        #expect(try JSONValue.parse(Data(input.utf8))[0]?["parts"]?[0]?["content"] == "What is the capital of France?")
        let output = try #require(a["gen_ai.output.messages"]?.string)
        #expect(try JSONValue.parse(Data(output.utf8))[0]?["finish_reason"] == "stop")
        #expect(a.count == 13)

        for span in spans {
            #expect(span.resource["service.name"] == "tern-fixture-app")
            #expect(span.resource["service.version"] == "1.2.3")
            #expect(span.resource["telemetry.sdk.language"] == "python")
        }
    }

    @Test func gzipFixtureIsCompressedAndRejectedUninflated() throws {
        let zipped = try fixture("otel-python-genai.pb.gz")
        #expect(zipped.prefix(2) == Data([0x1F, 0x8B]))
        let plain = try fixture("otel-python-genai.pb")
        #expect(zipped != plain)
        let error = #expect(throws: TernError.self) { try OTLPMapping.spans(fromProtobuf: zipped) }
        #expect(error?.field == "body")
        #expect(error?.kind == .invalidInput)
    }

    @Test(
        arguments: [
            ("truncated length", Data([0x0A, 0x05, 0x01])),
            ("bad wire type", Data([0x0F, 0x00])),
            ("field number zero", Data([0x00, 0x01])),
            ("invalid UTF-8 name", Data([0x0A, 0x08, 0x12, 0x06, 0x12, 0x04, 0x2A, 0x02, 0xC3, 0x28])),
            ("garbage", Data("not protobuf at all".utf8)),
        ] as [(String, Data)])
    func malformedBytes(label: String, body: Data) throws {
        do {
            let spans = try OTLPMapping.spans(fromProtobuf: body)
            Issue.record("\(label): expected an error, got \(spans.count) spans")
        } catch let error as TernError {
            #expect(error.kind == .invalidInput, "\(label)")
            #expect(error.field == "body", "\(label)")
            #expect(error.code == "invalid_request", "\(label)")
            #expect(error.message.hasPrefix("malformed OTLP protobuf: "), "\(label): \(error.message)")
        }
    }

    @Test func invalidUTF8HasClearMessage() throws {
        // resource_spans { scope_spans { spans { name: "\xC3(" } } }
        let body = Data([0x0A, 0x08, 0x12, 0x06, 0x12, 0x04, 0x2A, 0x02, 0xC3, 0x28])
        let error = #expect(throws: TernError.self) { try OTLPMapping.spans(fromProtobuf: body) }
        #expect(error?.message.contains("not valid UTF-8") == true, "\(String(describing: error))")
    }

    @Test func emptyBodyIsAnEmptyRequest() throws {
        #expect(try OTLPMapping.spans(fromProtobuf: Data()).isEmpty)
        #expect(try OTLPMapping.spans(fromProtobuf: try Request().serializedData()).isEmpty)
    }

    @Test func emptyArrayAndKeyValueListStayEmpty() throws {
        var request = Request.with {
            $0.resourceSpans = [
                .with {
                    $0.scopeSpans = [
                        .with {
                            $0.spans = [
                                .with {
                                    $0.traceID = bytes(hex: traceHex)
                                    $0.spanID = bytes(hex: childHex)
                                    $0.attributes = [kv("arr", .arrayValue(.init())), kv("kv", .kvlistValue(.init())), kv("raw", .bytesValue(Data()))]
                                }
                            ]
                        }
                    ]
                }
            ]
        }
        let span = try #require(try decode(request).first)
        #expect(span.attributes == ["arr": [], "kv": [:], "raw": ""])
        request.resourceSpans[0].scopeSpans[0].spans[0].parentSpanID = Data()
        #expect(try decode(request).first?.parentSpanID == nil)
    }

    @Test(
        arguments: [
            ("traceId", Data(), nil),
            ("traceId", Data(repeating: 0, count: 16), nil),
            ("traceId", Data(repeating: 1, count: 8), nil),
            ("traceId", Data(repeating: 1, count: 17), nil),
            ("spanId", nil, Data()),
            ("spanId", nil, Data(repeating: 0, count: 8)),
            ("spanId", nil, Data(repeating: 0xAB, count: 16)),
        ] as [(String, Data?, Data?)])
    func badIDsAreRejectedLikeJSON(field: String, traceID: Data?, spanID: Data?) throws {
        var request = sampleRequest()
        // The bad span is the first one of the second scope of the second resource.
        request.resourceSpans[1].scopeSpans[1].spans = [
            .with {
                $0.traceID = traceID ?? bytes(hex: otherTraceHex)
                $0.spanID = spanID ?? bytes(hex: otherSpanHex)
            }
        ]
        let expectedField = "resourceSpans[1].scopeSpans.spans[0].\(field)"
        var protobufError: TernError?
        do { _ = try decode(request) } catch let error as TernError { protobufError = error }
        #expect(protobufError?.field == expectedField)
        #expect(protobufError?.kind == .invalidInput)
        #expect(protobufError?.code == "invalid_request")

        // The JSON path names the same field (OTLP/JSON omits an empty id, which it rejects too).
        var jsonError: TernError?
        do { _ = try OTLPMapping.spans(fromJSON: try otlpJSON(request)) } catch let error as TernError { jsonError = error }
        #expect(jsonError?.field == expectedField)
    }

    @Test func hexIsLowercaseAndPadded() {
        #expect(OTLPMapping.hex(Data([0x00, 0x0A, 0xFF, 0x10])) == "000aff10")
        #expect(OTLPMapping.hex(Data()) == "")
    }
}
