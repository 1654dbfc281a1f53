public import Foundation

// Persisted experiments: a run (prompt versions x models x repeats over a dataset version) and its
// cells, written as they finish. The runner lives in TernEval and the server; this is the storage
// model every backend keeps.

public enum ExperimentStatus: String, Sendable, Codable, CaseIterable {
    case queued, running, completed, failed, cancelled

    /// Nothing more happens to a run in one of these states.
    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// Running totals of a run's cells (added to as cells are stored).
public struct ExperimentTotals: Sendable, Codable, Equatable {
    public var cells = 0
    public var passed = 0
    public var failed = 0
    /// Cells whose call, prompt rendering or evaluation failed (not counted in `failed`).
    public var errors = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var cost = 0.0
    public var gradingInputTokens = 0
    public var gradingOutputTokens = 0
    public var gradingCost = 0.0
    public var latencyMs = 0.0

    public init() {}

    /// Passed cells over finished cells (0 before any).
    public var passRate: Double { cells == 0 ? 0 : Double(passed) / Double(cells) }

    public mutating func add(_ cell: ExperimentCell) {
        cells += 1
        if cell.error != nil { errors += 1 } else if cell.passed { passed += 1 } else { failed += 1 }
        inputTokens += cell.inputTokens
        outputTokens += cell.outputTokens
        cost += cell.cost ?? 0
        gradingInputTokens += cell.gradingInputTokens
        gradingOutputTokens += cell.gradingOutputTokens
        gradingCost += cell.gradingCost ?? 0
        latencyMs += cell.latencyMs ?? 0
    }
}

/// A stored experiment run.
public struct ExperimentRun: Sendable, Codable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var name: String
    public var datasetID: String
    public var datasetName: String
    public var datasetVersion: Int
    /// Prompt versions as `name@version`, in column order.
    public var prompts: [String]
    public var models: [String]
    public var repeats: Int
    /// The assertions, as given (promptfoo style), applied to every cell.
    public var assertions: JSONValue
    /// Run options as given (`max_concurrency`, `grader`, `threshold`) plus what the server resolved
    /// (`judge_prompts`: the judge prompt versions used).
    public var options: JSONValue
    public var status: ExperimentStatus
    /// Cells the run will have when complete: items x prompts x models x repeats.
    public var plannedCells: Int
    public var totals: ExperimentTotals
    public var createdAt: Date
    public var createdBy: String
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Last sign of life of the process running it (runs whose process died are failed by a sweep).
    public var heartbeatAt: Date?
    public var error: String?

    public init(
        id: String, projectID: String, name: String, datasetID: String, datasetName: String, datasetVersion: Int, prompts: [String],
        models: [String], repeats: Int, assertions: JSONValue, options: JSONValue, status: ExperimentStatus = .queued, plannedCells: Int,
        totals: ExperimentTotals = ExperimentTotals(), createdAt: Date, createdBy: String, startedAt: Date? = nil, finishedAt: Date? = nil,
        heartbeatAt: Date? = nil, error: String? = nil
    ) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.datasetID = datasetID
        self.datasetName = datasetName
        self.datasetVersion = datasetVersion
        self.prompts = prompts
        self.models = models
        self.repeats = repeats
        self.assertions = assertions
        self.options = options
        self.status = status
        self.plannedCells = plannedCells
        self.totals = totals
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.heartbeatAt = heartbeatAt
        self.error = error
    }
}

/// One stored cell: an item through one prompt version and one model (one repetition).
public struct ExperimentCell: Sendable, Codable, Equatable {
    public var itemID: String
    public var promptName: String
    public var promptVersion: Int
    public var model: String
    public var repetition: Int
    public var output: String?
    public var passed: Bool
    /// The test's weighted score (0-1); nil without assertions or when the cell failed before evaluation.
    public var score: Double?
    /// The evaluation (the test's `AssertionResult`, its components per assertion) as JSON.
    public var assertions: JSONValue?
    public var latencyMs: Double?
    public var inputTokens: Int
    public var outputTokens: Int
    public var cost: Double?
    public var gradingInputTokens: Int
    public var gradingOutputTokens: Int
    public var gradingCost: Double?
    /// The gateway trace of the cell's model call.
    public var traceID: String?
    /// Why the cell has no verdict (call, rendering or evaluation error).
    public var error: String?
    public var createdAt: Date

    public init(
        itemID: String, promptName: String, promptVersion: Int, model: String, repetition: Int, output: String? = nil, passed: Bool,
        score: Double? = nil, assertions: JSONValue? = nil, latencyMs: Double? = nil, inputTokens: Int = 0, outputTokens: Int = 0,
        cost: Double? = nil, gradingInputTokens: Int = 0, gradingOutputTokens: Int = 0, gradingCost: Double? = nil, traceID: String? = nil,
        error: String? = nil, createdAt: Date
    ) {
        self.itemID = itemID
        self.promptName = promptName
        self.promptVersion = promptVersion
        self.model = model
        self.repetition = repetition
        self.output = output
        self.passed = passed
        self.score = score
        self.assertions = assertions
        self.latencyMs = latencyMs
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cost = cost
        self.gradingInputTokens = gradingInputTokens
        self.gradingOutputTokens = gradingOutputTokens
        self.gradingCost = gradingCost
        self.traceID = traceID
        self.error = error
        self.createdAt = createdAt
    }

    /// The cell's place in its run, sortable as bytes: item, prompt, version, model, repetition.
    /// Results are stored and paged in this order, so a page holds whole matrix rows.
    public var cellKey: String {
        ExperimentCell.key(itemID: itemID, promptName: promptName, promptVersion: promptVersion, model: model, repetition: repetition)
    }

    public static func key(itemID: String, promptName: String, promptVersion: Int, model: String, repetition: Int) -> String {
        // U+001F sorts below every printable character, so "a" < "a1" holds as it does for the ids alone.
        let separator = "\u{1F}"
        return [itemID, promptName, String(format: "%09d", promptVersion), model, String(format: "%06d", repetition)].joined(separator: separator)
    }

    /// `name@version`.
    public var promptLabel: String { "\(promptName)@\(promptVersion)" }
}

/// The totals of one column of a run's matrix.
public struct ExperimentColumnTotals: Sendable, Codable, Equatable {
    public var promptName: String
    public var promptVersion: Int
    public var model: String
    public var totals: ExperimentTotals

    public init(promptName: String, promptVersion: Int, model: String, totals: ExperimentTotals) {
        self.promptName = promptName
        self.promptVersion = promptVersion
        self.model = model
        self.totals = totals
    }

    public var prompt: String { "\(promptName)@\(promptVersion)" }
}

/// Storage for experiment runs and their cells.
public protocol ExperimentRepository: Sendable {
    /// Stores a new run (its `id` must be unused).
    func create(_ run: ExperimentRun) async throws -> ExperimentRun
    func get(projectID: String, id: String) async throws -> ExperimentRun?
    /// Newest first; `before` (a run's creation time and id) pages on.
    func list(projectID: String, before: (Date, String)?, limit: Int) async throws -> [ExperimentRun]
    /// Stores cells and adds them to the run's totals in one transaction; a cell already stored
    /// (same run and cell key) is left alone and not counted again. Records `heartbeat` as the
    /// run's last sign of life. Returns how many cells were new.
    @discardableResult
    func addCells(projectID: String, experimentID: String, _ cells: [ExperimentCell], heartbeat: Date) async throws -> Int
    /// Cells in cell-key order (item, prompt, version, model, repetition); `after` is the last cell key of the previous page.
    func cells(projectID: String, experimentID: String, after: String?, limit: Int) async throws -> [ExperimentCell]
    /// Moves the run to `status` when it is in one of `from`: `running` sets `startedAt`, finished
    /// states set `finishedAt`; `error` replaces the stored error. Returns the run after the change,
    /// or nil when it was not in one of `from` (or does not exist).
    func transition(
        projectID: String, id: String, from: Set<ExperimentStatus>, to status: ExperimentStatus, error: String?,
        at: Date
    ) async throws -> ExperimentRun?
    /// Totals per column (prompt version x model), in prompt, version and model order.
    func columns(projectID: String, experimentID: String) async throws -> [ExperimentColumnTotals]
    /// Records a sign of life; returns the run's status (nil when it does not exist).
    func heartbeat(projectID: String, id: String, at: Date) async throws -> ExperimentStatus?
    /// Every project's queued or running runs whose last sign of life (or creation, for runs never
    /// started) is before `cutoff` become `failed` with `error`. Returns their ids.
    @discardableResult
    func failStale(before cutoff: Date, error: String, at: Date) async throws -> [String]
}
