import Foundation
import GRDB
import TernCore

extension SQLiteMigrations {
    /// Migration 0011_trace_keys.
    static func m0011_trace_keys(_ db: Database) throws {
        // Each trace gets an integer key that never changes (an INTEGER PRIMARY KEY keeps its value
        // through VACUUM; AUTOINCREMENT never hands out a deleted trace's key again), and its
        // observations are unique by (trace key, id) instead of (project, trace id, id). Keys grow
        // with time, so a batch's observations land at the end of that index instead of at about
        // a hundred random places in the largest index of the database (ingest: docs/BENCHMARKS.md).
        // Observations whose trace row is missing get one first (the write path never leaves one).
        try db.execute(
            sql: """
                INSERT INTO traces (id, project_id, start_time)
                SELECT o.trace_id, o.project_id, MIN(o.start_time) FROM observations o
                WHERE NOT EXISTS (SELECT 1 FROM traces t WHERE t.project_id = o.project_id AND t.id = o.trace_id)
                GROUP BY o.project_id, o.trace_id
                """)
        let traceColumns = try Row.fetchAll(db, sql: "PRAGMA table_info(traces)").map { $0["name"] as String }.joined(separator: ", ")
        try rebuild(db, table: "traces", columns: ("trace_key, " + traceColumns, "rowid, " + traceColumns)) { create in
            guard let open = create.firstIndex(of: "(") else { return create }
            return String(create[...open]) + "\n    trace_key INTEGER PRIMARY KEY AUTOINCREMENT," + create[create.index(after: open)...]
        }
        let observationColumns = try Row.fetchAll(db, sql: "PRAGMA table_info(observations)").map { $0["name"] as String }
        try rebuild(
            db, table: "observations",
            columns: (
                observationColumns.joined(separator: ", ") + ", trace_key",
                observationColumns.joined(separator: ", ")
                    + ", (SELECT t.trace_key FROM traces t WHERE t.project_id = observations.project_id AND t.id = observations.trace_id)"
            )
        ) {
            $0.replacingOccurrences(of: "UNIQUE (project_id, trace_id, id)", with: "trace_key INTEGER NOT NULL,\n    UNIQUE (trace_key, id)")
        }
    }
}
