public import Foundation

/// The storage protocol family. One repository per aggregate; every backend implements all of them
/// and passes the same contract test suite (`Tests/TernStoreContractTests`).
///
/// Rules every backend keeps:
/// - project-scoped rows are only reachable with their project id (a key of project A is invisible
///   through project B);
/// - secrets are stored as hashes only;
/// - timestamps round-trip at microsecond precision.
public protocol TernStore: Sendable {
    var projects: any ProjectRepository { get }
    var apiKeys: any APIKeyRepository { get }
    var users: any UserRepository { get }
    var sessions: any SessionRepository { get }
    var traces: any TraceRepository { get }
    var modelVersions: any ModelVersionRepository { get }
    var responseCache: any ResponseCacheRepository { get }
    var spend: any SpendRepository { get }
    var scores: any ScoreRepository { get }
    var scoreConfigs: any ScoreConfigRepository { get }
    var prompts: any PromptRepository { get }
    var datasets: any DatasetRepository { get }
    var experiments: any ExperimentRepository { get }
    var metrics: any MetricsRepository { get }
    var replicas: any ReplicaRepository { get }
    var watchers: any WatcherRepository { get }
    var alerts: any AlertRepository { get }
    var promotions: any PromotionRepository { get }
    var probes: any ProbeRepository { get }
    var driftMonitors: any DriftMonitorRepository { get }

    /// Runs `body` unless another replica (or task) runs the job of this `name` now; returns whether it ran.
    /// PostgreSQL: a session advisory lock, released when the body ends or its connection drops. SQLite
    /// (one process): a lock in the process.
    @discardableResult
    func withExclusiveJob(_ name: String, _ body: @Sendable () async throws -> Void) async throws -> Bool

    /// A short name for logs and `/readyz`: `sqlite` or `postgres`.
    var backendName: String { get }

    /// Applies pending migrations; returns the ids of the ones applied now (empty when up to date).
    @discardableResult
    func migrate() async throws -> [String]
    /// Ids of applied migrations, oldest first.
    func appliedMigrations() async throws -> [String]
    /// Cheap round trip to the database, for readiness checks.
    func ping() async throws
    /// A small real write (and its removal), for readiness checks while writes are failing: passes only
    /// when the database can take writes again.
    func probeWrite() async throws
    /// The reason when `error` says the database cannot serve now (disk full, read-only, unreachable, busy)
    /// rather than that the request was wrong; such failures answer 503 with Retry-After.
    func unavailability(of error: any Error) -> String?
    /// Background duties (the PostgreSQL connection pool). Returns when the task is cancelled.
    func run() async throws
    /// Releases files and connections. The store is unusable afterwards.
    func close() async throws
}

public protocol ProjectRepository: Sendable {
    /// Creates a project; a taken slug is a `conflict` error naming `slug`.
    func create(slug: String, name: String) async throws -> Project
    func get(id: String) async throws -> Project?
    func get(slug: String) async throws -> Project?
    func list() async throws -> [Project]
    func count() async throws -> Int
    /// Sets how many days traces are kept (nil: forever); nil when no such project exists.
    func setRetention(id: String, days: Int?) async throws -> Project?
}

public protocol APIKeyRepository: Sendable {
    /// Stores a key given its hash and display prefix (never the key itself).
    /// `scopes` nil: the role's default scopes (`Role.defaultScopes`).
    func create(
        projectID: String, name: String, role: Role, keyHash: String, prefix: String, createdBy: String?, limits: KeyLimits,
        scopes: [KeyScope]?
    ) async throws -> APIKey
    /// Replaces the key's gateway limits; nil when no such key exists in the project.
    func setLimits(projectID: String, id: String, limits: KeyLimits) async throws -> APIKey?
    /// The key with this hash, revoked or not; nil when unknown.
    func find(hash: String) async throws -> APIKey?
    func get(projectID: String, id: String) async throws -> APIKey?
    func list(projectID: String) async throws -> [APIKey]
    /// Revokes the key of this project; returns nil when no such key exists in the project.
    /// Revoking twice keeps the first revocation time.
    func revoke(projectID: String, id: String, at: Date) async throws -> APIKey?
    /// Records use; a later time never moves backwards.
    func touch(id: String, at: Date) async throws
}

extension APIKeyRepository {
    /// A key without gateway limits.
    public func create(
        projectID: String, name: String, role: Role, keyHash: String, prefix: String, createdBy: String?
    ) async throws -> APIKey {
        try await create(
            projectID: projectID, name: name, role: role, keyHash: keyHash, prefix: prefix, createdBy: createdBy, limits: KeyLimits(),
            scopes: nil)
    }

    /// A key with the role's default scopes.
    public func create(
        projectID: String, name: String, role: Role, keyHash: String, prefix: String, createdBy: String?, limits: KeyLimits
    ) async throws -> APIKey {
        try await create(
            projectID: projectID, name: name, role: role, keyHash: keyHash, prefix: prefix, createdBy: createdBy, limits: limits,
            scopes: nil)
    }
}

public protocol UserRepository: Sendable {
    /// Creates a user; a taken e-mail is a `conflict` naming `email`.
    func create(email: String, name: String, role: Role, passwordHash: String) async throws -> User
    func get(id: String) async throws -> User?
    func get(email: String) async throws -> User?
    func list() async throws -> [User]
    func count() async throws -> Int
    /// The stored password hash, for sign-in only.
    func passwordHash(userID: String) async throws -> String?
    func update(id: String, name: String?, role: Role?, passwordHash: String?, disabled: Bool?) async throws -> User?
}

public protocol SessionRepository: Sendable {
    func create(userID: String, tokenHash: String, expiresAt: Date) async throws -> WebSession
    /// The unexpired session with this token hash.
    func find(tokenHash: String, now: Date) async throws -> WebSession?
    func delete(id: String) async throws
    func deleteAll(userID: String) async throws
    /// Removes expired sessions; returns how many.
    @discardableResult
    func purgeExpired(now: Date) async throws -> Int
}

public protocol TraceRepository: Sendable {
    /// Stores traces and their observations in one transaction. A trace id that exists is merged (new
    /// non-empty fields replace old ones, the time span widens: an observation's placeholder trace gets its
    /// name and user when the trace itself arrives); an observation id that exists is left alone, so a
    /// retried batch adds nothing twice.
    func insert(_ batch: [TraceBatchItem]) async throws
    /// Newest first, keyset-paginated.
    func list(projectID: String, query: TraceQuery) async throws -> TracePage
    func get(projectID: String, id: String) async throws -> TraceDetail?
    /// The traces of `ids` that exist, with their observations, by id: `get` for many traces in two queries.
    func details(projectID: String, ids: [String]) async throws -> [String: TraceDetail]
    /// Sessions among the traces matching `filter`, most recently active first.
    func sessions(projectID: String, filter: TraceFilter, limit: Int) async throws -> [SessionSummary]
    /// Per segment of the matching traces, the count, sum and sum of squares of `measure` (traces without a
    /// value of it left out); the `limit` largest segments.
    func segmentSums(projectID: String, filter: TraceFilter, segment: TraceSegment, measure: TraceMeasure, limit: Int) async throws -> [SegmentSums]
    func count(projectID: String) async throws -> Int
    /// Deletes the project's traces that started before `cutoff`, with their observations and scores;
    /// returns how many traces went.
    @discardableResult
    func deleteOlderThan(projectID: String, cutoff: Date) async throws -> Int
}

public protocol ModelVersionRepository: Sendable {
    /// Appends the next version of a model (1 for a new name).
    func append(name: String, config: ModelConfig, author: String, message: String?, sourceHash: String?, deleted: Bool) async throws -> ModelVersion
    func latest(name: String) async throws -> ModelVersion?
    /// The latest version of every model, deleted ones included, by name.
    func latestAll() async throws -> [ModelVersion]
    /// All versions of a model, newest first.
    func history(name: String) async throws -> [ModelVersion]
    func get(name: String, version: Int) async throws -> ModelVersion?
    /// How many versions exist in all; changes whenever any model changes (replicas poll it).
    func changeCount() async throws -> Int
}

/// Exact-match gateway responses, per project.
/// A cached answer as stored, with the time it expires.
public struct CachedValue: Sendable, Equatable {
    public var value: Data
    public var expiresAt: Date

    public init(value: Data, expiresAt: Date) {
        self.value = value
        self.expiresAt = expiresAt
    }
}

public protocol ResponseCacheRepository: Sendable {
    /// The value of `key` unless it expired at `now`.
    func get(projectID: String, key: String, now: Date) async throws -> CachedValue?
    func put(projectID: String, key: String, value: Data, expiresAt: Date) async throws
    @discardableResult
    func purgeExpired(now: Date) async throws -> Int
}

/// Money spent through each key, per budget period (`2026-11` or `2026-11-27`).
public protocol SpendRepository: Sendable {
    func add(projectID: String, keyID: String, period: String, amount: Double) async throws
    func spent(keyID: String, period: String) async throws -> Double
}

public protocol ScoreRepository: Sendable {
    /// Stores scores; an id that exists is left as it is (retried batches add nothing twice).
    func insert(_ scores: [Score]) async throws
    /// Scores of a trace (and its observations), oldest first.
    func list(projectID: String, traceID: String) async throws -> [Score]
    /// The scores with a number (numeric and boolean ones) of the traces `traceIDs`, all of them (observations'
    /// included): per trace, per score name, the mean value.
    func numericMeans(projectID: String, traceIDs: [String]) async throws -> [String: [String: Double]]
    func count(projectID: String) async throws -> Int
    /// The data type of the oldest score named `name`, nil when there is none: without a score
    /// config, the first score of a name fixes its type.
    func dataType(projectID: String, name: String) async throws -> ScoreDataType?
}

public protocol ScoreConfigRepository: Sendable {
    /// A taken name is a `conflict` naming `name`.
    func create(_ config: ScoreConfig) async throws -> ScoreConfig
    func get(projectID: String, name: String) async throws -> ScoreConfig?
    func list(projectID: String) async throws -> [ScoreConfig]
}

/// Versioned prompts and the labels that point at their versions.
public protocol PromptRepository: Sendable {
    /// Stores `version` as the next version of its prompt (its `version` field is ignored), unless its
    /// content equals the newest version's: then nothing is stored and the newest comes back with
    /// `created == false`. `labels` are moved to the resulting version (recorded like `setLabel`).
    func push(_ version: PromptVersion, labels: [String]) async throws -> (version: PromptVersion, created: Bool)
    func get(projectID: String, name: String, version: Int) async throws -> PromptVersion?
    /// The version a label points at; `latest` is the newest version.
    func get(projectID: String, name: String, label: String) async throws -> PromptVersion?
    /// Every version, newest first.
    func history(projectID: String, name: String) async throws -> [PromptVersion]
    func list(projectID: String) async throws -> [PromptSummary]
    /// Points `label` at `version` and records the move. `latest` cannot be set.
    func setLabel(projectID: String, name: String, label: String, version: Int, author: String) async throws -> PromptLabelMove
    /// The label moves of a prompt, newest first.
    func labelMoves(projectID: String, name: String) async throws -> [PromptLabelMove]
}

extension PromptRepository {
    /// Validates a label name: letters, digits, `-`, `_`, `.`; `latest` is reserved.
    public static func checkLabel(_ label: String) throws {
        guard label != "latest" else { throw TernError.invalid("label", "latest always points at the newest version and cannot be moved") }
        guard !label.isEmpty, label.count <= 64,
            label.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) })
        else { throw TernError.invalid("label", "labels use letters, digits, -, _ and . (1-64 characters), got \"\(label)\"") }
    }
}
