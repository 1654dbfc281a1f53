import Foundation
import GRDB
import TernCore

extension SQLiteMigrations {
    /// Migration 0006_datasets.
    static func m0006_datasets(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE datasets (
                    id TEXT PRIMARY KEY NOT NULL,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    description TEXT,
                    created_at INTEGER NOT NULL,
                    latest_version INTEGER NOT NULL DEFAULT 0,
                    UNIQUE (project_id, name)
                );
                CREATE TABLE dataset_versions (
                    dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                    version INTEGER NOT NULL,
                    item_count INTEGER NOT NULL,
                    added INTEGER NOT NULL,
                    changed INTEGER NOT NULL,
                    removed INTEGER NOT NULL,
                    author TEXT NOT NULL,
                    message TEXT,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (dataset_id, version)
                ) WITHOUT ROWID;
                CREATE TABLE dataset_items (
                    dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                    item_id TEXT NOT NULL,
                    valid_from INTEGER NOT NULL,
                    valid_to INTEGER,
                    input TEXT NOT NULL,
                    expected_output TEXT,
                    metadata TEXT,
                    golden INTEGER NOT NULL DEFAULT 0,
                    validated_by TEXT,
                    validated_at INTEGER,
                    source_trace_id TEXT,
                    PRIMARY KEY (dataset_id, item_id, valid_from)
                ) WITHOUT ROWID;
                CREATE INDEX dataset_items_current ON dataset_items(dataset_id, item_id) WHERE valid_to IS NULL;
                """)
    }
}
