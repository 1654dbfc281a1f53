import Foundation
import Hummingbird
import NIOCore
import TernCore
import TernIngest

/// `POST /api/v1/ingest`: batches of trace, observation and score events from any application.
/// Idempotent: entities keep the id they are sent with (or take their event's id), and a repeated id
/// adds nothing twice. Each event succeeds or fails on its own; the answer (207) lists both.
struct IngestController {
    let store: any TernStore
    let maxBody: Int

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.post("ingest", use: postIngest)
        return api
    }
}

// MARK: - Handlers

extension IngestController {
    /// `POST /ingest`
    @Sendable func postIngest(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "ingesting traces")
        guard let projectID = principal.boundProjectID else {
            throw TernError.forbidden("ingest takes a project API key (a key belongs to one project)")
        }
        let data = try await JSON.collect(request, limit: maxBody)
        let root: JSONValue
        do { root = try JSONValue.parse(data) } catch {
            throw TernError.invalid(nil, "malformed JSON: \(error)", code: "malformed_json")
        }
        var mapper = IngestBatchMapper(projectID: projectID, scoreConfigs: store.scoreConfigs, scores: store.scores) { Int($0.status.code) }
        let (items, scores, outcome) = try await mapper.map(root)
        try await store.traces.insert(items)
        try await store.scores.insert(scores)
        return Response(
            status: .init(code: 207, reasonPhrase: "Multi-Status"), headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: outcome.json())))
    }
}
