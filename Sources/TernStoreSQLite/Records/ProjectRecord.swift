import Foundation
import GRDB
import TernCore

/// A row of `projects`.
struct ProjectRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "projects"
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    enum Columns {
        static let slug = Column("slug")
        static let createdAt = Column("created_at")
        static let id = Column("id")
    }

    var id: String
    var slug: String
    var name: String
    /// Microseconds since 1970.
    var createdAt: Int64
    var retentionDays: Int?

    init(_ project: Project) {
        id = project.id
        slug = project.slug
        name = project.name
        createdAt = Timestamp.micros(project.createdAt)
        retentionDays = project.retentionDays
    }

    var project: Project {
        Project(id: id, slug: slug, name: name, createdAt: Timestamp.date(createdAt), retentionDays: retentionDays)
    }
}
