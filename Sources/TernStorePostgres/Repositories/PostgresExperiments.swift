import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

/// Experiment runs and their cells; the SQL is shared with SQLite (`ExperimentColumns`).
struct PostgresExperiments: ExperimentRepository {
    let client: PostgresClient
    let logger: Logger

    struct Reader: ExperimentColumns.Reader {
        let row: PostgresRandomAccessRow
        func text(_ column: String) throws -> String? { try row[column].decode(String?.self) }
        func int(_ column: String) throws -> Int64? { try row[column].decode(Int64?.self) }
        func double(_ column: String) throws -> Double? { try row[column].decode(Double?.self) }
    }

    static func query(_ statement: ExperimentColumns.Statement) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: statement.values.count)
        for value in statement.values {
            switch value {
            case .text(let text): bindings.append(text.map(PostgresText.storable))
            case .int(let number): bindings.append(number)
            case .double(let number): bindings.append(number)
            }
        }
        return PostgresQuery(unsafeSQL: statement.sql, binds: bindings)
    }

    static func rows<T>(_ sequence: PostgresRowSequence, _ map: (any ExperimentColumns.Reader) throws -> T) async throws -> [T] {
        try await collect(sequence) { try map(Reader(row: $0.makeRandomAccess())) }
    }

    /// Runs `body` in a transaction, with PostgreSQL errors mapped to `TernError`s.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.mappedTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PSQLError {
            throw mapPostgresError(error)
        } catch let error as PostgresTransactionError {
            // The closure's own error (a TernError such as not found) is what the caller should see.
            if let inner = error.closureError as? TernError { throw inner }
            if let inner = (error.closureError ?? error.beginError ?? error.commitError) as? PSQLError { throw mapPostgresError(inner) }
            throw error
        }
    }

    func create(_ run: ExperimentRun) async throws -> ExperimentRun {
        do {
            try await client.mappedQuery(Self.query(ExperimentColumns.insertRun(run, .postgres)), logger: logger)
        } catch let error as TernError where error.code == "unique_violation" {
            throw TernError.conflict("an experiment with id \(run.id) exists", field: "id")
        }
        return run
    }

    func get(projectID: String, id: String) async throws -> ExperimentRun? {
        try await Self.rows(
            client.mappedQuery(Self.query(ExperimentColumns.selectRun(projectID: projectID, id: id, .postgres)), logger: logger),
            ExperimentColumns.run
        ).first
    }

    func list(projectID: String, before: (Date, String)?, limit: Int) async throws -> [ExperimentRun] {
        try await Self.rows(
            client.mappedQuery(
                Self.query(ExperimentColumns.selectRuns(projectID: projectID, before: before, limit: limit, .postgres)),
                logger: logger), ExperimentColumns.run)
    }

    func addCells(projectID: String, experimentID: String, _ cells: [ExperimentCell], heartbeat: Date) async throws -> Int {
        try await transaction { connection in
            // The row lock orders concurrent writers of one run.
            guard
                try await Self.rows(
                    connection.query(
                        Self.query(
                            ExperimentColumns.Statement(
                                sql:
                                    "SELECT \(ExperimentColumns.runColumns.joined(separator: ", ")) FROM experiments WHERE project_id = $1 AND id = $2 FOR UPDATE",
                                values: [.text(projectID), .text(experimentID)])), logger: logger), ExperimentColumns.run
                ).first != nil
            else { throw TernError.notFound("experiment \(experimentID)") }
            var added = ExperimentTotals()
            for cell in cells {
                var statement = ExperimentColumns.insertCell(cell, experimentID: experimentID, .postgres)
                statement.sql += " RETURNING cell_key"
                for try await _ in try await connection.query(Self.query(statement), logger: logger) { added.add(cell) }
            }
            try await connection.query(
                Self.query(ExperimentColumns.addTotals(added, projectID: projectID, experimentID: experimentID, heartbeat: heartbeat, .postgres)),
                logger: logger)
            return added.cells
        }
    }

    func cells(projectID: String, experimentID: String, after: String?, limit: Int) async throws -> [ExperimentCell] {
        try await Self.rows(
            client.mappedQuery(
                Self.query(ExperimentColumns.selectCells(projectID: projectID, experimentID: experimentID, after: after, limit: limit, .postgres)),
                logger: logger), ExperimentColumns.cell)
    }

    func transition(
        projectID: String, id: String, from: Set<ExperimentStatus>, to status: ExperimentStatus, error: String?,
        at: Date
    ) async throws -> ExperimentRun? {
        var statement = ExperimentColumns.transition(projectID: projectID, id: id, from: from, to: status, error: error, at: at, .postgres)
        statement.sql += " RETURNING " + ExperimentColumns.runColumns.joined(separator: ", ")
        return try await Self.rows(client.mappedQuery(Self.query(statement), logger: logger), ExperimentColumns.run).first
    }

    func columns(projectID: String, experimentID: String) async throws -> [ExperimentColumnTotals] {
        try await Self.rows(
            client.mappedQuery(
                Self.query(ExperimentColumns.selectColumns(projectID: projectID, experimentID: experimentID, .postgres)),
                logger: logger), ExperimentColumns.column)
    }

    func heartbeat(projectID: String, id: String, at: Date) async throws -> ExperimentStatus? {
        try await client.mappedQuery(Self.query(ExperimentColumns.heartbeat(projectID: projectID, id: id, at: at, .postgres)), logger: logger)
        return try await get(projectID: projectID, id: id)?.status
    }

    func failStale(before cutoff: Date, error: String, at: Date) async throws -> [String] {
        try await collect(client.mappedQuery(Self.query(ExperimentColumns.failStale(before: cutoff, error: error, at: at, .postgres)), logger: logger)) {
            try $0.decode(String.self)
        }
    }
}
