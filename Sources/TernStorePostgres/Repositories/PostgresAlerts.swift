import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

/// Alert rules, their history and deliveries; the SQL is shared with SQLite (`AlertSQL`).
struct PostgresAlerts: AlertRepository, PostgresNamedRepository {
    let client: PostgresClient
    let logger: Logger
    let records: PostgresNamedRecords<AlertRule>

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        records = PostgresNamedRecords(client: client, logger: logger, records: AlertSQL.records, read: AlertSQL.rule)
    }

    func rows<T>(_ statement: AlertSQL.Statement, _ map: (any AlertSQL.Reader) throws -> T) async throws -> [T] { try await records.fetch(statement, map) }
    func run(_ statement: AlertSQL.Statement) async throws { try await records.run(statement) }

    func count(_ statement: AlertSQL.Statement) async throws -> Int {
        var statement = statement
        statement.sql += " RETURNING id"
        return try await rows(statement) { _ in 1 }.count
    }

    func create(_ rule: AlertRule) async throws -> AlertRule {
        try await records.create(AlertSQL.insert(rule, .postgres), name: rule.name)
        return rule
    }

    func update(_ rule: AlertRule) async throws -> AlertRule {
        try await records.update(AlertSQL.update(rule, .postgres), id: rule.id, name: rule.name)
        return rule
    }

    func write(_ statements: [AlertSQL.Statement]) async throws { try await records.write(statements) }

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
