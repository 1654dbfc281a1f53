import Foundation
import TernCore
import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0012_scopes_and_bounds.
    static let m0012_scopes_and_bounds = PostgresMigration(
        id: "0012_scopes_and_bounds",
        statements: [
            "ALTER TABLE api_keys ADD COLUMN scopes TEXT",
            "CREATE TABLE write_probe (id BIGSERIAL PRIMARY KEY, filler TEXT)",
            ReplicaSQL.schema(.postgres),
        ] + StoredBounds.statements(.postgres))
}
