import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0004_monitoring: `SharedMigrations.monitoring`, written once for both stores.
    static let m0004_monitoring = PostgresMigration(id: "0004_monitoring", statements: SharedMigrations.monitoring(.postgres))
}
