import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import TernCore
import TernWeb
import TernData

/// Datasets in the web UI: the list, a version's items (paged), adding, editing, removing and
/// marking items golden (each change a new version), import with a column mapping, export,
/// statistics, and "add to dataset" from the trace view.
struct DatasetsWebController {
    let web: WebController
    /// The embedding model of near-duplicates by meaning.
    let embedder: @Sendable () async throws -> any Embedder

    var store: any TernStore { web.store }
    var renderer: WebRenderer { web.renderer }

    static let pageSize = 50

    /// Golden counts of immutable versions, keyed `datasetID@version`, so the list reads each once.
    static let goldenCounts = Mutex<[String: Int]>([:])

    /// The routes, each a named handler below.
    var routes: RouteCollection<TernRequestContext> {
        let router = RouteCollection(context: TernRequestContext.self)
        router.get("ui/{project}/datasets", use: getDatasets)
        router.post("ui/{project}/datasets", use: postDatasets)
        router.get("ui/{project}/datasets/{dataset}", use: getDataset)
        router.get("ui/{project}/datasets/{dataset}/items/new", use: getDatasetItemsNew)
        router.post("ui/{project}/datasets/{dataset}/items", use: postDatasetItems)
        router.get("ui/{project}/datasets/{dataset}/items/{item}", use: getDatasetItem)
        router.post("ui/{project}/datasets/{dataset}/items/{item}", use: postDatasetItem)
        router.post("ui/{project}/datasets/{dataset}/items/{item}/golden", use: postDatasetItemGolden)
        router.post("ui/{project}/datasets/{dataset}/items/{item}/remove", use: postDatasetItemRemove)
        router.get("ui/{project}/datasets/{dataset}/import", use: getDatasetImport)
        router.post("ui/{project}/datasets/{dataset}/import", use: postDatasetImport)
        router.post("ui/{project}/datasets/{dataset}/import/confirm", use: postDatasetImportConfirm)
        router.get("ui/{project}/datasets/{dataset}/export", use: getDatasetExport)
        router.get("ui/{project}/datasets/{dataset}/stats", use: getDatasetStats)
        router.post("ui/{project}/traces/{trace}/dataset", use: postTraceDataset)
        return router
    }

    // MARK: - Helpers

    func base(_ chrome: Chrome, _ name: String) -> String { "/ui/\(Views.percent(chrome.project.slug))/datasets/\(Views.percent(name))" }

    func loadDataset(_ chrome: Chrome, _ context: TernRequestContext) async throws -> Dataset {
        let name = try context.parameters.string("dataset")
        guard let dataset = try await store.datasets.get(projectID: chrome.project.id, name: name) else { throw TernError.notFound("dataset \(name)") }
        return dataset
    }

    /// `?version=` (default: the latest), checked against the dataset's versions.
    static func version(_ text: String?, of dataset: Dataset) throws -> Int {
        guard let text, !text.isEmpty else { return dataset.latestVersion }
        guard let number = Int(text.hasPrefix("v") ? String(text.dropFirst()) : text), (1...max(1, dataset.latestVersion)).contains(number) else {
            throw TernError.invalid("version", "\(dataset.name) has versions 1-\(dataset.latestVersion), not \"\(text)\"")
        }
        return number
    }

    func entries(_ chrome: Chrome) async throws -> [DatasetListEntry] {
        var out: [DatasetListEntry] = []
        for dataset in try await store.datasets.list(projectID: chrome.project.id) {
            let versions = try await store.datasets.versions(projectID: chrome.project.id, dataset: dataset.name)
            let latest = versions.first { $0.version == dataset.latestVersion }
            let key = "\(dataset.id)@\(dataset.latestVersion)"
            var golden = Self.goldenCounts.withLock { $0[key] }
            if golden == nil {
                let count = dataset.latestVersion == 0 ? 0 : try await allItems(chrome, dataset, version: dataset.latestVersion).filter(\.golden).count
                Self.goldenCounts.withLock { cache in
                    if cache.count > 10_000 { cache.removeAll() }
                    cache[key] = count
                }
                golden = count
            }
            out.append(DatasetListEntry(dataset: dataset, items: latest?.itemCount ?? 0, versions: versions.count, golden: golden ?? 0))
        }
        return out
    }

    func allItems(_ chrome: Chrome, _ dataset: Dataset, version: Int) async throws -> [DatasetItem] {
        guard dataset.latestVersion > 0 else { return [] }
        var out: [DatasetItem] = []
        var after: String?
        while true {
            let page = try await store.datasets.items(projectID: chrome.project.id, dataset: dataset.name, version: version, after: after, limit: 5000)
            out += page
            guard page.count == 5000, let last = page.last else { return out }
            after = last.id
        }
    }

    /// An item of the latest version, by id (the repository pages by id; this reads pages until it).
    func findItem(_ chrome: Chrome, _ dataset: Dataset, _ id: String) async throws -> DatasetItem {
        var after: String?
        while dataset.latestVersion > 0 {
            let page = try await store.datasets.items(projectID: chrome.project.id, dataset: dataset.name, version: nil, after: after, limit: 2000)
            if let item = page.first(where: { $0.id == id }) { return item }
            guard page.count == 2000, let last = page.last else { break }
            after = last.id
        }
        throw TernError.notFound("item \(id) in the latest version of \(dataset.name)")
    }

    /// The input variable names of the dataset's first items, offered as fields for a new item.
    func variables(_ chrome: Chrome, _ dataset: Dataset) async throws -> [String] {
        guard dataset.latestVersion > 0 else { return ["input"] }
        let items = try await store.datasets.items(projectID: chrome.project.id, dataset: dataset.name, version: nil, after: nil, limit: 50)
        let names = Array(Set(items.flatMap(\.input.keys))).sorted()
        return names.isEmpty ? ["input"] : names
    }

    /// Applies a change as a new version and goes back to the dataset page, which says what happened.
    func save(
        _ chrome: Chrome, _ dataset: Dataset, upserts: [DatasetItem], removals: [String], user: User, message: String,
        anchor: String? = nil
    ) async throws -> Response {
        let version = try await store.datasets.apply(
            projectID: chrome.project.id, dataset: dataset.name, upserts: upserts, removals: removals,
            author: "user:\(user.id)", message: message)
        let target = Views.url(base(chrome, dataset.name), [("saved", version.map { String($0.version) } ?? "unchanged")])
        return WebController.redirect(target + (anchor.map { "#item-" + Views.percent($0) } ?? ""))
    }

    /// The item id of the path, percent-decoded (ids from imports may hold any character).
    static func itemID(_ context: TernRequestContext) throws -> String {
        let raw = try context.parameters.string("item")
        return raw.removingPercentEncoding ?? raw
    }

    static func describe(_ error: TernError) -> String { error.field.map { "\($0): \(error.message)" } ?? error.message }

    /// An item from the item form. Variables marked JSON are parsed; golden items record who
    /// validated them (the editor, unless the item was golden and its content is unchanged).
    static func item(_ form: WebForm, existing: DatasetItem?, id: String, actor: String) throws -> DatasetItem {
        var input: [String: JSONValue] = [:]
        var index = 0
        while let name = form["input.\(index).name"] {
            defer { index += 1 }
            guard form["input.\(index).remove"] != "1" else { continue }
            let raw = form["input.\(index).value"] ?? ""
            if form["input.\(index).json"] == "1" {
                guard let value = try? JSONValue.parse(Data(raw.utf8)) else { throw TernError.invalid("input.\(name)", "not valid JSON") }
                input[name] = value
            } else {
                input[name] = .string(raw)
            }
        }
        if let name = form.text("new.name") {
            guard PromptTemplate.isVariableName(name) else {
                throw TernError.invalid("new variable", "\"\(name)\" is not a variable name (letters, digits, _ and ., starting with a letter or _)")
            }
            guard input[name] == nil else { throw TernError.invalid("new variable", "the item already has a variable \(name)") }
            input[name] = .string(form["new.value"] ?? "")
        }
        guard !input.isEmpty else { throw TernError.invalid("input", "an item needs at least one input variable") }
        var metadata: [String: JSONValue] = [:]
        if let raw = form.text("metadata") {
            guard let value = try? JSONValue.parse(Data(raw.utf8)), let object = value.object else {
                throw TernError.invalid("metadata", "expected a JSON object, e.g. {\"source\": \"support\"}")
            }
            metadata = object
        }
        for key in ["task", "language", "domain"] {
            metadata[key] = form.text(key).map(JSONValue.string)
        }
        let golden = form["golden"] == "1"
        var item = DatasetItem(
            id: id, input: input, expectedOutput: form["expected"].flatMap { $0.nonBlank == nil ? nil : $0 }, metadata: metadata,
            golden: golden, sourceTraceID: existing?.sourceTraceID)
        // A golden item edited and kept golden is vouched for again by the editor; unchanged, it keeps its validation.
        if golden, let existing, existing.golden, item.sameContent(as: existing) {
            item.validatedBy = existing.validatedBy
            item.validatedAt = existing.validatedAt
        } else if golden {
            item.validatedBy = actor
            item.validatedAt = Timestamp.now()
        }
        return item
    }

    // MARK: Import

    /// The format a file is in: as chosen, else by its name, else by its first character.
    static func format(_ chosen: String?, filename: String?, text: String) -> String {
        if chosen == "csv" || chosen == "jsonl" { return chosen! }
        let name = (filename ?? "").lowercased()
        if name.hasSuffix(".csv") { return "csv" }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".json") || name.hasSuffix(".ndjson") { return "jsonl" }
        return text.drop { $0.isWhitespace }.first == "{" ? "jsonl" : "csv"
    }

    /// The role a CSV column gets unless the mapping says otherwise (as `DatasetImport.csv` reads it).
    static func defaultRoles(_ header: [String]) -> [(String, String)] {
        var expectedTaken = false
        return header.map { name in
            switch name {
            case "id": return (name, "id")
            case "expected_output", "expected", "__expected":
                defer { expectedTaken = true }
                return (name, expectedTaken ? "ignore" : "expected")
            case "golden": return (name, "golden")
            case "task", "language", "domain": return (name, "metadata")
            default: return (name, name.hasPrefix("__") ? "ignore" : "input")
            }
        }
    }

    static func preview(format: String, text: String, roles: [(String, String)]?, message: String) throws -> ImportPreview {
        var columns: [(name: String, role: String)] = []
        var effective = roles
        if format == "csv" {
            let header = (try CSV.parse(text).first ?? []).map { $0.trimmingCharacters(in: .whitespaces) }
            guard !header.isEmpty else { throw TernError.invalid("data", "the CSV has no header row") }
            if let roles, roles.map(\.0) != header { effective = nil }
            columns = (effective ?? defaultRoles(header)).map { (name: $0.0, role: $0.1) }
            effective = columns.map { ($0.name, $0.role) }
        }
        let items = try parse(format: format, text: text, roles: effective)
        return ImportPreview(format: format, data: text, message: message, columns: columns, items: Array(items.prefix(10)), total: items.count)
    }

    /// Items of a JSONL file, or of a CSV file with each column in its role.
    static func parse(format: String, text: String, roles: [(String, String)]?) throws -> [DatasetItem] {
        guard format == "csv" else { return try DatasetImport.jsonl(text) }
        let header = (try CSV.parse(text).first ?? []).map { $0.trimmingCharacters(in: .whitespaces) }
        let roles = roles ?? defaultRoles(header)
        guard roles.map(\.0) == header else { throw TernError.invalid("mapping", "the mapping does not match the file's header; start over") }
        func single(_ role: String, _ label: String) throws -> String? {
            let columns = roles.filter { $0.1 == role }.map(\.0)
            guard columns.count <= 1 else { throw TernError.invalid("mapping", "only one column can be the \(label) (\(columns.joined(separator: ", ")))") }
            return columns.first
        }
        let mapping = CSVMapping(
            id: try single("id", "item id"), expected: try single("expected", "expected output"),
            metadata: roles.filter { $0.1 == "metadata" }.map(\.0), golden: try single("golden", "golden flag"),
            input: roles.filter { $0.1 == "input" }.map(\.0))
        guard !(mapping.input ?? []).isEmpty else { throw TernError.invalid("mapping", "choose at least one column as an input variable") }
        var items = try DatasetImport.csv(text, mapping: mapping)
        // DatasetImport also finds id, expected, golden and segment columns by name; a column the
        // mapping gives another role (or ignores) must not count as those.
        let ignoredSegments = ["task", "language", "domain"].filter { name in header.contains(name) && !mapping.metadata.contains(name) }
        let dropExpected = mapping.expected == nil && header.contains { ["expected_output", "expected", "__expected"].contains($0) }
        let dropID = mapping.id == nil && header.contains("id")
        let dropGolden = mapping.golden == nil && header.contains("golden")
        for index in items.indices {
            for name in ignoredSegments { items[index].metadata[name] = nil }
            if dropExpected { items[index].expectedOutput = nil }
            if dropID { items[index].id = TernID.makeTimeOrdered() }
            if dropGolden { items[index].golden = false }
        }
        return items
    }

    // MARK: Trace view

    /// The trace view's "add to dataset" form, with a note when the page follows an addition.
    static func addToDatasetForm(store: any TernStore, chrome: Chrome, trace: Trace, request: Request) async throws -> AddToDatasetForm {
        let datasets = try await store.datasets.list(projectID: chrome.project.id)
        let parameters = request.uri.queryParameters
        var added: (dataset: String, version: String)?
        if let name = parameters.get("added"), datasets.contains(where: { $0.name == name }), let version = parameters.get("added_version"),
            Int(version) != nil || version == "unchanged"
        {
            added = (name, version == "unchanged" ? "already there, unchanged" : version)
        }
        return Views.addToDataset(chrome: chrome, trace: trace, datasets: datasets, added: added)
    }
}

// MARK: - Handlers

extension DatasetsWebController {
    /// `GET /ui/{project}/datasets`
    @Sendable func getDatasets(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets") { chrome in
            web.html(renderer.render("datasets", Views.datasets(chrome: chrome, entries: try await entries(chrome))))
        }
    }

    /// `POST /ui/{project}/datasets`
    @Sendable func postDatasets(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets", form: true) { chrome in
            let form = try await WebForm.read(request, limit: web.maxBody)
            _ = try await web.editor(request, form, to: "creating a dataset")
            guard let name = form.text("name") else { throw TernError.invalid("name", "a dataset needs a name") }
            _ = try await store.datasets.create(projectID: chrome.project.id, name: name, description: form.text("description"))
            return WebController.redirect(base(chrome, name))
        }
    }

    /// `GET /ui/{project}/datasets/{dataset}`
    @Sendable func getDataset(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets") { chrome in
            let dataset = try await loadDataset(chrome, context)
            let parameters = request.uri.queryParameters
            let versions = try await store.datasets.versions(projectID: chrome.project.id, dataset: dataset.name)
            let version = try Self.version(parameters.get("version"), of: dataset)
            let cursor = parameters.get("cursor").flatMap { $0.isEmpty ? nil : $0 }
            let items =
                dataset.latestVersion == 0
                ? []
                : try await store.datasets.items(
                    projectID: chrome.project.id, dataset: dataset.name, version: version, after: cursor, limit: Self.pageSize + 1)
            let shown = Array(items.prefix(Self.pageSize))
            let next = items.count > Self.pageSize ? shown.last?.id : nil
            let saved =
                parameters.get("saved").flatMap { Int($0) }.map { "Saved as version \($0)." }
                ?? (parameters.get("saved") == "unchanged" ? "Nothing changed, so no new version was made." : nil)
            return web.html(
                renderer.render(
                    "dataset",
                    Views.dataset(
                        chrome: chrome, dataset: dataset, versions: versions, version: version, items: shown, cursor: cursor, nextCursor: next,
                        names: await web.actorNames(projectID: chrome.project.id), flash: saved)))
        }
    }

    /// `GET /ui/{project}/datasets/{dataset}/items/new`
    @Sendable func getDatasetItemsNew(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets") { chrome in
            let dataset = try await loadDataset(chrome, context)
            return web.html(
                renderer.render(
                    "dataset-item",
                    Views.datasetItem(
                        chrome: chrome, dataset: dataset, item: nil, variables: try await variables(chrome, dataset), names: [:], error: nil)))
        }
    }

    /// `POST /ui/{project}/datasets/{dataset}/items`
    @Sendable func postDatasetItems(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets", form: true) { chrome in
            let dataset = try await loadDataset(chrome, context)
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.editor(request, form, to: "adding an item")
            let item: DatasetItem
            do {
                item = try Self.item(form, existing: nil, id: TernID.makeTimeOrdered(), actor: "user:\(user.id)")
            } catch let error as TernError where error.kind == .invalidInput {
                return web.html(
                    renderer.render(
                        "dataset-item",
                        Views.datasetItem(
                            chrome: chrome, dataset: dataset, item: nil, variables: try await variables(chrome, dataset), names: [:],
                            error: Self.describe(error))), status: .badRequest)
            }
            return try await save(chrome, dataset, upserts: [item], removals: [], user: user, message: form.text("message") ?? "add an item")
        }
    }

    /// `GET /ui/{project}/datasets/{dataset}/items/{item}`
    @Sendable func getDatasetItem(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets") { chrome in
            let dataset = try await loadDataset(chrome, context)
            let item = try await findItem(chrome, dataset, try Self.itemID(context))
            return web.html(
                renderer.render(
                    "dataset-item",
                    Views.datasetItem(
                        chrome: chrome, dataset: dataset, item: item, variables: [], names: await web.actorNames(projectID: chrome.project.id), error: nil)))
        }
    }

    /// `POST /ui/{project}/datasets/{dataset}/items/{item}`
    @Sendable func postDatasetItem(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets", form: true) { chrome in
            let dataset = try await loadDataset(chrome, context)
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.editor(request, form, to: "editing an item")
            let existing = try await findItem(chrome, dataset, try Self.itemID(context))
            let item: DatasetItem
            do {
                item = try Self.item(form, existing: existing, id: existing.id, actor: "user:\(user.id)")
            } catch let error as TernError where error.kind == .invalidInput {
                return web.html(
                    renderer.render(
                        "dataset-item",
                        Views.datasetItem(
                            chrome: chrome, dataset: dataset, item: existing, variables: [], names: await web.actorNames(projectID: chrome.project.id),
                            error: Self.describe(error))), status: .badRequest)
            }
            return try await save(
                chrome, dataset, upserts: [item], removals: [], user: user, message: form.text("message") ?? "edit \(existing.id)",
                anchor: existing.id)
        }
    }

    /// `POST /ui/{project}/datasets/{dataset}/items/{item}/golden`
    @Sendable func postDatasetItemGolden(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets", form: true) { chrome in
            let dataset = try await loadDataset(chrome, context)
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.editor(request, form, to: "marking an item golden")
            var item = try await findItem(chrome, dataset, try Self.itemID(context))
            let golden = form["golden"] != "unmark"
            if golden != item.golden {
                item.golden = golden
                item.validatedBy = golden ? "user:\(user.id)" : nil
                item.validatedAt = golden ? Timestamp.now() : nil
            }
            return try await save(
                chrome, dataset, upserts: [item], removals: [], user: user,
                message: "\(golden ? "mark" : "unmark") \(item.id) golden", anchor: item.id)
        }
    }

    /// `POST /ui/{project}/datasets/{dataset}/items/{item}/remove`
    @Sendable func postDatasetItemRemove(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets", form: true) { chrome in
            let dataset = try await loadDataset(chrome, context)
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.editor(request, form, to: "removing an item")
            let item = try await findItem(chrome, dataset, try Self.itemID(context))
            return try await save(chrome, dataset, upserts: [], removals: [item.id], user: user, message: "remove \(item.id)")
        }
    }

    /// `GET /ui/{project}/datasets/{dataset}/import`
    @Sendable func getDatasetImport(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets") { chrome in
            let dataset = try await loadDataset(chrome, context)
            return web.html(renderer.render("dataset-import", Views.datasetImport(chrome: chrome, dataset: dataset, preview: nil, error: nil)))
        }
    }

    /// `POST /ui/{project}/datasets/{dataset}/import`
    @Sendable func postDatasetImport(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets", form: true) { chrome in
            let dataset = try await loadDataset(chrome, context)
            let form = try await WebForm.read(request, limit: web.maxBody)
            _ = try await web.editor(request, form, to: "importing")
            let file = form.files["file"]
            let text = (file?.text).flatMap { $0.nonBlank == nil ? nil : $0 } ?? form["text"] ?? ""
            func fail(_ message: String) -> Response {
                web.html(
                    renderer.render("dataset-import", Views.datasetImport(chrome: chrome, dataset: dataset, preview: nil, error: message)),
                    status: .badRequest)
            }
            guard text.nonBlank != nil else { return fail("Choose a file or paste its content.") }
            let format = Self.format(form["format"], filename: file?.filename, text: text)
            do {
                let preview = try Self.preview(format: format, text: text, roles: nil, message: form.text("message") ?? "import \(format)")
                return web.html(renderer.render("dataset-import", Views.datasetImport(chrome: chrome, dataset: dataset, preview: preview, error: nil)))
            } catch let error as TernError where error.kind == .invalidInput {
                return fail(Self.describe(error))
            }
        }
    }

    /// `POST /ui/{project}/datasets/{dataset}/import/confirm`
    @Sendable func postDatasetImportConfirm(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets", form: true) { chrome in
            let dataset = try await loadDataset(chrome, context)
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.editor(request, form, to: "importing")
            let format = form["format"] == "csv" ? "csv" : "jsonl"
            let text = form["data"] ?? ""
            let message = form.text("message") ?? "import \(format)"
            var roles: [(String, String)] = []
            var index = 0
            while let column = form["column.\(index)"] {
                roles.append((column, form["role.\(index)"] ?? "input"))
                index += 1
            }
            do {
                if form["step"] == "preview" {
                    let preview = try Self.preview(format: format, text: text, roles: roles, message: message)
                    return web.html(renderer.render("dataset-import", Views.datasetImport(chrome: chrome, dataset: dataset, preview: preview, error: nil)))
                }
                let items = try Self.parse(format: format, text: text, roles: roles)
                guard !items.isEmpty else { throw TernError.invalid("data", "the file holds no items") }
                guard items.count <= DatasetsController.maxItemsPerChange else {
                    throw TernError.invalid("data", "at most \(DatasetsController.maxItemsPerChange) items per import; split the file")
                }
                return try await save(
                    chrome, dataset, upserts: items.map { DatasetsController.validated($0, by: "user:\(user.id)") }, removals: [],
                    user: user, message: message)
            } catch let error as TernError where error.kind == .invalidInput {
                let preview = try? Self.preview(format: format, text: text, roles: roles.isEmpty ? nil : roles, message: message)
                return web.html(
                    renderer.render(
                        "dataset-import",
                        Views.datasetImport(
                            chrome: chrome, dataset: dataset, preview: preview, error: Self.describe(error))), status: .badRequest)
            }
        }
    }

    /// `GET /ui/{project}/datasets/{dataset}/export`
    @Sendable func getDatasetExport(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets") { chrome in
            let dataset = try await loadDataset(chrome, context)
            let parameters = request.uri.queryParameters
            let version = try Self.version(parameters.get("version"), of: dataset)
            let items = try await allItems(chrome, dataset, version: version)
            let format = parameters.get("format") ?? "jsonl"
            let (body, type): (String, String)
            switch format {
            case "jsonl": (body, type) = (DatasetExport.jsonl(items), "application/x-ndjson")
            case "csv": (body, type) = (DatasetExport.csv(items), "text/csv; charset=utf-8")
            default: throw TernError.invalid("format", "expected jsonl or csv, got \"\(format)\"")
            }
            let filename = "\(dataset.name)-v\(version).\(format)".filter { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
            return Response(
                status: .ok,
                headers: [
                    .contentType: type, .contentDisposition: "attachment; filename=\"\(filename)\"",
                    .cacheControl: "no-store",
                ],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
    }

    /// `GET /ui/{project}/datasets/{dataset}/stats`
    @Sendable func getDatasetStats(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "datasets") { chrome in
            let dataset = try await loadDataset(chrome, context)
            let version = try Self.version(request.uri.queryParameters.get("version"), of: dataset)
            let items = try await allItems(chrome, dataset, version: version)
            var stats = DatasetStats.compute(items)
            // Near-duplicates by meaning on request (?semantic=true); a failure is shown on the page.
            let threshold = try DatasetsController.semanticThreshold(request.uri.queryParameters)
            var semanticError: String?
            if let threshold {
                do {
                    stats = try await stats.withSemanticDuplicates(items, embedder: try await embedder(), threshold: threshold)
                } catch let error as TernError {
                    semanticError = error.message
                }
            }
            let wanted = Set(stats.nearDuplicatePairs.flatMap { $0 } + (stats.semanticDuplicates?.pairs.flatMap { [$0.a, $0.b] } ?? []))
            var previews: [String: String] = [:]
            for item in items where wanted.contains(item.id) { previews[item.id] = DatasetStats.inputText(item) }
            return web.html(
                renderer.render(
                    "dataset-stats",
                    Views.datasetStats(
                        chrome: chrome, dataset: dataset, version: version, stats: stats, previews: previews,
                        semantic: .init(threshold: threshold ?? DatasetsController.defaultSemanticThreshold, error: semanticError))))
        }
    }

    /// `POST /ui/{project}/traces/{trace}/dataset`
    @Sendable func postTraceDataset(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await web.page(request, context, active: "traces", form: true) { chrome in
            let id = try context.parameters.string("trace")
            let form = try await WebForm.read(request, limit: web.maxBody)
            let user = try await web.editor(request, form, to: "adding a trace to a dataset")
            guard let detail = try await store.traces.get(projectID: chrome.project.id, id: id) else { throw TernError.notFound("trace \(id)") }
            let name: String
            if let fresh = form.text("new_dataset") {
                if try await store.datasets.get(projectID: chrome.project.id, name: fresh) == nil {
                    _ = try await store.datasets.create(projectID: chrome.project.id, name: fresh, description: nil)
                }
                name = fresh
            } else if let chosen = form.text("dataset") {
                name = chosen
            } else {
                throw TernError.invalid("dataset", "choose a dataset or name a new one")
            }
            guard try await store.datasets.get(projectID: chrome.project.id, name: name) != nil else { throw TernError.notFound("dataset \(name)") }
            var item = DatasetsController.item(from: detail.trace)
            item.expectedOutput = form["expected"].flatMap { $0.nonBlank == nil ? nil : $0 }
            let version = try await store.datasets.apply(
                projectID: chrome.project.id, dataset: name, upserts: [item], removals: [],
                author: "user:\(user.id)", message: "from trace \(id)")
            let target = Views.url(
                "/ui/\(Views.percent(chrome.project.slug))/traces/\(Views.percent(id))",
                [("added", name), ("added_version", version.map { String($0.version) } ?? "unchanged")])
            return WebController.redirect(target + "#add-to-dataset")
        }
    }
}
