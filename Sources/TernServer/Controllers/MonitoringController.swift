import Foundation
import Hummingbird
import TernCore
import TernMonitor

/// `/api/v1/monitoring`: gaps between segments of traffic (bias and ethics monitoring).
struct MonitoringController {
    let store: any TernStore
    let projectID: @Sendable (Request, TernRequestContext) async throws -> String
    /// The local embedding model, for text drift and topics.
    let embedder: @Sendable () async throws -> any Embedder

    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.get("monitoring/gaps", use: getGaps)
        api.get("monitoring/drift", use: getDrift)
        api.get("monitoring/topics", use: getTopics)
        return api
    }

    static let gapKeys: Set<String> = ["project", "metric", "by", "min_count", "min_gap", "alpha", "limit"]

    /// `GET /monitoring/gaps?metric=latency|cost|tokens|error_rate|score:NAME&by=language|model|...|metadata.KEY` plus
    /// the explorer's trace filters: per segment its mean (or rate) and count, the gap to the rest of the
    /// traffic, a p-value (Welch's t for means, the two-proportion z-test for rates), the Benjamini-Hochberg
    /// adjusted p-value across segments, and whether the gap is flagged.
    @Sendable func getGaps(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let parameters = request.uri.queryParameters
        let pairs = TracesController.pairs(parameters)
        let filter = try TraceQueryParameters.filter(pairs, extra: Self.gapKeys)
        guard let metricText = parameters.get("metric") else {
            throw TernError.invalid("metric", "required: latency, cost, tokens, error_rate or score:NAME")
        }
        guard let byText = parameters.get("by") else {
            throw TernError.invalid("by", "required: \(TraceSegment.columns.joined(separator: ", ")) or metadata.KEY")
        }
        let measure = try TraceMeasure(parsing: metricText)
        let segment = try TraceSegment(parsing: byText)
        let minimumCount = try DatasetsController.int(parameters.get("min_count"), "min_count", range: 2...1_000_000) ?? 30
        let limit = try DatasetsController.int(parameters.get("limit"), "limit", range: 2...500) ?? 50
        let minimumGap = try Self.number(parameters.get("min_gap"), "min_gap", range: 0...1e12) ?? 0
        let alpha = try Self.number(parameters.get("alpha"), "alpha", range: 1e-12...0.5) ?? 0.05
        let sums = try await store.traces.segmentSums(projectID: project, filter: filter, segment: segment, measure: measure, limit: limit)
        let kind = SegmentGaps.kind(of: measure, sums)
        let gaps = SegmentGaps.analyse(sums, kind: kind, minimumCount: minimumCount, minimumGap: minimumGap, alpha: alpha)
        let rows: [JSONValue] = gaps.map { gap in
            [
                "segment": .string(gap.segment), "count": .number(Double(gap.count)), "mean": .number(gap.mean),
                "rest_count": .number(Double(gap.restCount)), "rest_mean": .number(gap.restMean), "gap": .number(gap.gap),
                "p_value": gap.pValue.map(JSONValue.number) ?? .null, "adjusted_p_value": gap.adjustedPValue.map(JSONValue.number) ?? .null,
                "flagged": .bool(gap.flagged), "note": gap.note.map(JSONValue.string) ?? .null,
            ]
        }
        return try JSON.response(
            JSONValue.object([
                "metric": .string(measure.name), "by": .string(segment.name), "kind": .string(kind.rawValue),
                "test": .string(kind == .rate ? "two-proportion z-test" : "Welch's t-test"), "correction": "Benjamini-Hochberg",
                "alpha": .number(alpha), "min_count": .number(Double(minimumCount)), "min_gap": .number(minimumGap),
                "segments": .array(rows),
            ]))
    }

    static func number(_ text: String?, _ name: String, range: ClosedRange<Double>) throws -> Double? {
        guard let text else { return nil }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw TernError.invalid(name, "expected a number from \(range.lowerBound) to \(range.upperBound), got \"\(text)\"")
        }
        return value
    }

    static let driftKeys: Set<String> = [
        "project", "reference_from", "reference_to", "from", "to", "column", "stattest", "threshold", "drift_share", "max_rows", "text", "text_method",
        "text_rows", "reference_dataset", "reference_version",
    ]

    static let driftColumns = TraceDriftTable.columns

    /// `GET /monitoring/drift?reference_from=&reference_to=&from=&to=` plus trace filters: the traces of the
    /// current window against those of the reference window, column by column, as `tern drift` compares
    /// files (Evidently's tests and defaults). At most `max_rows` (10,000) newest traces of each window.
    @Sendable func getDrift(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let parameters = request.uri.queryParameters
        let pairs = TracesController.pairs(parameters)
        let base = try TraceQueryParameters.filter(pairs, extra: Self.driftKeys)
        func date(_ name: String) throws -> Date? {
            guard let text = parameters.get(name) else { return nil }
            do {
                return try TraceQueryParameters.filter([("from", text)]).from
            } catch let error as TernError {
                throw TernError.invalid(name, error.message)
            }
        }
        let referenceDataset = parameters.get("reference_dataset")
        let referenceVersion = try DatasetsController.int(parameters.get("reference_version"), "reference_version", range: 1...1_000_000_000)
        let referenceFrom = try date("reference_from"), referenceTo = try date("reference_to")
        if referenceDataset == nil {
            guard referenceFrom != nil, referenceTo != nil else {
                throw TernError.invalid(
                    "reference_from",
                    "required: reference_from and reference_to, the reference window (ISO 8601 or Unix seconds), or reference_dataset")
            }
            guard referenceFrom! < referenceTo! else { throw TernError.invalid("reference_to", "must be after reference_from") }
        }
        let currentTo = try date("to") ?? Date()
        let currentFrom = try date("from") ?? currentTo.addingTimeInterval(-86_400)
        guard currentFrom < currentTo else { throw TernError.invalid("to", "must be after from") }
        let maxRows = try DatasetsController.int(parameters.get("max_rows"), "max_rows", range: 10...100_000) ?? 10_000
        var options = DriftOptions()
        let columns = parameters.getAll("column").flatMap { $0.split(separator: ",").map(String.init) }
        for column in columns where !DriftMonitor.isTraceColumn(column, allowed: Self.driftColumns) {
            throw TernError.invalid(
                "column", "unknown column \"\(column)\"; expected some of \(Self.driftColumns.joined(separator: ", ")), score.NAME or metadata.KEY")
        }
        options.columns = columns
        if let test = parameters.get("stattest") {
            guard let stattest = DriftStatTest(rawValue: test) else {
                throw TernError.invalid("stattest", "expected one of \(DriftStatTest.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(test)\"")
            }
            options.stattest = stattest
        }
        options.threshold = try Self.number(parameters.get("threshold"), "threshold", range: 0...1e9)
        options.driftShare = try Self.number(parameters.get("drift_share"), "drift_share", range: 0.01...1) ?? 0.5
        let (text, textOptions) = try Self.textOptions(parameters)
        var currentFilter = base
        currentFilter.from = currentFrom
        currentFilter.to = currentTo
        let metadata = DriftMonitor.metadataKeys(in: columns)
        let reference: DriftTable
        if let referenceDataset {
            reference = try await DatasetDriftTable.load(
                store: store, project: project, dataset: referenceDataset, version: referenceVersion, limit: maxRows, text: text, metadata: metadata,
                field: "reference_dataset")
            guard reference.rowCount > 0 else { throw TernError.invalid("reference_dataset", "the dataset has no items in that version") }
        } else {
            var referenceFilter = base
            referenceFilter.from = referenceFrom
            referenceFilter.to = referenceTo
            reference = try await table(project, referenceFilter, maxRows, source: "reference window", text: text, metadata: metadata)
        }
        let current = try await table(project, currentFilter, maxRows, source: "current window", text: text, metadata: metadata)
        let report = try await DriftAnalysis.report(
            reference: reference, current: current, options: options, text: text, textOptions: textOptions, embedder: embedder)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var body = try JSONValue.parse(try encoder.encode(report))
        if let referenceDataset {
            body["reference"] = [
                "dataset": .string(referenceDataset), "version": referenceVersion.map { .number(Double($0)) } ?? .null,
                "rows": .number(Double(reference.rowCount)),
            ]
        } else if let referenceFrom, let referenceTo {
            body["reference"] = [
                "from": .string(JSON.formatDate(referenceFrom)), "to": .string(JSON.formatDate(referenceTo)), "rows": .number(Double(reference.rowCount)),
            ]
        }
        body["current"] = ["from": .string(JSON.formatDate(currentFrom)), "to": .string(JSON.formatDate(currentTo)), "rows": .number(Double(current.rowCount))]
        return try JSON.response(body)
    }

    /// The newest `limit` traces matching `filter` as a drift table.
    func table(
        _ project: String, _ filter: TraceFilter, _ limit: Int, source: String, text: [String] = [], metadata: [String] = []
    ) async throws -> DriftTable {
        try await TraceDriftTable.load(store: store, project: project, filter: filter, limit: limit, source: source, text: text, metadata: metadata)
    }

    /// `text=input,output`, `text_method=model|mmd|ratio|distance`, `text_rows=N` (texts embedded per window).
    static func textOptions(_ parameters: some Sequence<(key: Substring, value: Substring)>) throws -> ([String], TextDriftOptions) {
        var text: [String] = []
        var options = TextDriftOptions()
        for (key, value) in parameters {
            switch key {
            case "text":
                for name in value.split(separator: ",").map(String.init) {
                    guard TraceDriftTable.textColumns.contains(name) else {
                        throw TernError.invalid(
                            "text", "unknown text column \"\(name)\"; expected some of \(TraceDriftTable.textColumns.joined(separator: ", "))")
                    }
                    if !text.contains(name) { text.append(name) }
                }
            case "text_method":
                guard let method = EmbeddingDriftMethod(rawValue: String(value)) else {
                    throw TernError.invalid(
                        "text_method", "expected one of \(EmbeddingDriftMethod.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(value)\"")
                }
                options.method = method
            case "text_rows":
                options.maxRows = try DatasetsController.int(String(value), "text_rows", range: 10...20_000) ?? options.maxRows
            default: continue
            }
        }
        return (text, options)
    }

    static let topicKeys: Set<String> = ["project", "bucket", "field", "k", "sample"]

    /// What a topics request asks for.
    struct TopicsRequest {
        var filter: TraceFilter
        var from: Date
        var to: Date
        var bucketSeconds: Int
        var field: String
        var k: Int?
        var sample: Int
    }

    /// `from`/`to` (default: the last 7 days), `bucket=hour|day` (default: hour up to 2 days, else day; at most
    /// 200 buckets), `field=input|output`, `k` (2-20; default by silhouette), `sample` (texts embedded, 50-10,000,
    /// default 1,000), and the explorer's trace filters.
    static func topicsRequest(_ parameters: [(String, String)], now: Date = Date()) throws -> TopicsRequest {
        var filter = try TraceQueryParameters.filter(parameters, extra: Self.topicKeys)
        let get = { (name: String) in parameters.last { $0.0 == name }?.1 }
        let to = filter.to ?? now
        let from = filter.from ?? to.addingTimeInterval(-7 * 86_400)
        guard from < to else { throw TernError.invalid("to", "must be after from") }
        let span = to.timeIntervalSince(from)
        let bucketSeconds: Int
        switch get("bucket") {
        case nil: bucketSeconds = span <= 2 * 86_400 ? 3600 : 86_400
        case "hour": bucketSeconds = 3600
        case "day": bucketSeconds = 86_400
        case let other?: throw TernError.invalid("bucket", "expected hour or day, got \"\(other)\"")
        }
        guard span / Double(bucketSeconds) <= 200 else {
            throw TernError.invalid("bucket", "the range holds more than 200 buckets of a \(bucketSeconds == 3600 ? "hour" : "day"); narrow from/to or use day")
        }
        let field = get("field") ?? "input"
        guard TraceDriftTable.textColumns.contains(field) else { throw TernError.invalid("field", "expected input or output, got \"\(field)\"") }
        let k = try DatasetsController.int(get("k"), "k", range: 2...20)
        let sample = try DatasetsController.int(get("sample"), "sample", range: 50...10_000) ?? 1_000
        filter.from = from
        filter.to = to
        return TopicsRequest(filter: filter, from: from, to: to, bucketSeconds: bucketSeconds, field: field, k: k, sample: sample)
    }

    /// The topics of a period: up to `sample` texts spread evenly over its buckets (the newest of each bucket),
    /// embedded with the local model, clustered, and counted per bucket. Nil when fewer than 10 texts were found.
    func topics(_ project: String, _ request: TopicsRequest) async throws -> TopicTimeline? {
        var starts: [Date] = []
        var start = request.from
        while start < request.to {
            starts.append(start)
            start = start.addingTimeInterval(Double(request.bucketSeconds))
        }
        let perBucket = max(1, request.sample / starts.count)
        var texts: [String] = [], times: [Date] = []
        for (index, bucketStart) in starts.enumerated() {
            var filter = request.filter
            filter.from = bucketStart
            filter.to = index + 1 < starts.count ? starts[index + 1] : request.to
            let page = try await store.traces.list(projectID: project, query: TraceQuery(filter: filter, limit: min(500, perBucket)))
            var taken = 0
            var cursor = page.nextCursor
            var traces = page.traces
            while true {
                for summary in traces where taken < perBucket {
                    let raw = request.field == "input" ? summary.trace.input : summary.trace.output
                    guard let text = TraceText.readable(raw), !text.isEmpty else { continue }
                    texts.append(text)
                    times.append(summary.trace.startTime)
                    taken += 1
                }
                guard taken < perBucket, let next = cursor else { break }
                let more = try await store.traces.list(projectID: project, query: TraceQuery(filter: filter, limit: 500, cursor: next))
                traces = more.traces
                cursor = more.nextCursor
            }
        }
        guard texts.count >= 10 else { return nil }
        let vectors = try await embedder().embed(texts)
        do {
            return try TopicClustering.timeline(
                texts: texts, vectors: vectors, times: times, bucketStarts: starts, k: request.k.map { min($0, texts.count) })
        } catch let error as TopicClusteringError {
            throw TernError.invalid("k", error.message)
        }
    }

    /// `GET /monitoring/topics`: topic clusters of traffic over time (see `topicsRequest`), with the clusters that
    /// are new in the period flagged.
    @Sendable func getTopics(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let topicsRequest = try Self.topicsRequest(TracesController.pairs(request.uri.queryParameters))
        let timeline = try await topics(project, topicsRequest)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(JSON.formatDate(date))
        }
        var body: JSONValue =
            timeline.map { (try? JSONValue.parse(try encoder.encode($0))) ?? .null }
            ?? ["clusters": [], "buckets": [], "sampled": 0, "new_topic": false, "note": "fewer than 10 texts in the period"]
        body["from"] = .string(JSON.formatDate(topicsRequest.from))
        body["to"] = .string(JSON.formatDate(topicsRequest.to))
        body["bucket"] = .string(topicsRequest.bucketSeconds == 3600 ? "hour" : "day")
        body["field"] = .string(topicsRequest.field)
        return try JSON.response(body)
    }
}
