// Migrations 0001-0007, written once for both stores (0009 and 0012 are in ExperimentSQL.swift, ReplicaSQL.swift
// and StoredBounds.swift). The texts are the SQLite ones with the types that differ as tokens: `{big}` (INTEGER on
// SQLite, BIGINT on PostgreSQL), `{real}` (REAL, DOUBLE PRECISION), `{blob}` (BLOB, BYTEA), `{pk}` (SQLite's
// PRIMARY KEY NOT NULL), `{norowid}` (SQLite's WITHOUT ROWID), `{(}`/`{)}` (PostgreSQL's parentheses around an
// index expression). SQLite stores a CREATE statement's text and later migrations (0010, 0011) rebuild tables by
// editing it, so the SQLite rendering is byte for byte what these migrations always executed; never edit one
// that has shipped.

/// The statements of the migrations both stores share, for one dialect.
public enum SharedMigrations {
    static func render(_ dialect: SQLDialect, _ templates: [String]) -> [String] {
        let tokens: [(String, String, String)] = [
            ("{big}", "INTEGER", "BIGINT"), ("{real}", "REAL", "DOUBLE PRECISION"), ("{blob}", "BLOB", "BYTEA"),
            ("{pk}", "PRIMARY KEY NOT NULL", "PRIMARY KEY"), ("{norowid}", " WITHOUT ROWID", ""), ("{(}", "", "("), ("{)}", "", ")"),
        ]
        return templates.map { template in
            tokens.reduce(template) { text, token in text.replacingOccurrences(of: token.0, with: dialect == .sqlite ? token.1 : token.2) }
        }
    }

    /// 0001: projects, users, API keys, web sessions.
    public static func foundation(_ dialect: SQLDialect) -> [String] {
        render(
            dialect,
            [
                """
                CREATE TABLE projects (
                    id TEXT {pk},
                    slug TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    created_at {big} NOT NULL,
                    retention_days INTEGER
                )
                """,
                """
                CREATE TABLE users (
                    id TEXT {pk},
                    email TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
                    password_hash TEXT NOT NULL,
                    created_at {big} NOT NULL,
                    disabled_at {big}
                )
                """,
                """
                CREATE TABLE api_keys (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    prefix TEXT NOT NULL,
                    key_hash TEXT NOT NULL UNIQUE,
                    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
                    created_at {big} NOT NULL,
                    created_by TEXT,
                    last_used_at {big},
                    revoked_at {big}
                )
                """,
                "CREATE INDEX api_keys_project ON api_keys(project_id, created_at)",
                """
                CREATE TABLE web_sessions (
                    id TEXT {pk},
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    token_hash TEXT NOT NULL UNIQUE,
                    created_at {big} NOT NULL,
                    expires_at {big} NOT NULL
                )
                """,
                "CREATE INDEX web_sessions_user ON web_sessions(user_id)",
            ])
    }

    /// 0002: key limits and spend, traces and observations, model versions, the response cache.
    public static func gateway(_ dialect: SQLDialect) -> [String] {
        render(
            dialect,
            [
                "ALTER TABLE api_keys ADD COLUMN rpm_limit INTEGER",
                "ALTER TABLE api_keys ADD COLUMN tpm_limit INTEGER",
                "ALTER TABLE api_keys ADD COLUMN budget_usd {real}",
                "ALTER TABLE api_keys ADD COLUMN budget_period TEXT NOT NULL DEFAULT 'month'",
                """
                CREATE TABLE key_spend (
                    key_id TEXT NOT NULL,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    period TEXT NOT NULL,
                    spent_usd {real} NOT NULL DEFAULT 0,
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
                    start_time {big} NOT NULL,
                    end_time {big},
                    PRIMARY KEY (project_id, id)
                ){norowid}
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
                    start_time {big} NOT NULL,
                    end_time {big},
                    completion_start_time {big},
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
                    cost {real},
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
                ){norowid}
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
                    created_at {big} NOT NULL,
                    PRIMARY KEY (name, version)
                )
                """,
                """
                CREATE TABLE response_cache (
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    cache_key TEXT NOT NULL,
                    value {blob} NOT NULL,
                    created_at {big} NOT NULL,
                    expires_at {big} NOT NULL,
                    PRIMARY KEY (project_id, cache_key)
                )
                """,
                "CREATE INDEX response_cache_expiry ON response_cache(expires_at)",
            ])
    }

    /// 0003: scores and score configs.
    public static func scores(_ dialect: SQLDialect) -> [String] {
        render(
            dialect,
            [
                """
                CREATE TABLE scores (
                    id TEXT NOT NULL,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    trace_id TEXT NOT NULL,
                    observation_id TEXT,
                    name TEXT NOT NULL,
                    data_type TEXT NOT NULL CHECK (data_type IN ('numeric', 'categorical', 'boolean')),
                    numeric_value {real},
                    string_value TEXT,
                    source TEXT NOT NULL,
                    comment TEXT,
                    author TEXT,
                    config_id TEXT,
                    created_at {big} NOT NULL,
                    PRIMARY KEY (project_id, id)
                ){norowid}
                """,
                "CREATE INDEX scores_trace ON scores(project_id, trace_id)",
                "CREATE INDEX scores_name_time ON scores(project_id, name, created_at)",
                """
                CREATE TABLE score_configs (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    data_type TEXT NOT NULL CHECK (data_type IN ('numeric', 'categorical', 'boolean')),
                    min_value {real},
                    max_value {real},
                    categories TEXT NOT NULL DEFAULT '[]',
                    description TEXT,
                    created_at {big} NOT NULL,
                    UNIQUE (project_id, name)
                )
                """,
            ])
    }

    /// 0004 (schema): trace segments and totals, their indexes, rollups and dirty hours.
    public static func monitoringSchema(_ dialect: SQLDialect) -> [String] {
        render(
            dialect,
            [
                "ALTER TABLE traces ADD COLUMN task TEXT",
                "ALTER TABLE traces ADD COLUMN language TEXT",
                "ALTER TABLE traces ADD COLUMN domain TEXT",
                "ALTER TABLE traces ADD COLUMN language_checked INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE traces ADD COLUMN model TEXT",
                "ALTER TABLE traces ADD COLUMN deployment TEXT",
                "ALTER TABLE traces ADD COLUMN variant TEXT",
                "ALTER TABLE traces ADD COLUMN prompt_name TEXT",
                "ALTER TABLE traces ADD COLUMN prompt_version INTEGER",
                "ALTER TABLE traces ADD COLUMN observation_count INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE traces ADD COLUMN input_tokens {big} NOT NULL DEFAULT 0",
                "ALTER TABLE traces ADD COLUMN output_tokens {big} NOT NULL DEFAULT 0",
                "ALTER TABLE traces ADD COLUMN total_cost {real}",
                "ALTER TABLE traces ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE traces ADD COLUMN warning_count INTEGER NOT NULL DEFAULT 0",
                "CREATE INDEX traces_model ON traces(project_id, model, start_time DESC) WHERE model IS NOT NULL",
                "CREATE INDEX traces_errors ON traces(project_id, start_time DESC) WHERE error_count > 0",
                "CREATE INDEX traces_latency ON traces(project_id, {(}COALESCE(end_time - start_time, -1){)} DESC, id DESC)",
                "CREATE INDEX traces_cost ON traces(project_id, {(}COALESCE(total_cost, -1){)} DESC, id DESC)",
                """
                CREATE INDEX traces_language_pending ON traces(project_id, start_time) WHERE language IS NULL AND language_checked = 0 AND input IS NOT NULL
                """,
                """
                CREATE TABLE trace_rollups (
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    dimension TEXT NOT NULL,
                    bucket {big} NOT NULL,
                    value TEXT NOT NULL,
                    traces {big} NOT NULL,
                    errors {big} NOT NULL,
                    input_tokens {big} NOT NULL,
                    output_tokens {big} NOT NULL,
                    cost {real} NOT NULL,
                    latency_sum {real} NOT NULL,
                    latency_hist TEXT NOT NULL,
                    scores TEXT NOT NULL,
                    PRIMARY KEY (project_id, dimension, bucket, value)
                ){norowid}
                """,
                """
                CREATE TABLE rollup_dirty (
                    project_id TEXT NOT NULL,
                    bucket {big} NOT NULL,
                    marked_at {big} NOT NULL,
                    PRIMARY KEY (project_id, bucket)
                ){norowid}
                """,
            ])
    }

    /// 0004: the schema, then every stored trace's totals (the statement each insert runs) and its hour marked.
    public static func monitoring(_ dialect: SQLDialect) -> [String] {
        let totals = TraceSQL.refreshTotals(projectID: "", traceIDs: [], dialect: dialect, traceKeys: dialect == .sqlite ? false : nil).sql
        let everyTrace = String(totals[..<totals.range(of: dialect == .sqlite ? "WHERE project_id = ?" : "WHERE project_id = $1")!.lowerBound])
        return monitoringSchema(dialect) + [
            everyTrace, "INSERT INTO rollup_dirty (project_id, bucket, marked_at) SELECT DISTINCT project_id, \(TraceSQL.hourOfStart), 0 FROM traces",
        ]
    }

    /// 0005: prompt versions, labels and label moves.
    public static func prompts(_ dialect: SQLDialect) -> [String] {
        render(
            dialect,
            [
                """
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
                    created_at {big} NOT NULL,
                    PRIMARY KEY (project_id, name, version)
                ){norowid}
                """,
                """
                CREATE TABLE prompt_labels (
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    label TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    PRIMARY KEY (project_id, name, label)
                ){norowid}
                """,
                """
                CREATE TABLE prompt_label_moves (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    label TEXT NOT NULL,
                    from_version INTEGER,
                    to_version INTEGER NOT NULL,
                    author TEXT NOT NULL,
                    moved_at {big} NOT NULL
                )
                """,
                "CREATE INDEX prompt_label_moves_prompt ON prompt_label_moves(project_id, name, moved_at)",
            ])
    }

    /// 0006: datasets, versions and items.
    public static func datasets(_ dialect: SQLDialect) -> [String] {
        render(
            dialect,
            [
                """
                CREATE TABLE datasets (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    description TEXT,
                    created_at {big} NOT NULL,
                    latest_version INTEGER NOT NULL DEFAULT 0,
                    UNIQUE (project_id, name)
                )
                """,
                """
                CREATE TABLE dataset_versions (
                    dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                    version INTEGER NOT NULL,
                    item_count INTEGER NOT NULL,
                    added INTEGER NOT NULL,
                    changed INTEGER NOT NULL,
                    removed INTEGER NOT NULL,
                    author TEXT NOT NULL,
                    message TEXT,
                    created_at {big} NOT NULL,
                    PRIMARY KEY (dataset_id, version)
                ){norowid}
                """,
                """
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
                    validated_at {big},
                    source_trace_id TEXT,
                    PRIMARY KEY (dataset_id, item_id, valid_from)
                ){norowid}
                """,
                "CREATE INDEX dataset_items_current ON dataset_items(dataset_id, item_id) WHERE valid_to IS NULL",
            ])
    }

    /// 0007: daily rollup rows are new, so every hour that has traces is recomputed. (`WHERE true` keeps
    /// SQLite from reading ON CONFLICT as a join's; PostgreSQL ignores it.)
    public static func dailyRollups(_ dialect: SQLDialect) -> [String] {
        [
            """
            INSERT INTO rollup_dirty (project_id, bucket, marked_at) SELECT DISTINCT project_id, \(TraceSQL.hourOfStart), 0 FROM traces
            WHERE true ON CONFLICT (project_id, bucket) DO NOTHING
            """
        ]
    }

    /// 0013: traces Tern's own callers made before they carried their origin (`TraceOrigin`) get it, from
    /// the session experiments give their calls and the tag the playground gives its; their hours are
    /// recomputed, so the rollups (production traffic only) drop them.
    public static func internalTraffic(_ dialect: SQLDialect) -> [String] {
        let playgroundTag =
            dialect == .sqlite
            ? "EXISTS (SELECT 1 FROM json_each(traces.tags) WHERE json_each.value = 'playground')" : "(traces.tags::jsonb ? 'playground')"
        return [
            "UPDATE traces SET environment = 'experiment' WHERE environment IS NULL AND session_id LIKE 'experiment:%'",
            "UPDATE traces SET environment = 'playground' WHERE environment IS NULL AND \(playgroundTag)",
            """
            INSERT INTO rollup_dirty (project_id, bucket, marked_at) SELECT DISTINCT project_id, \(TraceSQL.hourOfStart), 0 FROM traces
            WHERE environment IN ('experiment', 'playground') ON CONFLICT (project_id, bucket) DO NOTHING
            """,
        ]
    }

}
