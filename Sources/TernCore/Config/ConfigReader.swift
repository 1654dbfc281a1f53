import Foundation
import Yams

/// A position in `tern.yaml` with its key path, for validation messages that point at the key:
/// `tern.yaml:4: database.url: expected postgres://..., got "mysql://x"`.
public struct ConfigNode {
    let node: Node
    public let path: String
    let source: String

    init(node: Node, path: String, source: String) {
        self.node = node
        self.path = path
        self.source = source
    }

    /// Parses YAML text; a syntax error names the file and line.
    public static func parse(yaml: String, source: String) throws -> ConfigNode? {
        do {
            guard let node = try Yams.compose(yaml: yaml) else { return nil }
            if case .scalar(let scalar) = node, scalar.tag == .init(.null) { return nil }
            return ConfigNode(node: node, path: "", source: source)
        } catch let error as YamlError {
            throw ConfigError(source: source, path: nil, line: nil, message: "invalid YAML: \(error)")
        }
    }

    var line: Int? { node.mark?.line }

    public func error(_ message: String) -> ConfigError {
        ConfigError(source: source, path: path.isEmpty ? nil : path, line: line, message: message)
    }

    public var isNull: Bool {
        if case .scalar(let scalar) = node { return scalar.tag == .init(.null) }
        return false
    }

    func child(_ key: String, _ node: Node) -> ConfigNode {
        ConfigNode(node: node, path: path.isEmpty ? key : "\(path).\(key)", source: source)
    }

    /// The entries of a mapping, in file order; unknown keys are an error that lists the allowed ones.
    public func mapping(allowed: [String]?) throws -> [(key: String, value: ConfigNode)] {
        guard case .mapping(let mapping) = node else {
            throw error("expected a mapping of keys, got \(describe())")
        }
        var result: [(key: String, value: ConfigNode)] = []
        var seen = Set<String>()
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                throw error("keys must be plain strings")
            }
            let key = keyScalar.string
            let entry = child(key, valueNode)
            if let allowed, !allowed.contains(key) {
                var message = "unknown key (allowed: \(allowed.joined(separator: ", ")))"
                if let near = nearest(key, in: allowed) { message = "unknown key, did you mean \"\(near)\"? (allowed: \(allowed.joined(separator: ", ")))" }
                throw ConfigError(source: source, path: entry.path, line: keyNode.mark?.line, message: message)
            }
            guard seen.insert(key).inserted else {
                throw ConfigError(source: source, path: entry.path, line: keyNode.mark?.line, message: "duplicate key")
            }
            result.append((key, entry))
        }
        return result
    }

    public func sequence() throws -> [ConfigNode] {
        guard case .sequence(let sequence) = node else {
            throw error("expected a list, got \(describe())")
        }
        return sequence.enumerated().map { index, item in
            ConfigNode(node: item, path: "\(path)[\(index)]", source: source)
        }
    }

    public func string() throws -> String {
        guard case .scalar(let scalar) = node, scalar.tag != .init(.null) else {
            throw error("expected a string, got \(describe())")
        }
        return scalar.string
    }

    public func int(in range: ClosedRange<Int>) throws -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string.replacingOccurrences(of: "_", with: "")) else {
            throw error("expected an integer \(range.lowerBound)-\(range.upperBound), got \(describe())")
        }
        guard range.contains(value) else {
            throw error("expected an integer \(range.lowerBound)-\(range.upperBound), got \(value)")
        }
        return value
    }

    public func double(in range: ClosedRange<Double>) throws -> Double {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string), value.isFinite else {
            throw error("expected a number \(range.lowerBound)-\(range.upperBound), got \(describe())")
        }
        guard range.contains(value) else {
            throw error("expected a number \(range.lowerBound)-\(range.upperBound), got \(value)")
        }
        return value
    }

    public func bool() throws -> Bool {
        guard case .scalar(let scalar) = node else { throw error("expected true or false, got \(describe())") }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, got \(describe())")
        }
    }

    public func oneOf<T>(_ choices: [(String, T)]) throws -> T {
        let text = try string()
        guard let match = choices.first(where: { $0.0 == text.lowercased() }) else {
            throw error("expected one of \(choices.map(\.0).joined(separator: ", ")), got \"\(text)\"")
        }
        return match.1
    }

    /// The 1-based line of the value, when known.
    public var lineNumber: Int? { line }

    public var isMapping: Bool { if case .mapping = node { true } else { false } }
    public var isSequence: Bool { if case .sequence = node { true } else { false } }
    public var isScalar: Bool { if case .scalar = node { true } else { false } }

    /// The value as JSON (mappings, sequences, strings, numbers, booleans, null), as
    /// `JSONValue.parse(yaml:source:)` reads it.
    public var json: JSONValue { JSONValue.convert(node) }

    /// The same node under another key path (for values read from another file or place).
    public func relocated(path: String) -> ConfigNode { ConfigNode(node: node, path: path, source: source) }

    /// The mapping's value for `key` (nil when absent or when this is not a mapping), with its key path.
    public func value(_ key: String) -> ConfigNode? {
        guard case .mapping(let mapping) = node else { return nil }
        for (keyNode, valueNode) in mapping where keyNode.string == key { return child(key, valueNode) }
        return nil
    }

    func describe() -> String {
        switch node {
        case .scalar(let scalar):
            return scalar.tag == .init(.null) ? "nothing" : "\"\(scalar.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

/// An invalid configuration value: where it is and what was expected.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `tern.yaml`, an environment variable name, or a flag.
    public var source: String
    /// Dotted key path (`database.url`), nil for whole-file problems.
    public var path: String?
    public var line: Int?
    public var message: String

    public init(source: String, path: String?, line: Int?, message: String) {
        self.source = source
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        var location = source
        if let line { location += ":\(line)" }
        if let path, path != source { return "\(location): \(path): \(message)" }
        return "\(location): \(message)"
    }
}

/// The allowed word closest to a misspelt one, if any is close.
func nearest(_ word: String, in candidates: [String]) -> String? {
    func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
    let scored = candidates.map { ($0, distance(word.lowercased(), $0)) }.filter { $0.1 <= 2 }
    return scored.min(by: { $0.1 < $1.1 })?.0
}

extension JSONValue {
    /// YAML text as JSON values (mappings, sequences, strings, numbers, booleans, null); a syntax
    /// error names the source and line.
    public static func parse(yaml: String, source: String) throws -> JSONValue {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(source: source, path: nil, line: nil, message: "invalid YAML: \(error)")
        }
        return node.map(convert) ?? .null
    }

    static func convert(_ node: Node) -> JSONValue {
        switch node {
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping { object[key.string ?? ""] = convert(value) }
            return .object(object)
        case .sequence(let sequence):
            return .array(sequence.map(convert))
        case .scalar(let scalar):
            if scalar.style == .plain {
                if scalar.tag == .init(.null) || ["null", "~", ""].contains(scalar.string) { return .null }
                if let flag = Bool.construct(from: scalar) { return .bool(flag) }
                if let number = Int.construct(from: scalar) { return .number(Double(number)) }
                if let number = Double.construct(from: scalar) { return .number(number) }
            }
            return .string(scalar.string)
        case .alias:
            return .null
        }
    }
}
