public import Foundation

/// A probe: a fixed set of canary prompts (a dataset version run through prompt versions and models with
/// evaluators, as an experiment) run on a schedule with caching off, each run compared with the one before,
/// so that a provider changing the model behind a name shows.
public struct Probe: Sendable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var name: String
    public var enabled: Bool
    /// The experiment request each run makes: `dataset`, `dataset_version`, `prompts`, `models`, `assert`,
    /// `repeats` (as `POST /api/v1/experiments`).
    public var experiment: JSONValue
    /// How often it runs.
    public var everySeconds: Int
    /// Who runs it: `key:<id>` or `user:<id>` (its gateway limits and budget apply).
    public var createdBy: String
    public var lastRunAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, projectID: String, name: String, enabled: Bool = true, experiment: JSONValue, everySeconds: Int = 3600, createdBy: String,
        lastRunAt: Date? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.enabled = enabled
        self.experiment = experiment
        self.everySeconds = everySeconds
        self.createdBy = createdBy
        self.lastRunAt = lastRunAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether a run is due at `now`.
    public func isDue(at now: Date) -> Bool {
        guard enabled else { return false }
        guard let lastRunAt else { return true }
        return now.timeIntervalSince(lastRunAt) >= Double(everySeconds) - 0.001
    }

    /// The keys of `experiment` a probe takes.
    public static let experimentKeys: Set<String> = ["dataset", "dataset_version", "prompts", "models", "assert", "repeats"]

    public var json: JSONValue {
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        guard case .object(var object) = experiment else { return .null }
        object["id"] = .string(id)
        object["name"] = .string(name)
        object["enabled"] = .bool(enabled)
        object["every_seconds"] = .number(Double(everySeconds))
        object["created_by"] = .string(createdBy)
        object["last_run_at"] = lastRunAt.map { .string($0.formatted(iso)) } ?? .null
        object["created_at"] = .string(createdAt.formatted(iso))
        object["updated_at"] = .string(updatedAt.formatted(iso))
        return .object(object)
    }
}

/// One run of a probe: the experiment run it started.
public struct ProbeRun: Sendable, Equatable {
    public var probeID: String
    public var projectID: String
    public var experimentID: String
    public var startedAt: Date

    public init(probeID: String, projectID: String, experimentID: String, startedAt: Date) {
        self.probeID = probeID
        self.projectID = projectID
        self.experimentID = experimentID
        self.startedAt = startedAt
    }
}

public protocol ProbeRepository: NamedRecordRepository where Record == Probe {
    /// Records a run and the probe's last run time, in one transaction.
    func recordRun(_ run: ProbeRun) async throws
    /// The probe's runs, newest first.
    func runs(projectID: String, probeID: String, limit: Int) async throws -> [ProbeRun]
}
