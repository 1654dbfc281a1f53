import Foundation
import GRDB
import TernCore

struct SQLiteUsers: UserRepository {
    let pool: DatabasePool

    func create(email: String, name: String, role: Role, passwordHash: String) async throws -> User {
        let user = User(id: TernID.make(), email: email, name: name, role: role, createdAt: Timestamp.now())
        do {
            try await pool.write { db in try UserRecord(user, passwordHash: passwordHash).insert(db) }
        } catch  where isUniqueViolation(error) {
            throw TernError.conflict("a user with e-mail \"\(email)\" already exists", field: "email")
        }
        return user
    }

    func get(id: String) async throws -> User? {
        try await pool.read { db in try UserRecord.fetchOne(db, key: id)?.user }
    }

    func get(email: String) async throws -> User? {
        try await pool.read { db in try UserRecord.filter(UserRecord.Columns.email == email).fetchOne(db)?.user }
    }

    func list() async throws -> [User] {
        try await pool.read { db in try UserRecord.order(UserRecord.Columns.createdAt, UserRecord.Columns.id).fetchAll(db).map(\.user) }
    }

    func count() async throws -> Int {
        try await pool.read { db in try UserRecord.fetchCount(db) }
    }

    func passwordHash(userID: String) async throws -> String? {
        try await pool.read { db in try UserRecord.fetchOne(db, key: userID)?.passwordHash }
    }

    func update(id: String, name: String?, role: Role?, passwordHash: String?, disabled: Bool?) async throws -> User? {
        try await pool.write { db in
            guard var record = try UserRecord.fetchOne(db, key: id) else { return nil }
            if let name { record.name = name }
            if let role { record.role = role.rawValue }
            if let passwordHash { record.passwordHash = passwordHash }
            if let disabled {
                // Disabling keeps the first time it happened.
                record.disabledAt = disabled ? (record.disabledAt ?? Timestamp.micros(Timestamp.now())) : nil
            }
            try record.update(db)
            return record.user
        }
    }
}
