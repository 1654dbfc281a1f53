import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0001_foundation: `SharedMigrations.foundation`, written once for both stores.
    static func m0001_foundation(_ db: Database) throws {
        for statement in SharedMigrations.foundation(.sqlite) { try db.execute(sql: statement) }
    }
}
