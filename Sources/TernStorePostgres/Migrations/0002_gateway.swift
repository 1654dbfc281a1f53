import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0002_gateway: `SharedMigrations.gateway`, written once for both stores.
    static let m0002_gateway = PostgresMigration(id: "0002_gateway", statements: SharedMigrations.gateway(.postgres))
}
