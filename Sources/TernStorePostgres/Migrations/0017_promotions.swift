import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0017_promotions: `PromotionSQL.schema`, written once for both stores.
    static let m0017_promotions = PostgresMigration(id: "0017_promotions", statements: PromotionSQL.schema(.postgres))
}
