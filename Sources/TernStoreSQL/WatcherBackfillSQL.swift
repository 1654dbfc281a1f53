public import Foundation
public import TernCore

/// Watcher backfills (migration 0015), written once for both backends.
extension WatcherSQL {
    public static func backfillSchema(_ dialect: SQLDialect) -> [String] {
        SharedMigrations.render(
            dialect,
            [
                """
                CREATE TABLE watcher_backfills (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    watcher_id TEXT NOT NULL REFERENCES watchers(id) ON DELETE CASCADE,
                    watcher_version INTEGER NOT NULL,
                    from_time {big} NOT NULL,
                    to_time {big} NOT NULL,
                    sampling_rate {real},
                    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'cancelled')),
                    cursor_time {big},
                    cursor_id TEXT,
                    scanned {big} NOT NULL,
                    queued {big} NOT NULL,
                    note TEXT,
                    created_at {big} NOT NULL,
                    finished_at {big}
                )
                """,
                "CREATE INDEX watcher_backfills_watcher ON watcher_backfills(project_id, watcher_id, created_at)",
                "ALTER TABLE watcher_jobs ADD COLUMN backfill_id TEXT",
                "CREATE INDEX watcher_jobs_backfill ON watcher_jobs(backfill_id, status) WHERE backfill_id IS NOT NULL",
            ])
    }

    static let backfillColumns = """
        id, project_id, watcher_id, watcher_version, from_time, to_time, sampling_rate, status, cursor_time, cursor_id, scanned, queued, \
        note, created_at, finished_at
        """

    public static func insert(_ backfill: WatcherBackfill, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let values = [
            b.text(backfill.id), b.text(backfill.projectID), b.text(backfill.watcherID), b.int(Int64(backfill.watcherVersion)), b.date(backfill.from),
            b.date(backfill.to), b.double(backfill.samplingRate), b.text(backfill.status.rawValue), b.date(backfill.cursorTime),
            b.text(backfill.cursorID), b.int(Int64(backfill.scanned)), b.int(Int64(backfill.queued)), b.text(backfill.note),
            b.date(backfill.createdAt), b.date(backfill.finishedAt),
        ]
        return b.statement("INSERT INTO watcher_backfills (\(backfillColumns)) VALUES (\(values.joined(separator: ", ")))")
    }

    public static func save(_ backfill: WatcherBackfill, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            UPDATE watcher_backfills SET status = \(b.text(backfill.status.rawValue)), cursor_time = \(b.date(backfill.cursorTime)), \
            cursor_id = \(b.text(backfill.cursorID)), scanned = \(b.int(Int64(backfill.scanned))), queued = \(b.int(Int64(backfill.queued))), \
            note = \(b.text(backfill.note)), finished_at = \(b.date(backfill.finishedAt)) \
            WHERE project_id = \(b.text(backfill.projectID)) AND id = \(b.text(backfill.id))
            """
        return b.statement(sql)
    }

    /// A watcher's backfills with their jobs counted by status (newest first), or every running one.
    public static func backfills(projectID: String?, watcherID: String?, runningOnly: Bool, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        var conditions: [String] = []
        if let projectID { conditions.append("f.project_id = \(b.text(projectID))") }
        if let watcherID { conditions.append("f.watcher_id = \(b.text(watcherID))") }
        if runningOnly { conditions.append("f.status = 'running'") }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let columns = backfillColumns.split(separator: ",").map { "f." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
        let counts =
            runningOnly
            ? "CAST(0 AS BIGINT) AS pending, CAST(0 AS BIGINT) AS running, CAST(0 AS BIGINT) AS done, CAST(0 AS BIGINT) AS failed"
            : """
            (SELECT COUNT(*) FROM watcher_jobs j WHERE j.backfill_id = f.id AND j.status = 'pending') AS pending, \
            (SELECT COUNT(*) FROM watcher_jobs j WHERE j.backfill_id = f.id AND j.status = 'running') AS running, \
            (SELECT COUNT(*) FROM watcher_jobs j WHERE j.backfill_id = f.id AND j.status = 'done') AS done, \
            (SELECT COUNT(*) FROM watcher_jobs j WHERE j.backfill_id = f.id AND j.status = 'failed') AS failed
            """
        return b.statement("SELECT \(columns), \(counts) FROM watcher_backfills f\(filter) ORDER BY f.created_at DESC, f.id DESC LIMIT 200")
    }

    public static func backfill(_ row: any Reader) throws -> WatcherBackfill {
        var backfill = WatcherBackfill(
            id: try row.text("id") ?? "", projectID: try row.text("project_id") ?? "", watcherID: try row.text("watcher_id") ?? "",
            watcherVersion: Int(try row.int("watcher_version") ?? 1), from: Timestamp.date(try row.int("from_time") ?? 0),
            to: Timestamp.date(try row.int("to_time") ?? 0), samplingRate: try row.double("sampling_rate"),
            status: WatcherBackfillStatus(rawValue: try row.text("status") ?? "") ?? .cancelled, cursorTime: try row.int("cursor_time").map(Timestamp.date),
            cursorID: try row.text("cursor_id"), scanned: Int(try row.int("scanned") ?? 0), queued: Int(try row.int("queued") ?? 0),
            note: try row.text("note"), createdAt: Timestamp.date(try row.int("created_at") ?? 0), finishedAt: try row.int("finished_at").map(Timestamp.date))
        backfill.jobs = WatcherQueueStats(
            watcherID: backfill.watcherID, pending: Int(try row.int("pending") ?? 0), running: Int(try row.int("running") ?? 0),
            done: Int(try row.int("done") ?? 0), failed: Int(try row.int("failed") ?? 0))
        return backfill
    }

    /// Traces matching the filter (its from/to bound the start time) after (time, id), in (start time, id) order.
    public static func startedTraces(
        projectID: String, filter: TraceFilter, afterTime: Date?, afterID: String?, limit: Int, _ dialect: SQLDialect
    ) throws -> Statement {
        var builder = SQLBuilder(dialect: dialect)
        var conditions = try TraceSQL.conditions(filter, projectID: projectID, into: &builder)
        if let afterTime {
            let time = builder.bind(Timestamp.micros(afterTime))
            conditions.append("(start_time > \(time) OR (start_time = \(time) AND id > \(builder.bind(afterID ?? ""))))")
        }
        let sql = """
            SELECT id, start_time AS last_seen, CASE WHEN end_time IS NULL THEN 0 ELSE 1 END AS ended FROM traces \
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY start_time, id LIMIT \(builder.bind(Int64(max(1, limit))))
            """
        return statement(sql, builder)
    }

    static func statement(_ sql: String, _ builder: SQLBuilder) -> Statement {
        Statement(
            sql: sql,
            values: builder.values.map { value -> Value in
                switch value {
                case .text(let text): return .text(text)
                case .int(let number): return .int(number)
                case .double(let number): return .double(number)
                }
            })
    }
}
