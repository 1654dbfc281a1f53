import CompressNIO
import Foundation
import Hummingbird
import NIOCore
import NIOFoundationCompat
import TernCore
import TernIngest

/// `POST /v1/traces`: OpenTelemetry spans over OTLP/HTTP, mapped to traces and observations
/// (GenAI semantic conventions, OpenInference as a fallback). Authenticate exporters with
/// `OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer tern_..."`.
struct OTLPController {
    let store: any TernStore
    let maxBody: Int

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let v1 = RouteCollection(context: TernRequestContext.self)
        v1.post("traces", use: postTraces)
        return v1
    }
}

// MARK: - Handlers

extension OTLPController {
    /// `POST /traces`
    @Sendable func postTraces(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "sending traces")
        guard let projectID = principal.boundProjectID else {
            throw TernError.forbidden("OTLP export takes a project API key (a key belongs to one project)")
        }
        let contentType = (request.headers[.contentType] ?? "application/json").lowercased()
        let isProtobuf = contentType.hasPrefix("application/x-protobuf") || contentType.hasPrefix("application/protobuf")
        guard isProtobuf || contentType.hasPrefix("application/json") else {
            throw TernError(
                .invalidInput, code: "unsupported_media_type",
                message: "OTLP over HTTP takes application/x-protobuf or application/json, not \(contentType)")
        }
        var buffer = ByteBuffer(data: try await JSON.collect(request, limit: maxBody))
        switch request.headers[.contentEncoding]?.lowercased() {
        case nil, "identity"?: break
        case "gzip"?:
            do {
                buffer = try buffer.decompress(with: .gzip(), maxSize: maxBody)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                throw TernError(.tooLarge, code: "payload_too_large", message: "decompressed body exceeds the limit of \(maxBody) bytes")
            } catch {
                throw TernError.invalid("body", "not valid gzip data", code: "malformed_gzip")
            }
        case let other?:
            throw TernError(.invalidInput, code: "unsupported_encoding", message: "Content-Encoding \(other) is not supported; send gzip or identity")
        }
        let data = Data(buffer.readableBytesView)
        let spans: [OTLPMapping.Span]
        if isProtobuf {
            spans = try OTLPMapping.spans(fromProtobuf: data)
        } else {
            let root: JSONValue
            do { root = try JSONValue.parse(data) } catch {
                throw TernError.invalid(nil, "malformed JSON: \(error)", code: "malformed_json")
            }
            spans = try OTLPMapping.spans(fromJSON: root)
        }
        try await store.traces.insert(try OTLPMapping.items(spans, projectID: projectID))
        context.logger.debug("OTLP spans stored", metadata: ["count": .stringConvertible(spans.count)])
        if isProtobuf {
            // An empty ExportTraceServiceResponse: no partial success to report.
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"], body: .init(byteBuffer: ByteBuffer()))
        }
        return try JSON.response(JSONValue.object(["partialSuccess": .object([:])]))
    }
}
