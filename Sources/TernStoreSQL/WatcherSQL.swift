public import Foundation
public import TernCore

/// Watchers, their job queue and the traces' `last_seen`, written once for both backends.
public enum WatcherSQL {
    public typealias Value = ExperimentColumns.Value
    public typealias Reader = ExperimentColumns.Reader
    public typealias Statement = ExperimentColumns.Statement

    /// Migration 0014's statements: when a trace was last written (how watchers know it is finished), the
    /// watchers and their queue, whose key makes a second score of a trace by one version impossible.
    public static func schema(_ dialect: SQLDialect) -> [String] {
        SharedMigrations.render(
            dialect,
            [
                "ALTER TABLE traces ADD COLUMN last_seen {big}",
                "CREATE INDEX traces_seen ON traces(project_id, last_seen) WHERE last_seen IS NOT NULL",
                """
                CREATE TABLE watchers (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    enabled INTEGER NOT NULL,
                    definition TEXT NOT NULL,
                    key_id TEXT,
                    cursor_ended {big},
                    cursor_idle {big},
                    created_at {big} NOT NULL,
                    updated_at {big} NOT NULL,
                    UNIQUE (project_id, name)
                )
                """,
                """
                CREATE TABLE watcher_jobs (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    watcher_id TEXT NOT NULL REFERENCES watchers(id) ON DELETE CASCADE,
                    watcher_version INTEGER NOT NULL,
                    trace_id TEXT NOT NULL,
                    observation_id TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
                    attempts INTEGER NOT NULL,
                    not_before {big} NOT NULL,
                    lease_until {big},
                    last_error TEXT,
                    score_id TEXT,
                    cost {real},
                    judge_trace_id TEXT,
                    created_at {big} NOT NULL,
                    finished_at {big},
                    UNIQUE (watcher_id, watcher_version, trace_id, observation_id)
                )
                """,
                "CREATE INDEX watcher_jobs_due ON watcher_jobs(not_before) WHERE status IN ('pending', 'running')",
                "CREATE INDEX watcher_jobs_watcher ON watcher_jobs(project_id, watcher_id, status, created_at)",
            ])
    }

    /// Numbered placeholders: `?` for SQLite, `$n` for PostgreSQL.
    struct Builder {
        let dialect: SQLDialect
        var values: [Value] = []
        mutating func bind(_ value: Value) -> String {
            values.append(value)
            return dialect == .sqlite ? "?" : "$\(values.count)"
        }
        mutating func text(_ value: String?) -> String { bind(.text(value)) }
        mutating func int(_ value: Int64?) -> String { bind(.int(value)) }
        mutating func double(_ value: Double?) -> String { bind(.double(value)) }
        mutating func date(_ value: Date?) -> String { bind(.int(value.map(Timestamp.micros))) }
        func statement(_ sql: String) -> Statement { Statement(sql: sql, values: values) }
    }

    // MARK: Watchers

    static let watcherColumns = "id, project_id, name, version, enabled, definition, key_id, created_at, updated_at"
    public static let records = NamedRecords(
        table: "watchers", columns: watcherColumns, noun: "watcher", children: [("watcher_jobs", "watcher_id"), ("watcher_backfills", "watcher_id")])

    public static func insert(_ watcher: Watcher, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let values = [
            b.text(watcher.id), b.text(watcher.projectID), b.text(watcher.name), b.int(Int64(watcher.version)), b.int(watcher.enabled ? 1 : 0),
            b.text(watcher.definition.json.jsonString()), b.text(watcher.keyID), b.date(watcher.createdAt), b.date(watcher.updatedAt),
        ]
        return b.statement("INSERT INTO watchers (\(watcherColumns)) VALUES (\(values.joined(separator: ", ")))")
    }

    public static func update(_ watcher: Watcher, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            UPDATE watchers SET name = \(b.text(watcher.name)), version = \(b.int(Int64(watcher.version))), \
            enabled = \(b.int(watcher.enabled ? 1 : 0)), definition = \(b.text(watcher.definition.json.jsonString())), \
            updated_at = \(b.date(watcher.updatedAt)) WHERE project_id = \(b.text(watcher.projectID)) AND id = \(b.text(watcher.id))
            """
        return b.statement(sql)
    }

    public static func watcher(_ row: any Reader) throws -> Watcher {
        let definitionText = try row.text("definition") ?? "{}"
        let definition =
            (try? JSONValue.parse(Data(definitionText.utf8))).flatMap { try? WatcherDefinition(json: $0) }
            ?? WatcherDefinition(assertions: .array([]))
        return Watcher(
            id: try row.text("id") ?? "", projectID: try row.text("project_id") ?? "", name: try row.text("name") ?? "",
            version: Int(try row.int("version") ?? 1), enabled: (try row.int("enabled") ?? 0) != 0, definition: definition,
            keyID: try row.text("key_id"), createdAt: Timestamp.date(try row.int("created_at") ?? 0),
            updatedAt: Timestamp.date(try row.int("updated_at") ?? 0))
    }

    public static func cursors(projectID: String, watcherID: String, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = "SELECT cursor_ended, cursor_idle FROM watchers WHERE project_id = \(b.text(projectID)) AND id = \(b.text(watcherID))"
        return b.statement(sql)
    }

    public static func setCursors(projectID: String, watcherID: String, ended: Date?, idle: Date?, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql =
            "UPDATE watchers SET cursor_ended = \(b.date(ended)), cursor_idle = \(b.date(idle)) WHERE project_id = \(b.text(projectID)) AND id = \(b.text(watcherID))"
        return b.statement(sql)
    }

    // MARK: Finished traces

    /// Traces matching the filter written in (after, until]: ended ones, and with `idleBefore`, unended ones
    /// last written before it. Oldest write first.
    public static func finishedTraces(
        projectID: String, filter: TraceFilter, after: Date, afterID: String?, until: Date, idleBefore: Date?, limit: Int,
        _ dialect: SQLDialect
    ) throws -> Statement {
        var builder = SQLBuilder(dialect: dialect)
        var conditions = try TraceSQL.conditions(filter, projectID: projectID, into: &builder)
        let afterMicros = builder.bind(Timestamp.micros(after))
        if let afterID {
            conditions.append("(last_seen > \(afterMicros) OR (last_seen = \(afterMicros) AND id > \(builder.bind(afterID))))")
        } else {
            conditions.append("last_seen > \(afterMicros)")
        }
        conditions.append("last_seen <= \(builder.bind(Timestamp.micros(until)))")
        if let idleBefore {
            conditions.append("(end_time IS NOT NULL OR last_seen <= \(builder.bind(Timestamp.micros(idleBefore))))")
        } else {
            conditions.append("end_time IS NOT NULL")
        }
        let sql = """
            SELECT id, last_seen, CASE WHEN end_time IS NULL THEN 0 ELSE 1 END AS ended FROM traces \
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY last_seen, id LIMIT \(builder.bind(Int64(max(1, limit))))
            """
        return statement(sql, builder)
    }

    public static func candidate(_ row: any Reader) throws -> WatchCandidate {
        WatchCandidate(
            traceID: try row.text("id") ?? "", lastSeen: Timestamp.date(try row.int("last_seen") ?? 0), ended: (try row.int("ended") ?? 0) != 0)
    }

    // MARK: Jobs

    static let jobColumns = """
        id, project_id, watcher_id, watcher_version, trace_id, observation_id, status, attempts, not_before, lease_until, last_error, \
        score_id, cost, judge_trace_id, created_at, finished_at, backfill_id
        """

    public static func enqueue(_ job: WatcherJob, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let values = [
            b.text(job.id), b.text(job.projectID), b.text(job.watcherID), b.int(Int64(job.watcherVersion)), b.text(job.traceID),
            b.text(job.observationID), b.text(job.status.rawValue), b.int(Int64(job.attempts)), b.date(job.notBefore), b.date(job.leaseUntil),
            b.text(job.lastError), b.text(job.scoreID), b.double(job.cost), b.text(job.judgeTraceID), b.date(job.createdAt), b.date(job.finishedAt),
            b.text(job.backfillID),
        ]
        return b.statement(
            """
            INSERT INTO watcher_jobs (\(jobColumns)) VALUES (\(values.joined(separator: ", "))) \
            ON CONFLICT (watcher_id, watcher_version, trace_id, observation_id) DO NOTHING
            """)
    }

    /// The ids of up to `limit` due jobs, oldest first (the backends lock and take them).
    public static func due(limit: Int, now: Date, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let at = Timestamp.micros(now)
        let sql = """
            SELECT id FROM watcher_jobs WHERE (status = 'pending' AND not_before <= \(b.int(at))) \
            OR (status = 'running' AND lease_until <= \(b.int(at))) ORDER BY not_before, id LIMIT \(b.int(Int64(max(1, limit))))\
            \(dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : "")
            """
        return b.statement(sql)
    }

    /// Takes the job: running until `leaseUntil`, one more attempt; only while it is still due.
    public static func take(id: String, now: Date, leaseUntil: Date, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let at = Timestamp.micros(now)
        let sql = """
            UPDATE watcher_jobs SET status = 'running', attempts = attempts + 1, lease_until = \(b.date(leaseUntil)) \
            WHERE id = \(b.text(id)) AND ((status = 'pending' AND not_before <= \(b.int(at))) OR (status = 'running' AND lease_until <= \(b.int(at)))) \
            RETURNING \(jobColumns)
            """
        return b.statement(sql)
    }

    public static func finish(
        _ job: WatcherJob, status: WatcherJobStatus, scoreID: String?, cost: Double?, judgeTraceID: String?, error: String?, at: Date,
        _ dialect: SQLDialect
    ) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            UPDATE watcher_jobs SET status = \(b.text(status.rawValue)), score_id = \(b.text(scoreID)), \
            cost = COALESCE(cost, 0) + COALESCE(\(b.double(cost)), 0), judge_trace_id = COALESCE(\(b.text(judgeTraceID)), judge_trace_id), \
            last_error = \(b.text(error)), lease_until = NULL, finished_at = \(b.date(at)) \
            WHERE id = \(b.text(job.id)) AND status = 'running'
            """
        return b.statement(sql)
    }

    /// Back to pending until `notBefore`; `countAttempt` false gives the attempt back (a postponement).
    public static func retry(_ job: WatcherJob, error: String, notBefore: Date, cost: Double?, countAttempt: Bool, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        // Typed: PostgreSQL cannot tell the type of a NULL parameter that is only compared with IS NULL.
        let real = dialect == .postgres ? "DOUBLE PRECISION" : "REAL"
        let sql = """
            UPDATE watcher_jobs SET status = 'pending', last_error = \(b.text(error)), not_before = \(b.date(notBefore)), lease_until = NULL, \
            cost = CASE WHEN CAST(\(b.double(cost)) AS \(real)) IS NULL THEN cost ELSE COALESCE(cost, 0) + CAST(\(b.double(cost)) AS \(real)) END\
            \(countAttempt ? "" : ", attempts = attempts - 1") WHERE id = \(b.text(job.id)) AND status = 'running'
            """
        return b.statement(sql)
    }

    public static func jobs(projectID: String, watcherID: String, status: WatcherJobStatus?, limit: Int, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        var sql = "SELECT \(jobColumns) FROM watcher_jobs WHERE project_id = \(b.text(projectID)) AND watcher_id = \(b.text(watcherID))"
        if let status { sql += " AND status = \(b.text(status.rawValue))" }
        sql += " ORDER BY created_at DESC, id DESC LIMIT \(b.int(Int64(max(1, min(limit, 1000)))))"
        return b.statement(sql)
    }

    public static func job(_ row: any Reader) throws -> WatcherJob {
        WatcherJob(
            id: try row.text("id") ?? "", projectID: try row.text("project_id") ?? "", watcherID: try row.text("watcher_id") ?? "",
            watcherVersion: Int(try row.int("watcher_version") ?? 1), traceID: try row.text("trace_id") ?? "",
            observationID: try row.text("observation_id") ?? "", status: WatcherJobStatus(rawValue: try row.text("status") ?? "") ?? .failed,
            attempts: Int(try row.int("attempts") ?? 0), notBefore: Timestamp.date(try row.int("not_before") ?? 0),
            leaseUntil: try row.int("lease_until").map(Timestamp.date), lastError: try row.text("last_error"), scoreID: try row.text("score_id"),
            cost: try row.double("cost"), judgeTraceID: try row.text("judge_trace_id"), createdAt: Timestamp.date(try row.int("created_at") ?? 0),
            finishedAt: try row.int("finished_at").map(Timestamp.date), backfillID: try row.text("backfill_id"))
    }

    public static func prune(finishedBefore cutoff: Date, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = "DELETE FROM watcher_jobs WHERE status IN ('done', 'failed') AND finished_at < \(b.date(cutoff))"
        return b.statement(sql)
    }

    /// Counts per watcher and status, the oldest waiting job, and the judges' cost since `dayStart`.
    public static func stats(projectID: String?, dayStart: Date, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let day = b.date(dayStart)
        let project = projectID.map { " WHERE project_id = \(b.text($0))" } ?? ""
        let sql = """
            SELECT watcher_id, \
            CAST(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS BIGINT) AS pending, \
            CAST(SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS BIGINT) AS running, \
            CAST(SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS BIGINT) AS done, \
            CAST(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
            MIN(CASE WHEN status IN ('pending', 'running') THEN created_at END) AS oldest, \
            CAST(COALESCE(SUM(CASE WHEN finished_at >= \(day) OR (status IN ('pending', 'running') AND cost IS NOT NULL) THEN cost END), 0) AS \
            \(dialect == .postgres ? "DOUBLE PRECISION" : "REAL")) AS cost_today \
            FROM watcher_jobs\(project) GROUP BY watcher_id
            """
        return b.statement(sql)
    }

    public static func stat(_ row: any Reader) throws -> WatcherQueueStats {
        WatcherQueueStats(
            watcherID: try row.text("watcher_id") ?? "", pending: Int(try row.int("pending") ?? 0), running: Int(try row.int("running") ?? 0),
            done: Int(try row.int("done") ?? 0), failed: Int(try row.int("failed") ?? 0), oldestWaiting: try row.int("oldest").map(Timestamp.date),
            costToday: try row.double("cost_today") ?? 0)
    }
}
