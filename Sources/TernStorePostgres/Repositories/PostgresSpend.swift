import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

struct PostgresSpend: SpendRepository {
    let client: PostgresClient
    let logger: Logger

    func add(projectID: String, keyID: String, period: String, amount: Double) async throws {
        try await client.mappedQuery(
            """
            INSERT INTO key_spend (key_id, project_id, period, spent_usd) VALUES (\(keyID), \(projectID), \(period), \(amount))
            ON CONFLICT (key_id, period) DO UPDATE SET spent_usd = key_spend.spent_usd + EXCLUDED.spent_usd
            """, logger: logger)
    }

    func spent(keyID: String, period: String) async throws -> Double {
        try await collect(
            client.mappedQuery(
                "SELECT spent_usd FROM key_spend WHERE key_id = \(keyID) AND period = \(period)", logger: logger)
        ) {
            try $0.decode(Double.self)
        }.first ?? 0
    }
}
