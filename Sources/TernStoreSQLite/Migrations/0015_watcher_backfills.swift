import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0015_watcher_backfills: `WatcherSQL.backfillSchema`, written once for both stores.
    static func m0015_watcher_backfills(_ db: Database) throws {
        for statement in WatcherSQL.backfillSchema(.sqlite) { try db.execute(sql: statement) }
    }
}
