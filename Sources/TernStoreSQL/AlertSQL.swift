public import Foundation
public import TernCore

/// Alert rules, their history and their deliveries, written once for both backends.
public enum AlertSQL {
    public typealias Statement = ExperimentColumns.Statement
    public typealias Reader = ExperimentColumns.Reader
    typealias Builder = WatcherSQL.Builder

    /// Migration 0016's statements.
    public static func schema(_ dialect: SQLDialect) -> [String] {
        SharedMigrations.render(
            dialect,
            [
                """
                CREATE TABLE alert_rules (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    enabled INTEGER NOT NULL,
                    definition TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('ok', 'firing')),
                    state_since {big},
                    last_value {real},
                    last_evaluated_at {big},
                    last_notified_at {big},
                    silenced_until {big},
                    created_at {big} NOT NULL,
                    updated_at {big} NOT NULL,
                    UNIQUE (project_id, name)
                )
                """,
                """
                CREATE TABLE alert_events (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    rule_id TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
                    kind TEXT NOT NULL CHECK (kind IN ('firing', 'resolved', 'test')),
                    value {real},
                    threshold {real} NOT NULL,
                    message TEXT NOT NULL,
                    notification TEXT NOT NULL,
                    at {big} NOT NULL
                )
                """,
                "CREATE INDEX alert_events_rule ON alert_events(project_id, rule_id, at)",
                """
                CREATE TABLE alert_deliveries (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    rule_id TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
                    event_id TEXT NOT NULL,
                    url TEXT NOT NULL,
                    format TEXT NOT NULL,
                    body TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
                    attempts INTEGER NOT NULL,
                    next_attempt_at {big} NOT NULL,
                    response_status INTEGER,
                    last_error TEXT,
                    created_at {big} NOT NULL,
                    delivered_at {big}
                )
                """,
                "CREATE INDEX alert_deliveries_due ON alert_deliveries(next_attempt_at) WHERE status = 'pending'",
                "CREATE INDEX alert_deliveries_rule ON alert_deliveries(project_id, rule_id, created_at)",
            ])
    }

    // MARK: Rules

    static let ruleColumns = """
        id, project_id, name, enabled, definition, state, state_since, last_value, last_evaluated_at, last_notified_at, silenced_until, \
        created_at, updated_at
        """
    public static let records = NamedRecords(
        table: "alert_rules", columns: ruleColumns, noun: "alert", children: [("alert_deliveries", "rule_id"), ("alert_events", "rule_id")])

    public static func insert(_ rule: AlertRule, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let values = [
            b.text(rule.id), b.text(rule.projectID), b.text(rule.name), b.int(rule.enabled ? 1 : 0), b.text(rule.definition.storedJSON.jsonString()),
            b.text(rule.state.rawValue), b.date(rule.stateSince), b.double(rule.lastValue), b.date(rule.lastEvaluatedAt), b.date(rule.lastNotifiedAt),
            b.date(rule.silencedUntil), b.date(rule.createdAt), b.date(rule.updatedAt),
        ]
        return b.statement("INSERT INTO alert_rules (\(ruleColumns)) VALUES (\(values.joined(separator: ", ")))")
    }

    /// What the API changes: name, enabled, definition, silence.
    public static func update(_ rule: AlertRule, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            UPDATE alert_rules SET name = \(b.text(rule.name)), enabled = \(b.int(rule.enabled ? 1 : 0)), \
            definition = \(b.text(rule.definition.storedJSON.jsonString())), silenced_until = \(b.date(rule.silencedUntil)), \
            updated_at = \(b.date(rule.updatedAt)) WHERE project_id = \(b.text(rule.projectID)) AND id = \(b.text(rule.id))
            """
        return b.statement(sql)
    }

    /// What an evaluation changes: the state and its times.
    public static func evaluated(_ rule: AlertRule, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            UPDATE alert_rules SET state = \(b.text(rule.state.rawValue)), state_since = \(b.date(rule.stateSince)), \
            last_value = \(b.double(rule.lastValue)), last_evaluated_at = \(b.date(rule.lastEvaluatedAt)), \
            last_notified_at = \(b.date(rule.lastNotifiedAt)) WHERE project_id = \(b.text(rule.projectID)) AND id = \(b.text(rule.id))
            """
        return b.statement(sql)
    }

    public static func rule(_ row: any Reader) throws -> AlertRule {
        let text = try row.text("definition") ?? "{}"
        let definition =
            (try? JSONValue.parse(Data(text.utf8))).flatMap { try? AlertDefinition(json: $0) }
            ?? AlertDefinition(metric: .traces, threshold: 0)
        return AlertRule(
            id: try row.text("id") ?? "", projectID: try row.text("project_id") ?? "", name: try row.text("name") ?? "",
            enabled: (try row.int("enabled") ?? 0) != 0, definition: definition, state: AlertState(rawValue: try row.text("state") ?? "") ?? .ok,
            stateSince: try row.int("state_since").map(Timestamp.date), lastValue: try row.double("last_value"),
            lastEvaluatedAt: try row.int("last_evaluated_at").map(Timestamp.date), lastNotifiedAt: try row.int("last_notified_at").map(Timestamp.date),
            silencedUntil: try row.int("silenced_until").map(Timestamp.date), createdAt: Timestamp.date(try row.int("created_at") ?? 0),
            updatedAt: Timestamp.date(try row.int("updated_at") ?? 0))
    }

    // MARK: Events

    static let eventColumns = "id, project_id, rule_id, kind, value, threshold, message, notification, at"

    public static func insert(_ event: AlertEvent, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let values = [
            b.text(event.id), b.text(event.projectID), b.text(event.ruleID), b.text(event.kind.rawValue), b.double(event.value), b.double(event.threshold),
            b.text(event.message), b.text(event.notification), b.date(event.at),
        ]
        return b.statement("INSERT INTO alert_events (\(eventColumns)) VALUES (\(values.joined(separator: ", ")))")
    }

    public static func events(projectID: String, ruleID: String, limit: Int, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            SELECT \(eventColumns) FROM alert_events WHERE project_id = \(b.text(projectID)) AND rule_id = \(b.text(ruleID)) \
            ORDER BY at DESC, id DESC LIMIT \(b.int(Int64(max(1, min(limit, 1000)))))
            """
        return b.statement(sql)
    }

    public static func event(_ row: any Reader) throws -> AlertEvent {
        AlertEvent(
            id: try row.text("id") ?? "", projectID: try row.text("project_id") ?? "", ruleID: try row.text("rule_id") ?? "",
            kind: AlertEvent.Kind(rawValue: try row.text("kind") ?? "") ?? .test, value: try row.double("value"), threshold: try row.double("threshold") ?? 0,
            message: try row.text("message") ?? "", notification: try row.text("notification") ?? "", at: Timestamp.date(try row.int("at") ?? 0))
    }

    // MARK: Deliveries

    static let deliveryColumns = """
        id, project_id, rule_id, event_id, url, format, body, status, attempts, next_attempt_at, response_status, last_error, created_at, delivered_at
        """

    public static func insert(_ delivery: AlertDelivery, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let values = [
            b.text(delivery.id), b.text(delivery.projectID), b.text(delivery.ruleID), b.text(delivery.eventID), b.text(delivery.url),
            b.text(delivery.format.rawValue), b.text(delivery.body), b.text(delivery.status.rawValue), b.int(Int64(delivery.attempts)),
            b.date(delivery.nextAttemptAt), b.int(delivery.responseStatus.map(Int64.init)), b.text(delivery.lastError), b.date(delivery.createdAt),
            b.date(delivery.deliveredAt),
        ]
        return b.statement("INSERT INTO alert_deliveries (\(deliveryColumns)) VALUES (\(values.joined(separator: ", ")))")
    }

    public static func save(_ delivery: AlertDelivery, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            UPDATE alert_deliveries SET status = \(b.text(delivery.status.rawValue)), attempts = \(b.int(Int64(delivery.attempts))), \
            next_attempt_at = \(b.date(delivery.nextAttemptAt)), response_status = \(b.int(delivery.responseStatus.map(Int64.init))), \
            last_error = \(b.text(delivery.lastError)), delivered_at = \(b.date(delivery.deliveredAt)) \
            WHERE project_id = \(b.text(delivery.projectID)) AND id = \(b.text(delivery.id))
            """
        return b.statement(sql)
    }

    public static func deliveries(projectID: String, ruleID: String, limit: Int, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            SELECT \(deliveryColumns) FROM alert_deliveries WHERE project_id = \(b.text(projectID)) AND rule_id = \(b.text(ruleID)) \
            ORDER BY created_at DESC, id DESC LIMIT \(b.int(Int64(max(1, min(limit, 1000)))))
            """
        return b.statement(sql)
    }

    public static func due(now: Date, limit: Int, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            SELECT \(deliveryColumns) FROM alert_deliveries WHERE status = 'pending' AND next_attempt_at <= \(b.date(now)) \
            ORDER BY next_attempt_at, id LIMIT \(b.int(Int64(max(1, limit))))
            """
        return b.statement(sql)
    }

    public static func delivery(_ row: any Reader) throws -> AlertDelivery {
        AlertDelivery(
            id: try row.text("id") ?? "", projectID: try row.text("project_id") ?? "", ruleID: try row.text("rule_id") ?? "",
            eventID: try row.text("event_id") ?? "", url: try row.text("url") ?? "",
            format: AlertDestination.Format(rawValue: try row.text("format") ?? "") ?? .json, body: try row.text("body") ?? "",
            status: AlertDeliveryStatus(rawValue: try row.text("status") ?? "") ?? .failed, attempts: Int(try row.int("attempts") ?? 0),
            nextAttemptAt: Timestamp.date(try row.int("next_attempt_at") ?? 0), responseStatus: try row.int("response_status").map { Int($0) },
            lastError: try row.text("last_error"), createdAt: Timestamp.date(try row.int("created_at") ?? 0),
            deliveredAt: try row.int("delivered_at").map(Timestamp.date))
    }

    /// Old history and finished deliveries.
    public static func prune(before cutoff: Date, _ dialect: SQLDialect) -> [Statement] {
        var events = Builder(dialect: dialect)
        let first = "DELETE FROM alert_events WHERE at < \(events.date(cutoff))"
        var deliveries = Builder(dialect: dialect)
        let second = "DELETE FROM alert_deliveries WHERE status <> 'pending' AND created_at < \(deliveries.date(cutoff))"
        return [events.statement(first), deliveries.statement(second)]
    }
}
