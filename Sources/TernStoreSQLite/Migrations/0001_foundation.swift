import Foundation
import GRDB
import TernCore

extension SQLiteMigrations {
    /// Migration 0001_foundation.
    static func m0001_foundation(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE projects (
                    id TEXT PRIMARY KEY NOT NULL,
                    slug TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    retention_days INTEGER
                );
                CREATE TABLE users (
                    id TEXT PRIMARY KEY NOT NULL,
                    email TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
                    password_hash TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    disabled_at INTEGER
                );
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY NOT NULL,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    prefix TEXT NOT NULL,
                    key_hash TEXT NOT NULL UNIQUE,
                    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
                    created_at INTEGER NOT NULL,
                    created_by TEXT,
                    last_used_at INTEGER,
                    revoked_at INTEGER
                );
                CREATE INDEX api_keys_project ON api_keys(project_id, created_at);
                CREATE TABLE web_sessions (
                    id TEXT PRIMARY KEY NOT NULL,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    token_hash TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                CREATE INDEX web_sessions_user ON web_sessions(user_id);
                """)
    }
}
