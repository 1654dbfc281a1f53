import Foundation
import TernCore

/// Reads a `tern eval` (or promptfoo) config node by node, so every error names its key path and line.
struct EvalConfigParser {
    let source: String
    let directory: URL
    let flavor: EvalConfigFlavor

    // MARK: Keys

    static let topLevel = [
        "description", "prompts", "providers", "targets", "tests", "defaultTest", "evaluateOptions", "env", "tags",
        "outputPath", "sharing", "writeLatestResults",
    ]
    static let ternTopLevel = ["dataset", "golden"]
    /// promptfoo keys Tern cannot honour, with why.
    static let refusedTopLevel: [String: String] = [
        "scenarios": "scenarios are not supported; list each combination as a test",
        "extensions": "extension hooks run JavaScript or Python, which tern eval does not run",
        "nunjucksFilters": "custom Nunjucks filters are JavaScript; tern eval substitutes {{ variables }} only",
        "derivedMetrics": "derived metrics are not supported",
        "redteam": "red teaming is not supported by tern eval",
        "tracing": "promptfoo's OpenTelemetry tracing is not supported; use --server to trace calls through the Tern gateway",
        "metadata": "top-level metadata is not supported; put metadata on tests or defaultTest",
    ]
    static let testKeys = ["description", "vars", "assert", "threshold", "metadata", "options"]
    static let refusedTestKeys: [String: String] = [
        "providers": "per-test provider filters are not supported",
        "prompts": "per-test prompt filters are not supported",
        "providerOutput": "canned provider outputs are not supported",
        "assertScoringFunction": "custom scoring functions run JavaScript or Python, which tern eval does not run",
        "provider": "per-test providers are not supported",
    ]
    static let testOptionKeys = ["prefix", "suffix", "disableVarExpansion", "provider", "rubricPrompt"]
    static let assertionKeys = ["type", "value", "threshold", "weight", "metric", "provider", "rubricPrompt", "config", "assert"]
    static let refusedAssertionKeys: [String: String] = [
        "transform": "output transforms run JavaScript, which tern eval does not run",
        "contextTransform": "context transforms run JavaScript, which tern eval does not run",
    ]
    static let providerKeys = ["id", "label", "config"]
    static let refusedProviderKeys: [String: String] = [
        "prompts": "provider-specific prompt lists are not supported; run such providers in separate configs",
        "transform": "response transforms run JavaScript, which tern eval does not run",
        "delay": "per-provider delays are not supported",
        "env": "per-provider env is not supported; use the top-level env",
    ]
    static let providerConfigKeys = [
        "apiBaseUrl", "apiHost", "apiKeyEnvar", "apiKeyRequired", "temperature", "max_tokens", "top_p", "tools",
        "tool_choice", "response_format", "headers", "seed", "stop", "frequency_penalty", "presence_penalty",
    ]
    static let refusedProviderConfigKeys: [String: String] = [
        "apiKey": "keys are not read from config files; put it in an environment variable and name it with apiKeyEnvar",
        "functions": "legacy OpenAI functions are not supported; use tools",
    ]
    static let evaluateOptionKeys = ["maxConcurrency", "repeat", "cache", "timeoutMs", "showProgressBar"]
    static let refusedEvaluateOptionKeys: [String: String] = [
        "delay": "delays between calls are not supported; lower maxConcurrency instead",
        "maxEvalTimeMs": "a time limit for the whole run is not supported",
    ]

    /// Why an assertion type is not available, when Tern knows why.
    static func unsupportedAssertionNote(_ type: String) -> String? {
        switch type {
        case "javascript", "python", "ruby", "webhook":
            return "\(type) assertions run code, which tern eval does not run"
        case "context-recall", "context-relevance", "classifier", "moderation", "search-rubric", "pi", "conversation-relevance", "max-score":
            return "a model-graded evaluator that this build does not include"
        case "similar:dot", "similar:euclidean":
            return "only similar (cosine similarity) is supported"
        default:
            return nil
        }
    }

    // MARK: Top level

    mutating func config(_ root: ConfigNode) throws -> EvalConfig {
        var refused = Self.refusedTopLevel
        if flavor == .promptfoo {
            for key in Self.ternTopLevel { refused[key] = "\(key) is a Tern extension; use it in tern-eval.yaml (tern eval -c), not with --from-promptfoo" }
        }
        var config = EvalConfig(source: source, flavor: flavor)
        config.raw = root.json
        var defaultNode: ConfigNode?
        var testsNode: ConfigNode?
        var providersNode: ConfigNode?
        for (key, node) in try entries(root, supported: Self.topLevel + (flavor == .tern ? Self.ternTopLevel : []), refused: refused) {
            switch key {
            case "description": config.description = try node.string()
            case "prompts": config.prompts = try prompts(node)
            case "providers", "targets":
                if providersNode != nil { throw node.error("give providers or targets, not both") }
                providersNode = node
            case "tests": testsNode = node
            case "defaultTest": defaultNode = node
            case "evaluateOptions": try evaluateOptions(node, into: &config)
            case "env":
                for (name, value) in try node.mapping(allowed: nil) { config.environment[name] = try scalarText(value) }
            case "tags":
                for (name, value) in try node.mapping(allowed: nil) { config.tags[name] = try scalarText(value) }
            case "outputPath":
                config.outputPaths = node.isSequence ? try node.sequence().map { try $0.string() } : [try node.string()]
            case "sharing":
                if node.isMapping || (try? node.bool()) != false {
                    throw node.error("sharing is not supported (tern eval never uploads results); remove it or set sharing: false")
                }
            case "writeLatestResults": _ = try node.bool()
            case "dataset": config.dataset = try dataset(node)
            case "golden":
                switch try node.string() {
                case "require-all": config.goldenRequireAll = true
                case "none": config.goldenRequireAll = false
                case let other: throw node.error("expected require-all or none, got \"\(other)\"")
                }
            default: break
            }
        }
        if let providersNode { config.providers = try providers(providersNode) }
        config.defaultTest = try defaultNode.map(defaultTest)
        if let testsNode {
            config.tests = try tests(testsNode).map { $0.merged(over: config.defaultTest) }
        }
        if config.prompts.isEmpty {
            // promptfoo's default: the `prompt` variable passes through.
            config.prompts = [
                EvalPrompt(
                    label: "{{prompt}}", key: "prompts[0]", raw: "{{prompt}}", kind: .text, text: "{{prompt}}", messages: [],
                    location: EvalLocation(source: source, path: "prompts", line: nil))
            ]
        }
        guard !config.providers.isEmpty else {
            throw ConfigError(
                source: source, path: "providers", line: nil,
                message: "required: at least one provider (openai:chat:MODEL, anthropic:messages:MODEL\(flavor == .tern ? ", or a Tern logical model" : ""))")
        }
        guard !config.tests.isEmpty || config.dataset != nil else {
            throw ConfigError(
                source: source, path: "tests", line: nil,
                message: "required: tests (inline, or files: CSV, JSONL, YAML, JSON)\(flavor == .tern ? " or dataset" : "")")
        }
        try checkUniqueColumns(config)
        return config
    }

    /// A mapping's entries: unknown keys are an error naming the allowed ones, known but unsupported keys an error saying why.
    func entries(_ node: ConfigNode, supported: [String], refused: [String: String]) throws -> [(key: String, value: ConfigNode)] {
        let entries = try node.mapping(allowed: supported + refused.keys.sorted())
        for (key, value) in entries {
            if let why = refused[key] { throw value.error("not supported by tern eval: \(why)") }
        }
        return entries
    }

    func scalarText(_ node: ConfigNode) throws -> String {
        guard node.isScalar else { throw node.error("expected a string, got a \(node.isMapping ? "mapping" : "list")") }
        return try node.string()
    }

    func evaluateOptions(_ node: ConfigNode, into config: inout EvalConfig) throws {
        for (key, value) in try entries(node, supported: Self.evaluateOptionKeys, refused: Self.refusedEvaluateOptionKeys) {
            switch key {
            case "maxConcurrency": config.maxConcurrency = try value.int(in: 1...1000)
            case "repeat": config.repeatCount = try value.int(in: 1...1000)
            case "cache": config.cache = try value.bool()
            case "timeoutMs": config.timeoutSeconds = Double(try value.int(in: 1...3_600_000)) / 1000
            case "showProgressBar": config.showProgressBar = try value.bool()
            default: break
            }
        }
    }

    func dataset(_ node: ConfigNode) throws -> EvalDatasetReference {
        let text = try node.string()
        let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
        guard let name = parts.first, !name.isEmpty else { throw node.error("expected NAME or NAME@VERSION") }
        var version: Int?
        if parts.count == 2 {
            guard let number = Int(parts[1].hasPrefix("v") ? String(parts[1].dropFirst()) : parts[1]), number >= 1 else {
                throw node.error("expected NAME@VERSION with a version number ≥ 1, got \"\(text)\"")
            }
            version = number
        }
        return EvalDatasetReference(name: name, version: version, location: EvalLocation(node, source: source))
    }

    func checkUniqueColumns(_ config: EvalConfig) throws {
        var seen: [String: Int] = [:]
        for (index, provider) in config.providers.enumerated() {
            if let earlier = seen[provider.displayName] {
                throw provider.location.error(
                    "providers[\(earlier)] has the same \(provider.label == nil ? "id" : "label") \"\(provider.displayName)\"; give each a distinct label")
            }
            seen[provider.displayName] = index
        }
    }

    // MARK: Files

    /// The display path of a file named in the config (relative to the config's folder).
    func display(_ relative: String) -> String {
        let folder = (source as NSString).deletingLastPathComponent
        return folder.isEmpty || relative.hasPrefix("/") ? relative : (folder as NSString).appendingPathComponent(relative)
    }

    /// The files a `file://` reference (or bare path) names; globs (`*`, `?`, `**`) expand, sorted.
    /// `display` is the path for messages, `relative` the path as written (relative to the config).
    func files(_ reference: String, at node: ConfigNode) throws -> [(url: URL, display: String, relative: String)] {
        let relative = reference.hasPrefix("file://") ? String(reference.dropFirst(7)) : reference
        guard relative.contains("*") || relative.contains("?") else {
            let url = relative.hasPrefix("/") ? URL(fileURLWithPath: relative) : directory.appendingPathComponent(relative)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw node.error("\(display(relative)) does not exist")
            }
            return [(url, display(relative), relative)]
        }
        let matches = EvalGlob.expand(relative, in: directory)
        guard !matches.isEmpty else { throw node.error("\(display(relative)) matches no files") }
        return matches.map { (directory.appendingPathComponent($0), display($0), $0) }
    }

    func read(_ url: URL, display: String, at node: ConfigNode) throws -> String {
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw node.error("cannot read \(display) as UTF-8 text: \(error.localizedDescription)")
        }
    }

    static let codeExtensions: Set<String> = ["js", "mjs", "cjs", "ts", "mts", "cts", "py", "rb", "sh"]

    /// A reference to code (`file://gen.py`, `file://tests.js:make`), refused before looking for the file.
    static func isCode(_ reference: String) -> Bool {
        let path = reference.hasPrefix("file://") ? String(reference.dropFirst(7)) : reference
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: ".") else { return false }
        let ext = name[name.index(after: dot)...].split(separator: ":").first.map(String.init) ?? ""
        return codeExtensions.contains(ext.lowercased())
    }
    static let binaryExtensions: Set<String> = ["png", "jpg", "jpeg", "gif", "webp", "bmp", "pdf", "mp3", "wav", "mp4", "mov", "webm", "xlsx", "xls"]

    /// A value given as `file://...` (a variable, an assertion value): text files as strings,
    /// JSON and YAML files parsed. Code and binary files are refused.
    func fileValue(_ reference: String, at node: ConfigNode) throws -> JSONValue {
        if Self.isCode(reference) { throw node.error("\(reference) is code; tern eval does not run JavaScript, Python or scripts") }
        let found = try files(reference, at: node)
        guard found.count == 1, let file = found.first else { throw node.error("\(reference) must name one file, it matches \(found.count)") }
        let ext = file.url.pathExtension.lowercased()
        if Self.codeExtensions.contains(ext) {
            throw node.error("\(file.display) is code; tern eval does not run JavaScript, Python or scripts")
        }
        if Self.binaryExtensions.contains(ext) {
            throw node.error("\(file.display) is a binary file (images, audio, PDF, spreadsheets are not supported as values)")
        }
        let text = try read(file.url, display: file.display, at: node)
        switch ext {
        case "json", "yaml", "yml":
            return try JSONValue.parse(yaml: text, source: file.display)
        default:
            return .string(text)
        }
    }

    /// A JSON value with `file://` strings replaced by the files' contents.
    func resolvingFiles(_ node: ConfigNode) throws -> JSONValue {
        if node.isScalar, let text = try? node.string(), text.hasPrefix("file://") { return try fileValue(text, at: node) }
        return node.json
    }
}

/// Glob patterns for `file://` paths: `*` and `?` within a path component, `**/` across folders.
enum EvalGlob {
    static func expand(_ pattern: String, in directory: URL) -> [String] {
        let components = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let fixed = components.prefix { !$0.contains("*") && !$0.contains("?") }.joined(separator: "/")
        let start = fixed.isEmpty ? directory : directory.appendingPathComponent(fixed)
        guard let regex = try? Regex(regexSource(pattern)),
            let walker = FileManager.default.enumerator(at: start, includingPropertiesForKeys: [.isRegularFileKey])
        else { return [] }
        var out: [String] = []
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let full = url.standardizedFileURL.path
            let base = directory.standardizedFileURL.path
            guard full.hasPrefix(base + "/") else { continue }
            let relative = String(full.dropFirst(base.count + 1))
            if (try? regex.wholeMatch(in: relative)) != nil { out.append(relative) }
        }
        return out.sorted()
    }

    static func regexSource(_ pattern: String) -> String {
        var out = ""
        var characters = Array(pattern)[...]
        while let character = characters.first {
            characters = characters.dropFirst()
            switch character {
            case "*":
                if characters.first == "*" {
                    characters = characters.dropFirst()
                    if characters.first == "/" { characters = characters.dropFirst(); out += "(?:.*/)?" } else { out += ".*" }
                } else {
                    out += "[^/]*"
                }
            case "?": out += "[^/]"
            default:
                out += "\\.^$|()[]{}+\\".contains(character) ? "\\\(character)" : String(character)
            }
        }
        return out
    }
}
