import Foundation
import GRDB
import TernCore
import TernStoreSQL

/// Alert rules, their history and deliveries; the SQL is shared with PostgreSQL (`AlertSQL`).
struct SQLiteAlerts: AlertRepository {
    let pool: DatabasePool

    static func execute(_ db: Database, _ statement: AlertSQL.Statement) throws { try SQLiteWatchers.execute(db, statement) }

    static func fetch<T>(_ db: Database, _ statement: AlertSQL.Statement, _ map: (any AlertSQL.Reader) throws -> T) throws -> [T] {
        try SQLiteWatchers.fetch(db, statement, map)
    }

    func create(_ rule: AlertRule) async throws -> AlertRule {
        do {
            try await pool.write { db in try Self.execute(db, AlertSQL.insert(rule, .sqlite)) }
        } catch  where isUniqueViolation(error) {
            throw TernError.conflict("an alert named \"\(rule.name)\" exists", field: "name")
        }
        return rule
    }

    func get(projectID: String, id: String) async throws -> AlertRule? {
        try await pool.read { db in
            try Self.fetch(db, AlertSQL.select(projectID: projectID, id: id, name: nil, enabledOnly: false, .sqlite), AlertSQL.rule).first
        }
    }

    func get(projectID: String, name: String) async throws -> AlertRule? {
        try await pool.read { db in
            try Self.fetch(db, AlertSQL.select(projectID: projectID, id: nil, name: name, enabledOnly: false, .sqlite), AlertSQL.rule).first
        }
    }

    func list(projectID: String) async throws -> [AlertRule] {
        try await pool.read { db in try Self.fetch(db, AlertSQL.select(projectID: projectID, id: nil, name: nil, enabledOnly: false, .sqlite), AlertSQL.rule) }
    }

    func listEnabled() async throws -> [AlertRule] {
        try await pool.read { db in try Self.fetch(db, AlertSQL.select(projectID: nil, id: nil, name: nil, enabledOnly: true, .sqlite), AlertSQL.rule) }
    }

    func update(_ rule: AlertRule) async throws -> AlertRule {
        do {
            let changed = try await pool.write { db -> Int in
                try Self.execute(db, AlertSQL.update(rule, .sqlite))
                return db.changesCount
            }
            guard changed > 0 else { throw TernError.notFound("alert \(rule.id)") }
        } catch  where isUniqueViolation(error) {
            throw TernError.conflict("an alert named \"\(rule.name)\" exists", field: "name")
        }
        return rule
    }

    func delete(projectID: String, id: String) async throws -> Bool {
        try await pool.write { db in
            var changed = 0
            for statement in AlertSQL.delete(projectID: projectID, id: id, .sqlite) {
                try Self.execute(db, statement)
                changed = db.changesCount
            }
            return changed > 0
        }
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
