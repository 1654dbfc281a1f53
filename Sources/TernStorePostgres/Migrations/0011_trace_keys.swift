import Foundation
import TernCore
import TernStoreSQL

extension PostgresMigrations {
    /// SQLite's observations became unique by (trace key, id): an append-ordered index. PostgreSQL's
    /// (project_id, trace_id, id) key stays: its B-tree inserts are not on the single writer's path.
    static let m0011_trace_keys = PostgresMigration(id: "0011_trace_keys", statements: [])
}
