public import Foundation
import SwiftProtobuf
import TernCore

/// OTLP/HTTP with `Content-Type: application/x-protobuf`, the default of most OpenTelemetry
/// exporters. The generated message types (Sources/TernIngest/Generated, from proto/ by
/// scripts/gen-otlp-swift.sh) stay internal; callers only see `OTLPMapping.Span`.
extension OTLPMapping {
    /// Reads a binary `ExportTraceServiceRequest` (an already inflated body). Gives exactly what
    /// `spans(fromJSON:)` gives for the same request in OTLP/JSON: lowercase hex ids, no parent for
    /// an empty `parent_span_id`, attributes flattened by the same rules (bytes as base64, the way
    /// OTLP/JSON carries them). An empty body is an empty, valid request.
    public static func spans(fromProtobuf bytes: Data) throws -> [Span] {
        let request: Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest
        do {
            var options = BinaryDecodingOptions()
            options.discardUnknownFields = true
            request = try .init(serializedBytes: bytes, options: options)
        } catch {
            throw TernError.invalid(
                "body", "malformed OTLP protobuf: \(describe(error)) (expected a binary ExportTraceServiceRequest, \(bytes.count) bytes read)")
        }
        var out: [Span] = []
        for (r, resourceSpan) in request.resourceSpans.enumerated() {
            let resource = protoAttributes(resourceSpan.resource.attributes)
            for scopeSpan in resourceSpan.scopeSpans {
                for (s, span) in scopeSpan.spans.enumerated() {
                    let at = "resourceSpans[\(r)].scopeSpans.spans[\(s)]"
                    guard isID(span.traceID, length: 16) else {
                        throw TernError.invalid("\(at).traceId", "expected a 16-byte trace id, not all zero; got \(span.traceID.count) bytes")
                    }
                    guard isID(span.spanID, length: 8) else {
                        throw TernError.invalid("\(at).spanId", "expected an 8-byte span id, not all zero; got \(span.spanID.count) bytes")
                    }
                    out.append(
                        Span(
                            traceID: hex(span.traceID), spanID: hex(span.spanID),
                            parentSpanID: span.parentSpanID.isEmpty ? nil : hex(span.parentSpanID),
                            name: span.name, startNanos: span.startTimeUnixNano, endNanos: span.endTimeUnixNano,
                            attributes: protoAttributes(span.attributes), statusCode: span.status.code.rawValue,
                            statusMessage: span.status.message.isEmpty ? nil : span.status.message, resource: resource))
                }
            }
        }
        return out
    }

    static func isID(_ bytes: Data, length: Int) -> Bool {
        bytes.count == length && bytes.contains { $0 != 0 }
    }

    static func hex(_ bytes: Data) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var chars: [UInt8] = []
        chars.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            chars.append(digits[Int(byte >> 4)])
            chars.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: chars, as: UTF8.self)
    }

    /// Same flattening as the JSON path: last duplicate key wins; a key the JSON encoding would
    /// omit (the empty string) is skipped, as the JSON path skips entries without a key.
    static func protoAttributes(_ list: [Opentelemetry_Proto_Common_V1_KeyValue]) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for entry in list where !entry.key.isEmpty {
            out[entry.key] = entry.hasValue ? protoValue(entry.value) : .null
        }
        return out
    }

    static func protoValue(_ value: Opentelemetry_Proto_Common_V1_AnyValue) -> JSONValue {
        switch value.value {
        case .stringValue(let text)?: .string(text)
        case .boolValue(let flag)?: .bool(flag)
        case .intValue(let int)?: .number(Double(int))
        case .doubleValue(let double)?: .number(double)
        case .arrayValue(let array)?: .array(array.values.map { protoValue($0) })
        case .kvlistValue(let list)?: .object(protoAttributes(list.values))
        case .bytesValue(let bytes)?: .string(bytes.base64EncodedString())
        // A profiles-dictionary index: meaningless in traces, and the JSON path has no value for it either.
        case .stringValueStrindex?, nil: .null
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? BinaryDecodingError {
        case .truncated?: "the data ends in the middle of a field"
        case .malformedProtobuf?: "the data is not a valid protobuf encoding"
        case .invalidUTF8?: "a string field is not valid UTF-8"
        case .messageDepthLimit?: "messages are nested too deeply"
        default: "\(error)"
        }
    }
}
