import Foundation
import GRDB
import TernCore

extension SQLiteMigrations {
    /// Migration 0005_prompts.
    static func m0005_prompts(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE prompt_versions (
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('text', 'chat')),
                    text TEXT,
                    messages TEXT NOT NULL,
                    tools TEXT,
                    variables TEXT NOT NULL,
                    config TEXT NOT NULL,
                    commit_message TEXT,
                    author TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (project_id, name, version)
                ) WITHOUT ROWID;
                CREATE TABLE prompt_labels (
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    label TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    PRIMARY KEY (project_id, name, label)
                ) WITHOUT ROWID;
                CREATE TABLE prompt_label_moves (
                    id TEXT PRIMARY KEY NOT NULL,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    label TEXT NOT NULL,
                    from_version INTEGER,
                    to_version INTEGER NOT NULL,
                    author TEXT NOT NULL,
                    moved_at INTEGER NOT NULL
                );
                CREATE INDEX prompt_label_moves_prompt ON prompt_label_moves(project_id, name, moved_at);
                """)
    }
}
