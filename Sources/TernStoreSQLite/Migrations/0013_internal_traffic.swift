import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0013_internal_traffic: `SharedMigrations.internalTraffic`, written once for both stores.
    static func m0013_internal_traffic(_ db: Database) throws {
        for statement in SharedMigrations.internalTraffic(.sqlite) { try db.execute(sql: statement) }
    }
}
