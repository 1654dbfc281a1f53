import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

/// Gated prompt promotions; the SQL is shared with SQLite (`PromotionSQL`).
struct PostgresPromotions: PromotionRepository {
    let client: PostgresClient
    let logger: Logger

    func record(_ promotion: PromptPromotion) async throws {
        try await client.mappedQuery(PostgresExperiments.query(PromotionSQL.insert(promotion, .postgres)), logger: logger)
    }

    func list(projectID: String, prompt: String, limit: Int) async throws -> [PromptPromotion] {
        try await PostgresExperiments.rows(
            client.mappedQuery(PostgresExperiments.query(PromotionSQL.list(projectID: projectID, prompt: prompt, limit: limit, .postgres)), logger: logger),
            PromotionSQL.promotion)
    }
}
