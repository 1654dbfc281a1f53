import Foundation
import TernCore
import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0008_ingest_layout.
    static let m0008_ingest_layout = PostgresMigration(
        id: "0008_ingest_layout",
        statements: [
            // The same key as SQLite's (an observation id is unique within its trace); it serves the
            // per-trace reads, so observations_trace goes.
            "ALTER TABLE observations DROP CONSTRAINT observations_pkey, ADD PRIMARY KEY (project_id, trace_id, id)",
            "DROP INDEX observations_trace",
        ])
}
