import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0016_alerts: `AlertSQL.schema`, written once for both stores.
    static func m0016_alerts(_ db: Database) throws {
        for statement in AlertSQL.schema(.sqlite) { try db.execute(sql: statement) }
    }
}
