public import Foundation
public import TernCore

/// The columns of experiment runs and cells, shared by the backends so both map them alike.
public enum ExperimentColumns {
    /// A column value as the backends bind it.
    public enum Value: Sendable, Equatable {
        case text(String?)
        case int(Int64?)
        case double(Double?)
    }

    /// Reads a stored row by column name.
    public protocol Reader {
        func text(_ column: String) throws -> String?
        func int(_ column: String) throws -> Int64?
        func double(_ column: String) throws -> Double?
    }

    public static let runColumns = [
        "id", "project_id", "name", "dataset_id", "dataset_name", "dataset_version", "prompts", "models", "repeats", "assertions", "options",
        "status", "planned_cells", "cells", "passed", "failed", "errors", "input_tokens", "output_tokens", "cost", "grading_input_tokens",
        "grading_output_tokens", "grading_cost", "latency_ms", "created_at", "created_by", "started_at", "finished_at", "heartbeat_at", "error",
    ]

    public static let cellColumns = [
        "experiment_id", "cell_key", "item_id", "prompt_name", "prompt_version", "model", "repetition", "output", "passed", "score", "assertions",
        "latency_ms", "input_tokens", "output_tokens", "cost", "grading_input_tokens", "grading_output_tokens", "grading_cost", "trace_id", "error",
        "created_at",
    ]

    /// The run's values in `run` order.
    public static func values(_ run: ExperimentRun) -> [Value] {
        let t = run.totals
        return [
            .text(run.id), .text(run.projectID), .text(run.name), .text(run.datasetID), .text(run.datasetName), .int(Int64(run.datasetVersion)),
            .text(JSONValue.array(run.prompts.map(JSONValue.string)).jsonString()), .text(JSONValue.array(run.models.map(JSONValue.string)).jsonString()),
            .int(Int64(run.repeats)), .text(run.assertions.jsonString()), .text(run.options.jsonString()), .text(run.status.rawValue),
            .int(Int64(run.plannedCells)), .int(Int64(t.cells)), .int(Int64(t.passed)), .int(Int64(t.failed)), .int(Int64(t.errors)),
            .int(Int64(t.inputTokens)), .int(Int64(t.outputTokens)), .double(t.cost), .int(Int64(t.gradingInputTokens)),
            .int(Int64(t.gradingOutputTokens)), .double(t.gradingCost), .double(t.latencyMs), .int(Timestamp.micros(run.createdAt)),
            .text(run.createdBy), .int(run.startedAt.map(Timestamp.micros)), .int(run.finishedAt.map(Timestamp.micros)),
            .int(run.heartbeatAt.map(Timestamp.micros)), .text(run.error),
        ]
    }

    /// The cell's values in `cell` order.
    public static func values(_ cell: ExperimentCell, experimentID: String) -> [Value] {
        [
            .text(experimentID), .text(cell.cellKey), .text(cell.itemID), .text(cell.promptName), .int(Int64(cell.promptVersion)), .text(cell.model),
            .int(Int64(cell.repetition)), .text(cell.output), .int(cell.passed ? 1 : 0), .double(cell.score), .text(cell.assertions?.jsonString()),
            .double(cell.latencyMs), .int(Int64(cell.inputTokens)), .int(Int64(cell.outputTokens)), .double(cell.cost),
            .int(Int64(cell.gradingInputTokens)), .int(Int64(cell.gradingOutputTokens)), .double(cell.gradingCost), .text(cell.traceID),
            .text(cell.error), .int(Timestamp.micros(cell.createdAt)),
        ]
    }

    public static func run(_ row: any Reader) throws -> ExperimentRun {
        func int(_ column: String) throws -> Int { Int(try row.int(column) ?? 0) }
        func strings(_ column: String) throws -> [String] { (Self.json(try row.text(column))?.array ?? []).compactMap(\.string) }
        let totals = try Self.totals(row)
        return ExperimentRun(
            id: try row.text("id") ?? "", projectID: try row.text("project_id") ?? "", name: try row.text("name") ?? "",
            datasetID: try row.text("dataset_id") ?? "", datasetName: try row.text("dataset_name") ?? "", datasetVersion: try int("dataset_version"),
            prompts: try strings("prompts"), models: try strings("models"), repeats: try int("repeats"),
            assertions: Self.json(try row.text("assertions")) ?? .array([]), options: Self.json(try row.text("options")) ?? .object([:]),
            status: ExperimentStatus(rawValue: try row.text("status") ?? "") ?? .failed, plannedCells: try int("planned_cells"), totals: totals,
            createdAt: Timestamp.date(try row.int("created_at") ?? 0), createdBy: try row.text("created_by") ?? "",
            startedAt: try row.int("started_at").map(Timestamp.date), finishedAt: try row.int("finished_at").map(Timestamp.date),
            heartbeatAt: try row.int("heartbeat_at").map(Timestamp.date), error: try row.text("error"))
    }

    /// Stored JSON text, or nil.
    static func json(_ text: String?) -> JSONValue? {
        guard let text else { return nil }
        return try? JSONValue.parse(Data(text.utf8))
    }

    /// The totals columns, which runs and column sums share.
    static func totals(_ row: any Reader) throws -> ExperimentTotals {
        func int(_ column: String) throws -> Int { Int(try row.int(column) ?? 0) }
        var totals = ExperimentTotals()
        totals.cells = try int("cells")
        totals.passed = try int("passed")
        totals.failed = try int("failed")
        totals.errors = try int("errors")
        totals.inputTokens = try int("input_tokens")
        totals.outputTokens = try int("output_tokens")
        totals.cost = try row.double("cost") ?? 0
        totals.gradingInputTokens = try int("grading_input_tokens")
        totals.gradingOutputTokens = try int("grading_output_tokens")
        totals.gradingCost = try row.double("grading_cost") ?? 0
        totals.latencyMs = try row.double("latency_ms") ?? 0
        return totals
    }

    public static func cell(_ row: any Reader) throws -> ExperimentCell {
        func int(_ column: String) throws -> Int { Int(try row.int(column) ?? 0) }
        return ExperimentCell(
            itemID: try row.text("item_id") ?? "", promptName: try row.text("prompt_name") ?? "", promptVersion: try int("prompt_version"),
            model: try row.text("model") ?? "", repetition: try int("repetition"), output: try row.text("output"), passed: try int("passed") != 0,
            score: try row.double("score"), assertions: Self.json(try row.text("assertions")), latencyMs: try row.double("latency_ms"),
            inputTokens: try int("input_tokens"), outputTokens: try int("output_tokens"), cost: try row.double("cost"),
            gradingInputTokens: try int("grading_input_tokens"), gradingOutputTokens: try int("grading_output_tokens"),
            gradingCost: try row.double("grading_cost"), traceID: try row.text("trace_id"), error: try row.text("error"),
            createdAt: Timestamp.date(try row.int("created_at") ?? 0))
    }

    /// The totals columns and what a batch of new cells adds to each, for the update after an insert.
    public static func increments(_ added: ExperimentTotals) -> [(column: String, value: Value)] {
        [
            ("cells", .int(Int64(added.cells))), ("passed", .int(Int64(added.passed))), ("failed", .int(Int64(added.failed))),
            ("errors", .int(Int64(added.errors))), ("input_tokens", .int(Int64(added.inputTokens))), ("output_tokens", .int(Int64(added.outputTokens))),
            ("cost", .double(added.cost)), ("grading_input_tokens", .int(Int64(added.gradingInputTokens))),
            ("grading_output_tokens", .int(Int64(added.gradingOutputTokens))), ("grading_cost", .double(added.gradingCost)),
            ("latency_ms", .double(added.latencyMs)),
        ]
    }
}

extension ExperimentColumns {
    /// Migration 0009's statements for `dialect` (the same tables on both backends).
    public static func schema(_ dialect: SQLDialect) -> [String] {
        let big = dialect == .postgres ? "BIGINT" : "INTEGER"
        let real = dialect == .postgres ? "DOUBLE PRECISION" : "REAL"
        // Byte order for cell keys on PostgreSQL, as SQLite compares text.
        let key = dialect == .postgres ? "TEXT COLLATE \"C\"" : "TEXT"
        let rowid = dialect == .sqlite ? " WITHOUT ROWID" : ""
        return [
            """
            CREATE TABLE experiments (
                id TEXT PRIMARY KEY NOT NULL,
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                dataset_id TEXT NOT NULL,
                dataset_name TEXT NOT NULL,
                dataset_version INTEGER NOT NULL,
                prompts TEXT NOT NULL,
                models TEXT NOT NULL,
                repeats INTEGER NOT NULL,
                assertions TEXT NOT NULL,
                options TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
                planned_cells \(big) NOT NULL,
                cells \(big) NOT NULL DEFAULT 0,
                passed \(big) NOT NULL DEFAULT 0,
                failed \(big) NOT NULL DEFAULT 0,
                errors \(big) NOT NULL DEFAULT 0,
                input_tokens \(big) NOT NULL DEFAULT 0,
                output_tokens \(big) NOT NULL DEFAULT 0,
                cost \(real) NOT NULL DEFAULT 0,
                grading_input_tokens \(big) NOT NULL DEFAULT 0,
                grading_output_tokens \(big) NOT NULL DEFAULT 0,
                grading_cost \(real) NOT NULL DEFAULT 0,
                latency_ms \(real) NOT NULL DEFAULT 0,
                created_at \(big) NOT NULL,
                created_by TEXT NOT NULL,
                started_at \(big),
                finished_at \(big),
                heartbeat_at \(big),
                error TEXT
            )
            """,
            "CREATE INDEX experiments_project ON experiments(project_id, created_at, id)",
            "CREATE INDEX experiments_active ON experiments(status) WHERE status IN ('queued', 'running')",
            """
            CREATE TABLE experiment_cells (
                experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
                cell_key \(key) NOT NULL,
                item_id TEXT NOT NULL,
                prompt_name TEXT NOT NULL,
                prompt_version INTEGER NOT NULL,
                model TEXT NOT NULL,
                repetition INTEGER NOT NULL,
                output TEXT,
                passed INTEGER NOT NULL,
                score \(real),
                assertions TEXT,
                latency_ms \(real),
                input_tokens \(big) NOT NULL,
                output_tokens \(big) NOT NULL,
                cost \(real),
                grading_input_tokens \(big) NOT NULL,
                grading_output_tokens \(big) NOT NULL,
                grading_cost \(real),
                trace_id TEXT,
                error TEXT,
                created_at \(big) NOT NULL,
                PRIMARY KEY (experiment_id, cell_key)
            )\(rowid)
            """,
        ]
    }

    /// `?` placeholders (SQLite) or `$n` from `start` (PostgreSQL).
    public static func placeholders(_ count: Int, _ dialect: SQLDialect, start: Int = 1) -> String {
        (0..<count).map { dialect == .sqlite ? "?" : "$\(start + $0)" }.joined(separator: ", ")
    }

    /// Statements with their parameters, written once for both backends.
    public struct Statement: Sendable {
        public var sql: String
        public var values: [Value]

        public init(sql: String, values: [Value]) {
            self.sql = sql
            self.values = values
        }
    }

    public static func insertRun(_ run: ExperimentRun, _ dialect: SQLDialect) -> Statement {
        Statement(
            sql: "INSERT INTO experiments (\(runColumns.joined(separator: ", "))) VALUES (\(placeholders(runColumns.count, dialect)))",
            values: values(run))
    }

    /// Inserts one cell unless its key is stored; the backends count the rows it reports.
    public static func insertCell(_ cell: ExperimentCell, experimentID: String, _ dialect: SQLDialect) -> Statement {
        Statement(
            sql: """
                INSERT INTO experiment_cells (\(cellColumns.joined(separator: ", "))) VALUES (\(placeholders(cellColumns.count, dialect)))
                ON CONFLICT (experiment_id, cell_key) DO NOTHING
                """, values: values(cell, experimentID: experimentID))
    }

    /// Adds `added` to the run's totals and records a heartbeat.
    public static func addTotals(
        _ added: ExperimentTotals, projectID: String, experimentID: String, heartbeat: Date,
        _ dialect: SQLDialect
    ) -> Statement {
        let increments = increments(added)
        var n = 0
        func next() -> String {
            n += 1
            return dialect == .sqlite ? "?" : "$\(n)"
        }
        let sets = increments.map { "\($0.column) = \($0.column) + \(next())" }.joined(separator: ", ")
        let sql = "UPDATE experiments SET \(sets), heartbeat_at = \(next()) WHERE project_id = \(next()) AND id = \(next())"
        return Statement(sql: sql, values: increments.map(\.value) + [.int(Timestamp.micros(heartbeat)), .text(projectID), .text(experimentID)])
    }

    public static func selectRuns(projectID: String, before: (Date, String)?, limit: Int, _ dialect: SQLDialect) -> Statement {
        let columns = runColumns.joined(separator: ", ")
        guard let before else {
            return Statement(
                sql:
                    "SELECT \(columns) FROM experiments WHERE project_id = \(placeholders(1, dialect)) ORDER BY created_at DESC, id DESC LIMIT \(max(1, limit))",
                values: [.text(projectID)])
        }
        let p = dialect == .sqlite ? ["?", "?", "?", "?"] : ["$1", "$2", "$3", "$4"]
        return Statement(
            sql: """
                SELECT \(columns) FROM experiments WHERE project_id = \(p[0]) AND (created_at < \(p[1]) OR (created_at = \(p[2]) AND id < \(p[3])))
                ORDER BY created_at DESC, id DESC LIMIT \(max(1, limit))
                """, values: [.text(projectID), .int(Timestamp.micros(before.0)), .int(Timestamp.micros(before.0)), .text(before.1)])
    }

    public static func selectRun(projectID: String, id: String, _ dialect: SQLDialect) -> Statement {
        let p = dialect == .sqlite ? ["?", "?"] : ["$1", "$2"]
        return Statement(
            sql: "SELECT \(runColumns.joined(separator: ", ")) FROM experiments WHERE project_id = \(p[0]) AND id = \(p[1])",
            values: [.text(projectID), .text(id)])
    }

    /// Cells after a key; the run's project is checked by a join, so another project's run reads nothing.
    public static func selectCells(projectID: String, experimentID: String, after: String?, limit: Int, _ dialect: SQLDialect) -> Statement {
        let p = dialect == .sqlite ? ["?", "?", "?"] : ["$1", "$2", "$3"]
        let columns = cellColumns.map { "c.\($0)" }.joined(separator: ", ")
        return Statement(
            sql: """
                SELECT \(columns) FROM experiment_cells c JOIN experiments e ON e.id = c.experiment_id
                WHERE e.project_id = \(p[0]) AND c.experiment_id = \(p[1]) AND c.cell_key > \(p[2]) ORDER BY c.cell_key LIMIT \(max(1, limit))
                """, values: [.text(projectID), .text(experimentID), .text(after ?? "")])
    }

    /// Per-column sums of a run's cells (the totals columns, summed the same way on both backends).
    public static func selectColumns(projectID: String, experimentID: String, _ dialect: SQLDialect) -> Statement {
        let p = dialect == .sqlite ? ["?", "?"] : ["$1", "$2"]
        func sum(_ expression: String, _ type: String = "BIGINT") -> String { "CAST(COALESCE(SUM(\(expression)), 0) AS \(type))" }
        return Statement(
            sql: """
                SELECT c.prompt_name, c.prompt_version, c.model, \(sum("1")) AS cells, \(sum("c.passed")) AS passed,
                       \(sum("CASE WHEN c.error IS NULL AND c.passed = 0 THEN 1 ELSE 0 END")) AS failed,
                       \(sum("CASE WHEN c.error IS NOT NULL THEN 1 ELSE 0 END")) AS errors, \(sum("c.input_tokens")) AS input_tokens,
                       \(sum("c.output_tokens")) AS output_tokens, \(sum("c.cost", "DOUBLE PRECISION")) AS cost,
                       \(sum("c.grading_input_tokens")) AS grading_input_tokens, \(sum("c.grading_output_tokens")) AS grading_output_tokens,
                       \(sum("c.grading_cost", "DOUBLE PRECISION")) AS grading_cost, \(sum("c.latency_ms", "DOUBLE PRECISION")) AS latency_ms
                FROM experiment_cells c JOIN experiments e ON e.id = c.experiment_id
                WHERE e.project_id = \(p[0]) AND c.experiment_id = \(p[1])
                GROUP BY c.prompt_name, c.prompt_version, c.model ORDER BY c.prompt_name, c.prompt_version, c.model
                """, values: [.text(projectID), .text(experimentID)])
    }

    public static func column(_ row: any Reader) throws -> ExperimentColumnTotals {
        func int(_ column: String) throws -> Int { Int(try row.int(column) ?? 0) }
        let totals = try Self.totals(row)
        return ExperimentColumnTotals(
            promptName: try row.text("prompt_name") ?? "", promptVersion: try int("prompt_version"),
            model: try row.text("model") ?? "", totals: totals)
    }

    /// The status change of `transition`: one conditional update.
    public static func transition(
        projectID: String, id: String, from: Set<ExperimentStatus>, to status: ExperimentStatus, error: String?,
        at: Date, _ dialect: SQLDialect
    ) -> Statement {
        let allowed = from.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        let p = dialect == .sqlite ? ["?", "?", "?", "?", "?", "?"] : ["$1", "$2", "$3", "$4", "$5", "$6"]
        let stamp: String =
            switch status {
            case .running: "started_at = COALESCE(started_at, \(p[2])), heartbeat_at = \(p[3])"
            case .queued: "heartbeat_at = COALESCE(\(p[2]), \(p[3]))"
            default: "finished_at = \(p[2]), heartbeat_at = \(p[3])"
            }
        return Statement(
            sql: """
                UPDATE experiments SET status = \(p[0]), error = \(p[1]), \(stamp)
                WHERE project_id = \(p[4]) AND id = \(p[5]) AND status IN (\(allowed.isEmpty ? "''" : allowed))
                """, values: [.text(status.rawValue), .text(error), .int(Timestamp.micros(at)), .int(Timestamp.micros(at)), .text(projectID), .text(id)])
    }

    public static func heartbeat(projectID: String, id: String, at: Date, _ dialect: SQLDialect) -> Statement {
        let p = dialect == .sqlite ? ["?", "?", "?"] : ["$1", "$2", "$3"]
        return Statement(
            sql: "UPDATE experiments SET heartbeat_at = \(p[0]) WHERE project_id = \(p[1]) AND id = \(p[2]) AND status IN ('queued', 'running')",
            values: [.int(Timestamp.micros(at)), .text(projectID), .text(id)])
    }

    public static func failStale(before cutoff: Date, error: String, at: Date, _ dialect: SQLDialect) -> Statement {
        let p = dialect == .sqlite ? ["?", "?", "?"] : ["$1", "$2", "$3"]
        return Statement(
            sql: """
                UPDATE experiments SET status = 'failed', error = \(p[0]), finished_at = \(p[1])
                WHERE status IN ('queued', 'running') AND COALESCE(heartbeat_at, created_at) < \(p[2]) RETURNING id
                """, values: [.text(error), .int(Timestamp.micros(at)), .int(Timestamp.micros(cutoff))])
    }
}
