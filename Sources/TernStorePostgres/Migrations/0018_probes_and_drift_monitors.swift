import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0018_probes_and_drift_monitors: `ProbeSQL.schema` and `DriftMonitorSQL.schema`, written once for both stores.
    static let m0018_probes_and_drift_monitors = PostgresMigration(
        id: "0018_probes_and_drift_monitors", statements: ProbeSQL.schema(.postgres) + DriftMonitorSQL.schema(.postgres))
}
