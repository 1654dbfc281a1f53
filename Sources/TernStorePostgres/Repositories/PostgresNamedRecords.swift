import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

/// The reads and writes every table of named records shares (`NamedRecords`), on PostgreSQL.
struct PostgresNamedRecords<Record: Sendable>: Sendable {
    let client: PostgresClient
    let logger: Logger
    let experiments: PostgresExperiments
    let records: NamedRecords
    let read: @Sendable (any ExperimentColumns.Reader) throws -> Record

    init(client: PostgresClient, logger: Logger, records: NamedRecords, read: @escaping @Sendable (any ExperimentColumns.Reader) throws -> Record) {
        self.client = client
        self.logger = logger
        self.experiments = PostgresExperiments(client: client, logger: logger)
        self.records = records
        self.read = read
    }

    func fetch<T>(_ statement: NamedRecords.Statement, _ map: (any ExperimentColumns.Reader) throws -> T) async throws -> [T] {
        try await PostgresExperiments.rows(client.mappedQuery(PostgresExperiments.query(statement), logger: logger), map)
    }

    func run(_ statement: NamedRecords.Statement) async throws {
        try await client.mappedQuery(PostgresExperiments.query(statement), logger: logger)
    }

    func create(_ insert: NamedRecords.Statement, name: String) async throws {
        do {
            try await run(insert)
        } catch let error as TernError where error.code == "unique_violation" {
            throw records.nameTaken(name)
        }
    }

    func one(projectID: String, id: String? = nil, name: String? = nil) async throws -> Record? {
        try await fetch(records.select(projectID: projectID, id: id, name: name, .postgres), read).first
    }

    func list(projectID: String?, enabledOnly: Bool = false) async throws -> [Record] {
        try await fetch(records.select(projectID: projectID, enabledOnly: enabledOnly, .postgres), read)
    }

    /// Runs an UPDATE of one record: not found when it changed nothing, a conflict when the name is taken.
    func update(_ statement: NamedRecords.Statement, id: String, name: String) async throws {
        var statement = statement
        statement.sql += " RETURNING id"
        do {
            guard try await fetch(statement, { _ in 1 }).count > 0 else { throw TernError.notFound("\(records.noun) \(id)") }
        } catch let error as TernError where error.code == "unique_violation" {
            throw records.nameTaken(name)
        }
    }

    func delete(projectID: String, id: String) async throws -> Bool {
        let statements = records.delete(projectID: projectID, id: id, .postgres)
        return try await experiments.transaction { connection in
            for statement in statements.dropLast() { try await connection.query(PostgresExperiments.query(statement), logger: logger) }
            var last = statements[statements.count - 1]
            last.sql += " RETURNING id"
            var deleted = false
            for try await _ in try await connection.query(PostgresExperiments.query(last), logger: logger) { deleted = true }
            return deleted
        }
    }

    /// Statements in one transaction.
    func write(_ statements: [NamedRecords.Statement]) async throws {
        try await experiments.transaction { connection in
            for statement in statements { try await connection.query(PostgresExperiments.query(statement), logger: logger) }
        }
    }
}

/// A repository of named records: its reads and its delete come from `records`.
protocol PostgresNamedRepository: Sendable {
    associatedtype Record: Sendable
    var records: PostgresNamedRecords<Record> { get }
}

extension PostgresNamedRepository {
    func get(projectID: String, id: String) async throws -> Record? { try await records.one(projectID: projectID, id: id) }
    func get(projectID: String, name: String) async throws -> Record? { try await records.one(projectID: projectID, name: name) }
    func list(projectID: String) async throws -> [Record] { try await records.list(projectID: projectID) }
    func listEnabled() async throws -> [Record] { try await records.list(projectID: nil, enabledOnly: true) }
    @discardableResult
    func delete(projectID: String, id: String) async throws -> Bool { try await records.delete(projectID: projectID, id: id) }
}
