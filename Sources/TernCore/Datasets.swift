public import Foundation

/// A named collection of test cases, versioned: every change makes a new immutable version.
public struct Dataset: Sendable, Codable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var name: String
    public var description: String?
    public var createdAt: Date
    /// 0 while empty.
    public var latestVersion: Int

    public init(id: String, projectID: String, name: String, description: String?, createdAt: Date, latestVersion: Int) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.description = description
        self.createdAt = createdAt
        self.latestVersion = latestVersion
    }
}

/// One case: input variables, an optional expected output, segments in metadata, and whether a
/// person validated it (golden items can be required to pass).
public struct DatasetItem: Sendable, Codable, Equatable, Identifiable {
    /// Stable across versions: an edit keeps the id.
    public var id: String
    public var input: [String: JSONValue]
    public var expectedOutput: String?
    public var metadata: [String: JSONValue]
    public var golden: Bool
    public var validatedBy: String?
    public var validatedAt: Date?
    public var sourceTraceID: String?

    public init(
        id: String, input: [String: JSONValue], expectedOutput: String? = nil, metadata: [String: JSONValue] = [:], golden: Bool = false,
        validatedBy: String? = nil, validatedAt: Date? = nil, sourceTraceID: String? = nil
    ) {
        self.id = id
        self.input = input
        self.expectedOutput = expectedOutput
        self.metadata = metadata
        self.golden = golden
        self.validatedBy = validatedBy
        self.validatedAt = validatedAt
        self.sourceTraceID = sourceTraceID
    }

    /// The item's content without its id, for telling an edit from a no-op.
    public func sameContent(as other: DatasetItem) -> Bool {
        input == other.input && expectedOutput == other.expectedOutput && metadata == other.metadata && golden == other.golden
            && sourceTraceID == other.sourceTraceID
    }

    public var task: String? { metadata["task"]?.string }
    public var language: String? { metadata["language"]?.string }
    public var domain: String? { metadata["domain"]?.string }
}

/// A version of a dataset: what changed, who changed it.
public struct DatasetVersion: Sendable, Codable, Equatable {
    public var version: Int
    public var itemCount: Int
    public var added: Int
    public var changed: Int
    public var removed: Int
    public var author: String
    public var message: String?
    public var createdAt: Date

    public init(version: Int, itemCount: Int, added: Int, changed: Int, removed: Int, author: String, message: String?, createdAt: Date) {
        self.version = version
        self.itemCount = itemCount
        self.added = added
        self.changed = changed
        self.removed = removed
        self.author = author
        self.message = message
        self.createdAt = createdAt
    }
}

/// Storage for datasets and their versioned items. An item row is valid from the version that
/// added it until the version that replaced or removed it, so every version stays readable.
public protocol DatasetRepository: Sendable {
    /// Creates an empty dataset; a taken name is a conflict naming `name`.
    func create(projectID: String, name: String, description: String?) async throws -> Dataset
    func get(projectID: String, name: String) async throws -> Dataset?
    func list(projectID: String) async throws -> [Dataset]
    /// Applies upserts (new ids are added, known ids with other content are changed) and removals as
    /// one new version. A change that alters nothing makes no version and returns nil.
    func apply(projectID: String, dataset: String, upserts: [DatasetItem], removals: [String], author: String, message: String?) async throws -> DatasetVersion?
    /// The items of a version (default: the latest), ordered by id; `after` pages by id.
    func items(projectID: String, dataset: String, version: Int?, after: String?, limit: Int) async throws -> [DatasetItem]
    /// Versions, newest first.
    func versions(projectID: String, dataset: String) async throws -> [DatasetVersion]
}

extension DatasetItem {
    /// An item as people write it (JSONL lines, API bodies): `input` (or `vars`) an object, or a string
    /// (stored as `{"input": ...}`); `expected_output` (or `expected`); `metadata`; `golden`; `id`;
    /// `source_trace_id`. Errors name the key, prefixed with `path`.
    public static func definition(_ value: JSONValue, path: String, defaultID: () -> String) throws -> DatasetItem {
        func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }
        guard let object = value.object else { throw TernError.invalid(path.isEmpty ? nil : path, "expected an object with input") }
        let known: Set<String> = ["id", "input", "vars", "expected_output", "expected", "metadata", "golden", "source_trace_id"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw TernError.invalid(key(unknown), "unknown key; expected one of \(known.sorted().joined(separator: ", "))")
        }
        let rawInput = value["input"] ?? value["vars"]
        let input: [String: JSONValue]
        switch rawInput {
        case .object(let fields)?: input = fields
        case .string(let text)?: input = ["input": .string(text)]
        case nil: throw TernError.invalid(key("input"), "required: an object of variables or a string")
        default: throw TernError.invalid(key("input"), "expected an object of variables or a string")
        }
        let expectedValue = value["expected_output"] ?? value["expected"]
        let expected: String? = expectedValue.flatMap { $0.isNull ? nil : ($0.string ?? $0.jsonString()) }
        var metadata: [String: JSONValue] = [:]
        if let given = value["metadata"], !given.isNull {
            guard let fields = given.object else { throw TernError.invalid(key("metadata"), "expected an object") }
            metadata = fields
        }
        if let golden = value["golden"], golden.bool == nil, !golden.isNull { throw TernError.invalid(key("golden"), "expected true or false") }
        if let id = value["id"], id.string == nil { throw TernError.invalid(key("id"), "expected a string") }
        return DatasetItem(
            id: value["id"]?.string ?? defaultID(), input: input, expectedOutput: expected, metadata: metadata,
            golden: value["golden"]?.bool ?? false, sourceTraceID: value["source_trace_id"]?.string)
    }

    /// The item as a JSONL line's object.
    public var jsonObject: JSONValue {
        var out: [String: JSONValue] = ["id": .string(id), "input": .object(input), "golden": .bool(golden)]
        if let expectedOutput { out["expected_output"] = .string(expectedOutput) }
        if !metadata.isEmpty { out["metadata"] = .object(metadata) }
        if let sourceTraceID { out["source_trace_id"] = .string(sourceTraceID) }
        if let validatedBy { out["validated_by"] = .string(validatedBy) }
        return .object(out)
    }
}
