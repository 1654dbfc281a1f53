import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0002_gateway: `SharedMigrations.gateway`, written once for both stores.
    static func m0002_gateway(_ db: Database) throws {
        for statement in SharedMigrations.gateway(.sqlite) { try db.execute(sql: statement) }
    }
}
