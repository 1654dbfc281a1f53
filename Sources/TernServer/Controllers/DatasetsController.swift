import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TernCore
import TernData

/// `/api/v1/datasets`: versioned datasets, their items, import and export (JSONL, CSV), statistics,
/// and items made from production traces.
struct DatasetsController {
    let store: any TernStore
    let maxBody: Int
    let projectID: @Sendable (Request, TernRequestContext) async throws -> String
    /// The embedding model of near-duplicates by meaning (`?semantic=true`).
    let embedder: @Sendable () async throws -> any Embedder

    static let maxItemsPerChange = 10_000
    static let defaultSemanticThreshold = 0.9

    struct DatasetView: Encodable {
        var dataset: Dataset
        var versions: [DatasetVersion]
    }

    /// `{"version": ...}`, or `{"version": null}` when the change changed nothing (no new version).
    struct ChangeResult: Encodable {
        var version: DatasetVersion?

        enum CodingKeys: String, CodingKey { case version }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            if let version { try container.encode(version, forKey: .version) } else { try container.encodeNil(forKey: .version) }
        }
    }

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.get("datasets", use: getDatasets)
        api.post("datasets", use: postDatasets)
        api.get("datasets/{dataset}", use: getDataset)
        api.get("datasets/{dataset}/items", use: getDatasetItems)
        api.post("datasets/{dataset}/items", use: postDatasetItems)
        api.post("datasets/{dataset}/import", use: postDatasetImport)
        api.get("datasets/{dataset}/export", use: getDatasetExport)
        api.get("datasets/{dataset}/stats", use: getDatasetStats)
        api.post("datasets/{dataset}/from-traces", use: postDatasetFromTraces)
        return api
    }

    struct ItemPage: Encodable {
        var data: [DatasetItem]
        var nextCursor: String?
    }

    /// A dataset item from a production trace: its input as the variable `input`, its output as the
    /// expected output (to be reviewed), its segments as metadata. The id follows the trace, so adding
    /// the same trace again changes nothing.
    static func item(from trace: Trace) -> DatasetItem {
        var metadata: [String: JSONValue] = [:]
        if let task = trace.task { metadata["task"] = .string(task) }
        if let language = trace.language { metadata["language"] = .string(language) }
        if let domain = trace.domain { metadata["domain"] = .string(domain) }
        return DatasetItem(
            id: "trace-\(trace.id)", input: ["input": .string(trace.input ?? "")], expectedOutput: trace.output, metadata: metadata,
            sourceTraceID: trace.id)
    }

    /// Golden items sent by a person are recorded as validated by them.
    static func validated(_ item: DatasetItem, by actor: String) -> DatasetItem {
        guard item.golden, item.validatedBy == nil else { return item }
        var out = item
        out.validatedBy = actor
        out.validatedAt = Timestamp.now()
        return out
    }

    func allItems(project: String, name: String, version: Int?) async throws -> [DatasetItem] {
        var out: [DatasetItem] = []
        var after: String?
        while true {
            let page = try await store.datasets.items(projectID: project, dataset: name, version: version, after: after, limit: 5000)
            out += page
            guard page.count == 5000, let last = page.last else { return out }
            after = last.id
        }
    }

    /// The threshold of near-duplicates by meaning when `semantic` is true (`semantic_threshold`, default 0.9), else nil.
    static func semanticThreshold(_ query: Parameters) throws -> Double? {
        let threshold = try query.get("semantic_threshold").map { text -> Double in
            guard let value = Double(text), (0...1).contains(value) else {
                throw TernError.invalid("semantic_threshold", "expected a number 0-1, got \"\(text)\"")
            }
            return value
        }
        switch query.get("semantic") {
        case nil: return threshold
        case "true", "1": return threshold ?? defaultSemanticThreshold
        case "false", "0": return nil
        case let other?: throw TernError.invalid("semantic", "expected true or false, got \"\(other)\"")
        }
    }

    static func int(_ text: String?, _ name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw TernError.invalid(
                name, "expected an integer \(range.lowerBound)-\(range.upperBound == Int.max ? "..." : String(range.upperBound)), got \"\(text)\"")
        }
        return value
    }
}

// MARK: - Handlers

extension DatasetsController {
    /// `GET /datasets`
    @Sendable func getDatasets(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        return try JSON.response(ProjectsController.ListBody(data: try await store.datasets.list(projectID: project)))
    }

    /// `POST /datasets`
    @Sendable func postDatasets(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try context.requirePrincipal().require(.member, to: "creating a dataset")
        let project = try await projectID(request, context)
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody), allowedKeys: ["name", "description"])
        guard let name = body["name"]?.string else { throw TernError.invalid("name", "required") }
        return try JSON.response(
            try await store.datasets.create(projectID: project, name: name, description: body["description"]?.string),
            status: .created)
    }

    /// `GET /datasets/{dataset}`
    @Sendable func getDataset(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let name = try context.parameters.string("dataset")
        guard let dataset = try await store.datasets.get(projectID: project, name: name) else { throw TernError.notFound("dataset \(name)") }
        return try JSON.response(DatasetView(dataset: dataset, versions: try await store.datasets.versions(projectID: project, dataset: name)))
    }

    /// `GET /datasets/{dataset}/items`
    @Sendable func getDatasetItems(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let name = try context.parameters.string("dataset")
        let parameters = request.uri.queryParameters
        let limit = try Self.int(parameters.get("limit"), "limit", range: 1...1000) ?? 100
        let items = try await store.datasets.items(
            projectID: project, dataset: name, version: try Self.int(parameters.get("version"), "version", range: 0...Int.max),
            after: parameters.get("cursor"), limit: limit)
        return try JSON.response(ItemPage(data: items, nextCursor: items.count == limit ? items.last?.id : nil))
    }

    /// `POST /datasets/{dataset}/items`
    @Sendable func postDatasetItems(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "changing a dataset")
        let project = try await projectID(request, context)
        let name = try context.parameters.string("dataset")
        let body = try JSON.decode(JSONValue.self, from: try await JSON.collect(request, limit: maxBody), allowedKeys: ["items", "remove", "message"])
        let given = body["items"]?.array ?? []
        guard given.count <= Self.maxItemsPerChange else {
            throw TernError(.tooLarge, code: "too_many_items", message: "at most \(Self.maxItemsPerChange) items per change")
        }
        var items = try given.enumerated().map { index, value in
            try DatasetItem.definition(value, path: "items[\(index)]", defaultID: { TernID.makeTimeOrdered() })
        }
        items = items.map { Self.validated($0, by: principal.actor) }
        let removals = try FieldReader(body: body, path: "").strings("remove")
        let version = try await store.datasets.apply(
            projectID: project, dataset: name, upserts: items, removals: removals, author: principal.actor,
            message: body["message"]?.string)
        return try JSON.response(ChangeResult(version: version), status: version == nil ? .ok : .created)
    }

    /// `POST /datasets/{dataset}/import`
    @Sendable func postDatasetImport(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "importing into a dataset")
        let project = try await projectID(request, context)
        let name = try context.parameters.string("dataset")
        let parameters = request.uri.queryParameters
        let text = String(decoding: try await JSON.collect(request, limit: maxBody), as: UTF8.self)
        let format = parameters.get("format") ?? ((request.headers[.contentType] ?? "").contains("csv") ? "csv" : "jsonl")
        var items: [DatasetItem]
        switch format {
        case "jsonl": items = try DatasetImport.jsonl(text)
        case "csv":
            func list(_ key: String) -> [String]? {
                parameters.get(key).map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            }
            let mapping = CSVMapping(
                id: parameters.get("id_column"), expected: parameters.get("expected_column"), metadata: list("metadata_columns") ?? [],
                golden: parameters.get("golden_column"), input: list("input_columns"))
            items = try DatasetImport.csv(text, mapping: mapping)
        default: throw TernError.invalid("format", "expected jsonl or csv, got \"\(format)\"")
        }
        guard items.count <= Self.maxItemsPerChange else {
            throw TernError(.tooLarge, code: "too_many_items", message: "at most \(Self.maxItemsPerChange) items per import")
        }
        items = items.map { Self.validated($0, by: principal.actor) }
        let version = try await store.datasets.apply(
            projectID: project, dataset: name, upserts: items, removals: [], author: principal.actor,
            message: parameters.get("message") ?? "import \(format)")
        return try JSON.response(ChangeResult(version: version), status: version == nil ? .ok : .created)
    }

    /// `GET /datasets/{dataset}/export`
    @Sendable func getDatasetExport(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let name = try context.parameters.string("dataset")
        let parameters = request.uri.queryParameters
        let items = try await allItems(project: project, name: name, version: try Self.int(parameters.get("version"), "version", range: 0...Int.max))
        switch parameters.get("format") ?? "jsonl" {
        case "jsonl":
            return Response(
                status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init(byteBuffer: ByteBuffer(string: DatasetExport.jsonl(items))))
        case "csv":
            return Response(
                status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: DatasetExport.csv(items))))
        case let other: throw TernError.invalid("format", "expected jsonl or csv, got \"\(other)\"")
        }
    }

    /// `GET /datasets/{dataset}/stats`
    @Sendable func getDatasetStats(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let name = try context.parameters.string("dataset")
        let items = try await allItems(
            project: project, name: name, version: try Self.int(request.uri.queryParameters.get("version"), "version", range: 0...Int.max))
        let stats = DatasetStats.compute(items)
        guard let threshold = try Self.semanticThreshold(request.uri.queryParameters) else { return try JSON.response(stats) }
        return try JSON.response(try await stats.withSemanticDuplicates(items, embedder: try await embedder(), threshold: threshold))
    }

    /// `POST /datasets/{dataset}/from-traces`
    @Sendable func postDatasetFromTraces(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "adding traces to a dataset")
        let project = try await projectID(request, context)
        let name = try context.parameters.string("dataset")
        let body = try JSON.decode(
            JSONValue.self, from: try await JSON.collect(request, limit: maxBody), allowedKeys: ["trace_ids", "filter", "limit", "message"])
        var traces: [Trace] = []
        for id in try FieldReader(body: body, path: "").strings("trace_ids") {
            guard let detail = try await store.traces.get(projectID: project, id: id) else { throw TernError.notFound("trace \(id)", field: "trace_ids") }
            traces.append(detail.trace)
        }
        if let filter = body["filter"] {
            guard let object = filter.object else { throw TernError.invalid("filter", "expected an object of trace filters, e.g. {\"status\": \"error\"}") }
            let pairs = object.flatMap { key, value -> [(String, String)] in
                if let list = value.array { return list.map { (key, $0.string ?? $0.jsonString()) } }
                return [(key, value.string ?? value.jsonString())]
            }
            let parsed: TraceFilter
            do { parsed = try TraceQueryParameters.filter(pairs) } catch var error as TernError {
                error.field = error.field.map { "filter.\($0)" }
                throw error
            }
            var query = TraceQuery(filter: parsed, limit: 500)
            if let given = body["limit"], given.int.map({ $0 >= 1 }) != true {
                throw TernError.invalid("limit", "expected a positive integer")
            }
            let limit = min(body["limit"]?.int ?? 1000, Self.maxItemsPerChange)
            while traces.count < limit {
                query.limit = min(500, limit - traces.count)
                let page = try await store.traces.list(projectID: project, query: query)
                traces += page.traces.map(\.trace)
                guard let next = page.nextCursor else { break }
                query.cursor = next
            }
        }
        guard !traces.isEmpty else { throw TernError.invalid("trace_ids", "give trace_ids or a filter that matches traces") }
        let items = traces.map(Self.item(from:))
        let version = try await store.datasets.apply(
            projectID: project, dataset: name, upserts: items, removals: [], author: principal.actor,
            message: body["message"]?.string ?? "from \(items.count) traces")
        return try JSON.response(ChangeResult(version: version), status: version == nil ? .ok : .created)
    }
}
