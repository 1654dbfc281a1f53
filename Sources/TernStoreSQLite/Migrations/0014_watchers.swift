import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0014_watchers: `WatcherSQL.schema`, written once for both stores.
    static func m0014_watchers(_ db: Database) throws {
        for statement in WatcherSQL.schema(.sqlite) { try db.execute(sql: statement) }
    }
}
