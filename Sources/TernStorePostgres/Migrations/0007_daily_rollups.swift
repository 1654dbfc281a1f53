import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0007_daily_rollups: `SharedMigrations.dailyRollups`, written once for both stores.
    static let m0007_daily_rollups = PostgresMigration(id: "0007_daily_rollups", statements: SharedMigrations.dailyRollups(.postgres))
}
