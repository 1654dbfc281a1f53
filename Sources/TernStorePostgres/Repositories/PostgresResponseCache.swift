import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

struct PostgresResponseCache: ResponseCacheRepository {
    let client: PostgresClient
    let logger: Logger

    func get(projectID: String, key: String, now: Date) async throws -> CachedValue? {
        try await collect(
            client.mappedQuery(
                """
                SELECT value, expires_at FROM response_cache
                WHERE project_id = \(projectID) AND cache_key = \(key) AND expires_at > \(Timestamp.micros(now))
                """,
                logger: logger)
        ) { row in
            var (buffer, expires) = try row.decode((ByteBuffer, Int64).self)
            return CachedValue(value: buffer.readData(length: buffer.readableBytes) ?? Data(), expiresAt: Timestamp.date(expires))
        }.first
    }

    func put(projectID: String, key: String, value: Data, expiresAt: Date) async throws {
        try await client.mappedQuery(
            """
            INSERT INTO response_cache (project_id, cache_key, value, created_at, expires_at)
            VALUES (\(projectID), \(key), \(ByteBuffer(bytes: value)), \(Timestamp.micros(Date())), \(Timestamp.micros(expiresAt)))
            ON CONFLICT (project_id, cache_key) DO UPDATE SET value = EXCLUDED.value, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
            """, logger: logger)
    }

    func purgeExpired(now: Date) async throws -> Int {
        try await collect(
            client.mappedQuery(
                "DELETE FROM response_cache WHERE expires_at <= \(Timestamp.micros(now)) RETURNING cache_key", logger: logger)
        ) {
            try $0.decode(String.self)
        }.count
    }
}
