import Foundation
import HTTPTypes
import Hummingbird
import TernCore
import TernPrompts

/// `/api/v1/prompts`: versioned prompts with labels. Reads carry an ETag (the version is immutable)
/// and Cache-Control, so clients and proxies can cache them.
struct PromptsController {
    let store: any TernStore
    let maxBody: Int
    let projectID: @Sendable (Request, TernRequestContext) async throws -> String

    struct PushResult: Encodable {
        var created: Bool
        var prompt: PromptVersion
    }

    struct Rendered: Encodable {
        var name: String
        var version: Int
        var text: String?
        var messages: [PromptMessage]?
        var tools: JSONValue?
        var config: PromptModelConfig
    }

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.get("prompts", use: getPrompts)
        api.post("prompts", use: postPrompts)
        api.get("prompts/{name}", use: getPrompt)
        api.get("prompts/{name}/versions", use: getPromptVersions)
        api.get("prompts/{name}/labels", use: getPromptLabels)
        api.post("prompts/{name}/labels", use: postPromptLabels)
        api.post("prompts/{name}/render", use: postPromptRender)
        return api
    }

    /// The version a request names: `?version=N`, `?label=NAME`, or `production` when neither is given
    /// (falling back to `latest` when the prompt has no production label yet). Returns whether the
    /// version was pinned by number.
    func resolve(_ request: Request, _ context: TernRequestContext, project: String) async throws -> (PromptVersion, Bool) {
        let name = try context.parameters.string("name")
        let parameters = request.uri.queryParameters
        if let text = parameters.get("version") {
            guard let number = Int(text) else { throw TernError.invalid("version", "expected a version number, got \"\(text)\"") }
            guard let version = try await store.prompts.get(projectID: project, name: name, version: number) else {
                throw TernError.notFound("prompt \(name) version \(number)", field: "version")
            }
            return (version, true)
        }
        if let label = parameters.get("label") {
            guard let version = try await store.prompts.get(projectID: project, name: name, label: label) else {
                throw TernError.notFound("prompt \(name) with label \(label)", field: "label")
            }
            return (version, false)
        }
        if let version = try await store.prompts.get(projectID: project, name: name, label: "production") { return (version, false) }
        guard let latest = try await store.prompts.get(projectID: project, name: name, label: "latest") else { throw TernError.notFound("prompt \(name)") }
        return (latest, false)
    }
}

// MARK: - Handlers

extension PromptsController {
    /// `GET /prompts`
    @Sendable func getPrompts(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        return try JSON.response(ProjectsController.ListBody(data: try await store.prompts.list(projectID: project)))
    }

    /// `POST /prompts`
    @Sendable func postPrompts(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "pushing a prompt")
        let project = try await projectID(request, context)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody))
        let version = try PromptVersion.definition(body, projectID: project, author: principal.actor)
        let labels = try FieldReader(body: body, path: "").strings("labels")
        let (stored, created) = try await store.prompts.push(version, labels: labels)
        return try JSON.response(PushResult(created: created, prompt: stored), status: created ? .created : .ok)
    }

    /// `GET /prompts/{name}`
    @Sendable func getPrompt(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let (version, pinned) = try await resolve(request, context, project: project)
        let tag = "\"\(Secrets.hash("\(project)/\(version.name)/\(version.version)/\(version.labels.joined(separator: ","))").prefix(24))\""
        var headers: HTTPFields = [.eTag: tag]
        // A version never changes; a label may move, so label reads are cached briefly.
        headers[.cacheControl] = pinned ? "private, max-age=31536000, immutable" : "private, max-age=10"
        if request.headers[.ifNoneMatch] == tag { return Response(status: .notModified, headers: headers) }
        return try JSON.response(version, headers: headers)
    }

    /// `GET /prompts/{name}/versions`
    @Sendable func getPromptVersions(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let name = try context.parameters.string("name")
        let history = try await store.prompts.history(projectID: project, name: name)
        guard !history.isEmpty else { throw TernError.notFound("prompt \(name)") }
        return try JSON.response(ProjectsController.ListBody(data: history))
    }

    /// `GET /prompts/{name}/labels`
    @Sendable func getPromptLabels(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let name = try context.parameters.string("name")
        guard try await !store.prompts.history(projectID: project, name: name).isEmpty else { throw TernError.notFound("prompt \(name)") }
        return try JSON.response(ProjectsController.ListBody(data: try await store.prompts.labelMoves(projectID: project, name: name)))
    }

    /// `POST /prompts/{name}/labels`
    @Sendable func postPromptLabels(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "moving a prompt label")
        let project = try await projectID(request, context)
        let name = try context.parameters.string("name")
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody), allowedKeys: ["label", "version"])
        guard let label = body["label"]?.string else { throw TernError.invalid("label", "required") }
        guard let version = body["version"]?.int else { throw TernError.invalid("version", "required: the version number the label points at") }
        let move = try await store.prompts.setLabel(projectID: project, name: name, label: label, version: version, author: principal.actor)
        return try JSON.response(move, status: .created)
    }

    /// `POST /prompts/{name}/render`
    @Sendable func postPromptRender(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let (version, _) = try await resolve(request, context, project: project)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody), allowedKeys: ["variables"])
        guard let variables = (body["variables"] ?? .object([:])).object else { throw TernError.invalid("variables", "expected an object") }
        let rendered = try version.render(variables)
        return try JSON.response(
            Rendered(
                name: version.name, version: version.version, text: rendered.text, messages: version.kind == .chat ? rendered.messages : nil,
                tools: version.tools, config: version.config))
    }
}
