import Foundation
import Hummingbird
import TernCore
import TernMonitor

/// `POST /v1/traces`: OpenTelemetry spans over OTLP/HTTP, mapped to traces and observations
/// (GenAI semantic conventions, OpenInference as a fallback). Authenticate exporters with
/// `OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer tern_..."`.
struct OTLPController {
    let store: any TernStore
    let maxBody: Int

    func register(on v1: RouterGroup<TernRequestContext>) {
        v1.post("traces") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.member, to: "sending traces")
            guard let projectID = principal.boundProjectID else {
                throw TernError.forbidden("OTLP export takes a project API key (a key belongs to one project)")
            }
            if let encoding = request.headers[.contentEncoding], encoding.lowercased() != "identity" {
                throw TernError(.invalidInput, code: "unsupported_encoding",
                                message: "Content-Encoding \(encoding) is not supported yet; send uncompressed OTLP")
            }
            let contentType = (request.headers[.contentType] ?? "application/json").lowercased()
            guard contentType.hasPrefix("application/json") else {
                throw TernError(.invalidInput, code: "unsupported_media_type",
                                message: "OTLP \(contentType) is not supported yet; export OTLP/JSON (OTEL_EXPORTER_OTLP_PROTOCOL=http/json)")
            }
            let data = try await JSON.collect(request, limit: maxBody)
            let root: JSONValue
            do { root = try JSONValue.parse(data) } catch {
                throw TernError.invalid(nil, "malformed JSON: \(error)", code: "malformed_json")
            }
            let spans = try OTLPMapping.spans(fromJSON: root)
            try await store.traces.insert(OTLPMapping.items(spans, projectID: projectID))
            context.logger.debug("OTLP spans stored", metadata: ["count": .stringConvertible(spans.count)])
            return try JSON.response(JSONValue.object(["partialSuccess": .object([:])]))
        }
    }
}
