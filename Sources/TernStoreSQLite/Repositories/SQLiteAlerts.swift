import Foundation
import GRDB
import TernCore
import TernStoreSQL

/// Alert rules, their history and deliveries; the SQL is shared with PostgreSQL (`AlertSQL`).
struct SQLiteAlerts: AlertRepository, SQLiteNamedRepository {
    let pool: DatabasePool
    let records: SQLiteNamedRecords<AlertRule>

    init(pool: DatabasePool) {
        self.pool = pool
        records = SQLiteNamedRecords(pool: pool, records: AlertSQL.records, read: AlertSQL.rule)
    }

    static func execute(_ db: Database, _ statement: AlertSQL.Statement) throws { try SQLiteWatchers.execute(db, statement) }

    static func fetch<T>(_ db: Database, _ statement: AlertSQL.Statement, _ map: (any AlertSQL.Reader) throws -> T) throws -> [T] {
        try SQLiteWatchers.fetch(db, statement, map)
    }

    func create(_ rule: AlertRule) async throws -> AlertRule {
        try await records.create(AlertSQL.insert(rule, .sqlite), name: rule.name)
        return rule
    }

    func update(_ rule: AlertRule) async throws -> AlertRule {
        try await records.update(AlertSQL.update(rule, .sqlite), id: rule.id, name: rule.name)
        return rule
    }

    func recordEvaluation(_ rule: AlertRule, event: AlertEvent?, deliveries: [AlertDelivery]) async throws {
        try await pool.write { db in
            try Self.execute(db, AlertSQL.evaluated(rule, .sqlite))
            if let event { try Self.execute(db, AlertSQL.insert(event, .sqlite)) }
            for delivery in deliveries { try Self.execute(db, AlertSQL.insert(delivery, .sqlite)) }
        }
    }

    func recordTest(event: AlertEvent, deliveries: [AlertDelivery]) async throws {
        try await pool.write { db in
            try Self.execute(db, AlertSQL.insert(event, .sqlite))
            for delivery in deliveries { try Self.execute(db, AlertSQL.insert(delivery, .sqlite)) }
        }
    }

    func events(projectID: String, ruleID: String, limit: Int) async throws -> [AlertEvent] {
        try await pool.read { db in try Self.fetch(db, AlertSQL.events(projectID: projectID, ruleID: ruleID, limit: limit, .sqlite), AlertSQL.event) }
    }

    func deliveries(projectID: String, ruleID: String, limit: Int) async throws -> [AlertDelivery] {
        try await pool.read { db in try Self.fetch(db, AlertSQL.deliveries(projectID: projectID, ruleID: ruleID, limit: limit, .sqlite), AlertSQL.delivery) }
    }

    func dueDeliveries(now: Date, limit: Int) async throws -> [AlertDelivery] {
        try await pool.read { db in try Self.fetch(db, AlertSQL.due(now: now, limit: limit, .sqlite), AlertSQL.delivery) }
    }

    func saveDelivery(_ delivery: AlertDelivery) async throws {
        try await pool.write { db in try Self.execute(db, AlertSQL.save(delivery, .sqlite)) }
    }

    func prune(before cutoff: Date) async throws -> Int {
        try await pool.write { db in
            var removed = 0
            for statement in AlertSQL.prune(before: cutoff, .sqlite) {
                try Self.execute(db, statement)
                removed += db.changesCount
            }
            return removed
        }
    }
}
