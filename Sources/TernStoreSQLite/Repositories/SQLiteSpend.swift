import Foundation
import GRDB
import TernCore

struct SQLiteSpend: SpendRepository {
    let pool: DatabasePool

    func add(projectID: String, keyID: String, period: String, amount: Double) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO key_spend (key_id, project_id, period, spent_usd) VALUES (?, ?, ?, ?)
                    ON CONFLICT (key_id, period) DO UPDATE SET spent_usd = spent_usd + excluded.spent_usd
                    """, arguments: [keyID, projectID, period, amount])
        }
    }

    func spent(keyID: String, period: String) async throws -> Double {
        try await pool.read { db in
            try Double.fetchOne(db, sql: "SELECT spent_usd FROM key_spend WHERE key_id = ? AND period = ?", arguments: [keyID, period]) ?? 0
        }
    }
}
