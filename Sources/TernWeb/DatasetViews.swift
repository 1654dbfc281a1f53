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

    public struct DatasetsView: ViewModel {
        public struct Row: ViewModel {
            public var name: String
            public var href: String
            public var description: String
            public var items: String
            public var versions: String
            public var golden: String
            public var created: String
            public var statsHref: String
        }

        public var rows: [Row]
        public var newName: String
        public var newDescription: String
    }

    public static func datasets(chrome: Chrome, entries: [DatasetListEntry], form: [String: String] = [:]) -> Page<DatasetsView> {
        let rows = entries.map { entry -> DatasetsView.Row in
            let base = datasetBase(chrome, entry.dataset.name)
            return DatasetsView.Row(
                name: entry.dataset.name, href: base, description: entry.dataset.description ?? "", items: Format.integer(entry.items),
                versions: Format.integer(entry.versions),
                golden: entry.items == 0 ? "–" : Format.percent(Double(entry.golden) / Double(entry.items)) + " (\(Format.integer(entry.golden)))",
                created: Format.time(entry.dataset.createdAt), statsHref: "\(base)/stats")
        }
        return chrome.page("Datasets", DatasetsView(rows: rows, newName: form["name"] ?? "", newDescription: form["description"] ?? ""))
    }

    // MARK: A dataset

    public struct DatasetView: ViewModel {
        public struct VersionRow: ViewModel {
            public var version: Int
            public var href: String
            public var items: String
            public var added: Int
            public var changed: Int
            public var removed: Int
            public var author: String
            public var message: String
            public var created: String
            public var current: Bool
        }

        public struct Field: ViewModel {
            public var name: String
            public var value: String
            public var full: String
        }

        public struct MetadataEntry: ViewModel {
            public var key: String
            public var value: String
        }

        public struct Item: ViewModel {
            public var id: String
            public var anchor: String
            public var editHref: String
            public var inputs: [Field]
            public var expected: String?
            public var expectedFull: String
            public var task: String
            public var language: String
            public var domain: String
            public var otherMetadata: [MetadataEntry]
            public var golden: Bool
            public var goldenAction: String
            public var validatedBy: String?
            public var validatedAt: String?
            public var traceHref: String?
            public var traceID: String
        }

        public var name: String
        public var base: String
        public var description: String?
        public var version: Int
        public var isLatest: Bool
        public var latest: Int
        public var latestHref: String
        public var itemCount: String
        public var versionOptions: [Option]
        public var versions: [VersionRow]
        public var exportJSONL: String
        public var exportCSV: String
        public var statsHref: String
        public var items: [Item]
        public var hasItems: Bool
        public var first: String?
        public var next: String?
    }

    public static func dataset(
        chrome: Chrome, dataset: Dataset, versions: [DatasetVersion], version: Int, items: [DatasetItem], cursor: String?,
        nextCursor: String?, names: [String: String], flash: String?
    ) -> Page<DatasetView> {
        let base = datasetBase(chrome, dataset.name)
        let latest = dataset.latestVersion
        let isLatest = version == latest
        let current = versions.first { $0.version == version }
        let versionQuery: [(String, String)] = isLatest ? [] : [("version", String(version))]
        let slug = chrome.project.slug
        let rows = items.map { item in
            DatasetView.Item(
                id: item.id, anchor: "item-" + percent(item.id), editHref: "\(base)/items/\(percent(item.id))",
                inputs: item.input.keys.sorted().map { key in
                    let text = valueText(item.input[key]!)
                    return DatasetView.Field(name: key, value: clip(text), full: text)
                },
                expected: item.expectedOutput.map { clip($0, 240) }, expectedFull: item.expectedOutput ?? "", task: item.task ?? "",
                language: item.language ?? "", domain: item.domain ?? "",
                otherMetadata: item.metadata.filter { !["task", "language", "domain"].contains($0.key) }.sorted { $0.key < $1.key }
                    .map { DatasetView.MetadataEntry(key: $0.key, value: clip(valueText($0.value), 60)) },
                golden: item.golden, goldenAction: item.golden ? "unmark" : "mark", validatedBy: item.validatedBy.map { actor($0, names) },
                validatedAt: item.validatedAt.map(Format.time), traceHref: item.sourceTraceID.map { "/ui/\(slug)/traces/\(percent($0))" },
                traceID: item.sourceTraceID ?? "")
        }
        return chrome.page(
            dataset.name,
            DatasetView(
                name: dataset.name, base: base, description: dataset.description, version: version, isLatest: isLatest, latest: latest,
                latestHref: base, itemCount: Format.count(current?.itemCount ?? 0, "item"),
                versionOptions: versions.map { entry in
                    Option(
                        value: String(entry.version),
                        label: "v\(entry.version) · \(Format.count(entry.itemCount, "item"))" + (entry.message.map { " · " + String($0.prefix(50)) } ?? ""),
                        selected: entry.version == version)
                },
                versions: versions.map { entry in
                    DatasetView.VersionRow(
                        version: entry.version, href: url(base, [("version", String(entry.version))]), items: Format.integer(entry.itemCount),
                        added: entry.added, changed: entry.changed, removed: entry.removed, author: actor(entry.author, names),
                        message: entry.message ?? "", created: Format.time(entry.createdAt), current: entry.version == version)
                },
                exportJSONL: url("\(base)/export", [("format", "jsonl")] + versionQuery),
                exportCSV: url("\(base)/export", [("format", "csv")] + versionQuery), statsHref: url("\(base)/stats", versionQuery),
                items: rows, hasItems: !items.isEmpty, first: cursor != nil ? url(base, versionQuery) : nil,
                next: nextCursor.map { url(base, versionQuery + [("cursor", $0)]) }),
            flash: flash.map(Flash.ok))
    }

    // MARK: An item

    public struct DatasetItemView: ViewModel {
        public struct Input: ViewModel {
            public var index: Int
            public var name: String
            public var value: String
            /// The value is JSON, not a string.
            public var json: Bool
        }

        public var name: String
        public var base: String
        public var isNew: Bool
        public var id: String
        public var action: String
        public var inputs: [Input]
        public var expected: String
        public var task: String
        public var language: String
        public var domain: String
        public var metadata: String
        public var golden: Bool
        public var validated: String?
        public var traceHref: String?
        public var error: String?
    }

    /// The add or edit form. `item` nil: a new item, its fields named after `variables`.
    public static func datasetItem(
        chrome: Chrome, dataset: Dataset, item: DatasetItem?, variables: [String], names: [String: String],
        error: String?
    ) -> Page<DatasetItemView> {
        let base = datasetBase(chrome, dataset.name)
        let input = item?.input ?? [:]
        let keys = item == nil ? variables : input.keys.sorted()
        let other = (item?.metadata ?? [:]).filter { !["task", "language", "domain"].contains($0.key) }
        return chrome.page(
            item.map { "\(dataset.name): \($0.id)" } ?? "\(dataset.name): new item",
            DatasetItemView(
                name: dataset.name, base: base, isNew: item == nil, id: item?.id ?? "",
                action: item.map { "\(base)/items/\(percent($0.id))" } ?? "\(base)/items",
                inputs: keys.enumerated().map { index, key in
                    let value = input[key]
                    return DatasetItemView.Input(index: index, name: key, value: value.map(valueText) ?? "", json: value.map { $0.string == nil } ?? false)
                },
                expected: item?.expectedOutput ?? "", task: item?.task ?? "", language: item?.language ?? "", domain: item?.domain ?? "",
                metadata: other.isEmpty ? "" : pretty(JSONValue.object(other).jsonString()), golden: item?.golden ?? false,
                validated: item.flatMap { i in
                    i.validatedBy.map { "validated by \(actor($0, names))" + (i.validatedAt.map { " at \(Format.time($0)) UTC" } ?? "") }
                },
                traceHref: item?.sourceTraceID.map { "/ui/\(chrome.project.slug)/traces/\(percent($0))" }, error: error))
    }

    // MARK: Import

    public struct DatasetImportView: ViewModel {
        public struct Column: ViewModel {
            public var index: Int
            public var name: String
            public var roles: [Option]
        }

        public struct Field: ViewModel {
            public var name: String
            public var value: String
        }

        public struct Item: ViewModel {
            public var id: String
            public var inputs: [Field]
            public var expected: String
            public var metadata: String
            public var golden: Bool
        }

        public struct Preview: ViewModel {
            public var format: String
            public var data: String
            public var message: String
            public var total: String
            public var isCSV: Bool
            public var columns: [Column]
            public var items: [Item]
        }

        public var name: String
        public var base: String
        public var error: String?
        public var preview: Preview?
    }

    public static func datasetImport(chrome: Chrome, dataset: Dataset, preview: ImportPreview?, error: String?) -> Page<DatasetImportView> {
        let shown = preview.map { preview in
            DatasetImportView.Preview(
                format: preview.format, data: preview.data, message: preview.message, total: Format.count(preview.total, "item"),
                isCSV: preview.format == "csv",
                columns: preview.columns.enumerated().map { index, column in
                    DatasetImportView.Column(
                        index: index, name: column.name,
                        roles: importRoles.map { Option(value: $0.value, label: $0.label, selected: $0.value == column.role) })
                },
                items: preview.items.map { item in
                    DatasetImportView.Item(
                        id: item.id,
                        inputs: item.input.keys.sorted().map { DatasetImportView.Field(name: $0, value: clip(valueText(item.input[$0]!), 80)) },
                        expected: item.expectedOutput.map { clip($0, 120) } ?? "",
                        metadata: item.metadata.keys.sorted().map { "\($0)=\(clip(valueText(item.metadata[$0]!), 30))" }.joined(separator: " "),
                        golden: item.golden)
                })
        }
        return chrome.page(
            "\(dataset.name): import",
            DatasetImportView(name: dataset.name, base: datasetBase(chrome, dataset.name), error: error, preview: shown))
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

    public struct DatasetStatsView: ViewModel {
        public struct Pair: ViewModel {
            public var a: String
            public var b: String
            public var aHref: String
            public var bHref: String
            public var aText: String
            public var bText: String
            public var similarity: String?
        }

        public struct Semantic: ViewModel {
            public var count: String
            /// "item is" or "items are".
            public var countNoun: String
            public var threshold: String
            public var model: String
            public var pairs: [Pair]
            public var hasPairs: Bool
        }

        public var name: String
        public var base: String
        public var version: Int
        public var versionHref: String
        public var kpis: [KPI]
        public var charts: [ChartView]
        public var lengths: String
        public var threshold: String
        public var pairs: [Pair]
        public var hasPairs: Bool
        public var statsAction: String
        public var versionParam: String?
        public var semanticThreshold: String
        public var semanticMax: String
        public var semanticError: String?
        public var semantic: Semantic?
    }

    public static func datasetStats(
        chrome: Chrome, dataset: Dataset, version: Int, stats: DatasetStats, previews: [String: String],
        semantic: SemanticRequest = SemanticRequest(threshold: 0.9)
    ) -> Page<DatasetStatsView> {
        let base = datasetBase(chrome, dataset.name)
        func bars(_ counts: [String: Int], _ title: String) -> ChartView {
            let sorted = counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
            return ChartView(
                title: "Items by \(title)",
                svg: SVGChart.bars(sorted.map { (label: $0.key, value: Double($0.value)) }, format: .integer, label: "Items by \(title)"))
        }
        func pair(_ a: String, _ b: String, similarity: Double?) -> DatasetStatsView.Pair {
            DatasetStatsView.Pair(
                a: a, b: b, aHref: "\(base)/items/\(percent(a))", bHref: "\(base)/items/\(percent(b))", aText: clip(previews[a] ?? "", 120),
                bText: clip(previews[b] ?? "", 120), similarity: similarity.map(Format.score))
        }
        let found = stats.semanticDuplicates.map { found in
            let pairs = found.pairs.map { pair($0.a, $0.b, similarity: $0.similarity) }
            return DatasetStatsView.Semantic(
                count: Format.integer(found.count), countNoun: found.count == 1 ? "item is" : "items are", threshold: Format.score(found.threshold),
                model: found.model, pairs: pairs,
                hasPairs: !pairs.isEmpty)
        }
        return chrome.page(
            "\(dataset.name): statistics",
            DatasetStatsView(
                name: dataset.name, base: base, version: version,
                versionHref: version == dataset.latestVersion ? base : url(base, [("version", String(version))]),
                kpis: [
                    KPI(id: "items", label: "Items", value: Format.integer(stats.itemCount)),
                    KPI(id: "golden", label: "Golden share", value: stats.itemCount == 0 ? "–" : Format.percent(stats.goldenShare)),
                    KPI(id: "duplicates", label: "Exact duplicates", value: Format.integer(stats.exactDuplicates)),
                    KPI(id: "near-duplicates", label: "Near duplicates", value: Format.integer(stats.nearDuplicates)),
                ],
                charts: [bars(stats.byTask, "task"), bars(stats.byLanguage, "language"), bars(stats.byDomain, "domain")],
                lengths: SVGChart.histogram(
                    bins: stats.inputLengths.map { (lower: Double($0.lower), upper: Double($0.upper), count: $0.count) }, xFormat: .integer,
                    unit: " chars", label: "Input length in characters"),
                threshold: Format.score(stats.nearDuplicateThreshold),
                pairs: stats.nearDuplicatePairs.map { pair($0.first ?? "", $0.count > 1 ? $0[1] : "", similarity: nil) },
                hasPairs: !stats.nearDuplicatePairs.isEmpty, statsAction: "\(base)/stats",
                versionParam: version != dataset.latestVersion ? String(version) : nil, semanticThreshold: String(semantic.threshold),
                semanticMax: Format.integer(DatasetStats.maxSemanticItems), semanticError: semantic.error, semantic: found))
    }

    // MARK: Add a trace to a dataset (trace view)

    /// A trace's output as the text of its answer: the content of the last message when the output is
    /// a message list, else the output itself.
    public static func answerText(_ output: String?) -> String {
        guard let output, !output.isEmpty else { return "" }
        if let messages = content(output)?.messages, let last = messages.last, let text = last.content {
            return text
        }
        return output
    }

    /// The "add to dataset" form of the trace view: the datasets to choose from, the trace's output
    /// offered as the expected answer, and a note after an item was added.
    public static func addToDataset(chrome: Chrome, trace: Trace, datasets: [Dataset], added: (dataset: String, version: String)?) -> AddToDatasetForm {
        AddToDatasetForm(
            action: "/ui/\(chrome.project.slug)/traces/\(percent(trace.id))/dataset",
            datasets: datasets.enumerated().map { index, dataset in AddToDatasetForm.Choice(name: dataset.name, selected: index == 0) },
            hasDatasets: !datasets.isEmpty, expected: answerText(trace.output),
            added: added.map { AddToDatasetForm.Added(dataset: $0.dataset, href: datasetBase(chrome, $0.dataset), version: $0.version) })
    }
}

/// The trace view's form that adds the trace to a dataset.
public struct AddToDatasetForm: ViewModel {
    public struct Choice: ViewModel {
        public var name: String
        public var selected: Bool
    }

    public struct Added: ViewModel {
        public var dataset: String
        public var href: String
        public var version: String
    }

    public var action: String
    public var datasets: [Choice]
    public var hasDatasets: Bool
    public var expected: String
    public var added: Added?
}
