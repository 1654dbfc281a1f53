import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0007_daily_rollups: `SharedMigrations.dailyRollups`, written once for both stores.
    static func m0007_daily_rollups(_ db: Database) throws {
        for statement in SharedMigrations.dailyRollups(.sqlite) { try db.execute(sql: statement) }
    }
}
