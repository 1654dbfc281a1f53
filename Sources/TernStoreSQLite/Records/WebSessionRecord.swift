import Foundation
import GRDB
import TernCore

/// A row of `web_sessions`: a signed-in browser, known by the hash of its cookie.
struct WebSessionRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "web_sessions"
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    enum Columns {
        static let userID = Column("user_id")
        static let tokenHash = Column("token_hash")
        static let expiresAt = Column("expires_at")
    }

    enum CodingKeys: String, CodingKey {
        case id
        case userID = "userId"
        case tokenHash, createdAt, expiresAt
    }

    var id: String
    var userID: String
    var tokenHash: String
    var createdAt: Int64
    var expiresAt: Int64

    init(_ session: WebSession, tokenHash: String) {
        id = session.id
        userID = session.userID
        self.tokenHash = tokenHash
        createdAt = Timestamp.micros(session.createdAt)
        expiresAt = Timestamp.micros(session.expiresAt)
    }

    var session: WebSession {
        WebSession(id: id, userID: userID, createdAt: Timestamp.date(createdAt), expiresAt: Timestamp.date(expiresAt))
    }
}
