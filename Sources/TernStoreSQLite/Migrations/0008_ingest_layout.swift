import Foundation
import GRDB
import TernCore

extension SQLiteMigrations {
    /// Migration 0008_ingest_layout.
    static func m0008_ingest_layout(_ db: Database) throws {
        // Ids are random, so a table clustered by id puts every new row on a random page, and an
        // ingest commit writes a page per row. Observations are keyed by (project, trace, id) now:
        // a trace's observations share a page, and the key serves the per-trace reads (so
        // observations_trace goes.
        try rebuild(db, table: "observations") {
            $0.replacingOccurrences(of: "PRIMARY KEY (project_id, id)", with: "PRIMARY KEY (project_id, trace_id, id)")
        }
        try db.execute(sql: "DROP INDEX IF EXISTS observations_trace")
    }
}
