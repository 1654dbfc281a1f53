import Foundation
import GRDB
import TernCore

/// A row of `users`, its password hash included (it never leaves the store but through `passwordHash`).
struct UserRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "users"
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    enum Columns {
        static let email = Column("email")
        static let createdAt = Column("created_at")
        static let id = Column("id")
    }

    var id: String
    var email: String
    var name: String
    var role: String
    var passwordHash: String
    var createdAt: Int64
    var disabledAt: Int64?

    init(_ user: User, passwordHash: String) {
        id = user.id
        email = user.email
        name = user.name
        role = user.role.rawValue
        self.passwordHash = passwordHash
        createdAt = Timestamp.micros(user.createdAt)
        disabledAt = user.disabledAt.map(Timestamp.micros)
    }

    var user: User {
        User(
            id: id, email: email, name: name, role: Role(rawValue: role) ?? .viewer, createdAt: Timestamp.date(createdAt),
            disabledAt: disabledAt.map(Timestamp.date))
    }
}
