import Foundation
import GRDB
import TernCore
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0012_scopes_and_bounds.
    static func m0012_scopes_and_bounds(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE api_keys ADD COLUMN scopes TEXT")
        try db.execute(sql: "CREATE TABLE write_probe (id INTEGER PRIMARY KEY, filler BLOB)")
        try db.execute(sql: ReplicaSQL.schema(.sqlite))
        for statement in StoredBounds.statements(.sqlite) { try db.execute(sql: statement) }
    }
}
