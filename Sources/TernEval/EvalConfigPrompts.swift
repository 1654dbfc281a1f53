import Foundation
import TernCore

// `prompts:` and `providers:` of an eval config.

extension EvalConfigParser {
    // MARK: Prompts

    /// `prompts`: a string, a list (strings, `file://` paths, chat message lists, `{id, label, raw}`
    /// objects), or promptfoo's older `{path-or-text: label}` mapping.
    func prompts(_ node: ConfigNode) throws -> [EvalPrompt] {
        var out: [EvalPrompt] = []
        if node.isScalar {
            out += try prompts(fromString: try node.string(), label: nil, at: node)
        } else if node.isMapping {
            for (key, value) in try node.mapping(allowed: nil) {
                out += try prompts(fromString: key, label: try value.string(), at: value)
            }
        } else {
            for item in try node.sequence() {
                if item.isScalar {
                    out += try prompts(fromString: try item.string(), label: nil, at: item)
                } else if item.isSequence {
                    out.append(try chatPrompt(item.json, label: nil, origin: nil, at: item))
                } else {
                    _ = try entries(
                        item, supported: ["id", "label", "raw"],
                        refused: [
                            "config": "per-prompt provider settings are not supported; set them on the provider",
                            "function": "prompt functions run JavaScript or Python, which tern eval does not run",
                        ])
                    let label = try item.value("label").map { try $0.string() }
                    if let raw = item.value("raw") {
                        if raw.isSequence {
                            out.append(try chatPrompt(raw.json, label: label, origin: nil, at: raw))
                        } else {
                            out += try prompts(fromString: try raw.string(), label: label, at: raw, literal: true)
                        }
                    } else if let id = item.value("id") {
                        out += try prompts(fromString: try id.string(), label: label, at: id)
                    } else {
                        throw item.error("a prompt object needs raw (the template) or id (a file:// path)")
                    }
                }
            }
        }
        guard !out.isEmpty else { throw node.error("lists no prompts") }
        for index in out.indices where out[index].key.isEmpty { out[index].key = "prompts[\(index)]" }
        return out
    }

    /// Prompts from one string: a `file://` reference (several prompts when a text file separates
    /// them with `---` lines, or a glob matches several files), or the template itself.
    func prompts(fromString text: String, label: String?, at node: ConfigNode, literal: Bool = false) throws -> [EvalPrompt] {
        if !literal {
            for scheme in ["exec:", "langfuse://", "portkey://", "helicone://", "http://", "https://", "python:", "js:"] where text.hasPrefix(scheme) {
                throw node.error("not supported by tern eval: prompts from \(scheme) (use inline text or file:// paths to .txt, .md, .json or .yaml)")
            }
        }
        guard !literal, text.hasPrefix("file://") else {
            if let chat = try? JSONValue.parse(Data(text.utf8)), chat.array != nil, text.trimmingCharacters(in: .whitespaces).hasPrefix("[") {
                return [try chatPrompt(chat, label: label, origin: nil, at: node)]
            }
            return [try textPrompt(text, label: label, display: nil, at: node)]
        }
        if Self.isCode(text) {
            throw node.error(
                "\(text.dropFirst(7)) is a prompt function; tern eval does not run JavaScript or Python (use a .txt, .md, .json or .yaml template)")
        }
        var out: [EvalPrompt] = []
        let found = try files(text, at: node)
        for file in found {
            let ext = file.url.pathExtension.lowercased()
            if Self.codeExtensions.contains(ext) {
                throw node.error("\(file.display) is a prompt function; tern eval does not run JavaScript or Python (use a .txt, .md, .json or .yaml template)")
            }
            if ext == "csv" || ext == "jsonl" || Self.binaryExtensions.contains(ext) {
                throw node.error("not supported by tern eval: prompts from .\(ext) files (use .txt, .md, .j2, .json or .yaml)")
            }
            let content = try read(file.url, display: file.display, at: node)
            let fileLabel = found.count == 1 ? label : label.map { "\($0): \(file.relative)" }
            switch ext {
            case "json", "yaml", "yml":
                let value = try JSONValue.parse(yaml: content, source: file.display)
                if let template = value.string {
                    out.append(try textPrompt(template, label: fileLabel, display: file.relative, at: node))
                } else {
                    out.append(try chatPrompt(value, label: fileLabel, origin: file.relative, at: node))
                }
            default:
                let parts = Self.splitPrompts(content)
                for (index, part) in parts.enumerated() {
                    let partLabel = parts.count == 1 ? fileLabel : fileLabel.map { "\($0) #\(index + 1)" }
                    let shown = parts.count == 1 ? file.relative : "\(file.relative) #\(index + 1)"
                    out.append(try textPrompt(part, label: partLabel, display: shown, at: node))
                }
            }
        }
        return out
    }

    /// promptfoo separates several prompts in one text file with lines holding only `---`.
    static func splitPrompts(_ text: String) -> [String] {
        var parts: [String] = []
        var current: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces) == "---" {
                parts.append(current.joined(separator: "\n"))
                current = []
            } else {
                current.append(line)
            }
        }
        parts.append(current.joined(separator: "\n"))
        let trimmed = parts.map { $0.trimmingCharacters(in: .newlines) }.filter { !$0.isEmpty }
        return trimmed.isEmpty ? [text] : trimmed
    }

    func textPrompt(_ text: String, label: String?, display: String?, at node: ConfigNode) throws -> EvalPrompt {
        try checkTemplate(text, at: node)
        let firstLine = text.split(separator: "\n").first.map(String.init) ?? text
        let shown = label ?? display ?? (firstLine.count > 60 || text.contains("\n") ? String(firstLine.prefix(57)) + "..." : firstLine)
        return EvalPrompt(label: shown, key: label ?? "", raw: text, kind: .text, text: text, messages: [], location: EvalLocation(node, source: source))
    }

    func chatPrompt(_ value: JSONValue, label: String?, origin: String?, at node: ConfigNode) throws -> EvalPrompt {
        guard let list = value.array, !list.isEmpty else {
            throw node.error("\(origin ?? "the prompt") must be a template string or a list of chat messages ({role, content})")
        }
        var messages: [PromptMessage] = []
        for (index, message) in list.enumerated() {
            guard let role = message["role"]?.string else {
                throw node.error("\(origin ?? "chat prompt") message \(index): expected {role, content}")
            }
            guard ["system", "user", "assistant", "developer"].contains(role) else {
                throw node.error("\(origin ?? "chat prompt") message \(index): role must be system, user, assistant or developer, got \"\(role)\"")
            }
            guard let content = message["content"]?.string else {
                throw node.error("\(origin ?? "chat prompt") message \(index): content must be a string (content parts such as images are not supported)")
            }
            try checkTemplate(content, at: node)
            messages.append(PromptMessage(role: role, content: content))
        }
        let raw = value.jsonString()
        let shown = label ?? origin ?? (messages.last.map { String($0.content.prefix(57)) } ?? raw)
        return EvalPrompt(label: shown, key: label ?? "", raw: raw, kind: .chat, text: nil, messages: messages, location: EvalLocation(node, source: source))
    }

    /// Tern substitutes `{{ variable }}` (and `{{ object.field }}`); Nunjucks tags, filters and
    /// expressions are refused so a prompt never reaches a model half-rendered.
    func checkTemplate(_ template: String, at node: ConfigNode) throws {
        for marker in ["{%", "{#"] where template.contains(marker) {
            throw node.error("the template uses Nunjucks tags (\(marker) ... ); tern eval substitutes {{ variable }} only")
        }
        var rest = template[...]
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            let inner = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if !PromptTemplate.isVariableName(inner) {
                throw node.error(
                    "the template uses \"{{\(rest[open.upperBound..<close.lowerBound])}}\": Nunjucks filters and expressions are not supported; tern eval substitutes {{ variable }} only"
                )
            }
            rest = rest[close.upperBound...]
        }
    }

    // MARK: Providers

    /// `providers` (or `targets`): an id string, or a list of ids and `{id, label, config}` objects
    /// (also promptfoo's `{ID: {label, config}}` form).
    func providers(_ node: ConfigNode) throws -> [EvalProvider] {
        let items = node.isSequence ? try node.sequence() : [node]
        guard !items.isEmpty else { throw node.error("lists no providers") }
        return try items.map(provider)
    }

    func provider(_ node: ConfigNode) throws -> EvalProvider {
        if node.isScalar { return try provider(id: try node.string(), label: nil, config: nil, at: node) }
        let pairs = try node.mapping(allowed: nil)
        if pairs.count == 1, node.value("id") == nil, pairs[0].key.contains(":") || pairs[0].value.isMapping {
            // promptfoo's `- openai:gpt-4o: {config: ...}`
            let (id, options) = pairs[0]
            _ = try entries(options, supported: ["label", "config"], refused: Self.refusedProviderKeys)
            return try provider(id: id, label: try options.value("label").map { try $0.string() }, config: options.value("config"), at: options)
        }
        _ = try entries(node, supported: Self.providerKeys, refused: Self.refusedProviderKeys)
        guard let id = node.value("id") else { throw node.error("a provider object needs an id (openai:chat:MODEL, anthropic:messages:MODEL...)") }
        return try provider(id: try id.string(), label: try node.value("label").map { try $0.string() }, config: node.value("config"), at: id)
    }

    /// A provider id with its `config`. `grading` parses it as the judge (`.text`) or embedding
    /// model of model-graded assertions: the same ids, plus `openai:embedding:MODEL` (and
    /// `openai:MODEL`, `tern:MODEL` and logical model names) for embeddings.
    func provider(id: String, label: String?, config: ConfigNode?, at node: ConfigNode, grading: GraderReference.Kind? = nil) throws -> EvalProvider {
        let parts = id.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var api: EvalProvider.API
        let model: String
        func rest(_ from: Int) -> String { parts.dropFirst(from).joined(separator: ":") }
        let embedding = grading == .embedding
        func notEmbedding() -> ConfigError {
            node.error(
                "\"\(id)\" is not an embedding model; name one as openai:embedding:MODEL\(flavor == .tern ? ", tern:MODEL or a Tern logical model" : " or tern:MODEL")"
            )
        }
        switch parts[0] {
        case "openai":
            let second = parts.count > 2 ? parts[1] : ""
            if embedding, ["chat", "completion"].contains(second) { throw notEmbedding() }
            if grading != nil, ["embedding", "embeddings"].contains(second) {
                guard embedding else {
                    throw node.error("\"\(id)\" is an embedding model; a judge must be a chat model (openai:chat:MODEL, anthropic:messages:MODEL...)")
                }
                api = .openAIEmbedding; model = rest(2)
                break
            }
            switch second {
            case "chat": api = .openAIChat; model = rest(2)
            case "completion": api = .openAICompletion; model = rest(2)
            case "embedding", "embeddings", "responses", "assistant", "image", "realtime", "moderation", "transcription", "tts", "agents", "chatkit", "video":
                throw node.error(
                    "not supported by tern eval: \(parts[0]):\(parts[1]) providers (use openai:chat:MODEL or openai:completion:MODEL"
                        + (grading == nil && parts[1].hasPrefix("embedding") ? "; embedding models grade `similar` as an assertion's provider" : "") + ")")
            default:
                model = rest(1)
                api = embedding ? .openAIEmbedding : Self.legacyCompletionModels.contains(model) ? .openAICompletion : .openAIChat
            }
        case "anthropic":
            if embedding { throw node.error("\"\(id)\": Anthropic has no embeddings API; name an embedding model as openai:embedding:MODEL or tern:MODEL") }
            switch parts.count > 2 ? parts[1] : "" {
            case "messages": api = .anthropicMessages; model = rest(2)
            case "completion", "claude-agent-sdk", "claude-code":
                throw node.error("not supported by tern eval: anthropic:\(parts[1]) providers (use anthropic:messages:MODEL)")
            default: api = .anthropicMessages; model = rest(1)
            }
        case "echo" where parts.count == 1:
            if grading != nil { throw node.error("echo cannot grade; name a \(embedding ? "embedding" : "chat") model") }
            api = .echo; model = "echo"
        case "tern":
            api = .ternGateway; model = rest(1)
        default:
            if parts.count == 1, flavor == .tern {
                api = .ternGateway; model = id
            } else {
                let kind = id.hasPrefix("file://") ? "providers from files" : id.hasPrefix("http") ? "HTTP providers" : "\(parts[0]): providers"
                let supported =
                    embedding
                    ? "openai:embedding:MODEL, openai:embeddings:MODEL, openai:MODEL"
                    : "openai:chat:MODEL, openai:completion:MODEL, openai:MODEL, anthropic:messages:MODEL" + (grading == nil ? ", echo" : "")
                throw node.error(
                    "not supported by tern eval: \(kind) (\"\(id)\"). Supported: \(supported)"
                        + (flavor == .tern ? ", tern:MODEL or a Tern logical model name (with --server)" : grading == nil ? "" : ", tern:MODEL (with --server)")
                )
            }
        }
        if embedding, api == .ternGateway { api = .ternGatewayEmbedding }
        guard !model.isEmpty else { throw node.error("\"\(id)\" names no model") }
        var provider = EvalProvider(
            id: id, label: label, api: api, model: model, apiBaseURL: nil, apiHost: nil, apiKeyEnvar: nil, apiKeyRequired: true,
            headers: [:], options: ModelCallOptions(), location: EvalLocation(node, source: source))
        if let config { try providerConfig(config, into: &provider) }
        return provider
    }

    /// OpenAI models promptfoo sends to `/completions` when named as `openai:MODEL`.
    static let legacyCompletionModels: Set<String> = ["gpt-3.5-turbo-instruct", "davinci-002", "babbage-002", "text-davinci-003", "text-davinci-002"]

    func providerConfig(_ node: ConfigNode, into provider: inout EvalProvider) throws {
        var parameters: [String: JSONValue] = [:]
        for (key, value) in try entries(node, supported: Self.providerConfigKeys, refused: Self.refusedProviderConfigKeys) {
            switch key {
            case "apiBaseUrl":
                let url = try value.string()
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw value.error("expected an http:// or https:// URL, got \"\(url)\"") }
                provider.apiBaseURL = url
            case "apiHost": provider.apiHost = try value.string()
            case "apiKeyEnvar": provider.apiKeyEnvar = try value.string()
            case "apiKeyRequired": provider.apiKeyRequired = try value.bool()
            case "temperature": provider.options.temperature = try value.double(in: 0...2)
            case "max_tokens": provider.options.maxTokens = try value.int(in: 1...10_000_000)
            case "top_p": provider.options.topP = try value.double(in: 0...1)
            case "tools":
                let tools = try resolvingFiles(value)
                guard tools.array != nil else { throw value.error("expected a list of tool definitions") }
                provider.options.tools = tools
            case "response_format": provider.options.responseFormat = try resolvingFiles(value)
            case "headers":
                for (name, header) in try value.mapping(allowed: nil) { provider.headers[name] = try scalarText(header) }
            default: parameters[key] = value.json
            }
        }
        if !parameters.isEmpty { provider.options.parameters = parameters }
    }
}
