import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0003_scores: `SharedMigrations.scores`, written once for both stores.
    static let m0003_scores = PostgresMigration(id: "0003_scores", statements: SharedMigrations.scores(.postgres))
}
