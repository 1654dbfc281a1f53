import Foundation
import GRDB
import TernCore

extension SQLiteMigrations {
    /// Migration 0010_append_layout.
    static func m0010_append_layout(_ db: Database) throws {
        // Traces and observations become rowid tables: a new row is appended at the end of its
        // table instead of being placed by its random id, which split a page of whole rows for
        // nearly every trace written. The ids stay unique (and the upserts' conflict targets) as
        // indexes of narrow entries, and the secondary indexes point at 8-byte rowids instead of
        // the text key. Ingest in process: +20% observations/s (docs/BENCHMARKS.md).
        try rebuild(db, table: "traces") {
            $0.replacingOccurrences(of: "PRIMARY KEY (project_id, id)", with: "UNIQUE (project_id, id)")
                .replacingOccurrences(of: ") WITHOUT ROWID", with: ")")
        }
        try rebuild(db, table: "observations") {
            $0.replacingOccurrences(of: "PRIMARY KEY (project_id, trace_id, id)", with: "UNIQUE (project_id, trace_id, id)")
                .replacingOccurrences(of: ") WITHOUT ROWID", with: ")")
        }
    }
}
