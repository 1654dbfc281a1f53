import Foundation
import TernCore
import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0007_daily_rollups.
    static let m0007_daily_rollups = PostgresMigration(
        id: "0007_daily_rollups",
        statements: [
            // Daily rollup rows are new: recompute every hour that has traces.
            """
            INSERT INTO rollup_dirty (project_id, bucket, marked_at) SELECT DISTINCT project_id, \(TraceSQL.hourOfStart), 0 FROM traces
            ON CONFLICT (project_id, bucket) DO NOTHING
            """
        ])
}
