import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0001_foundation: `SharedMigrations.foundation`, written once for both stores.
    static let m0001_foundation = PostgresMigration(id: "0001_foundation", statements: SharedMigrations.foundation(.postgres))
}
