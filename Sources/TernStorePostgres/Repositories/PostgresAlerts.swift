import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

/// Alert rules, their history and deliveries; the SQL is shared with SQLite (`AlertSQL`).
struct PostgresAlerts: AlertRepository {
    let client: PostgresClient
    let logger: Logger
    let experiments: PostgresExperiments

    func rows<T>(_ statement: AlertSQL.Statement, _ map: (any AlertSQL.Reader) throws -> T) async throws -> [T] {
        try await PostgresExperiments.rows(client.mappedQuery(PostgresExperiments.query(statement), logger: logger), map)
    }

    func run(_ statement: AlertSQL.Statement) async throws {
        try await client.mappedQuery(PostgresExperiments.query(statement), logger: logger)
    }

    func count(_ statement: AlertSQL.Statement) async throws -> Int {
        var statement = statement
        statement.sql += " RETURNING id"
        return try await rows(statement) { _ in 1 }.count
    }

    func create(_ rule: AlertRule) async throws -> AlertRule {
        do {
            try await run(AlertSQL.insert(rule, .postgres))
        } catch let error as TernError where error.code == "unique_violation" {
            throw TernError.conflict("an alert named \"\(rule.name)\" exists", field: "name")
        }
        return rule
    }

    func get(projectID: String, id: String) async throws -> AlertRule? {
        try await rows(AlertSQL.select(projectID: projectID, id: id, name: nil, enabledOnly: false, .postgres), AlertSQL.rule).first
    }

    func get(projectID: String, name: String) async throws -> AlertRule? {
        try await rows(AlertSQL.select(projectID: projectID, id: nil, name: name, enabledOnly: false, .postgres), AlertSQL.rule).first
    }

    func list(projectID: String) async throws -> [AlertRule] {
        try await rows(AlertSQL.select(projectID: projectID, id: nil, name: nil, enabledOnly: false, .postgres), AlertSQL.rule)
    }

    func listEnabled() async throws -> [AlertRule] {
        try await rows(AlertSQL.select(projectID: nil, id: nil, name: nil, enabledOnly: true, .postgres), AlertSQL.rule)
    }

    func update(_ rule: AlertRule) async throws -> AlertRule {
        do {
            guard try await count(AlertSQL.update(rule, .postgres)) > 0 else { throw TernError.notFound("alert \(rule.id)") }
        } catch let error as TernError where error.code == "unique_violation" {
            throw TernError.conflict("an alert named \"\(rule.name)\" exists", field: "name")
        }
        return rule
    }

    func delete(projectID: String, id: String) async throws -> Bool {
        let statements = AlertSQL.delete(projectID: projectID, id: id, .postgres)
        return try await experiments.transaction { connection in
            for statement in statements.dropLast() { try await connection.query(PostgresExperiments.query(statement), logger: logger) }
            var last = statements[statements.count - 1]
            last.sql += " RETURNING id"
            var deleted = false
            for try await _ in try await connection.query(PostgresExperiments.query(last), logger: logger) { deleted = true }
            return deleted
        }
    }

    func write(_ statements: [AlertSQL.Statement]) async throws {
        try await experiments.transaction { connection in
            for statement in statements { try await connection.query(PostgresExperiments.query(statement), logger: logger) }
        }
    }

    func recordEvaluation(_ rule: AlertRule, event: AlertEvent?, deliveries: [AlertDelivery]) async throws {
        try await write(
            [AlertSQL.evaluated(rule, .postgres)] + (event.map { [AlertSQL.insert($0, .postgres)] } ?? [])
                + deliveries.map { AlertSQL.insert($0, .postgres) })
    }

    func recordTest(event: AlertEvent, deliveries: [AlertDelivery]) async throws {
        try await write([AlertSQL.insert(event, .postgres)] + deliveries.map { AlertSQL.insert($0, .postgres) })
    }

    func events(projectID: String, ruleID: String, limit: Int) async throws -> [AlertEvent] {
        try await rows(AlertSQL.events(projectID: projectID, ruleID: ruleID, limit: limit, .postgres), AlertSQL.event)
    }

    func deliveries(projectID: String, ruleID: String, limit: Int) async throws -> [AlertDelivery] {
        try await rows(AlertSQL.deliveries(projectID: projectID, ruleID: ruleID, limit: limit, .postgres), AlertSQL.delivery)
    }

    func dueDeliveries(now: Date, limit: Int) async throws -> [AlertDelivery] {
        try await rows(AlertSQL.due(now: now, limit: limit, .postgres), AlertSQL.delivery)
    }

    func saveDelivery(_ delivery: AlertDelivery) async throws {
        try await run(AlertSQL.save(delivery, .postgres))
    }

    func prune(before cutoff: Date) async throws -> Int {
        var removed = 0
        for statement in AlertSQL.prune(before: cutoff, .postgres) { removed += try await count(statement) }
        return removed
    }
}
