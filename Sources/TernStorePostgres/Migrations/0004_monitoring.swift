import Foundation
import TernCore
import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0004_monitoring.
    static let m0004_monitoring = PostgresMigration(
        id: "0004_monitoring",
        statements: [
            """
            ALTER TABLE traces
                ADD COLUMN task TEXT, ADD COLUMN language TEXT, ADD COLUMN domain TEXT,
                ADD COLUMN language_checked INTEGER NOT NULL DEFAULT 0,
                ADD COLUMN model TEXT, ADD COLUMN deployment TEXT, ADD COLUMN variant TEXT,
                ADD COLUMN prompt_name TEXT, ADD COLUMN prompt_version INTEGER,
                ADD COLUMN observation_count INTEGER NOT NULL DEFAULT 0,
                ADD COLUMN input_tokens BIGINT NOT NULL DEFAULT 0, ADD COLUMN output_tokens BIGINT NOT NULL DEFAULT 0,
                ADD COLUMN total_cost DOUBLE PRECISION,
                ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0, ADD COLUMN warning_count INTEGER NOT NULL DEFAULT 0
            """,
            "CREATE INDEX traces_model ON traces(project_id, model, start_time DESC) WHERE model IS NOT NULL",
            "CREATE INDEX traces_errors ON traces(project_id, start_time DESC) WHERE error_count > 0",
            "CREATE INDEX traces_latency ON traces(project_id, (COALESCE(end_time - start_time, -1)) DESC, id DESC)",
            "CREATE INDEX traces_cost ON traces(project_id, (COALESCE(total_cost, -1)) DESC, id DESC)",
            "CREATE INDEX traces_language_pending ON traces(project_id, start_time) WHERE language IS NULL AND language_checked = 0 AND input IS NOT NULL",
            """
            CREATE TABLE trace_rollups (
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                dimension TEXT NOT NULL,
                bucket BIGINT NOT NULL,
                value TEXT NOT NULL,
                traces BIGINT NOT NULL,
                errors BIGINT NOT NULL,
                input_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                cost DOUBLE PRECISION NOT NULL,
                latency_sum DOUBLE PRECISION NOT NULL,
                latency_hist TEXT NOT NULL,
                scores TEXT NOT NULL,
                PRIMARY KEY (project_id, dimension, bucket, value)
            )
            """,
            """
            CREATE TABLE rollup_dirty (
                project_id TEXT NOT NULL,
                bucket BIGINT NOT NULL,
                marked_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, bucket)
            )
            """,
            PostgresMigrations.backfillTotals,
            "INSERT INTO rollup_dirty (project_id, bucket, marked_at) SELECT DISTINCT project_id, \(TraceSQL.hourOfStart), 0 FROM traces",
        ])
}
