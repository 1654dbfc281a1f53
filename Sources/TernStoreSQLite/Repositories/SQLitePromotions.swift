import Foundation
import GRDB
import TernCore
import TernStoreSQL

/// Gated prompt promotions; the SQL is shared with PostgreSQL (`PromotionSQL`).
struct SQLitePromotions: PromotionRepository {
    let pool: DatabasePool

    func record(_ promotion: PromptPromotion) async throws {
        try await pool.write { db in try SQLiteWatchers.execute(db, PromotionSQL.insert(promotion, .sqlite)) }
    }

    func list(projectID: String, prompt: String, limit: Int) async throws -> [PromptPromotion] {
        try await pool.read { db in
            try SQLiteWatchers.fetch(db, PromotionSQL.list(projectID: projectID, prompt: prompt, limit: limit, .sqlite), PromotionSQL.promotion)
        }
    }
}
