import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0005_prompts: `SharedMigrations.prompts`, written once for both stores.
    static func m0005_prompts(_ db: Database) throws {
        for statement in SharedMigrations.prompts(.sqlite) { try db.execute(sql: statement) }
    }
}
