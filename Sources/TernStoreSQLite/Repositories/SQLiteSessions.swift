import Foundation
import GRDB
import TernCore

struct SQLiteSessions: SessionRepository {
    let pool: DatabasePool

    func create(userID: String, tokenHash: String, expiresAt: Date) async throws -> WebSession {
        let session = WebSession(
            id: TernID.make(), userID: userID, createdAt: Timestamp.now(),
            expiresAt: Timestamp.date(Timestamp.micros(expiresAt)))
        try await pool.write { db in try WebSessionRecord(session, tokenHash: tokenHash).insert(db) }
        return session
    }

    func find(tokenHash: String, now: Date) async throws -> WebSession? {
        try await pool.read { db in
            try WebSessionRecord
                .filter(WebSessionRecord.Columns.tokenHash == tokenHash && WebSessionRecord.Columns.expiresAt > Timestamp.micros(now))
                .fetchOne(db)?.session
        }
    }

    func delete(id: String) async throws {
        _ = try await pool.write { db in try WebSessionRecord.deleteOne(db, key: id) }
    }

    func deleteAll(userID: String) async throws {
        _ = try await pool.write { db in try WebSessionRecord.filter(WebSessionRecord.Columns.userID == userID).deleteAll(db) }
    }

    func purgeExpired(now: Date) async throws -> Int {
        try await pool.write { db in try WebSessionRecord.filter(WebSessionRecord.Columns.expiresAt <= Timestamp.micros(now)).deleteAll(db) }
    }
}
