import Foundation
public import TernCore

/// Drift monitors and their reports (migration 0018, with the probes), written once for both backends.
public enum DriftMonitorSQL {
    public typealias Statement = ExperimentColumns.Statement
    public typealias Reader = ExperimentColumns.Reader
    typealias Builder = WatcherSQL.Builder

    public static func schema(_ dialect: SQLDialect) -> [String] {
        SharedMigrations.render(
            dialect,
            [
                """
                CREATE TABLE drift_monitors (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    enabled INTEGER NOT NULL,
                    definition TEXT NOT NULL,
                    last_run_at {big},
                    created_at {big} NOT NULL,
                    updated_at {big} NOT NULL,
                    UNIQUE (project_id, name)
                )
                """,
                """
                CREATE TABLE drift_reports (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    monitor_id TEXT NOT NULL REFERENCES drift_monitors(id) ON DELETE CASCADE,
                    at {big} NOT NULL,
                    reference_rows INTEGER NOT NULL,
                    current_rows INTEGER NOT NULL,
                    share_drifted {real},
                    dataset_drift INTEGER NOT NULL,
                    drifted TEXT NOT NULL,
                    report TEXT NOT NULL
                )
                """,
                "CREATE INDEX drift_reports_monitor ON drift_reports(project_id, monitor_id, at)",
            ])
    }

    static let columns = "id, project_id, name, enabled, definition, last_run_at, created_at, updated_at"
    public static let records = NamedRecords(
        table: "drift_monitors", columns: columns, noun: "drift monitor", children: [("drift_reports", "monitor_id")])

    public static func insert(_ monitor: DriftMonitor, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let values = [
            b.text(monitor.id), b.text(monitor.projectID), b.text(monitor.name), b.int(monitor.enabled ? 1 : 0), b.text(monitor.definitionJSON.jsonString()),
            b.date(monitor.lastRunAt), b.date(monitor.createdAt), b.date(monitor.updatedAt),
        ]
        return b.statement("INSERT INTO drift_monitors (\(columns)) VALUES (\(values.joined(separator: ", ")))")
    }

    public static func update(_ monitor: DriftMonitor, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            UPDATE drift_monitors SET name = \(b.text(monitor.name)), enabled = \(b.int(monitor.enabled ? 1 : 0)), \
            definition = \(b.text(monitor.definitionJSON.jsonString())), updated_at = \(b.date(monitor.updatedAt)) \
            WHERE project_id = \(b.text(monitor.projectID)) AND id = \(b.text(monitor.id))
            """
        return b.statement(sql)
    }

    public static func monitor(_ row: any Reader) throws -> DriftMonitor {
        let base = DriftMonitor(
            id: try row.text("id") ?? "", projectID: try row.text("project_id") ?? "", name: try row.text("name") ?? "",
            enabled: (try row.int("enabled") ?? 0) != 0, lastRunAt: try row.int("last_run_at").map(Timestamp.date),
            createdAt: Timestamp.date(try row.int("created_at") ?? 0), updatedAt: Timestamp.date(try row.int("updated_at") ?? 0))
        let definition = (try? JSONValue.parse(Data((try row.text("definition") ?? "{}").utf8))) ?? .object([:])
        return (try? DriftMonitor.apply(definition, to: base, allowedColumns: DriftMonitor.traceColumns)) ?? base
    }

    /// The report, then the monitor's last run time.
    public static func record(_ report: DriftMonitorReport, _ dialect: SQLDialect) -> [Statement] {
        var first = Builder(dialect: dialect)
        let values = [
            first.text(report.id), first.text(report.projectID), first.text(report.monitorID), first.date(report.at),
            first.int(Int64(report.referenceRows)), first.int(Int64(report.currentRows)), first.double(report.shareDrifted),
            first.int(report.datasetDrift ? 1 : 0), first.text(JSONValue.array(report.drifted.map(JSONValue.string)).jsonString()),
            first.text(report.report.jsonString()),
        ]
        let insert = """
            INSERT INTO drift_reports (id, project_id, monitor_id, at, reference_rows, current_rows, share_drifted, dataset_drift, drifted, report) \
            VALUES (\(values.joined(separator: ", ")))
            """
        var second = Builder(dialect: dialect)
        let update = """
            UPDATE drift_monitors SET last_run_at = \(second.date(report.at)) WHERE project_id = \(second.text(report.projectID)) \
            AND id = \(second.text(report.monitorID))
            """
        return [first.statement(insert), second.statement(update)]
    }

    public static func reports(projectID: String, monitorID: String, limit: Int, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            SELECT id, project_id, monitor_id, at, reference_rows, current_rows, share_drifted, dataset_drift, drifted, report FROM drift_reports \
            WHERE project_id = \(b.text(projectID)) AND monitor_id = \(b.text(monitorID)) ORDER BY at DESC, id DESC \
            LIMIT \(b.int(Int64(max(1, min(limit, 1000)))))
            """
        return b.statement(sql)
    }

    public static func report(_ row: any Reader) throws -> DriftMonitorReport {
        let drifted = (try? JSONValue.parse(Data((try row.text("drifted") ?? "[]").utf8)))?.array?.compactMap(\.string) ?? []
        return DriftMonitorReport(
            id: try row.text("id") ?? "", projectID: try row.text("project_id") ?? "", monitorID: try row.text("monitor_id") ?? "",
            at: Timestamp.date(try row.int("at") ?? 0), referenceRows: Int(try row.int("reference_rows") ?? 0),
            currentRows: Int(try row.int("current_rows") ?? 0), shareDrifted: try row.double("share_drifted"),
            datasetDrift: (try row.int("dataset_drift") ?? 0) != 0, drifted: drifted,
            report: (try? JSONValue.parse(Data((try row.text("report") ?? "{}").utf8))) ?? .null)
    }
}
