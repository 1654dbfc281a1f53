public import Foundation
public import TernCore

/// One bucket of a series.
public struct MetricsPoint: Sendable, Codable, Equatable {
    public var start: Date
    public var metrics: MetricsSummary
}

public struct MetricsGroup: Sendable, Codable, Equatable {
    public var key: String
    public var totals: MetricsSummary
    public var series: [MetricsPoint]
}

/// A metrics query: a filter (its time range is required), a bucket size and an optional grouping.
public struct MetricsQuery: Sendable, Equatable {
    public var filter: TraceFilter
    public var bucket: MetricsBucket
    public var groupBy: MetricsDimension?
    /// Groups beyond this many (by trace count) are summed into `(other)`.
    public var groupLimit: Int

    public init(filter: TraceFilter, bucket: MetricsBucket = .hour, groupBy: MetricsDimension? = nil, groupLimit: Int = 10) {
        self.filter = filter
        self.bucket = bucket
        self.groupBy = groupBy
        self.groupLimit = groupLimit
    }
}

public struct MetricsResult: Sendable, Codable, Equatable {
    public var from: Date
    public var to: Date
    public var bucket: MetricsBucket
    public var groupBy: MetricsDimension?
    /// `rollup` (pre-aggregated hours or days) or `scan` (read from the traces).
    public var source: String
    public var totals: MetricsSummary
    public var series: [MetricsPoint]
    public var groups: [MetricsGroup]
    /// The latency distribution of all traces, one bin per doubling.
    public var latencyHistogram: [LatencyBin]

    public static let noneKey = RollupRow.noneKey
    public static let otherKey = "(other)"
}

/// Computes rollups and answers metrics queries over any `MetricsRepository`.
public enum MetricsEngine {
    public static let maxBuckets = 2_000

    /// Aggregates facts into rows of `granularity` buckets for the given dimensions (`nil` for all traces).
    public static func aggregate(_ facts: [TraceFacts], granularity: MetricsBucket, dimensions: [MetricsDimension?]) -> [RollupRow] {
        var aggregator = FactAggregator(granularity: granularity, dimensions: dimensions)
        for fact in facts { aggregator.add(fact) }
        return aggregator.rows
    }

    /// Recomputes up to `limit` dirty hours (and the user rows of their days). Returns how many hours
    /// it looked at. `deferring` may leave a mark for a later round (the server recomputes the hour
    /// that is still filling at most every few seconds).
    @discardableResult
    public static func refresh(
        _ repository: any MetricsRepository, limit: Int = 500,
        deferring: (DirtyBucket) -> Bool = { _ in false }
    ) async throws -> Int {
        let dirty = try await repository.dirtyBuckets(limit: limit)
        let hourly = MetricsDimension.allCases.filter { $0.rollupGranularity == .hour }
        var days = Set<String>()
        for mark in dirty where !deferring(mark) {
            let end = MetricsBucket.hour.next(after: mark.bucket)
            let rows = try await repository.aggregateFacts(
                projectID: mark.projectID, filter: TraceFilter(from: Timestamp.date(mark.bucket), to: Timestamp.date(end)),
                granularity: .hour, dimensions: [nil] + hourly)
            let day = MetricsBucket.day.start(of: mark.bucket)
            let dayKey = "\(mark.projectID)\u{1}\(day)"
            if !days.contains(dayKey) {
                days.insert(dayKey)
                let dayEnd = MetricsBucket.day.next(after: day)
                // Daily rows of every dimension too: month-long dashboards read 30 rows a group, not 720.
                let daily = try await repository.aggregateFacts(
                    projectID: mark.projectID, filter: TraceFilter(from: Timestamp.date(day), to: Timestamp.date(dayEnd)),
                    granularity: .day, dimensions: [nil] + MetricsDimension.allCases
                ).map { row in
                    var row = row
                    if row.dimension != MetricsDimension.user.rawValue { row.dimension = RollupRow.daily(row.dimension) }
                    return row
                }
                try await repository.replaceRollups(
                    projectID: mark.projectID, from: day, to: dayEnd,
                    dimensions: [MetricsDimension.user.rawValue, RollupRow.daily(RollupRow.totalDimension)] + hourly.map { RollupRow.daily($0.rawValue) },
                    rows: daily, clearing: nil)
            }
            try await repository.replaceRollups(
                projectID: mark.projectID, from: mark.bucket, to: end, dimensions: [RollupRow.totalDimension] + hourly.map(\.rawValue),
                rows: rows, clearing: mark)
        }
        return dirty.count
    }

    /// Detects the language of up to `limit` traces that have input and no language.
    @discardableResult
    public static func detectLanguages(
        _ repository: any MetricsRepository, limit: Int = 1_000,
        detect: (String) -> String?
    ) async throws -> Int {
        let pending = try await repository.pendingLanguages(limit: limit)
        guard !pending.isEmpty else { return 0 }
        try await repository.setDetectedLanguages(pending.map { ($0, detect($0.input)) })
        return pending.count
    }

    /// Answers a query: from the rollups when it filters on time only and its buckets are whole
    /// rollup buckets (the range is widened to whole buckets), otherwise by scanning the traces.
    public static func run(_ query: MetricsQuery, projectID: String, repository: any MetricsRepository) async throws -> MetricsResult {
        guard let fromDate = query.filter.from, let toDate = query.filter.to else {
            throw TernError.invalid(query.filter.from == nil ? "from" : "to", "metrics need a time range: from and to")
        }
        guard fromDate < toDate else { throw TernError.invalid("to", "must be after from") }
        let from = query.bucket.start(of: Timestamp.micros(fromDate))
        var to = query.bucket.start(of: Timestamp.micros(toDate))
        if to < Timestamp.micros(toDate) { to = query.bucket.next(after: to) }
        let span = to.subtractingReportingOverflow(from)
        guard !span.overflow, span.partialValue / query.bucket.approximateMicros <= Int64(maxBuckets) else {
            throw TernError.invalid("bucket", "\(query.bucket.rawValue) buckets over this range make more than \(maxBuckets) points; choose a larger bucket")
        }
        // Day, week and month buckets read the daily rows; finer buckets the hourly ones.
        let daily = query.bucket.isMultiple(of: .day)
        let granularity: MetricsBucket = daily ? .day : (query.groupBy?.rollupGranularity ?? .hour)
        let useRollups = query.filter.isTimeOnly && query.bucket.isMultiple(of: granularity)
        var rows: [RollupRow]
        var totalRows: [RollupRow]
        // Set when the database ranked the groups (high-cardinality dimensions from rollups).
        var topValues: [String]?
        var othersExist = false
        if useRollups {
            totalRows = try await repository.rollups(
                projectID: projectID, dimension: daily ? RollupRow.daily(RollupRow.totalDimension) : RollupRow.totalDimension, from: from, to: to)
            rows = []
            if let dimension = query.groupBy {
                let name = daily && dimension != .user ? RollupRow.daily(dimension.rawValue) : dimension.rawValue
                if dimension.isHighCardinality {
                    // Thousands of users a day: rank them in the database and read only the top rows;
                    // "(other)" is the totals minus the top groups (a user dimension partitions traces).
                    let top = try await repository.topRollupValues(
                        projectID: projectID, dimension: name, from: from, to: to,
                        limit: max(1, query.groupLimit) + 1)
                    topValues = Array(top.prefix(max(1, query.groupLimit)))
                    othersExist = top.count > topValues!.count
                    rows = try await repository.rollups(projectID: projectID, dimension: name, from: from, to: to, values: topValues!)
                } else {
                    rows = try await repository.rollups(projectID: projectID, dimension: name, from: from, to: to)
                }
            }
        } else {
            var filter = query.filter
            filter.from = Timestamp.date(from)
            filter.to = Timestamp.date(to)
            let all = try await repository.aggregateFacts(
                projectID: projectID, filter: filter, granularity: query.bucket,
                dimensions: [nil] + (query.groupBy.map { [$0] } ?? []))
            totalRows = all.filter { $0.dimension == RollupRow.totalDimension }
            rows = all.filter { $0.dimension != RollupRow.totalDimension }
        }
        // Bucket starts of the answer.
        var starts: [Int64] = []
        var cursor = from
        while cursor < to {
            starts.append(cursor)
            cursor = query.bucket.next(after: cursor)
        }
        func sums(_ rows: [RollupRow]) -> (total: MetricsAccumulator, perBucket: [Int64: MetricsAccumulator]) {
            var perBucket: [Int64: MetricsAccumulator] = [:]
            var total = MetricsAccumulator()
            for row in rows {
                perBucket[query.bucket.start(of: row.bucket), default: MetricsAccumulator()].merge(row.stats)
                total.merge(row.stats)
            }
            return (total, perBucket)
        }
        func points(_ perBucket: [Int64: MetricsAccumulator]) -> [MetricsPoint] {
            starts.map { MetricsPoint(start: Timestamp.date($0), metrics: (perBucket[$0] ?? MetricsAccumulator()).summary) }
        }
        func series(_ rows: [RollupRow]) -> (MetricsAccumulator, [MetricsPoint]) {
            let (total, perBucket) = sums(rows)
            return (total, points(perBucket))
        }
        let (total, totalSeries) = series(totalRows)
        var groups: [MetricsGroup] = []
        if let topValues {
            var byValue: [String: [RollupRow]] = [:]
            for row in rows { byValue[row.value, default: []].append(row) }
            var other = sums(totalRows)
            for value in topValues {
                let (groupTotal, perBucket) = sums(byValue[value] ?? [])
                groups.append(MetricsGroup(key: value, totals: groupTotal.summary, series: points(perBucket)))
                other.total.subtract(groupTotal)
                for (bucket, stats) in perBucket { other.perBucket[bucket]?.subtract(stats) }
            }
            if othersExist {
                groups.append(MetricsGroup(key: MetricsResult.otherKey, totals: other.total.summary, series: points(other.perBucket)))
            }
        } else if query.groupBy != nil {
            var byValue: [String: [RollupRow]] = [:]
            for row in rows { byValue[row.value, default: []].append(row) }
            let ranked = byValue.map { (key: $0.key, rows: $0.value, traces: $0.value.reduce(0) { $0.addingSaturated($1.stats.traces) }) }
                .sorted { ($0.traces, $1.key) > ($1.traces, $0.key) }
            let limit = max(1, query.groupLimit)
            for entry in ranked.prefix(limit) {
                let (groupTotal, groupSeries) = series(entry.rows)
                groups.append(MetricsGroup(key: entry.key, totals: groupTotal.summary, series: groupSeries))
            }
            if ranked.count > limit {
                let (otherTotal, otherSeries) = series(ranked.dropFirst(limit).flatMap(\.rows))
                groups.append(MetricsGroup(key: MetricsResult.otherKey, totals: otherTotal.summary, series: otherSeries))
            }
        }
        return MetricsResult(
            from: Timestamp.date(from), to: Timestamp.date(to), bucket: query.bucket, groupBy: query.groupBy,
            source: useRollups ? "rollup" : "scan", totals: total.summary, series: totalSeries, groups: groups,
            latencyHistogram: total.latency.roundBins)
    }
}
