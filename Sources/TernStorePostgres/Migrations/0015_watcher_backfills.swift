import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0015_watcher_backfills: `WatcherSQL.backfillSchema`, written once for both stores.
    static let m0015_watcher_backfills = PostgresMigration(id: "0015_watcher_backfills", statements: WatcherSQL.backfillSchema(.postgres))
}
