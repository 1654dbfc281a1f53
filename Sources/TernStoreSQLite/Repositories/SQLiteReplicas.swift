import Foundation
import GRDB
import TernCore
import TernStoreSQL

struct SQLiteReplicas: ReplicaRepository {
    let pool: DatabasePool

    func publishRateUsage(replica: String, minute: Int64, usage: [String: RateUsage]) async throws {
        guard !usage.isEmpty else { return }
        let (sql, values) = ReplicaSQL.publish(replica: replica, minute: minute, usage: usage, dialect: .sqlite)
        try await pool.write { db in try db.execute(sql: sql, arguments: StatementArguments(values.map(\.databaseValue))) }
    }

    func rateUsage(since minute: Int64, excludingReplica replica: String) async throws -> [String: [Int64: RateUsage]] {
        let (sql, values) = ReplicaSQL.usage(since: minute, excluding: replica, dialect: .sqlite)
        return try await pool.read { db in
            var out: [String: [Int64: RateUsage]] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values.map(\.databaseValue))) {
                out[row[0], default: [:]][row[1]] = RateUsage(requests: row[2], tokens: row[3])
            }
            return out
        }
    }

    func purgeRateUsage(before minute: Int64) async throws {
        let (sql, values) = ReplicaSQL.purge(before: minute, dialect: .sqlite)
        try await pool.write { db in try db.execute(sql: sql, arguments: StatementArguments(values.map(\.databaseValue))) }
    }

    func revokedKeys(since: Date) async throws -> [String] {
        let (sql, values) = ReplicaSQL.revoked(since: since, dialect: .sqlite)
        return try await pool.read { db in try String.fetchAll(db, sql: sql, arguments: StatementArguments(values.map(\.databaseValue))) }
    }
}
