import Foundation
import GRDB
import TernCore

struct SQLiteResponseCache: ResponseCacheRepository {
    let pool: DatabasePool

    func get(projectID: String, key: String, now: Date) async throws -> CachedValue? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT value, expires_at FROM response_cache WHERE project_id = ? AND cache_key = ? AND expires_at > ?",
                arguments: [projectID, key, Timestamp.micros(now)]
            ).map { CachedValue(value: $0["value"], expiresAt: $0.date("expires_at")) }
        }
    }

    func put(projectID: String, key: String, value: Data, expiresAt: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO response_cache (project_id, cache_key, value, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (project_id, cache_key) DO UPDATE SET value = excluded.value, created_at = excluded.created_at, expires_at = excluded.expires_at
                    """, arguments: [projectID, key, value, Timestamp.micros(Date()), Timestamp.micros(expiresAt)])
        }
    }

    func purgeExpired(now: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM response_cache WHERE expires_at <= ?", arguments: [Timestamp.micros(now)])
            return db.changesCount
        }
    }
}
