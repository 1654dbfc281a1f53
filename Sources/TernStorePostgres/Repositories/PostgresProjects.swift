import Foundation
import Logging
import TernCore
import NIOSSL
import PostgresNIO
import TernStoreSQL

struct PostgresProjects: ProjectRepository {
    let client: PostgresClient
    let logger: Logger

    static func project(_ row: PostgresRow) throws -> Project {
        let (id, slug, name, created, retention) = try row.decode((String, String, String, Int64, Int?).self)
        return Project(id: id, slug: slug, name: name, createdAt: Timestamp.date(created), retentionDays: retention)
    }

    func create(slug: String, name: String) async throws -> Project {
        let project = Project(id: TernID.make(), slug: slug, name: name, createdAt: Timestamp.now())
        do {
            try await client.mappedQuery(
                "INSERT INTO projects (id, slug, name, created_at) VALUES (\(project.id), \(slug), \(name), \(Timestamp.micros(project.createdAt)))",
                logger: logger)
        } catch  where isUniqueViolation(error) {
            throw TernError.conflict("a project with slug \"\(slug)\" already exists", field: "slug")
        }
        return project
    }

    func get(id: String) async throws -> Project? {
        try await collect(
            client.mappedQuery(
                "SELECT id, slug, name, created_at, retention_days FROM projects WHERE id = \(id)", logger: logger), Self.project
        ).first
    }

    func get(slug: String) async throws -> Project? {
        try await collect(
            client.mappedQuery(
                "SELECT id, slug, name, created_at, retention_days FROM projects WHERE slug = \(slug)", logger: logger), Self.project
        ).first
    }

    func list() async throws -> [Project] {
        try await collect(
            client.mappedQuery(
                "SELECT id, slug, name, created_at, retention_days FROM projects ORDER BY created_at, id", logger: logger), Self.project)
    }

    func count() async throws -> Int {
        try await collect(client.mappedQuery("SELECT COUNT(*) FROM projects", logger: logger)) { try $0.decode(Int.self) }.first ?? 0
    }

    func setRetention(id: String, days: Int?) async throws -> Project? {
        try await client.mappedQuery("UPDATE projects SET retention_days = \(days)::integer WHERE id = \(id)", logger: logger)
        return try await get(id: id)
    }
}
