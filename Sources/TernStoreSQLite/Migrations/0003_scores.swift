import Foundation
import GRDB
import TernCore

extension SQLiteMigrations {
    /// Migration 0003_scores.
    static func m0003_scores(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE scores (
                    id TEXT NOT NULL,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    trace_id TEXT NOT NULL,
                    observation_id TEXT,
                    name TEXT NOT NULL,
                    data_type TEXT NOT NULL CHECK (data_type IN ('numeric', 'categorical', 'boolean')),
                    numeric_value REAL,
                    string_value TEXT,
                    source TEXT NOT NULL,
                    comment TEXT,
                    author TEXT,
                    config_id TEXT,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (project_id, id)
                ) WITHOUT ROWID;
                CREATE INDEX scores_trace ON scores(project_id, trace_id);
                CREATE INDEX scores_name_time ON scores(project_id, name, created_at);
                CREATE TABLE score_configs (
                    id TEXT PRIMARY KEY NOT NULL,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    data_type TEXT NOT NULL CHECK (data_type IN ('numeric', 'categorical', 'boolean')),
                    min_value REAL,
                    max_value REAL,
                    categories TEXT NOT NULL DEFAULT '[]',
                    description TEXT,
                    created_at INTEGER NOT NULL,
                    UNIQUE (project_id, name)
                );
                """)
    }
}
