import Foundation
import GRDB
import TernCore

struct SQLiteProjects: ProjectRepository {
    let pool: DatabasePool
    static let columns = "id, slug, name, created_at, retention_days"

    static func project(_ row: Row) -> Project {
        Project(
            id: row["id"], slug: row["slug"], name: row["name"], createdAt: row.date("created_at"),
            retentionDays: row["retention_days"])
    }

    func create(slug: String, name: String) async throws -> Project {
        let project = Project(id: TernID.make(), slug: slug, name: name, createdAt: Timestamp.now())
        do {
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT INTO projects (id, slug, name, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [project.id, project.slug, project.name, Timestamp.micros(project.createdAt)])
            }
        } catch  where isUniqueViolation(error) {
            throw TernError.conflict("a project with slug \"\(slug)\" already exists", field: "slug")
        }
        return project
    }

    func get(id: String) async throws -> Project? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM projects WHERE id = ?", arguments: [id]).map(Self.project)
        }
    }

    func get(slug: String) async throws -> Project? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM projects WHERE slug = ?", arguments: [slug]).map(Self.project)
        }
    }

    func list() async throws -> [Project] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM projects ORDER BY created_at, id").map(Self.project)
        }
    }

    func count() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM projects") ?? 0 }
    }

    func setRetention(id: String, days: Int?) async throws -> Project? {
        try await pool.write { db in
            try db.execute(sql: "UPDATE projects SET retention_days = ? WHERE id = ?", arguments: [days, id])
            return try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM projects WHERE id = ?", arguments: [id]).map(Self.project)
        }
    }
}
