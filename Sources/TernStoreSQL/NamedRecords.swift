public import TernCore

/// A table of a project's named records (watchers, alert rules, probes, drift monitors): the statements they
/// all share, written once. Each has `id`, `project_id`, `name` (unique in the project) and `enabled`.
public struct NamedRecords: Sendable {
    public typealias Statement = ExperimentColumns.Statement

    public let table: String
    /// The columns read back, in the table's order.
    public let columns: String
    /// What a record is called in messages: "watcher", "alert", ...
    public let noun: String
    /// Tables whose rows belong to a record, with the column naming it: deleted before the record.
    public let children: [(table: String, column: String)]

    public init(table: String, columns: String, noun: String, children: [(table: String, column: String)] = []) {
        self.table = table
        self.columns = columns
        self.noun = noun
        self.children = children
    }

    /// Records of a project (every project's when nil), by id or name, optionally enabled ones only; by project
    /// and name.
    public func select(projectID: String?, id: String? = nil, name: String? = nil, enabledOnly: Bool = false, _ dialect: SQLDialect) -> Statement {
        var b = WatcherSQL.Builder(dialect: dialect)
        var conditions: [String] = []
        if let projectID { conditions.append("project_id = \(b.text(projectID))") }
        if let id { conditions.append("id = \(b.text(id))") }
        if let name { conditions.append("name = \(b.text(name))") }
        if enabledOnly { conditions.append("enabled = 1") }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(columns) FROM \(table)\(filter) ORDER BY project_id, name"
        return b.statement(sql)
    }

    /// The children's rows, then the record (the last statement deletes the record itself).
    public func delete(projectID: String, id: String, _ dialect: SQLDialect) -> [Statement] {
        (children + [(table, "id")]).map { table, column in
            var b = WatcherSQL.Builder(dialect: dialect)
            let sql = "DELETE FROM \(table) WHERE project_id = \(b.text(projectID)) AND \(column) = \(b.text(id))"
            return b.statement(sql)
        }
    }

    /// The conflict of a name in use.
    public func nameTaken(_ name: String) -> TernError {
        TernError.conflict("a \(noun) named \"\(name)\" exists", field: "name")
    }
}
