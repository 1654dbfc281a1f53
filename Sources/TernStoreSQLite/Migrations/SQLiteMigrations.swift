import Foundation
import GRDB
import TernCore

/// Migrations, oldest first, one file each in this folder (`NNNN_name.swift`). Never edit one that has
/// shipped: add a new one, and the same on PostgreSQL (TernStorePostgres/Migrations).
enum SQLiteMigrations {
    /// Recreates `table` with the schema `change` makes of its CREATE statement (columns added by
    /// ALTER TABLE included), copies the rows and recreates its indexes.
    /// `columns` names what to copy: `into` the new table's columns from the old table's `select`
    /// expressions (all columns in order when nil).
    static func rebuild(_ db: Database, table: String, columns: (into: String, select: String)? = nil, change: (String) -> String) throws {
        guard let create = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table]) else {
            throw TernError.internalError("migration: no table \(table)")
        }
        // A table that was renamed before (an earlier rebuild) has its name quoted in the stored SQL.
        guard let head = ["CREATE TABLE \(table) ", "CREATE TABLE \"\(table)\" "].first(where: { create.hasPrefix($0) }) else {
            throw TernError.internalError("migration: unexpected schema of \(table)")
        }
        let changed = change(create)
        guard changed != create else { throw TernError.internalError("migration: unexpected schema of \(table)") }
        let indexes = try String.fetchAll(
            db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", arguments: [table])
        let temporary = table + "_rebuilt"
        try db.execute(sql: "CREATE TABLE \(temporary) " + changed.dropFirst(head.count))
        if let columns {
            try db.execute(sql: "INSERT INTO \(temporary) (\(columns.into)) SELECT \(columns.select) FROM \(table) ORDER BY rowid")
        } else {
            try db.execute(sql: "INSERT INTO \(temporary) SELECT * FROM \(table)")
        }
        try db.execute(sql: "DROP TABLE \(table)")
        try db.execute(sql: "ALTER TABLE \(temporary) RENAME TO \(table)")
        for index in indexes { try db.execute(sql: index) }
    }

    static let ordered = [
        "0001_foundation", "0002_gateway", "0003_scores", "0004_monitoring", "0005_prompts", "0006_datasets", "0007_daily_rollups", "0008_ingest_layout",
        "0009_experiments", "0010_append_layout", "0011_trace_keys", "0012_scopes_and_bounds",
        "0013_internal_traffic", "0014_watchers", "0015_watcher_backfills", "0016_alerts", "0017_promotions", "0018_probes_and_drift_monitors",
    ]

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("0001_foundation", migrate: m0001_foundation)
        migrator.registerMigration("0002_gateway", migrate: m0002_gateway)
        migrator.registerMigration("0003_scores", migrate: m0003_scores)
        migrator.registerMigration("0004_monitoring", migrate: m0004_monitoring)
        migrator.registerMigration("0005_prompts", migrate: m0005_prompts)
        migrator.registerMigration("0006_datasets", migrate: m0006_datasets)
        migrator.registerMigration("0007_daily_rollups", migrate: m0007_daily_rollups)
        migrator.registerMigration("0008_ingest_layout", migrate: m0008_ingest_layout)
        migrator.registerMigration("0009_experiments", migrate: m0009_experiments)
        migrator.registerMigration("0010_append_layout", migrate: m0010_append_layout)
        migrator.registerMigration("0011_trace_keys", migrate: m0011_trace_keys)
        migrator.registerMigration("0012_scopes_and_bounds", migrate: m0012_scopes_and_bounds)
        migrator.registerMigration("0013_internal_traffic", migrate: m0013_internal_traffic)
        migrator.registerMigration("0014_watchers", migrate: m0014_watchers)
        migrator.registerMigration("0015_watcher_backfills", migrate: m0015_watcher_backfills)
        migrator.registerMigration("0016_alerts", migrate: m0016_alerts)
        migrator.registerMigration("0017_promotions", migrate: m0017_promotions)
        migrator.registerMigration("0018_probes_and_drift_monitors", migrate: m0018_probes_and_drift_monitors)
        return migrator
    }()

}
