import Foundation
import GRDB
import TernCore
import TernStoreSQL

/// The reads and writes every table of named records shares (`NamedRecords`), on SQLite.
struct SQLiteNamedRecords<Record: Sendable>: Sendable {
    let pool: DatabasePool
    let records: NamedRecords
    let read: @Sendable (any ExperimentColumns.Reader) throws -> Record

    func create(_ insert: NamedRecords.Statement, name: String) async throws {
        do {
            try await pool.write { db in try SQLiteWatchers.execute(db, insert) }
        } catch  where isUniqueViolation(error) {
            throw records.nameTaken(name)
        }
    }

    func one(projectID: String, id: String? = nil, name: String? = nil) async throws -> Record? {
        try await pool.read { db in try SQLiteWatchers.fetch(db, records.select(projectID: projectID, id: id, name: name, .sqlite), read).first }
    }

    func list(projectID: String?, enabledOnly: Bool = false) async throws -> [Record] {
        try await pool.read { db in try SQLiteWatchers.fetch(db, records.select(projectID: projectID, enabledOnly: enabledOnly, .sqlite), read) }
    }

    /// Runs an UPDATE of one record: not found when it changed nothing, a conflict when the name is taken.
    func update(_ statement: NamedRecords.Statement, id: String, name: String) async throws {
        do {
            let changed = try await pool.write { db -> Int in
                try SQLiteWatchers.execute(db, statement)
                return db.changesCount
            }
            guard changed > 0 else { throw TernError.notFound("\(records.noun) \(id)") }
        } catch  where isUniqueViolation(error) {
            throw records.nameTaken(name)
        }
    }

    func delete(projectID: String, id: String) async throws -> Bool {
        try await pool.write { db in
            var changed = 0
            for statement in records.delete(projectID: projectID, id: id, .sqlite) {
                try SQLiteWatchers.execute(db, statement)
                changed = db.changesCount
            }
            return changed > 0
        }
    }

    /// Statements in one transaction.
    func write(_ statements: [NamedRecords.Statement]) async throws {
        try await pool.write { db in
            for statement in statements { try SQLiteWatchers.execute(db, statement) }
        }
    }

    func fetch<T: Sendable>(_ statement: NamedRecords.Statement, _ map: @escaping @Sendable (any ExperimentColumns.Reader) throws -> T) async throws -> [T] {
        try await pool.read { db in try SQLiteWatchers.fetch(db, statement, map) }
    }
}

/// A repository of named records: its reads and its delete come from `records`.
protocol SQLiteNamedRepository: Sendable {
    associatedtype Record: Sendable
    var records: SQLiteNamedRecords<Record> { get }
}

extension SQLiteNamedRepository {
    func get(projectID: String, id: String) async throws -> Record? { try await records.one(projectID: projectID, id: id) }
    func get(projectID: String, name: String) async throws -> Record? { try await records.one(projectID: projectID, name: name) }
    func list(projectID: String) async throws -> [Record] { try await records.list(projectID: projectID) }
    func listEnabled() async throws -> [Record] { try await records.list(projectID: nil, enabledOnly: true) }
    @discardableResult
    func delete(projectID: String, id: String) async throws -> Bool { try await records.delete(projectID: projectID, id: id) }
}
