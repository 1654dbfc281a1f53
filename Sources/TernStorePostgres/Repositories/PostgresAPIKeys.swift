import Foundation
import Logging
import TernCore
import NIOSSL
import PostgresNIO
import TernStoreSQL

struct PostgresAPIKeys: APIKeyRepository {
    let client: PostgresClient
    let logger: Logger
    static let columns =
        "id, project_id, name, prefix, role, created_at, created_by, last_used_at, revoked_at, rpm_limit, tpm_limit, budget_usd, budget_period, scopes"

    static func key(_ row: PostgresRow) throws -> APIKey {
        let (id, project, name, prefix, roleName, created, createdBy, lastUsed, revoked, rpm, tpm, budget, period, scopes) = try row.decode(
            (String, String, String, String, String, Int64, String?, Int64?, Int64?, Int?, Int?, Double?, String, String?).self)
        let role = Role(rawValue: roleName) ?? .viewer
        return APIKey(
            id: id, projectID: project, name: name, prefix: prefix, role: role,
            createdAt: Timestamp.date(created), createdBy: createdBy, lastUsedAt: lastUsed.date, revokedAt: revoked.date,
            limits: KeyLimits(
                requestsPerMinute: rpm, tokensPerMinute: tpm, budgetUSD: budget,
                budgetPeriod: BudgetPeriod(rawValue: period) ?? .month),
            scopes: KeyScope.decode(scopes, role: role))
    }

    func create(
        projectID: String, name: String, role: Role, keyHash: String, prefix: String, createdBy: String?, limits: KeyLimits,
        scopes: [KeyScope]?
    ) async throws -> APIKey {
        let key = APIKey(
            id: TernID.make(), projectID: projectID, name: name, prefix: prefix, role: role,
            createdAt: Timestamp.now(), createdBy: createdBy, limits: limits, scopes: scopes)
        let inserted = try await collect(
            client.mappedQuery(
                """
                INSERT INTO api_keys (id, project_id, name, prefix, key_hash, role, created_at, created_by, rpm_limit, tpm_limit, budget_usd, budget_period,
                                      scopes)
                SELECT \(key.id), id, \(name), \(prefix), \(keyHash), \(role.rawValue), \(Timestamp.micros(key.createdAt)), \(createdBy)::text,
                       \(limits.requestsPerMinute)::integer, \(limits.tokensPerMinute)::integer, \(limits.budgetUSD)::double precision,
                       \(limits.budgetPeriod.rawValue), \(KeyScope.encode(key.scopes))
                FROM projects WHERE id = \(projectID)
                RETURNING id
                """, logger: logger)
        ) { try $0.decode(String.self) }
        guard !inserted.isEmpty else { throw TernError.notFound("project \(projectID)", field: "project") }
        return key
    }

    func setLimits(projectID: String, id: String, limits: KeyLimits) async throws -> APIKey? {
        try await client.mappedQuery(
            """
            UPDATE api_keys SET rpm_limit = \(limits.requestsPerMinute)::integer, tpm_limit = \(limits.tokensPerMinute)::integer,
                   budget_usd = \(limits.budgetUSD)::double precision, budget_period = \(limits.budgetPeriod.rawValue)
            WHERE project_id = \(projectID) AND id = \(id)
            """, logger: logger)
        return try await get(projectID: projectID, id: id)
    }

    func find(hash: String) async throws -> APIKey? {
        try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.columns) FROM api_keys WHERE key_hash = \(hash)", logger: logger), Self.key
        ).first
    }

    func get(projectID: String, id: String) async throws -> APIKey? {
        try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.columns) FROM api_keys WHERE project_id = \(projectID) AND id = \(id)", logger: logger), Self.key
        ).first
    }

    func list(projectID: String) async throws -> [APIKey] {
        try await collect(
            client.mappedQuery(
                "SELECT \(unescaped: Self.columns) FROM api_keys WHERE project_id = \(projectID) ORDER BY created_at, id", logger: logger), Self.key)
    }

    func revoke(projectID: String, id: String, at: Date) async throws -> APIKey? {
        try await client.mappedQuery(
            "UPDATE api_keys SET revoked_at = \(Timestamp.micros(at)) WHERE project_id = \(projectID) AND id = \(id) AND revoked_at IS NULL",
            logger: logger)
        return try await get(projectID: projectID, id: id)
    }

    func touch(id: String, at: Date) async throws {
        let micros = Timestamp.micros(at)
        try await client.mappedQuery(
            "UPDATE api_keys SET last_used_at = \(micros) WHERE id = \(id) AND (last_used_at IS NULL OR last_used_at < \(micros))",
            logger: logger)
    }
}
