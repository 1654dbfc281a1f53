import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0006_datasets: `SharedMigrations.datasets`, written once for both stores.
    static let m0006_datasets = PostgresMigration(id: "0006_datasets", statements: SharedMigrations.datasets(.postgres))
}
