import Foundation

/// The time buckets a metrics series can use, in UTC. Weeks start on Monday.
public enum MetricsBucket: String, Sendable, Codable, CaseIterable {
    case minute, hour, day, week, month

    static let minuteMicros: Int64 = 60_000_000
    static let hourMicros: Int64 = 3_600_000_000
    static let dayMicros: Int64 = 86_400_000_000

    /// The start of the bucket holding `micros`.
    public func start(of micros: Int64) -> Int64 {
        func floor(_ value: Int64, _ step: Int64, offset: Int64 = 0) -> Int64 {
            let shifted = value - offset
            let q = shifted >= 0 ? shifted / step : (shifted - step + 1) / step
            return q * step + offset
        }
        switch self {
        case .minute: return floor(micros, Self.minuteMicros)
        case .hour: return floor(micros, Self.hourMicros)
        case .day: return floor(micros, Self.dayMicros)
        // 1970-01-05 was a Monday.
        case .week: return floor(micros, 7 * Self.dayMicros, offset: 4 * Self.dayMicros)
        case .month:
            let date = Timestamp.date(micros)
            let parts = Self.calendar.dateComponents([.year, .month], from: date)
            return Timestamp.micros(Self.calendar.date(from: parts) ?? date)
        }
    }

    /// The start of the bucket after the one starting at `start`.
    public func next(after start: Int64) -> Int64 {
        switch self {
        case .minute: return start + Self.minuteMicros
        case .hour: return start + Self.hourMicros
        case .day: return start + Self.dayMicros
        case .week: return start + 7 * Self.dayMicros
        case .month:
            let date = Self.calendar.date(byAdding: .month, value: 1, to: Timestamp.date(start)) ?? Timestamp.date(start)
            return Timestamp.micros(date)
        }
    }

    /// How long a bucket is, roughly (months count as 31 days); for limits on the number of buckets.
    public var approximateMicros: Int64 {
        switch self {
        case .minute: Self.minuteMicros
        case .hour: Self.hourMicros
        case .day: Self.dayMicros
        case .week: 7 * Self.dayMicros
        case .month: 31 * Self.dayMicros
        }
    }

    /// True when every bucket of `self` is made of whole buckets of `other`.
    public func isMultiple(of other: MetricsBucket) -> Bool {
        switch other {
        case .minute: true
        case .hour: self != .minute
        case .day: self == .day || self == .week || self == .month
        case .week: self == .week
        case .month: self == .month
        }
    }

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

/// What a metrics query can group by.
public enum MetricsDimension: String, Sendable, Codable, CaseIterable {
    case model, prompt, deployment, variant, user, tag, task, language, domain, environment, name

    /// The finest bucket its rollup rows keep: users are many, so their rows are daily.
    public var rollupGranularity: MetricsBucket { self == .user ? .day : .hour }

    /// Dimensions with thousands of values a day, one per trace: grouped queries rank them in the
    /// database and read only the top groups' rows.
    public var isHighCardinality: Bool { self == .user }
}

/// Latency counts in logarithmic buckets (eight per doubling, so a percentile read from it is within
/// about 4.5% of the exact one), mergeable across rollup rows.
public struct LatencyHistogram: Sendable, Equatable {
    public private(set) var counts: [Int: Int] = [:]
    public private(set) var total = 0

    public init() {}

    static let minIndex = -80  // 2^-10 ms, about a microsecond
    static let maxIndex = 200  // 2^25 ms, about nine hours

    public static func index(ms: Double) -> Int {
        guard ms > 0 else { return minIndex }
        return Swift.min(maxIndex, Swift.max(minIndex, Int((log2(ms) * 8).rounded(.down))))
    }

    public mutating func add(ms: Double, count: Int = 1) {
        guard ms.isFinite, count > 0 else { return }
        counts[Self.index(ms: ms), default: 0] = counts[Self.index(ms: ms), default: 0].addingSaturated(count)
        total = total.addingSaturated(count)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for (index, count) in other.counts { counts[index, default: 0] = counts[index, default: 0].addingSaturated(count) }
        total = total.addingSaturated(other.total)
    }

    /// Takes away counts that were merged in; bins reaching zero go.
    public mutating func subtract(_ part: LatencyHistogram) {
        for (index, count) in part.counts {
            let left = (counts[index] ?? 0) - count
            counts[index] = left > 0 ? left : nil
        }
        total = counts.values.reduce(0) { $0.addingSaturated($1) }
    }

    /// The value at quantile `q` (0...1): the geometric middle of the bucket holding that rank.
    public func quantile(_ q: Double) -> Double? {
        guard total > 0 else { return nil }
        let rank = Swift.max(1, Int.clamping((q * Double(total)).rounded(.up)))
        var seen = 0
        for index in counts.keys.sorted() {
            seen = seen.addingSaturated(counts[index]!)
            if seen >= rank { return pow(2, (Double(index) + 0.5) / 8) }
        }
        return nil
    }

    /// Compact text form for storage: `index:count` pairs.
    public var encoded: String {
        counts.keys.sorted().map { "\($0):\(counts[$0]!)" }.joined(separator: ",")
    }

    public init(encoded: String) {
        for pair in encoded.split(separator: ",") {
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count > 0 else { continue }
            counts[index, default: 0] = counts[index, default: 0].addingSaturated(count)
            total = total.addingSaturated(count)
        }
    }
}

/// Sums of one group of traces: what every metric is computed from.
public struct MetricsAccumulator: Sendable, Equatable {
    public var traces = 0
    public var errors = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var cost = 0.0
    public var latency = LatencyHistogram()
    public var latencySumMs = 0.0
    /// Numeric and boolean scores: sum and count per score name.
    public var scores: [String: ScoreSum] = [:]

    public struct ScoreSum: Sendable, Equatable {
        public var sum: Double
        public var count: Int

        public init(sum: Double, count: Int) {
            self.sum = sum
            self.count = count
        }

        mutating func add(sum more: Double, count added: Int) {
            sum = (sum + more).finiteOrClamped
            count = count.addingSaturated(added)
        }
    }

    public init() {}

    // Sums saturate and stay finite: stored rows may predate the input bounds, and a read must never
    // trap or produce a value JSON cannot carry.
    public mutating func add(_ fact: TraceFacts) {
        traces = traces.addingSaturated(1)
        if fact.isError { errors = errors.addingSaturated(1) }
        inputTokens = inputTokens.addingSaturated(fact.inputTokens)
        outputTokens = outputTokens.addingSaturated(fact.outputTokens)
        cost = (cost + (fact.cost ?? 0)).finiteOrClamped
        if let ms = fact.latencyMs {
            latency.add(ms: ms)
            latencySumMs = (latencySumMs + ms).finiteOrClamped
        }
        for (name, value) in fact.scores {
            scores[name, default: ScoreSum(sum: 0, count: 0)].add(sum: value, count: 1)
        }
    }

    public mutating func merge(_ other: MetricsAccumulator) {
        traces = traces.addingSaturated(other.traces)
        errors = errors.addingSaturated(other.errors)
        inputTokens = inputTokens.addingSaturated(other.inputTokens)
        outputTokens = outputTokens.addingSaturated(other.outputTokens)
        cost = (cost + other.cost).finiteOrClamped
        latency.merge(other.latency)
        latencySumMs = (latencySumMs + other.latencySumMs).finiteOrClamped
        for (name, sum) in other.scores {
            scores[name, default: ScoreSum(sum: 0, count: 0)].add(sum: sum.sum, count: sum.count)
        }
    }

    /// Takes away a part that was merged in (for "all but these groups"). Counts reaching zero go.
    public mutating func subtract(_ part: MetricsAccumulator) {
        traces = max(0, traces.addingSaturated(-part.traces))
        errors = max(0, errors.addingSaturated(-part.errors))
        inputTokens = max(0, inputTokens.addingSaturated(-part.inputTokens))
        outputTokens = max(0, outputTokens.addingSaturated(-part.outputTokens))
        cost = max(0, (cost - part.cost).finiteOrClamped)
        latency.subtract(part.latency)
        latencySumMs = max(0, (latencySumMs - part.latencySumMs).finiteOrClamped)
        for (name, sum) in part.scores {
            guard var mine = scores[name] else { continue }
            mine.sum = (mine.sum - sum.sum).finiteOrClamped
            mine.count = mine.count.addingSaturated(-sum.count)
            scores[name] = mine.count > 0 ? mine : nil
        }
    }

    /// The score sums as stored text (`{"name": [sum, count]}`).
    public var encodedScores: String {
        JSONValue.object(scores.mapValues { .array([.number($0.sum), .number(Double($0.count))]) }).jsonString()
    }

    public mutating func decodeScores(_ text: String?) {
        guard let text, let object = try? JSONValue.parse(Data(text.utf8)).object else { return }
        for (name, value) in object {
            guard let pair = value.array, pair.count == 2, let sum = pair[0].double, let count = pair[1].int else { continue }
            scores[name] = ScoreSum(sum: sum, count: count)
        }
    }

    public var summary: MetricsSummary {
        MetricsSummary(
            traces: traces, errors: errors, errorRate: traces > 0 ? Double(errors) / Double(traces) : 0,
            latencyP50Ms: latency.quantile(0.5), latencyP95Ms: latency.quantile(0.95), latencyP99Ms: latency.quantile(0.99),
            latencyMeanMs: latency.total > 0 ? latencySumMs / Double(latency.total) : nil,
            inputTokens: inputTokens, outputTokens: outputTokens, totalTokens: inputTokens.addingSaturated(outputTokens), cost: cost,
            scores: scores.mapValues { MetricsSummary.ScoreMean(mean: $0.count > 0 ? $0.sum / Double($0.count) : 0, count: $0.count) })
    }
}

/// The metrics of a group or a bucket.
public struct MetricsSummary: Sendable, Codable, Equatable {
    public var traces: Int
    public var errors: Int
    public var errorRate: Double
    public var latencyP50Ms: Double?
    public var latencyP95Ms: Double?
    public var latencyP99Ms: Double?
    public var latencyMeanMs: Double?
    public var inputTokens: Int
    public var outputTokens: Int
    public var totalTokens: Int
    public var cost: Double
    public var scores: [String: ScoreMean]

    public struct ScoreMean: Sendable, Codable, Equatable {
        public var mean: Double
        public var count: Int
    }
}

/// The per-trace facts metrics are computed from (one row of `traces`, with its numeric scores).
public struct TraceFacts: Sendable {
    public var id: String
    public var startMicros: Int64
    public var name: String?
    public var userID: String?
    public var tags: [String]
    public var model: String?
    public var prompt: String?
    public var deployment: String?
    public var variant: String?
    public var task: String?
    public var language: String?
    public var domain: String?
    public var environment: String?
    public var isError: Bool
    public var inputTokens: Int
    public var outputTokens: Int
    public var cost: Double?
    public var latencyMs: Double?
    public var scores: [(String, Double)] = []

    public init(
        id: String, startMicros: Int64, name: String?, userID: String?, tags: [String], model: String?, prompt: String?,
        deployment: String?, variant: String?, task: String?, language: String?, domain: String?, environment: String?,
        isError: Bool, inputTokens: Int, outputTokens: Int, cost: Double?, latencyMs: Double?
    ) {
        self.id = id
        self.startMicros = startMicros
        self.name = name
        self.userID = userID
        self.tags = tags
        self.model = model
        self.prompt = prompt
        self.deployment = deployment
        self.variant = variant
        self.task = task
        self.language = language
        self.domain = domain
        self.environment = environment
        self.isError = isError
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cost = cost?.finiteOrClamped  // a stored sum may predate the input bounds
        self.latencyMs = latencyMs
    }

    /// The group keys of this trace for a dimension; tags give one key per tag.
    public func keys(_ dimension: MetricsDimension) -> [String] {
        let none = RollupRow.noneKey
        switch dimension {
        case .model: return [model ?? none]
        case .prompt: return [prompt ?? none]
        case .deployment: return [deployment ?? none]
        case .variant: return [variant ?? none]
        case .user: return [userID ?? none]
        case .tag: return tags.isEmpty ? [none] : Array(Set(tags)).sorted()
        case .task: return [task ?? none]
        case .language: return [language ?? none]
        case .domain: return [domain ?? none]
        case .environment: return [environment ?? none]
        case .name: return [name ?? none]
        }
    }

    /// The prompt key traces group by: `name@version`.
    public static func promptKey(name: String?, version: Int?) -> String? {
        guard let name else { return nil }
        return version.map { "\(name)@\($0)" } ?? name
    }
}

/// A bin of a latency distribution.
public struct LatencyBin: Sendable, Codable, Equatable {
    public var lowerMs: Double
    public var upperMs: Double
    public var count: Int
}

extension LatencyHistogram {
    /// The counts in bins with round edges, 1, 2 and 5 times a power of ten (1-2 ms, 2-5 ms, 5-10 ms,
    /// 10-20 ms, ... 1-2 s), lowest first, gaps filled with zeros. Each stored eighth of a doubling
    /// goes to the bin holding its middle, so an edge is off by at most 4.5%, as the percentiles are.
    public var roundBins: [LatencyBin] {
        func bin(_ index: Int) -> (decade: Int, step: Int) {
            let middle = pow(2, (Double(index) + 0.5) / 8)
            let decade = Int(log10(middle).rounded(.down))
            let mantissa = middle / pow(10, Double(decade))
            return (decade, mantissa < 2 ? 0 : mantissa < 5 ? 1 : 2)
        }
        func lower(_ b: (decade: Int, step: Int)) -> Double { [1.0, 2, 5][b.step] * pow(10, Double(b.decade)) }
        func next(_ b: (decade: Int, step: Int)) -> (decade: Int, step: Int) { b.step == 2 ? (b.decade + 1, 0) : (b.decade, b.step + 1) }
        guard let low = counts.keys.min(), let high = counts.keys.max() else { return [] }
        var sums: [Int: Int] = [:]
        func key(_ b: (decade: Int, step: Int)) -> Int { b.decade * 3 + b.step }
        for (index, count) in counts { sums[key(bin(index)), default: 0] += count }
        var out: [LatencyBin] = []
        var current = bin(low)
        let last = bin(high)
        while key(current) <= key(last) {
            let following = next(current)
            out.append(LatencyBin(lowerMs: lower(current), upperMs: lower(following), count: sums[key(current)] ?? 0))
            current = following
        }
        return out
    }

    /// The counts merged to one bin per doubling of latency, lowest first, gaps filled with zeros.
    public var doublings: [LatencyBin] {
        guard let low = counts.keys.min(), let high = counts.keys.max() else { return [] }
        func octave(_ index: Int) -> Int { index >= 0 ? index / 8 : (index - 7) / 8 }
        var bins: [Int: Int] = [:]
        for (index, count) in counts { bins[octave(index), default: 0] += count }
        return (octave(low)...octave(high)).map { o in
            LatencyBin(lowerMs: pow(2, Double(o)), upperMs: pow(2, Double(o + 1)), count: bins[o] ?? 0)
        }
    }
}

/// A stored pre-aggregate: the sums of one bucket for one value of one dimension (`""` for all traces).
public struct RollupRow: Sendable, Equatable {
    public var bucket: Int64
    public var dimension: String
    public var value: String
    public var stats: MetricsAccumulator

    public init(bucket: Int64, dimension: String, value: String, stats: MetricsAccumulator) {
        self.bucket = bucket
        self.dimension = dimension
        self.value = value
        self.stats = stats
    }

    public static let totalDimension = ""
    /// The group key of traces without a value for the dimension.
    public static let noneKey = "(none)"

    /// The name daily rows of a dimension are stored under (users are daily only, under `user`).
    public static func daily(_ dimension: String) -> String { "day:" + dimension }
}

/// A rollup bucket that has changed since it was last computed.
public struct DirtyBucket: Sendable, Equatable {
    public var projectID: String
    public var bucket: Int64
    public var markedAt: Int64

    public init(projectID: String, bucket: Int64, markedAt: Int64) {
        self.projectID = projectID
        self.bucket = bucket
        self.markedAt = markedAt
    }
}

/// A trace whose language is still to be detected.
public struct PendingLanguage: Sendable, Equatable {
    public var projectID: String
    public var traceID: String
    public var input: String

    public init(projectID: String, traceID: String, input: String) {
        self.projectID = projectID
        self.traceID = traceID
        self.input = input
    }
}

/// Storage for the metrics: per-trace facts, the rollup rows and their dirty marks. Inserting
/// traces or scores marks the hours they touch; `MetricsEngine.refresh` recomputes those hours.
public protocol MetricsRepository: Sendable {
    /// The traces matching a filter, with their numeric scores, summed by a `FactAggregator` while the rows
    /// stream by (never all in memory at once).
    func aggregateFacts(projectID: String, filter: TraceFilter, granularity: MetricsBucket, dimensions: [MetricsDimension?]) async throws -> [RollupRow]
    /// Stored rollup rows of one dimension with `from <= bucket < to`.
    func rollups(projectID: String, dimension: String, from: Int64, to: Int64) async throws -> [RollupRow]
    /// Stored rollup rows of one dimension with `from <= bucket < to` and one of `values`.
    func rollups(projectID: String, dimension: String, from: Int64, to: Int64, values: [String]) async throws -> [RollupRow]
    /// The `limit` values of a dimension with the most traces in `from <= bucket < to`: most first,
    /// ties by value.
    func topRollupValues(projectID: String, dimension: String, from: Int64, to: Int64, limit: Int) async throws -> [String]
    /// The oldest dirty hours, at most `limit`.
    func dirtyBuckets(limit: Int) async throws -> [DirtyBucket]
    /// Replaces the rows of `dimensions` in `[from, to)` with `rows`, and clears `clearing` unless
    /// it was marked again meanwhile. One transaction.
    func replaceRollups(
        projectID: String, from: Int64, to: Int64, dimensions: [String], rows: [RollupRow],
        clearing: DirtyBucket?) async throws
    /// Traces with input and no language yet (neither sent nor detected), at most `limit`.
    func pendingLanguages(limit: Int) async throws -> [PendingLanguage]
    /// Stores detected languages (`nil`: nothing to detect from) and marks their hours dirty.
    func setDetectedLanguages(_ results: [(PendingLanguage, String?)]) async throws
    /// Refreshes the query planner's statistics (SQLite: a sampled ANALYZE; PostgreSQL's autovacuum
    /// does this itself). Filtered trace queries depend on them.
    func refreshPlannerStatistics() async throws
}

/// Sums facts one at a time into rows of `granularity` buckets for the given dimensions (`nil` for all
/// traces): stores stream the rows of a scan through it, so memory grows with the groups, not the traces
/// (an hour of 18 million gateway calls is a few hundred rows, not 18 million facts).
public struct FactAggregator: Sendable {
    struct Key: Hashable {
        var bucket: Int64
        var dimension: String
        var value: String
    }

    let granularity: MetricsBucket
    let dimensions: [MetricsDimension?]
    private var groups: [Key: MetricsAccumulator] = [:]

    public init(granularity: MetricsBucket, dimensions: [MetricsDimension?]) {
        self.granularity = granularity
        self.dimensions = dimensions
    }

    public mutating func add(_ fact: TraceFacts) {
        let bucket = granularity.start(of: fact.startMicros)
        for dimension in dimensions {
            let keys = dimension.map { fact.keys($0) } ?? [""]
            for value in keys {
                groups[Key(bucket: bucket, dimension: dimension?.rawValue ?? RollupRow.totalDimension, value: value), default: MetricsAccumulator()].add(fact)
            }
        }
    }

    /// The rows, ordered by bucket, dimension and value.
    public var rows: [RollupRow] {
        groups.map { RollupRow(bucket: $0.key.bucket, dimension: $0.key.dimension, value: $0.key.value, stats: $0.value) }
            .sorted { ($0.bucket, $0.dimension, $0.value) < ($1.bucket, $1.dimension, $1.value) }
    }
}
