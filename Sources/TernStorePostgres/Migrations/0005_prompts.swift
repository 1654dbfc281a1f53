import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0005_prompts: `SharedMigrations.prompts`, written once for both stores.
    static let m0005_prompts = PostgresMigration(id: "0005_prompts", statements: SharedMigrations.prompts(.postgres))
}
