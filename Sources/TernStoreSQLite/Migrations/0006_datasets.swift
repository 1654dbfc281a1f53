import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0006_datasets: `SharedMigrations.datasets`, written once for both stores.
    static func m0006_datasets(_ db: Database) throws {
        for statement in SharedMigrations.datasets(.sqlite) { try db.execute(sql: statement) }
    }
}
