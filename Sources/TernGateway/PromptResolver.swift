import Foundation
public import TernCore
import Synchronization
import TernProviders
import TernPrompts

/// Resolves prompts referenced by gateway requests, with a short in-memory cache so a request
/// naming a label does not wait on the database each time (a moved label shows within `ttl`).
public final class PromptResolver: Sendable {
    let repository: any PromptRepository
    let ttl: Duration
    private let cache = Mutex<[String: (version: PromptVersion, until: ContinuousClock.Instant)]>([:])

    public init(repository: any PromptRepository, ttl: Duration = .seconds(10)) {
        self.repository = repository
        self.ttl = ttl
    }

    /// The version a reference names: a version number, or a label (default `production`, falling
    /// back to `latest` when the prompt has no production label).
    public func resolve(projectID: String, name: String, label: String?, version: Int?) async throws -> PromptVersion {
        let key = "\(projectID)\u{1}\(name)\u{1}\(label ?? "")\u{1}\(version.map(String.init) ?? "")"
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0[key] }), hit.until > now { return hit.version }
        let found: PromptVersion?
        if let version {
            found = try await repository.get(projectID: projectID, name: name, version: version)
        } else if let label {
            found = try await repository.get(projectID: projectID, name: name, label: label)
        } else {
            if let production = try await repository.get(projectID: projectID, name: name, label: "production") {
                found = production
            } else {
                found = try await repository.get(projectID: projectID, name: name, label: "latest")
            }
        }
        guard let found else {
            let what = version.map { "version \($0)" } ?? label.map { "label \($0)" } ?? "a production or latest version"
            throw TernError.notFound("prompt \(name) with \(what)", field: "tern.prompt")
        }
        // Pinned versions never change; labels are re-read after the TTL.
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll(keepingCapacity: true) }
            cache[key] = (found, version != nil ? now + .seconds(86_400) : now + ttl)
        }
        return found
    }
}

/// A request's reference to a stored prompt: `"tern": {"prompt", "label"?, "version"?, "variables"?}`
/// in the body, or the headers `x-tern-prompt`, `x-tern-prompt-label`, `x-tern-prompt-version`
/// (variables then come from the body's `tern.variables`).
struct PromptReference {
    var name: String
    var label: String?
    var version: Int?
    var variables: [String: JSONValue]

    static func from(body: JSONValue, headers: [String: String]) throws -> PromptReference? {
        let tern = body["tern"]
        guard let name = tern?["prompt"]?.string ?? headers[TernHeader.prompt] else { return nil }
        var version = tern?["version"]?.int
        if version == nil, let text = headers[TernHeader.promptVersion] {
            guard let number = Int(text) else {
                throw GatewayError.invalid("x-tern-prompt-version: expected a version number", param: TernHeader.promptVersion)
            }
            version = number
        }
        var variables: [String: JSONValue] = [:]
        if let given = tern?["variables"] {
            guard let object = given.object else { throw GatewayError.invalid("tern.variables: expected an object", param: "tern.variables") }
            variables = object
        }
        return PromptReference(name: name, label: tern?["label"]?.string ?? headers[TernHeader.promptLabel], version: version, variables: variables)
    }

    /// The request body with the rendered prompt: its messages before the request's own, its model and
    /// settings where the request has none, its tools unless the request brings tools.
    static func apply(_ version: PromptVersion, variables: [String: JSONValue], to body: JSONValue, operation: GatewayOperation) throws -> JSONValue {
        var out = body
        let rendered: (text: String?, messages: [PromptMessage])
        do {
            rendered = try version.render(variables)
        } catch let error as TernError {
            throw GatewayError.invalid("tern.variables: \(error.message)", param: "tern.variables")
        }
        switch operation {
        case .chat, .messages:
            var messages: [JSONValue] =
                version.kind == .chat
                ? rendered.messages.map { .object(["role": .string($0.role), "content": .string($0.content)]) }
                : [.object(["role": "user", "content": .string(rendered.text ?? "")])]
            if operation == .messages, let system = messages.first, system["role"]?.string == "system" {
                if out["system"] == nil { out["system"] = system["content"] }
                messages.removeFirst()
            }
            out["messages"] = .array(messages + (body["messages"]?.array ?? []))
        case .completion:
            out["prompt"] = .string(rendered.text ?? rendered.messages.map(\.content).joined(separator: "\n"))
        case .embedding:
            throw GatewayError.invalid("prompts apply to chat, messages and completions, not embeddings", param: "tern.prompt")
        }
        if out["model"]?.string?.isEmpty ?? true, let model = version.config.model { out["model"] = .string(model) }
        if out["temperature"] == nil, let temperature = version.config.temperature { out["temperature"] = .number(temperature) }
        if out["max_tokens"] == nil, out["max_completion_tokens"] == nil, let tokens = version.config.maxTokens { out["max_tokens"] = .number(Double(tokens)) }
        if out["response_format"] == nil, operation == .chat, let format = version.config.responseFormat { out["response_format"] = format }
        if out["tools"] == nil, let tools = version.tools { out["tools"] = tools }
        return out
    }
}
