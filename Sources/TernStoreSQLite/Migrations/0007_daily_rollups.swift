import Foundation
import GRDB
import TernCore
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0007_daily_rollups.
    static func m0007_daily_rollups(_ db: Database) throws {
        // Daily rollup rows are new: recompute every hour that has traces.
        try db.execute(
            sql: """
                INSERT INTO rollup_dirty (project_id, bucket, marked_at) SELECT DISTINCT project_id, \(TraceSQL.hourOfStart), 0 FROM traces
                WHERE true ON CONFLICT (project_id, bucket) DO NOTHING
                """)
    }
}
