import Foundation
import TernCore
import TernStoreSQL

extension PostgresMigrations {
    /// SQLite's traces and observations became rowid tables (rows appended, ids unique by index);
    /// PostgreSQL's heap tables already append and keep their keys in separate indexes.
    static let m0010_append_layout = PostgresMigration(id: "0010_append_layout", statements: [])
}
