import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0016_alerts: `AlertSQL.schema`, written once for both stores.
    static let m0016_alerts = PostgresMigration(id: "0016_alerts", statements: AlertSQL.schema(.postgres))
}
