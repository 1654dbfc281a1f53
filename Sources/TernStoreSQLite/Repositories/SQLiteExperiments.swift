import Foundation
import GRDB
import TernCore
import TernStoreSQL

/// Experiment runs and their cells; the SQL is shared with PostgreSQL (`ExperimentColumns`).
struct SQLiteExperiments: ExperimentRepository {
    let pool: DatabasePool

    struct Reader: ExperimentColumns.Reader {
        let row: Row
        func text(_ column: String) throws -> String? { row[column] }
        func int(_ column: String) throws -> Int64? { row[column] }
        func double(_ column: String) throws -> Double? { row[column] }
    }

    static func arguments(_ values: [ExperimentColumns.Value]) -> StatementArguments {
        StatementArguments(
            values.map { value -> (any DatabaseValueConvertible)? in
                switch value {
                case .text(let text): text.map { $0 as any DatabaseValueConvertible }
                case .int(let number): number.map { $0 as any DatabaseValueConvertible }
                case .double(let number): number.map { $0 as any DatabaseValueConvertible }
                }
            })
    }

    /// Statements are prepared once per connection (`cachedStatement`): the queue's statements run thousands of
    /// times a second, and preparing one costs more than running it.
    static func execute(_ db: Database, _ statement: ExperimentColumns.Statement) throws {
        try db.cachedStatement(sql: statement.sql).execute(arguments: arguments(statement.values))
    }

    static func fetch<T>(_ db: Database, _ statement: ExperimentColumns.Statement, _ map: (any ExperimentColumns.Reader) throws -> T) throws -> [T] {
        try Row.fetchAll(try db.cachedStatement(sql: statement.sql), arguments: arguments(statement.values)).map { try map(Reader(row: $0)) }
    }

    func create(_ run: ExperimentRun) async throws -> ExperimentRun {
        do {
            try await pool.write { db in try Self.execute(db, ExperimentColumns.insertRun(run, .sqlite)) }
        } catch  where isUniqueViolation(error) {
            throw TernError.conflict("an experiment with id \(run.id) exists", field: "id")
        }
        return run
    }

    func get(projectID: String, id: String) async throws -> ExperimentRun? {
        try await pool.read { db in try Self.fetch(db, ExperimentColumns.selectRun(projectID: projectID, id: id, .sqlite), ExperimentColumns.run).first }
    }

    func list(projectID: String, before: (Date, String)?, limit: Int) async throws -> [ExperimentRun] {
        try await pool.read { db in
            try Self.fetch(db, ExperimentColumns.selectRuns(projectID: projectID, before: before, limit: limit, .sqlite), ExperimentColumns.run)
        }
    }

    func addCells(projectID: String, experimentID: String, _ cells: [ExperimentCell], heartbeat: Date) async throws -> Int {
        try await pool.write { db in
            guard try Self.fetch(db, ExperimentColumns.selectRun(projectID: projectID, id: experimentID, .sqlite), ExperimentColumns.run).first != nil
            else { throw TernError.notFound("experiment \(experimentID)") }
            var added = ExperimentTotals()
            for cell in cells {
                try Self.execute(db, ExperimentColumns.insertCell(cell, experimentID: experimentID, .sqlite))
                if db.changesCount > 0 { added.add(cell) }
            }
            try Self.execute(db, ExperimentColumns.addTotals(added, projectID: projectID, experimentID: experimentID, heartbeat: heartbeat, .sqlite))
            return added.cells
        }
    }

    func cells(projectID: String, experimentID: String, after: String?, limit: Int) async throws -> [ExperimentCell] {
        try await pool.read { db in
            try Self.fetch(
                db, ExperimentColumns.selectCells(projectID: projectID, experimentID: experimentID, after: after, limit: limit, .sqlite),
                ExperimentColumns.cell)
        }
    }

    func transition(
        projectID: String, id: String, from: Set<ExperimentStatus>, to status: ExperimentStatus, error: String?,
        at: Date
    ) async throws -> ExperimentRun? {
        try await pool.write { db in
            try Self.execute(db, ExperimentColumns.transition(projectID: projectID, id: id, from: from, to: status, error: error, at: at, .sqlite))
            guard db.changesCount > 0 else { return nil }
            return try Self.fetch(db, ExperimentColumns.selectRun(projectID: projectID, id: id, .sqlite), ExperimentColumns.run).first
        }
    }

    func columns(projectID: String, experimentID: String) async throws -> [ExperimentColumnTotals] {
        try await pool.read { db in
            try Self.fetch(db, ExperimentColumns.selectColumns(projectID: projectID, experimentID: experimentID, .sqlite), ExperimentColumns.column)
        }
    }

    func heartbeat(projectID: String, id: String, at: Date) async throws -> ExperimentStatus? {
        try await pool.write { db in
            try Self.execute(db, ExperimentColumns.heartbeat(projectID: projectID, id: id, at: at, .sqlite))
            return try Self.fetch(db, ExperimentColumns.selectRun(projectID: projectID, id: id, .sqlite), ExperimentColumns.run).first?.status
        }
    }

    func failStale(before cutoff: Date, error: String, at: Date) async throws -> [String] {
        try await pool.write { db in
            let statement = ExperimentColumns.failStale(before: cutoff, error: error, at: at, .sqlite)
            return try String.fetchAll(db, sql: statement.sql, arguments: Self.arguments(statement.values))
        }
    }
}
