import Foundation
import GRDB
import TernCore

struct SQLiteProjects: ProjectRepository {
    let pool: DatabasePool

    func create(slug: String, name: String) async throws -> Project {
        let project = Project(id: TernID.make(), slug: slug, name: name, createdAt: Timestamp.now())
        do {
            try await pool.write { db in try ProjectRecord(project).insert(db) }
        } catch  where isUniqueViolation(error) {
            throw TernError.conflict("a project with slug \"\(slug)\" already exists", field: "slug")
        }
        return project
    }

    func get(id: String) async throws -> Project? {
        try await pool.read { db in try ProjectRecord.fetchOne(db, key: id)?.project }
    }

    func get(slug: String) async throws -> Project? {
        try await pool.read { db in try ProjectRecord.filter(ProjectRecord.Columns.slug == slug).fetchOne(db)?.project }
    }

    func list() async throws -> [Project] {
        try await pool.read { db in
            try ProjectRecord.order(ProjectRecord.Columns.createdAt, ProjectRecord.Columns.id).fetchAll(db).map(\.project)
        }
    }

    func count() async throws -> Int {
        try await pool.read { db in try ProjectRecord.fetchCount(db) }
    }

    func setRetention(id: String, days: Int?) async throws -> Project? {
        try await pool.write { db in
            guard var record = try ProjectRecord.fetchOne(db, key: id) else { return nil }
            record.retentionDays = days
            try record.update(db)
            return record.project
        }
    }
}
