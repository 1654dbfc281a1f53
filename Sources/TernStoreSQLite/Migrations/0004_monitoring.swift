import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0004_monitoring: `SharedMigrations.monitoring`, written once for both stores.
    static func m0004_monitoring(_ db: Database) throws {
        for statement in SharedMigrations.monitoring(.sqlite) { try db.execute(sql: statement) }
    }
}
