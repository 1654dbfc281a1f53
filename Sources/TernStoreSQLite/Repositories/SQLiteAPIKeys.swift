import Foundation
import GRDB
import TernCore

struct SQLiteAPIKeys: APIKeyRepository {
    let pool: DatabasePool
    static let columns =
        "id, project_id, name, prefix, role, created_at, created_by, last_used_at, revoked_at, rpm_limit, tpm_limit, budget_usd, budget_period, scopes"

    static func key(_ row: Row) -> APIKey {
        let role = row.role("role")
        return APIKey(
            id: row["id"], projectID: row["project_id"], name: row["name"], prefix: row["prefix"],
            role: role, createdAt: row.date("created_at"), createdBy: row["created_by"],
            lastUsedAt: row.optionalDate("last_used_at"), revokedAt: row.optionalDate("revoked_at"),
            limits: KeyLimits(
                requestsPerMinute: row["rpm_limit"], tokensPerMinute: row["tpm_limit"], budgetUSD: row["budget_usd"],
                budgetPeriod: BudgetPeriod(rawValue: row["budget_period"] ?? "month") ?? .month),
            scopes: KeyScope.decode(row["scopes"], role: role))
    }

    func create(
        projectID: String, name: String, role: Role, keyHash: String, prefix: String, createdBy: String?, limits: KeyLimits,
        scopes: [KeyScope]?
    ) async throws -> APIKey {
        let key = APIKey(
            id: TernID.make(), projectID: projectID, name: name, prefix: prefix, role: role,
            createdAt: Timestamp.now(), createdBy: createdBy, limits: limits, scopes: scopes)
        try await pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM projects WHERE id = ?", arguments: [projectID]) != nil else {
                throw TernError.notFound("project \(projectID)", field: "project")
            }
            try db.execute(
                sql: """
                    INSERT INTO api_keys (id, project_id, name, prefix, key_hash, role, created_at, created_by,
                                          rpm_limit, tpm_limit, budget_usd, budget_period, scopes)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.id, projectID, name, prefix, keyHash, role.rawValue, Timestamp.micros(key.createdAt), createdBy,
                    limits.requestsPerMinute, limits.tokensPerMinute, limits.budgetUSD, limits.budgetPeriod.rawValue,
                    KeyScope.encode(key.scopes),
                ])
        }
        return key
    }

    func setLimits(projectID: String, id: String, limits: KeyLimits) async throws -> APIKey? {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE api_keys SET rpm_limit = ?, tpm_limit = ?, budget_usd = ?, budget_period = ? WHERE project_id = ? AND id = ?",
                arguments: [limits.requestsPerMinute, limits.tokensPerMinute, limits.budgetUSD, limits.budgetPeriod.rawValue, projectID, id])
            return try Row.fetchOne(
                db, sql: "SELECT \(Self.columns) FROM api_keys WHERE project_id = ? AND id = ?",
                arguments: [projectID, id]
            ).map(Self.key)
        }
    }

    func find(hash: String) async throws -> APIKey? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM api_keys WHERE key_hash = ?", arguments: [hash]).map(Self.key)
        }
    }

    func get(projectID: String, id: String) async throws -> APIKey? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.columns) FROM api_keys WHERE project_id = ? AND id = ?",
                arguments: [projectID, id]
            ).map(Self.key)
        }
    }

    func list(projectID: String) async throws -> [APIKey] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.columns) FROM api_keys WHERE project_id = ? ORDER BY created_at, id",
                arguments: [projectID]
            ).map(Self.key)
        }
    }

    func revoke(projectID: String, id: String, at: Date) async throws -> APIKey? {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE api_keys SET revoked_at = ? WHERE project_id = ? AND id = ? AND revoked_at IS NULL",
                arguments: [Timestamp.micros(at), projectID, id])
            return try Row.fetchOne(
                db, sql: "SELECT \(Self.columns) FROM api_keys WHERE project_id = ? AND id = ?",
                arguments: [projectID, id]
            ).map(Self.key)
        }
    }

    func touch(id: String, at: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                arguments: [Timestamp.micros(at), id, Timestamp.micros(at)])
        }
    }
}
