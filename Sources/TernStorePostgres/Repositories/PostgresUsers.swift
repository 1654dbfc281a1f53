import Foundation
import Logging
import TernCore
import NIOSSL
import PostgresNIO
import TernStoreSQL

struct PostgresUsers: UserRepository {
    let client: PostgresClient
    let logger: Logger

    static func user(_ row: PostgresRow) throws -> User {
        let (id, email, name, role, created, disabled) = try row.decode((String, String, String, String, Int64, Int64?).self)
        return User(
            id: id, email: email, name: name, role: Role(rawValue: role) ?? .viewer,
            createdAt: Timestamp.date(created), disabledAt: disabled.date)
    }

    func create(email: String, name: String, role: Role, passwordHash: String) async throws -> User {
        let user = User(id: TernID.make(), email: email, name: name, role: role, createdAt: Timestamp.now())
        do {
            try await client.mappedQuery(
                """
                INSERT INTO users (id, email, name, role, password_hash, created_at)
                VALUES (\(user.id), \(email), \(name), \(role.rawValue), \(passwordHash), \(Timestamp.micros(user.createdAt)))
                """, logger: logger)
        } catch  where isUniqueViolation(error) {
            throw TernError.conflict("a user with e-mail \"\(email)\" already exists", field: "email")
        }
        return user
    }

    func get(id: String) async throws -> User? {
        try await collect(
            client.mappedQuery(
                "SELECT id, email, name, role, created_at, disabled_at FROM users WHERE id = \(id)", logger: logger), Self.user
        ).first
    }

    func get(email: String) async throws -> User? {
        try await collect(
            client.mappedQuery(
                "SELECT id, email, name, role, created_at, disabled_at FROM users WHERE email = \(email)", logger: logger), Self.user
        ).first
    }

    func list() async throws -> [User] {
        try await collect(
            client.mappedQuery(
                "SELECT id, email, name, role, created_at, disabled_at FROM users ORDER BY created_at, id", logger: logger), Self.user)
    }

    func count() async throws -> Int {
        try await collect(client.mappedQuery("SELECT COUNT(*) FROM users", logger: logger)) { try $0.decode(Int.self) }.first ?? 0
    }

    func passwordHash(userID: String) async throws -> String? {
        try await collect(client.mappedQuery("SELECT password_hash FROM users WHERE id = \(userID)", logger: logger)) {
            try $0.decode(String.self)
        }.first
    }

    func update(id: String, name: String?, role: Role?, passwordHash: String?, disabled: Bool?) async throws -> User? {
        let disabledAt: Int64? = disabled == true ? Timestamp.micros(Timestamp.now()) : nil
        try await client.mappedQuery(
            """
            UPDATE users SET
                name = COALESCE(\(name)::text, name),
                role = COALESCE(\(role?.rawValue)::text, role),
                password_hash = COALESCE(\(passwordHash)::text, password_hash),
                disabled_at = CASE WHEN \(disabled)::boolean IS NULL THEN disabled_at
                                   WHEN \(disabled)::boolean THEN COALESCE(disabled_at, \(disabledAt)::bigint)
                                   ELSE NULL END
            WHERE id = \(id)
            """, logger: logger)
        return try await get(id: id)
    }
}
