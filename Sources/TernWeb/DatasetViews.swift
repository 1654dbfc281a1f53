import Foundation
public import TernCore
public import TernData

/// A dataset in the list: its newest version and golden share.
public struct DatasetListEntry: Sendable {
    public var dataset: Dataset
    public var items: Int
    public var versions: Int
    public var golden: Int

    public init(dataset: Dataset, items: Int, versions: Int, golden: Int) {
        self.dataset = dataset
        self.items = items
        self.versions = versions
        self.golden = golden
    }
}

/// A CSV or JSONL file waiting for its column mapping (the import's second step).
public struct ImportPreview: Sendable {
    public var format: String
    public var data: String
    public var message: String
    /// CSV: each column with the role it gets by default.
    public var columns: [(name: String, role: String)]
    /// The first items as they would be imported with the current mapping.
    public var items: [DatasetItem]
    public var total: Int

    public init(format: String, data: String, message: String, columns: [(name: String, role: String)], items: [DatasetItem], total: Int) {
        self.format = format
        self.data = data
        self.message = message
        self.columns = columns
        self.items = items
        self.total = total
    }
}

/// Page contexts of datasets: list, items of a version, item form, import, statistics.
extension Views {
    public static let importRoles: [(value: String, label: String)] = [
        ("input", "input variable"), ("expected", "expected output"), ("metadata", "metadata"), ("id", "item id"), ("golden", "golden flag"),
        ("ignore", "ignore"),
    ]

    static func datasetBase(_ chrome: Chrome, _ name: String) -> String { "/ui/\(chrome.project.slug)/datasets/\(percent(name))" }

    static func clip(_ text: String, _ limit: Int = 160) -> String {
        let line = text.replacingOccurrences(of: "\n", with: " ")
        return line.count > limit ? String(line.prefix(limit)) + "…" : line
    }

    static func valueText(_ value: JSONValue) -> String { value.string ?? value.jsonString() }

    // MARK: List

    public static func datasets(chrome: Chrome, entries: [DatasetListEntry], form: [String: String] = [:]) -> [String: Any] {
        var context = chrome.pageContext(title: "Datasets")
        context["rows"] = entries.map { entry -> [String: Any] in
            let base = datasetBase(chrome, entry.dataset.name)
            return [
                "name": entry.dataset.name, "href": base, "description": entry.dataset.description ?? "",
                "items": Format.integer(entry.items), "versions": Format.integer(entry.versions),
                "golden": entry.items == 0 ? "–" : Format.percent(Double(entry.golden) / Double(entry.items)) + " (\(Format.integer(entry.golden)))",
                "created": Format.time(entry.dataset.createdAt), "statsHref": "\(base)/stats",
            ]
        }
        context["newName"] = form["name"] ?? ""
        context["newDescription"] = form["description"] ?? ""
        return context
    }

    // MARK: A dataset

    public static func dataset(
        chrome: Chrome, dataset: Dataset, versions: [DatasetVersion], version: Int, items: [DatasetItem], cursor: String?,
        nextCursor: String?, names: [String: String], flash: String?
    ) -> [String: Any] {
        var context = chrome.pageContext(title: dataset.name)
        let base = datasetBase(chrome, dataset.name)
        let latest = dataset.latestVersion
        let isLatest = version == latest
        context["name"] = dataset.name
        context["base"] = base
        context["description"] = dataset.description ?? false
        context["version"] = version
        context["isLatest"] = isLatest
        context["latest"] = latest
        context["latestHref"] = base
        let current = versions.first { $0.version == version }
        context["itemCount"] = Format.integer(current?.itemCount ?? 0)
        context["versionOptions"] = versions.map { entry -> [String: Any] in
            [
                "value": entry.version, "selected": entry.version == version,
                "label": "v\(entry.version) · \(Format.integer(entry.itemCount)) items" + (entry.message.map { " · " + String($0.prefix(50)) } ?? ""),
            ]
        }
        context["versions"] = versions.map { entry -> [String: Any] in
            [
                "version": entry.version, "href": url(base, [("version", String(entry.version))]), "items": Format.integer(entry.itemCount),
                "added": entry.added, "changed": entry.changed, "removed": entry.removed, "author": actor(entry.author, names),
                "message": entry.message ?? "", "created": Format.time(entry.createdAt), "current": entry.version == version,
            ]
        }
        let versionQuery: [(String, String)] = isLatest ? [] : [("version", String(version))]
        context["exportJSONL"] = url("\(base)/export", [("format", "jsonl")] + versionQuery)
        context["exportCSV"] = url("\(base)/export", [("format", "csv")] + versionQuery)
        context["statsHref"] = url("\(base)/stats", versionQuery)
        let slug = chrome.project.slug
        context["items"] = items.map { item -> [String: Any] in
            var row: [String: Any] = [
                "id": item.id, "anchor": "item-" + percent(item.id),
                "editHref": "\(base)/items/\(percent(item.id))",
                "inputs": item.input.keys.sorted().map { key -> [String: Any] in
                    let text = valueText(item.input[key]!)
                    return ["name": key, "value": clip(text), "full": text]
                },
                "expected": item.expectedOutput.map { clip($0, 240) } ?? false,
                "expectedFull": item.expectedOutput ?? "",
                "task": item.task ?? "", "language": item.language ?? "", "domain": item.domain ?? "",
                "otherMetadata": item.metadata.filter { !["task", "language", "domain"].contains($0.key) }.sorted { $0.key < $1.key }
                    .map { ["key": $0.key, "value": clip(valueText($0.value), 60)] as [String: Any] },
                "golden": item.golden,
                "validatedBy": item.validatedBy.map { actor($0, names) } ?? false,
                "validatedAt": item.validatedAt.map(Format.time) ?? false,
                "traceHref": item.sourceTraceID.map { "/ui/\(slug)/traces/\(percent($0))" } ?? false,
                "traceID": item.sourceTraceID ?? "",
            ]
            row["goldenAction"] = item.golden ? "unmark" : "mark"
            return row
        }
        context["hasItems"] = !items.isEmpty
        context["first"] = cursor != nil ? url(base, versionQuery) : false
        context["next"] = nextCursor.map { url(base, versionQuery + [("cursor", $0)]) } ?? false
        if let flash { context["flash"] = ["kind": "ok", "message": flash] }
        return context
    }

    // MARK: An item

    /// The add or edit form. `item` nil: a new item, its fields named after `variables`.
    public static func datasetItem(
        chrome: Chrome, dataset: Dataset, item: DatasetItem?, variables: [String], names: [String: String],
        error: String?
    ) -> [String: Any] {
        var context = chrome.pageContext(title: item.map { "\(dataset.name): \($0.id)" } ?? "\(dataset.name): new item")
        let base = datasetBase(chrome, dataset.name)
        context["name"] = dataset.name
        context["base"] = base
        context["isNew"] = item == nil
        context["id"] = item?.id ?? ""
        context["action"] = item.map { "\(base)/items/\(percent($0.id))" } ?? "\(base)/items"
        let input = item?.input ?? [:]
        let names0 = item == nil ? variables : input.keys.sorted()
        context["inputs"] = names0.enumerated().map { index, key -> [String: Any] in
            let value = input[key]
            return ["index": index, "name": key, "value": value.map(valueText) ?? "", "json": value.map { $0.string == nil } ?? false]
        }
        context["expected"] = item?.expectedOutput ?? ""
        context["task"] = item?.task ?? ""
        context["language"] = item?.language ?? ""
        context["domain"] = item?.domain ?? ""
        let other = (item?.metadata ?? [:]).filter { !["task", "language", "domain"].contains($0.key) }
        context["metadata"] = other.isEmpty ? "" : pretty(JSONValue.object(other).jsonString())
        context["golden"] = item?.golden ?? false
        context["validated"] =
            item.flatMap { i in i.validatedBy.map { "validated by \(actor($0, names))" + (i.validatedAt.map { " at \(Format.time($0)) UTC" } ?? "") } } ?? false
        context["traceHref"] = item?.sourceTraceID.map { "/ui/\(chrome.project.slug)/traces/\(percent($0))" } ?? false
        if let error { context["error"] = error }
        return context
    }

    // MARK: Import

    public static func datasetImport(chrome: Chrome, dataset: Dataset, preview: ImportPreview?, error: String?) -> [String: Any] {
        var context = chrome.pageContext(title: "\(dataset.name): import")
        let base = datasetBase(chrome, dataset.name)
        context["name"] = dataset.name
        context["base"] = base
        if let error { context["error"] = error }
        if let preview {
            context["preview"] =
                [
                    "format": preview.format, "data": preview.data, "message": preview.message, "total": Format.integer(preview.total),
                    "isCSV": preview.format == "csv",
                    "columns": preview.columns.enumerated().map { index, column -> [String: Any] in
                        [
                            "index": index, "name": column.name,
                            "roles": importRoles.map { ["value": $0.value, "label": $0.label, "selected": $0.value == column.role] as [String: Any] },
                        ]
                    },
                    "items": preview.items.map { item -> [String: Any] in
                        [
                            "id": item.id,
                            "inputs": item.input.keys.sorted().map { ["name": $0, "value": clip(valueText(item.input[$0]!), 80)] as [String: Any] },
                            "expected": item.expectedOutput.map { clip($0, 120) } ?? "",
                            "metadata": item.metadata.keys.sorted().map { "\($0)=\(clip(valueText(item.metadata[$0]!), 30))" }.joined(separator: " "),
                            "golden": item.golden,
                        ]
                    },
                ] as [String: Any]
        } else {
            context["preview"] = false
        }
        return context
    }

    // MARK: Statistics

    /// The near-duplicates-by-meaning form: its threshold, and why the search failed.
    public struct SemanticRequest: Sendable {
        public var threshold: Double
        public var error: String?

        public init(threshold: Double, error: String? = nil) {
            self.threshold = threshold
            self.error = error
        }
    }

    public static func datasetStats(
        chrome: Chrome, dataset: Dataset, version: Int, stats: DatasetStats, previews: [String: String],
        semantic: SemanticRequest = SemanticRequest(threshold: 0.9)
    ) -> [String: Any] {
        var context = chrome.pageContext(title: "\(dataset.name): statistics")
        let base = datasetBase(chrome, dataset.name)
        context["name"] = dataset.name
        context["base"] = base
        context["version"] = version
        context["versionHref"] = version == dataset.latestVersion ? base : url(base, [("version", String(version))])
        context["kpis"] = [
            ["id": "items", "label": "Items", "value": Format.integer(stats.itemCount)],
            ["id": "golden", "label": "Golden share", "value": stats.itemCount == 0 ? "–" : Format.percent(stats.goldenShare)],
            ["id": "duplicates", "label": "Exact duplicates", "value": Format.integer(stats.exactDuplicates)],
            ["id": "near-duplicates", "label": "Near duplicates", "value": Format.integer(stats.nearDuplicates)],
        ]
        func bars(_ counts: [String: Int], _ title: String) -> [String: Any] {
            let sorted = counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
            return [
                "title": "Items by \(title)",
                "svg": SVGChart.bars(sorted.map { (label: $0.key, value: Double($0.value)) }, format: .integer, width: 480, label: "Items by \(title)"),
            ]
        }
        context["charts"] = [bars(stats.byTask, "task"), bars(stats.byLanguage, "language"), bars(stats.byDomain, "domain")]
        context["lengths"] = SVGChart.histogram(
            bins: stats.inputLengths.map { (lower: Double($0.lower), upper: Double($0.upper), count: $0.count) }, xFormat: .integer,
            unit: " chars", width: 640, label: "Input length in characters")
        context["threshold"] = Format.score(stats.nearDuplicateThreshold)
        context["pairs"] = stats.nearDuplicatePairs.map { pair -> [String: Any] in
            let a = pair.first ?? "", b = pair.count > 1 ? pair[1] : ""
            return [
                "a": a, "b": b, "aHref": "\(base)/items/\(percent(a))", "bHref": "\(base)/items/\(percent(b))",
                "aText": clip(previews[a] ?? "", 120), "bText": clip(previews[b] ?? "", 120),
            ]
        }
        context["hasPairs"] = !stats.nearDuplicatePairs.isEmpty
        context["statsAction"] = "\(base)/stats"
        if version != dataset.latestVersion { context["versionParam"] = String(version) }
        context["semanticThreshold"] = String(semantic.threshold)
        context["semanticMax"] = Format.integer(DatasetStats.maxSemanticItems)
        if let error = semantic.error { context["semanticError"] = error }
        if let found = stats.semanticDuplicates {
            let pairs = found.pairs.map { pair -> [String: Any] in
                [
                    "a": pair.a, "b": pair.b, "aHref": "\(base)/items/\(percent(pair.a))", "bHref": "\(base)/items/\(percent(pair.b))",
                    "aText": clip(previews[pair.a] ?? "", 120), "bText": clip(previews[pair.b] ?? "", 120), "similarity": Format.score(pair.similarity),
                ]
            }
            context["semantic"] =
                [
                    "count": Format.integer(found.count), "threshold": Format.score(found.threshold), "model": found.model,
                    "pairs": pairs, "hasPairs": !pairs.isEmpty,
                ] as [String: Any]
        }
        return context
    }

    // MARK: Add a trace to a dataset (trace view)

    /// A trace's output as the text of its answer: the content of the last message when the output is
    /// a message list, else the output itself.
    public static func answerText(_ output: String?) -> String {
        guard let output, !output.isEmpty else { return "" }
        if let messages = content(output)?["messages"] as? [[String: Any]], let last = messages.last, let text = last["content"] as? String {
            return text
        }
        return output
    }

    /// The "add to dataset" form of the trace view: the datasets to choose from, the trace's output
    /// offered as the expected answer, and a note after an item was added.
    public static func addToDataset(chrome: Chrome, trace: Trace, datasets: [Dataset], added: (dataset: String, version: String)?) -> [String: Any] {
        var form: [String: Any] = [
            "action": "/ui/\(chrome.project.slug)/traces/\(percent(trace.id))/dataset",
            "datasets": datasets.enumerated().map { index, dataset in ["name": dataset.name, "selected": index == 0] as [String: Any] },
            "hasDatasets": !datasets.isEmpty,
            "expected": answerText(trace.output),
            "added": false,
        ]
        if let added {
            form["added"] = ["dataset": added.dataset, "href": datasetBase(chrome, added.dataset), "version": added.version]
        }
        return form
    }
}
