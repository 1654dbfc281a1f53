import Foundation
import Hummingbird
import TernCore
import TernMonitor

/// `/api/v1/monitoring`: gaps between segments of traffic (bias and ethics monitoring).
struct MonitoringController {
    let store: any TernStore
    let projectID: @Sendable (Request, TernRequestContext) async throws -> String

    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.get("monitoring/gaps", use: getGaps)
        api.get("monitoring/drift", use: getDrift)
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
        "project", "reference_from", "reference_to", "from", "to", "column", "stattest", "threshold", "drift_share", "max_rows",
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
        guard let referenceFrom = try date("reference_from"), let referenceTo = try date("reference_to") else {
            throw TernError.invalid("reference_from", "required: reference_from and reference_to, the reference window (ISO 8601 or Unix seconds)")
        }
        guard referenceFrom < referenceTo else { throw TernError.invalid("reference_to", "must be after reference_from") }
        let currentTo = try date("to") ?? Date()
        let currentFrom = try date("from") ?? currentTo.addingTimeInterval(-86_400)
        guard currentFrom < currentTo else { throw TernError.invalid("to", "must be after from") }
        let maxRows = try DatasetsController.int(parameters.get("max_rows"), "max_rows", range: 10...100_000) ?? 10_000
        var options = DriftOptions()
        let columns = parameters.getAll("column").flatMap { $0.split(separator: ",").map(String.init) }
        for column in columns where !Self.driftColumns.contains(column) {
            throw TernError.invalid("column", "unknown column \"\(column)\"; expected some of \(Self.driftColumns.joined(separator: ", "))")
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
        var referenceFilter = base
        referenceFilter.from = referenceFrom
        referenceFilter.to = referenceTo
        var currentFilter = base
        currentFilter.from = currentFrom
        currentFilter.to = currentTo
        let reference = try await table(project, referenceFilter, maxRows, source: "reference window")
        let current = try await table(project, currentFilter, maxRows, source: "current window")
        let report = try DriftAnalysis.report(reference: reference, current: current, options: options)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var body = try JSONValue.parse(try encoder.encode(report))
        body["reference"] = [
            "from": .string(JSON.formatDate(referenceFrom)), "to": .string(JSON.formatDate(referenceTo)), "rows": .number(Double(reference.rowCount)),
        ]
        body["current"] = ["from": .string(JSON.formatDate(currentFrom)), "to": .string(JSON.formatDate(currentTo)), "rows": .number(Double(current.rowCount))]
        return try JSON.response(body)
    }

    /// The newest `limit` traces matching `filter` as a drift table.
    func table(_ project: String, _ filter: TraceFilter, _ limit: Int, source: String) async throws -> DriftTable {
        try await TraceDriftTable.load(store: store, project: project, filter: filter, limit: limit, source: source)
    }
}
