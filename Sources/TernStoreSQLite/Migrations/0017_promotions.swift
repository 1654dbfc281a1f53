import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0017_promotions: `PromotionSQL.schema`, written once for both stores.
    static func m0017_promotions(_ db: Database) throws {
        for statement in PromotionSQL.schema(.sqlite) { try db.execute(sql: statement) }
    }
}
