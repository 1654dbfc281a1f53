import Foundation
import Logging
import TernCore
import NIOSSL
import PostgresNIO
import TernStoreSQL

struct PostgresSessions: SessionRepository {
    let client: PostgresClient
    let logger: Logger

    func create(userID: String, tokenHash: String, expiresAt: Date) async throws -> WebSession {
        let session = WebSession(
            id: TernID.make(), userID: userID, createdAt: Timestamp.now(),
            expiresAt: Timestamp.date(Timestamp.micros(expiresAt)))
        try await client.mappedQuery(
            """
            INSERT INTO web_sessions (id, user_id, token_hash, created_at, expires_at)
            VALUES (\(session.id), \(userID), \(tokenHash), \(Timestamp.micros(session.createdAt)), \(Timestamp.micros(session.expiresAt)))
            """, logger: logger)
        return session
    }

    func find(tokenHash: String, now: Date) async throws -> WebSession? {
        try await collect(
            client.mappedQuery(
                "SELECT id, user_id, created_at, expires_at FROM web_sessions WHERE token_hash = \(tokenHash) AND expires_at > \(Timestamp.micros(now))",
                logger: logger)
        ) { row in
            let (id, user, created, expires) = try row.decode((String, String, Int64, Int64).self)
            return WebSession(id: id, userID: user, createdAt: Timestamp.date(created), expiresAt: Timestamp.date(expires))
        }.first
    }

    func delete(id: String) async throws {
        try await client.mappedQuery("DELETE FROM web_sessions WHERE id = \(id)", logger: logger)
    }

    func deleteAll(userID: String) async throws {
        try await client.mappedQuery("DELETE FROM web_sessions WHERE user_id = \(userID)", logger: logger)
    }

    func purgeExpired(now: Date) async throws -> Int {
        try await collect(
            client.mappedQuery(
                "DELETE FROM web_sessions WHERE expires_at <= \(Timestamp.micros(now)) RETURNING id", logger: logger)
        ) {
            try $0.decode(String.self)
        }.count
    }
}
