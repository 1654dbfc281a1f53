import Foundation
import GRDB
import TernCore

struct SQLiteUsers: UserRepository {
    let pool: DatabasePool
    static let columns = "id, email, name, role, created_at, disabled_at"

    static func user(_ row: Row) -> User {
        User(
            id: row["id"], email: row["email"], name: row["name"], role: row.role("role"),
            createdAt: row.date("created_at"), disabledAt: row.optionalDate("disabled_at"))
    }

    func create(email: String, name: String, role: Role, passwordHash: String) async throws -> User {
        let user = User(id: TernID.make(), email: email, name: name, role: role, createdAt: Timestamp.now())
        do {
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [user.id, email, name, role.rawValue, passwordHash, Timestamp.micros(user.createdAt)])
            }
        } catch  where isUniqueViolation(error) {
            throw TernError.conflict("a user with e-mail \"\(email)\" already exists", field: "email")
        }
        return user
    }

    func get(id: String) async throws -> User? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM users WHERE id = ?", arguments: [id]).map(Self.user)
        }
    }

    func get(email: String) async throws -> User? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM users WHERE email = ?", arguments: [email]).map(Self.user)
        }
    }

    func list() async throws -> [User] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM users ORDER BY created_at, id").map(Self.user)
        }
    }

    func count() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0 }
    }

    func passwordHash(userID: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT password_hash FROM users WHERE id = ?", arguments: [userID])
        }
    }

    func update(id: String, name: String?, role: Role?, passwordHash: String?, disabled: Bool?) async throws -> User? {
        try await pool.write { db in
            if let name { try db.execute(sql: "UPDATE users SET name = ? WHERE id = ?", arguments: [name, id]) }
            if let role { try db.execute(sql: "UPDATE users SET role = ? WHERE id = ?", arguments: [role.rawValue, id]) }
            if let passwordHash {
                try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [passwordHash, id])
            }
            if let disabled {
                if disabled {
                    try db.execute(
                        sql: "UPDATE users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL",
                        arguments: [Timestamp.micros(Timestamp.now()), id])
                } else {
                    try db.execute(sql: "UPDATE users SET disabled_at = NULL WHERE id = ?", arguments: [id])
                }
            }
            return try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM users WHERE id = ?", arguments: [id]).map(Self.user)
        }
    }
}
