import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0014_watchers: `WatcherSQL.schema`, written once for both stores.
    static let m0014_watchers = PostgresMigration(id: "0014_watchers", statements: WatcherSQL.schema(.postgres))
}
