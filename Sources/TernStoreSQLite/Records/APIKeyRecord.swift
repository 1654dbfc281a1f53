import Foundation
import GRDB
import TernCore

/// A row of `api_keys`: the key's hash (never the key), its role, limits and scopes.
struct APIKeyRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "api_keys"
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    enum Columns {
        static let projectID = Column("project_id")
        static let keyHash = Column("key_hash")
        static let createdAt = Column("created_at")
        static let id = Column("id")
    }

    // Column names that the snake-case conversion would not produce from the property names.
    enum CodingKeys: String, CodingKey {
        case id, name, prefix, role, scopes
        case projectID = "projectId"
        case keyHash, createdAt, createdBy, lastUsedAt, revokedAt, rpmLimit, tpmLimit
        case budgetUSD = "budgetUsd"
        case budgetPeriod
    }

    var id: String
    var projectID: String
    var name: String
    var prefix: String
    var keyHash: String
    var role: String
    var createdAt: Int64
    var createdBy: String?
    var lastUsedAt: Int64?
    var revokedAt: Int64?
    var rpmLimit: Int?
    var tpmLimit: Int?
    var budgetUSD: Double?
    var budgetPeriod: String
    /// Comma-separated; nil means the role's default scopes.
    var scopes: String?

    init(_ key: APIKey, keyHash: String) {
        id = key.id
        projectID = key.projectID
        name = key.name
        prefix = key.prefix
        self.keyHash = keyHash
        role = key.role.rawValue
        createdAt = Timestamp.micros(key.createdAt)
        createdBy = key.createdBy
        lastUsedAt = key.lastUsedAt.map(Timestamp.micros)
        revokedAt = key.revokedAt.map(Timestamp.micros)
        rpmLimit = key.limits.requestsPerMinute
        tpmLimit = key.limits.tokensPerMinute
        budgetUSD = key.limits.budgetUSD
        budgetPeriod = key.limits.budgetPeriod.rawValue
        scopes = KeyScope.encode(key.scopes)
    }

    var key: APIKey {
        let role = Role(rawValue: role) ?? .viewer
        return APIKey(
            id: id, projectID: projectID, name: name, prefix: prefix, role: role, createdAt: Timestamp.date(createdAt), createdBy: createdBy,
            lastUsedAt: lastUsedAt.map(Timestamp.date), revokedAt: revokedAt.map(Timestamp.date),
            limits: KeyLimits(
                requestsPerMinute: rpmLimit, tokensPerMinute: tpmLimit, budgetUSD: budgetUSD,
                budgetPeriod: BudgetPeriod(rawValue: budgetPeriod) ?? .month),
            scopes: KeyScope.decode(scopes, role: role))
    }
}
