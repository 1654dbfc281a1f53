import Foundation
import Logging
import TernCore
import NIOSSL
import PostgresNIO
import TernStoreSQL

struct PostgresReplicas: ReplicaRepository {
    let client: PostgresClient
    let logger: Logger

    func publishRateUsage(replica: String, minute: Int64, usage: [String: RateUsage]) async throws {
        guard !usage.isEmpty else { return }
        let (sql, values) = ReplicaSQL.publish(replica: replica, minute: minute, usage: usage, dialect: .postgres)
        try await client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger)
    }

    func rateUsage(since minute: Int64, excludingReplica replica: String) async throws -> [String: [Int64: RateUsage]] {
        let (sql, values) = ReplicaSQL.usage(since: minute, excluding: replica, dialect: .postgres)
        var out: [String: [Int64: RateUsage]] = [:]
        for row in try await collect(
            client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger), { try $0.decode((String, Int64, Int64, Int64).self) })
        {
            out[row.0, default: [:]][row.1] = RateUsage(requests: Int(row.2), tokens: Int(row.3))
        }
        return out
    }

    func purgeRateUsage(before minute: Int64) async throws {
        let (sql, values) = ReplicaSQL.purge(before: minute, dialect: .postgres)
        try await client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger)
    }

    func revokedKeys(since: Date) async throws -> [String] {
        let (sql, values) = ReplicaSQL.revoked(since: since, dialect: .postgres)
        return try await collect(client.mappedQuery(PostgresQuery(sql: sql, values: values), logger: logger)) { try $0.decode(String.self) }
    }
}
