import Foundation
import TernCore
import TernStoreSQL

struct PostgresMigration {
    let id: String
    let statements: [String]
}

/// Migrations, oldest first, one file each in this folder (`NNNN_name.swift`). Never edit one that has
/// shipped: add a new one, and the same on SQLite (TernStoreSQLite/Migrations).
enum PostgresMigrations {
    static let all: [PostgresMigration] = [
        m0001_foundation, m0002_gateway, m0003_scores, m0004_monitoring,
        m0005_prompts, m0006_datasets, m0007_daily_rollups, m0008_ingest_layout,
        m0009_experiments, m0010_append_layout, m0011_trace_keys, m0012_scopes_and_bounds, m0013_internal_traffic, m0014_watchers,
        m0015_watcher_backfills, m0016_alerts, m0017_promotions, m0018_probes_and_drift_monitors,
    ]
}
