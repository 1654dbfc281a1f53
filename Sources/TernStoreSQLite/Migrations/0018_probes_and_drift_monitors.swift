import GRDB
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0018_probes_and_drift_monitors: `ProbeSQL.schema` and `DriftMonitorSQL.schema`, written once for both stores.
    static func m0018_probes_and_drift_monitors(_ db: Database) throws {
        for statement in ProbeSQL.schema(.sqlite) + DriftMonitorSQL.schema(.sqlite) { try db.execute(sql: statement) }
    }
}
