import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0003_scores: `SharedMigrations.scores`, written once for both stores.
    static func m0003_scores(_ db: Database) throws {
        for statement in SharedMigrations.scores(.sqlite) { try db.execute(sql: statement) }
    }
}
