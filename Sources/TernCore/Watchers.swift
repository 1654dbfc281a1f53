public import Foundation

/// A watcher (an online evaluator): evaluators that `tern eval` and experiments know, run on a sample of
/// finished live traces that match a filter; each result is a score (`source: watcher`).
public struct Watcher: Sendable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var name: String
    /// Bumped by every change of the definition; a trace is scored at most once per version.
    public var version: Int
    public var enabled: Bool
    public var definition: WatcherDefinition
    /// The key the watcher was created with: judges call the gateway under it (its limits and budget apply).
    public var keyID: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, projectID: String, name: String, version: Int = 1, enabled: Bool = true, definition: WatcherDefinition,
        keyID: String? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.version = version
        self.enabled = enabled
        self.definition = definition
        self.keyID = keyID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What a watcher checks, on which traces, how often and at what cost: the JSON body of the API.
public struct WatcherDefinition: Sendable, Equatable {
    /// Assertions as in `tern eval` and experiments (promptfoo-style `{"type": ..., "value": ...}`).
    public var assertions: JSONValue
    /// With a threshold the score (the weighted mean of the assertions) must reach it to pass.
    public var threshold: Double?
    /// Which traces: the explorer's filters (`model`, `prompt_name`, `prompt_version`, `deployment`, `variant`,
    /// `tags`, `metadata`, `task`, `language`, `domain`, `environment`, `release`, `name`, `user_id`).
    public var filter: WatcherFilter
    /// The share of matching traces scored, 0 < rate <= 1 (a trace's id decides, so replicas agree).
    public var samplingRate: Double
    /// What is evaluated: the trace's input and output, or the observation of this name (its input/output).
    public var observationName: String?
    /// An ingested trace without an explicit end is finished after this long without news.
    public var idleSeconds: Int
    /// Judge spending per UTC day, in USD; past it jobs wait for the next day.
    public var dailyCostCap: Double?
    /// The score's name (default: the watcher's name).
    public var scoreName: String?

    public init(
        assertions: JSONValue, threshold: Double? = nil, filter: WatcherFilter = WatcherFilter(), samplingRate: Double = 1,
        observationName: String? = nil, idleSeconds: Int = 180, dailyCostCap: Double? = nil, scoreName: String? = nil
    ) {
        self.assertions = assertions
        self.threshold = threshold
        self.filter = filter
        self.samplingRate = samplingRate
        self.observationName = observationName
        self.idleSeconds = idleSeconds
        self.dailyCostCap = dailyCostCap
        self.scoreName = scoreName
    }

    /// Whether a trace falls in the sample: a hash of its id below the rate, the same on every replica.
    public func samples(traceID: String) -> Bool { Self.samples(traceID: traceID, rate: samplingRate) }

    /// Whether a trace falls in a sample of `rate`: the same trace always gives the same answer.
    public static func samples(traceID: String, rate samplingRate: Double) -> Bool {
        guard samplingRate < 1 else { return true }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in traceID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        // A final mix (splitmix64's): FNV's high bits barely move between ids that differ at the end.
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        hash ^= hash >> 31
        return Double(hash >> 11) / Double(UInt64(1) << 53) < samplingRate
    }
}

/// The trace filters a watcher may use (the explorer's, less time ranges and text search).
public struct WatcherFilter: Sendable, Equatable {
    public var model: String?
    public var name: String?
    public var userID: String?
    public var promptName: String?
    public var promptVersion: Int?
    public var deployment: String?
    public var variant: String?
    public var tags: [String] = []
    public var metadata: [String: String] = [:]
    public var task: String?
    public var language: String?
    public var domain: String?
    public var environment: String?
    public var release: String?

    public init() {}

    /// As a trace filter (internal traffic, the judges' own calls included, stays out unless an environment is named).
    public var traceFilter: TraceFilter {
        TraceFilter(
            userID: userID, model: model, name: name, tags: tags, metadata: metadata, task: task, language: language, domain: domain,
            environment: environment, release: release, promptName: promptName, promptVersion: promptVersion, deployment: deployment,
            variant: variant)
    }
}

public enum WatcherJobStatus: String, Sendable, Codable, Equatable, CaseIterable {
    case pending
    case running
    case done
    case failed
}

/// One evaluation of one trace (or observation) by one watcher version. Its key (watcher, version, trace,
/// observation) is unique: a trace is never scored twice by the same version, whatever happens.
public struct WatcherJob: Sendable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var watcherID: String
    public var watcherVersion: Int
    public var traceID: String
    /// The observation evaluated; empty for the trace itself.
    public var observationID: String
    public var status: WatcherJobStatus
    public var attempts: Int
    /// Not before this time (a retry's backoff, the next day under a cost cap).
    public var notBefore: Date
    /// A running job whose lease passed (its worker died) is taken again.
    public var leaseUntil: Date?
    /// Why the last attempt failed, or why the job waits.
    public var lastError: String?
    public var scoreID: String?
    /// The judges' cost in USD, and the trace of the (last) judge call.
    public var cost: Double?
    public var judgeTraceID: String?
    public var createdAt: Date
    public var finishedAt: Date?
    /// The backfill that queued it; nil for live traffic.
    public var backfillID: String?

    public init(
        id: String, projectID: String, watcherID: String, watcherVersion: Int, traceID: String, observationID: String = "",
        status: WatcherJobStatus = .pending, attempts: Int = 0, notBefore: Date, leaseUntil: Date? = nil, lastError: String? = nil,
        scoreID: String? = nil, cost: Double? = nil, judgeTraceID: String? = nil, createdAt: Date, finishedAt: Date? = nil,
        backfillID: String? = nil
    ) {
        self.backfillID = backfillID
        self.id = id
        self.projectID = projectID
        self.watcherID = watcherID
        self.watcherVersion = watcherVersion
        self.traceID = traceID
        self.observationID = observationID
        self.status = status
        self.attempts = attempts
        self.notBefore = notBefore
        self.leaseUntil = leaseUntil
        self.lastError = lastError
        self.scoreID = scoreID
        self.cost = cost
        self.judgeTraceID = judgeTraceID
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }
}

/// A job's result, to record with others in one write.
public struct WatcherCompletion: Sendable {
    public var job: WatcherJob
    public var score: Score?
    public var cost: Double?
    public var judgeTraceID: String?

    public init(job: WatcherJob, score: Score?, cost: Double? = nil, judgeTraceID: String? = nil) {
        self.job = job
        self.score = score
        self.cost = cost
        self.judgeTraceID = judgeTraceID
    }
}

/// A watcher's queue at a glance, for `/metrics` and its page.
public struct WatcherQueueStats: Sendable, Equatable {
    public var watcherID: String
    public var pending: Int
    public var running: Int
    public var done: Int
    public var failed: Int
    /// The oldest job still pending or running: the lag.
    public var oldestWaiting: Date?
    /// Judge cost since the start of the UTC day.
    public var costToday: Double

    public init(watcherID: String, pending: Int = 0, running: Int = 0, done: Int = 0, failed: Int = 0, oldestWaiting: Date? = nil, costToday: Double = 0) {
        self.watcherID = watcherID
        self.pending = pending
        self.running = running
        self.done = done
        self.failed = failed
        self.oldestWaiting = oldestWaiting
        self.costToday = costToday
    }
}

/// A finished trace a watcher may score: found by the time it was last written.
public struct WatchCandidate: Sendable, Equatable {
    public var traceID: String
    /// When the trace was last written (its `last_seen`).
    public var lastSeen: Date
    public var ended: Bool

    public init(traceID: String, lastSeen: Date, ended: Bool) {
        self.traceID = traceID
        self.lastSeen = lastSeen
        self.ended = ended
    }
}

public enum WatcherBackfillStatus: String, Sendable, Codable, Equatable, CaseIterable {
    case running
    case done
    case cancelled
}

/// A watcher run over past traces: those started in [`from`, `to`) that match its filter. The runner walks
/// them in pages (oldest first) and queues jobs like live traffic's; traces a version already scored are
/// skipped by the queue's key.
public struct WatcherBackfill: Sendable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var watcherID: String
    /// The version it scores with; a newer version of the watcher cancels it.
    public var watcherVersion: Int
    public var from: Date
    public var to: Date
    /// Overrides the watcher's sampling rate; nil keeps it.
    public var samplingRate: Double?
    public var status: WatcherBackfillStatus
    /// Where the walk is: the start time and id of the last trace read.
    public var cursorTime: Date?
    public var cursorID: String?
    /// Traces read, and jobs queued from them.
    public var scanned: Int
    public var queued: Int
    /// Why it ended, when it was cancelled.
    public var note: String?
    public var createdAt: Date
    public var finishedAt: Date?
    /// Its jobs by status (filled when read; done and failed jobs are pruned after seven days).
    public var jobs: WatcherQueueStats

    public init(
        id: String, projectID: String, watcherID: String, watcherVersion: Int, from: Date, to: Date, samplingRate: Double? = nil,
        status: WatcherBackfillStatus = .running, cursorTime: Date? = nil, cursorID: String? = nil, scanned: Int = 0, queued: Int = 0,
        note: String? = nil, createdAt: Date, finishedAt: Date? = nil
    ) {
        self.id = id
        self.projectID = projectID
        self.watcherID = watcherID
        self.watcherVersion = watcherVersion
        self.from = from
        self.to = to
        self.samplingRate = samplingRate
        self.status = status
        self.cursorTime = cursorTime
        self.cursorID = cursorID
        self.scanned = scanned
        self.queued = queued
        self.note = note
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        jobs = WatcherQueueStats(watcherID: watcherID)
    }

    /// The share of the range walked, 0...1.
    public var scannedShare: Double {
        if status == .done { return 1 }
        guard let cursorTime, to > from else { return 0 }
        return min(1, max(0, cursorTime.timeIntervalSince(from) / to.timeIntervalSince(from)))
    }

    /// The share done: the range walked times the share of its jobs finished.
    public var progress: Double {
        queued == 0 ? scannedShare : scannedShare * Double(min(queued, jobs.done + jobs.failed)) / Double(queued)
    }

    /// The API's JSON form, with its progress.
    public var json: JSONValue {
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return [
            "id": .string(id), "watcher_id": .string(watcherID), "version": .number(Double(watcherVersion)),
            "from": .string(from.formatted(iso)), "to": .string(to.formatted(iso)),
            "sampling_rate": samplingRate.map(JSONValue.number) ?? .null, "status": .string(status.rawValue),
            "scanned_until": cursorTime.map { .string($0.formatted(iso)) } ?? .null,
            "scanned_share": .number((scannedShare * 10_000).rounded() / 10_000), "scanned": .number(Double(scanned)),
            "queued": .number(Double(queued)),
            "jobs": [
                "pending": .number(Double(jobs.pending)), "running": .number(Double(jobs.running)), "done": .number(Double(jobs.done)),
                "failed": .number(Double(jobs.failed)),
            ],
            "progress": .number((progress * 10_000).rounded() / 10_000),
            "note": note.map(JSONValue.string) ?? .null,
            "created_at": .string(createdAt.formatted(iso)), "finished_at": finishedAt.map { .string($0.formatted(iso)) } ?? .null,
        ]
    }
}

public protocol WatcherRepository: NamedRecordRepository where Record == Watcher {

    /// Finished traces matching `filter` written in (`after`, `until`]: those with an end (`ended`), or, with
    /// `idleBefore`, those without one last written before it. Oldest first (then by id), at most `limit`;
    /// `afterID` continues a page: traces written exactly at `after` with a larger id come too (one batch of
    /// the trace writer shares one time).
    func finishedTraces(
        projectID: String, filter: TraceFilter, after: Date, afterID: String?, until: Date, idleBefore: Date?, limit: Int
    ) async throws -> [WatchCandidate]
    /// The watcher's scan positions: ended traces and idle traces (nil before the first scan).
    func cursors(projectID: String, watcherID: String) async throws -> (ended: Date?, idle: Date?)
    func setCursors(projectID: String, watcherID: String, ended: Date?, idle: Date?) async throws

    /// Queues jobs; a job whose key (watcher, version, trace, observation) exists is left alone. Returns how
    /// many were new.
    @discardableResult
    func enqueue(_ jobs: [WatcherJob]) async throws -> Int
    /// Takes up to `limit` jobs due at `now` (pending, or running with a lease past): they become running
    /// until `leaseUntil`, their attempts counted. Oldest first, across projects.
    func claim(limit: Int, now: Date, leaseUntil: Date) async throws -> [WatcherJob]
    /// Stores the score and marks the job done, in one transaction; false (and nothing stored) when the job
    /// is not running any more (another worker finished it).
    @discardableResult
    func complete(_ job: WatcherJob, score: Score?, cost: Double?, judgeTraceID: String?, at: Date) async throws -> Bool
    /// `complete` for many jobs at once: the scores in one write, the jobs in another. Returns how many jobs
    /// were still running (and are done now).
    @discardableResult
    func complete(_ completions: [WatcherCompletion], at: Date) async throws -> Int
    /// Records a failed attempt: back to pending until `retryAt`, or `failed` for good when nil.
    func fail(_ job: WatcherJob, error: String, retryAt: Date?, cost: Double?, at: Date) async throws
    /// Puts a running job back to pending until `notBefore` without counting the attempt (a cost cap reached).
    func postpone(_ job: WatcherJob, reason: String, until notBefore: Date) async throws
    func jobs(projectID: String, watcherID: String, status: WatcherJobStatus?, limit: Int) async throws -> [WatcherJob]
    /// Per watcher of the project (every project when nil).
    func stats(projectID: String?, now: Date) async throws -> [WatcherQueueStats]
    /// Deletes done and failed jobs finished before `cutoff` (their scores stay); returns how many. Old
    /// traces are never scanned again, so their keys are not needed to keep scores single.
    @discardableResult
    func pruneJobs(finishedBefore cutoff: Date) async throws -> Int

    /// Traces matching `filter` (its `from` and `to` bound the start time) after (`afterTime`, `afterID`) in
    /// (start time, id) order, at most `limit`; `lastSeen` is the start time. A backfill's pages.
    func startedTraces(projectID: String, filter: TraceFilter, afterTime: Date?, afterID: String?, limit: Int) async throws -> [WatchCandidate]
    func createBackfill(_ backfill: WatcherBackfill) async throws
    /// The watcher's backfills, newest first, with their jobs' counts.
    func backfills(projectID: String, watcherID: String) async throws -> [WatcherBackfill]
    /// Every project's running backfills (the runner's work list).
    func runningBackfills() async throws -> [WatcherBackfill]
    /// Records a backfill's walk: cursor, counts, status, note and end.
    func saveBackfill(_ backfill: WatcherBackfill) async throws
}

// MARK: - JSON form

extension WatcherDefinition {
    static let keys: Set<String> = [
        "assertions", "threshold", "filter", "sampling_rate", "observation", "idle_seconds", "daily_cost_cap", "score_name",
    ]

    /// Reads the definition fields of a watcher body (unknown keys are refused by name); `base` gives the
    /// values of fields the body leaves out (a PATCH).
    public init(json body: JSONValue, base: WatcherDefinition? = nil, allowing extra: Set<String> = []) throws {
        guard case .object(let object) = body else { throw TernError.invalid(nil, "expected a JSON object") }
        for key in object.keys where !Self.keys.contains(key) && !extra.contains(key) {
            throw TernError.invalid(key, "unknown field; expected one of \((Self.keys.union(extra)).sorted().joined(separator: ", "))")
        }
        var definition = base ?? WatcherDefinition(assertions: .array([]))
        if let assertions = object["assertions"] {
            guard case .array(let items) = assertions, !items.isEmpty, items.allSatisfy({ $0["type"]?.string != nil }) else {
                throw TernError.invalid("assertions", "expected a non-empty array of assertions, each with a \"type\" (as in tern eval)")
            }
            guard items.count <= 20 else { throw TernError.invalid("assertions", "at most 20 assertions") }
            definition.assertions = assertions
        } else if base == nil {
            throw TernError.invalid("assertions", "required: the assertions to run, e.g. [{\"type\": \"icontains\", \"value\": \"refund\"}]")
        }
        if object["threshold"] != nil {
            let threshold = try Self.number(object["threshold"], "threshold")
            if let threshold, !(0...1).contains(threshold) { throw TernError.invalid("threshold", "expected a number from 0 to 1") }
            definition.threshold = threshold
        }
        if let rate = try Self.number(object["sampling_rate"], "sampling_rate") {
            guard rate > 0, rate <= 1 else { throw TernError.invalid("sampling_rate", "expected a share above 0 and at most 1, e.g. 0.1") }
            definition.samplingRate = rate
        }
        if object["observation"] != nil {
            let name = try Self.text(object["observation"], "observation")
            if let name, name.isEmpty || name.count > 200 { throw TernError.invalid("observation", "expected an observation name of 1-200 characters") }
            definition.observationName = name
        }
        if let idle = try Self.number(object["idle_seconds"], "idle_seconds") {
            guard idle.rounded() == idle, idle >= 1, idle <= 86_400 else {
                throw TernError.invalid("idle_seconds", "expected whole seconds from 1 to 86400")
            }
            definition.idleSeconds = Int(idle)
        }
        if object["daily_cost_cap"] != nil {
            let cap = try Self.number(object["daily_cost_cap"], "daily_cost_cap")
            if let cap, !(cap >= 0 && cap <= 1_000_000) { throw TernError.invalid("daily_cost_cap", "expected USD from 0 to 1000000") }
            definition.dailyCostCap = cap
        }
        if object["score_name"] != nil {
            let name = try Self.text(object["score_name"], "score_name")
            if let name, name.isEmpty || name.count > 100 { throw TernError.invalid("score_name", "expected a name of 1-100 characters") }
            definition.scoreName = name
        }
        if let filter = object["filter"], !filter.isNull {
            definition.filter = try WatcherFilter(json: filter)
        }
        self = definition
    }

    static func text(_ value: JSONValue?, _ name: String) throws -> String? {
        guard let value, !value.isNull else { return nil }
        guard let text = value.string else { throw TernError.invalid(name, "expected a string") }
        return text
    }

    static func number(_ value: JSONValue?, _ name: String) throws -> Double? {
        guard let value, !value.isNull else { return nil }
        guard let number = value.double, number.isFinite else { throw TernError.invalid(name, "expected a number") }
        return number
    }

    /// The JSON form, as the API answers and the store keeps it.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "assertions": assertions, "filter": filter.json, "sampling_rate": .number(samplingRate), "idle_seconds": .number(Double(idleSeconds)),
        ]
        object["threshold"] = threshold.map(JSONValue.number) ?? .null
        object["observation"] = observationName.map(JSONValue.string) ?? .null
        object["daily_cost_cap"] = dailyCostCap.map(JSONValue.number) ?? .null
        object["score_name"] = scoreName.map(JSONValue.string) ?? .null
        return .object(object)
    }
}

extension WatcherFilter {
    nonisolated(unsafe) static let textKeys: [(String, WritableKeyPath<WatcherFilter, String?>)] = [
        ("model", \.model), ("name", \.name), ("user_id", \.userID), ("prompt_name", \.promptName), ("deployment", \.deployment),
        ("variant", \.variant), ("task", \.task), ("language", \.language), ("domain", \.domain), ("environment", \.environment),
        ("release", \.release),
    ]

    public init(json: JSONValue) throws {
        guard case .object(let object) = json else { throw TernError.invalid("filter", "expected an object of trace filters") }
        let allowed = Set(Self.textKeys.map(\.0) + ["prompt_version", "tags", "metadata"])
        for key in object.keys where !allowed.contains(key) {
            throw TernError.invalid("filter.\(key)", "unknown filter; expected one of \(allowed.sorted().joined(separator: ", "))")
        }
        var filter = WatcherFilter()
        let reader = FieldReader(body: json, path: "filter")
        for (key, path) in Self.textKeys {
            if let value = try reader.string(key) {
                guard !value.isEmpty, value.count <= 200 else { throw TernError.invalid("filter.\(key)", "expected 1-200 characters") }
                filter[keyPath: path] = value
            }
        }
        if let version = try WatcherDefinition.number(object["prompt_version"], "filter.prompt_version") {
            guard version.rounded() == version, version >= 1, version < 1e9 else {
                throw TernError.invalid("filter.prompt_version", "expected a version number from 1")
            }
            filter.promptVersion = Int(version)
        }
        filter.tags = try reader.strings("tags")
        if let metadata = object["metadata"], !metadata.isNull {
            guard case .object(let pairs) = metadata, pairs.values.allSatisfy({ $0.string != nil }) else {
                throw TernError.invalid("filter.metadata", "expected an object of text values, e.g. {\"tier\": \"free\"}")
            }
            filter.metadata = pairs.compactMapValues(\.string)
        }
        self = filter
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        for (key, path) in Self.textKeys { if let value = self[keyPath: path] { object[key] = .string(value) } }
        if let promptVersion { object["prompt_version"] = .number(Double(promptVersion)) }
        if !tags.isEmpty { object["tags"] = .array(tags.map(JSONValue.string)) }
        if !metadata.isEmpty { object["metadata"] = .object(metadata.mapValues(JSONValue.string)) }
        return .object(object)
    }
}

extension Watcher {
    /// The API's JSON form of a watcher.
    public var json: JSONValue {
        guard case .object(var object) = definition.json else { return .null }
        object["id"] = .string(id)
        object["name"] = .string(name)
        object["version"] = .number(Double(version))
        object["enabled"] = .bool(enabled)
        object["created_at"] = .string(createdAt.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        object["updated_at"] = .string(updatedAt.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        return .object(object)
    }

    /// The name of the scores it writes.
    public var scoreName: String { definition.scoreName ?? name }
}

extension Calendar {
    /// The Gregorian calendar in UTC: days of cost caps and daily rollups.
    public static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
