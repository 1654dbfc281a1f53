import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0013_internal_traffic: `SharedMigrations.internalTraffic`, written once for both stores.
    static let m0013_internal_traffic = PostgresMigration(id: "0013_internal_traffic", statements: SharedMigrations.internalTraffic(.postgres))
}
