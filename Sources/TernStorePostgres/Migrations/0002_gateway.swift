import Foundation
import TernCore
import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0002_gateway.
    static let m0002_gateway = PostgresMigration(
        id: "0002_gateway",
        statements: [
            "ALTER TABLE api_keys ADD COLUMN rpm_limit INTEGER",
            "ALTER TABLE api_keys ADD COLUMN tpm_limit INTEGER",
            "ALTER TABLE api_keys ADD COLUMN budget_usd DOUBLE PRECISION",
            "ALTER TABLE api_keys ADD COLUMN budget_period TEXT NOT NULL DEFAULT 'month'",
            """
            CREATE TABLE key_spend (
                key_id TEXT NOT NULL,
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                period TEXT NOT NULL,
                spent_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
                PRIMARY KEY (key_id, period)
            )
            """,
            """
            CREATE TABLE traces (
                id TEXT NOT NULL,
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                name TEXT,
                user_id TEXT,
                session_id TEXT,
                tags TEXT NOT NULL DEFAULT '[]',
                metadata TEXT,
                release TEXT,
                environment TEXT,
                input TEXT,
                output TEXT,
                start_time BIGINT NOT NULL,
                end_time BIGINT,
                PRIMARY KEY (project_id, id)
            )
            """,
            "CREATE INDEX traces_time ON traces(project_id, start_time DESC, id DESC)",
            "CREATE INDEX traces_user ON traces(project_id, user_id, start_time DESC) WHERE user_id IS NOT NULL",
            "CREATE INDEX traces_session ON traces(project_id, session_id, start_time DESC) WHERE session_id IS NOT NULL",
            """
            CREATE TABLE observations (
                id TEXT NOT NULL,
                trace_id TEXT NOT NULL,
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                parent_id TEXT,
                type TEXT NOT NULL,
                name TEXT,
                start_time BIGINT NOT NULL,
                end_time BIGINT,
                completion_start_time BIGINT,
                model TEXT,
                provider TEXT,
                model_parameters TEXT,
                input TEXT,
                output TEXT,
                usage_input INTEGER,
                usage_output INTEGER,
                usage_cached INTEGER,
                usage_reasoning INTEGER,
                usage_estimated INTEGER NOT NULL DEFAULT 0,
                cost DOUBLE PRECISION,
                cost_estimated INTEGER NOT NULL DEFAULT 0,
                level TEXT NOT NULL DEFAULT 'DEFAULT',
                status_message TEXT,
                metadata TEXT,
                requested_model TEXT,
                deployment TEXT,
                variant TEXT,
                route TEXT,
                cache_status TEXT,
                status_code INTEGER,
                prompt_name TEXT,
                prompt_version INTEGER,
                PRIMARY KEY (project_id, id)
            )
            """,
            "CREATE INDEX observations_trace ON observations(project_id, trace_id, start_time)",
            """
            CREATE TABLE model_versions (
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                config TEXT NOT NULL,
                author TEXT NOT NULL,
                message TEXT,
                source_hash TEXT,
                deleted INTEGER NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (name, version)
            )
            """,
            """
            CREATE TABLE response_cache (
                project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                cache_key TEXT NOT NULL,
                value BYTEA NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, cache_key)
            )
            """,
            "CREATE INDEX response_cache_expiry ON response_cache(expires_at)",
        ])
}
