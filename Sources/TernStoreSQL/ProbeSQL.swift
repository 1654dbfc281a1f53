import Foundation
public import TernCore

/// Probes and their runs (migration 0018), written once for both backends.
public enum ProbeSQL {
    public typealias Statement = ExperimentColumns.Statement
    public typealias Reader = ExperimentColumns.Reader
    typealias Builder = WatcherSQL.Builder

    public static func schema(_ dialect: SQLDialect) -> [String] {
        SharedMigrations.render(
            dialect,
            [
                """
                CREATE TABLE probes (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    enabled INTEGER NOT NULL,
                    experiment TEXT NOT NULL,
                    every_seconds INTEGER NOT NULL,
                    created_by TEXT NOT NULL,
                    last_run_at {big},
                    created_at {big} NOT NULL,
                    updated_at {big} NOT NULL,
                    UNIQUE (project_id, name)
                )
                """,
                """
                CREATE TABLE probe_runs (
                    probe_id TEXT NOT NULL REFERENCES probes(id) ON DELETE CASCADE,
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    experiment_id TEXT NOT NULL,
                    started_at {big} NOT NULL,
                    PRIMARY KEY (probe_id, experiment_id)
                )
                """,
                "CREATE INDEX probe_runs_started ON probe_runs(project_id, probe_id, started_at)",
            ])
    }

    static let columns = "id, project_id, name, enabled, experiment, every_seconds, created_by, last_run_at, created_at, updated_at"
    public static let records = NamedRecords(table: "probes", columns: columns, noun: "probe", children: [("probe_runs", "probe_id")])

    public static func insert(_ probe: Probe, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let values = [
            b.text(probe.id), b.text(probe.projectID), b.text(probe.name), b.int(probe.enabled ? 1 : 0), b.text(probe.experiment.jsonString()),
            b.int(Int64(probe.everySeconds)), b.text(probe.createdBy), b.date(probe.lastRunAt), b.date(probe.createdAt), b.date(probe.updatedAt),
        ]
        return b.statement("INSERT INTO probes (\(columns)) VALUES (\(values.joined(separator: ", ")))")
    }

    public static func update(_ probe: Probe, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            UPDATE probes SET name = \(b.text(probe.name)), enabled = \(b.int(probe.enabled ? 1 : 0)), experiment = \(b.text(probe.experiment.jsonString())), \
            every_seconds = \(b.int(Int64(probe.everySeconds))), updated_at = \(b.date(probe.updatedAt)) \
            WHERE project_id = \(b.text(probe.projectID)) AND id = \(b.text(probe.id))
            """
        return b.statement(sql)
    }

    public static func probe(_ row: any Reader) throws -> Probe {
        Probe(
            id: try row.text("id") ?? "", projectID: try row.text("project_id") ?? "", name: try row.text("name") ?? "",
            enabled: (try row.int("enabled") ?? 0) != 0,
            experiment: (try? JSONValue.parse(Data((try row.text("experiment") ?? "{}").utf8))) ?? .object([:]),
            everySeconds: Int(try row.int("every_seconds") ?? 3600), createdBy: try row.text("created_by") ?? "",
            lastRunAt: try row.int("last_run_at").map(Timestamp.date), createdAt: Timestamp.date(try row.int("created_at") ?? 0),
            updatedAt: Timestamp.date(try row.int("updated_at") ?? 0))
    }

    /// The run, then the probe's last run time.
    public static func recordRun(_ run: ProbeRun, _ dialect: SQLDialect) -> [Statement] {
        var first = Builder(dialect: dialect)
        let insert = """
            INSERT INTO probe_runs (probe_id, project_id, experiment_id, started_at) VALUES \
            (\(first.text(run.probeID)), \(first.text(run.projectID)), \(first.text(run.experimentID)), \(first.date(run.startedAt)))
            """
        var second = Builder(dialect: dialect)
        let update = """
            UPDATE probes SET last_run_at = \(second.date(run.startedAt)) WHERE project_id = \(second.text(run.projectID)) \
            AND id = \(second.text(run.probeID))
            """
        return [first.statement(insert), second.statement(update)]
    }

    public static func runs(projectID: String, probeID: String, limit: Int, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            SELECT probe_id, project_id, experiment_id, started_at FROM probe_runs WHERE project_id = \(b.text(projectID)) \
            AND probe_id = \(b.text(probeID)) ORDER BY started_at DESC, experiment_id DESC LIMIT \(b.int(Int64(max(1, min(limit, 1000)))))
            """
        return b.statement(sql)
    }

    public static func run(_ row: any Reader) throws -> ProbeRun {
        ProbeRun(
            probeID: try row.text("probe_id") ?? "", projectID: try row.text("project_id") ?? "", experimentID: try row.text("experiment_id") ?? "",
            startedAt: Timestamp.date(try row.int("started_at") ?? 0))
    }
}
