import Foundation
import GRDB
import TernCore
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0004_monitoring.
    static func m0004_monitoring(_ db: Database) throws {
        try db.execute(sql: SQLiteMigrations.monitoringSchema)
        let backfill = TraceSQL.refreshTotals(projectID: "", traceIDs: [], dialect: .sqlite, traceKeys: false).sql
        // The same statement as after each insert, for every trace already stored.
        try db.execute(sql: String(backfill[..<backfill.range(of: "WHERE project_id = ?")!.lowerBound]))
        try db.execute(sql: "INSERT INTO rollup_dirty (project_id, bucket, marked_at) SELECT DISTINCT project_id, \(TraceSQL.hourOfStart), 0 FROM traces")
    }

    static let monitoringSchema = """
        ALTER TABLE traces ADD COLUMN task TEXT;
        ALTER TABLE traces ADD COLUMN language TEXT;
        ALTER TABLE traces ADD COLUMN domain TEXT;
        ALTER TABLE traces ADD COLUMN language_checked INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE traces ADD COLUMN model TEXT;
        ALTER TABLE traces ADD COLUMN deployment TEXT;
        ALTER TABLE traces ADD COLUMN variant TEXT;
        ALTER TABLE traces ADD COLUMN prompt_name TEXT;
        ALTER TABLE traces ADD COLUMN prompt_version INTEGER;
        ALTER TABLE traces ADD COLUMN observation_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE traces ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE traces ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE traces ADD COLUMN total_cost REAL;
        ALTER TABLE traces ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE traces ADD COLUMN warning_count INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX traces_model ON traces(project_id, model, start_time DESC) WHERE model IS NOT NULL;
        CREATE INDEX traces_errors ON traces(project_id, start_time DESC) WHERE error_count > 0;
        CREATE INDEX traces_latency ON traces(project_id, COALESCE(end_time - start_time, -1) DESC, id DESC);
        CREATE INDEX traces_cost ON traces(project_id, COALESCE(total_cost, -1) DESC, id DESC);
        CREATE INDEX traces_language_pending ON traces(project_id, start_time) WHERE language IS NULL AND language_checked = 0 AND input IS NOT NULL;
        CREATE TABLE trace_rollups (
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            dimension TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            value TEXT NOT NULL,
            traces INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cost REAL NOT NULL,
            latency_sum REAL NOT NULL,
            latency_hist TEXT NOT NULL,
            scores TEXT NOT NULL,
            PRIMARY KEY (project_id, dimension, bucket, value)
        ) WITHOUT ROWID;
        CREATE TABLE rollup_dirty (
            project_id TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            marked_at INTEGER NOT NULL,
            PRIMARY KEY (project_id, bucket)
        ) WITHOUT ROWID;
        """
}
