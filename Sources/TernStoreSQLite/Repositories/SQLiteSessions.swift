import Foundation
import GRDB
import TernCore

struct SQLiteSessions: SessionRepository {
    let pool: DatabasePool

    static func session(_ row: Row) -> WebSession {
        WebSession(id: row["id"], userID: row["user_id"], createdAt: row.date("created_at"), expiresAt: row.date("expires_at"))
    }

    func create(userID: String, tokenHash: String, expiresAt: Date) async throws -> WebSession {
        let session = WebSession(
            id: TernID.make(), userID: userID, createdAt: Timestamp.now(),
            expiresAt: Timestamp.date(Timestamp.micros(expiresAt)))
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO web_sessions (id, user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [session.id, userID, tokenHash, Timestamp.micros(session.createdAt), Timestamp.micros(session.expiresAt)])
        }
        return session
    }

    func find(tokenHash: String, now: Date) async throws -> WebSession? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT id, user_id, created_at, expires_at FROM web_sessions WHERE token_hash = ? AND expires_at > ?",
                arguments: [tokenHash, Timestamp.micros(now)]
            ).map(Self.session)
        }
    }

    func delete(id: String) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM web_sessions WHERE id = ?", arguments: [id]) }
    }

    func deleteAll(userID: String) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM web_sessions WHERE user_id = ?", arguments: [userID]) }
    }

    func purgeExpired(now: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM web_sessions WHERE expires_at <= ?", arguments: [Timestamp.micros(now)])
            return db.changesCount
        }
    }
}
