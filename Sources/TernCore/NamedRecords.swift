/// A store of a project's named records (watchers, alert rules, probes, drift monitors): the operations they
/// all have. A name is unique in its project; `listEnabled` is every project's enabled records (a scheduler's
/// work list).
public protocol NamedRecordRepository<Record>: Sendable {
    associatedtype Record: Sendable
    /// Stores a new record; a name in use in the project is a conflict naming `name`.
    func create(_ record: Record) async throws -> Record
    func get(projectID: String, id: String) async throws -> Record?
    func get(projectID: String, name: String) async throws -> Record?
    func list(projectID: String) async throws -> [Record]
    func listEnabled() async throws -> [Record]
    /// Replaces what the API changes (not what the scheduler records).
    func update(_ record: Record) async throws -> Record
    /// Deletes the record with the rows that belong to it. Returns whether it existed.
    @discardableResult
    func delete(projectID: String, id: String) async throws -> Bool
}
