import Foundation
import GRDB
import TernCore

struct SQLiteAPIKeys: APIKeyRepository {
    let pool: DatabasePool

    func create(
        projectID: String, name: String, role: Role, keyHash: String, prefix: String, createdBy: String?, limits: KeyLimits,
        scopes: [KeyScope]?
    ) async throws -> APIKey {
        let key = APIKey(
            id: TernID.make(), projectID: projectID, name: name, prefix: prefix, role: role,
            createdAt: Timestamp.now(), createdBy: createdBy, limits: limits, scopes: scopes)
        try await pool.write { db in
            guard try ProjectRecord.exists(db, key: projectID) else {
                throw TernError.notFound("project \(projectID)", field: "project")
            }
            try APIKeyRecord(key, keyHash: keyHash).insert(db)
        }
        return key
    }

    /// The key `id` of the project, or nil.
    private static func record(_ db: Database, projectID: String, id: String) throws -> APIKeyRecord? {
        try APIKeyRecord.filter(APIKeyRecord.Columns.projectID == projectID && APIKeyRecord.Columns.id == id).fetchOne(db)
    }

    func setLimits(projectID: String, id: String, limits: KeyLimits) async throws -> APIKey? {
        try await pool.write { db in
            guard var record = try Self.record(db, projectID: projectID, id: id) else { return nil }
            record.rpmLimit = limits.requestsPerMinute
            record.tpmLimit = limits.tokensPerMinute
            record.budgetUSD = limits.budgetUSD
            record.budgetPeriod = limits.budgetPeriod.rawValue
            try record.update(db)
            return record.key
        }
    }

    func find(hash: String) async throws -> APIKey? {
        try await pool.read { db in try APIKeyRecord.filter(APIKeyRecord.Columns.keyHash == hash).fetchOne(db)?.key }
    }

    func get(projectID: String, id: String) async throws -> APIKey? {
        try await pool.read { db in try Self.record(db, projectID: projectID, id: id)?.key }
    }

    func list(projectID: String) async throws -> [APIKey] {
        try await pool.read { db in
            try APIKeyRecord.filter(APIKeyRecord.Columns.projectID == projectID)
                .order(APIKeyRecord.Columns.createdAt, APIKeyRecord.Columns.id).fetchAll(db).map(\.key)
        }
    }

    func revoke(projectID: String, id: String, at: Date) async throws -> APIKey? {
        try await pool.write { db in
            guard var record = try Self.record(db, projectID: projectID, id: id) else { return nil }
            if record.revokedAt == nil {
                record.revokedAt = Timestamp.micros(at)
                try record.update(db)
            }
            return record.key
        }
    }

    func touch(id: String, at: Date) async throws {
        // One statement, not a read and a write: keys are touched on the gateway's hot path (batched).
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                arguments: [Timestamp.micros(at), id, Timestamp.micros(at)])
        }
    }
}
