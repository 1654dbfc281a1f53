import Foundation
import GRDB
import TernCore
import TernStoreSQL

extension SQLiteMigrations {
    /// Migration 0009_experiments.
    static func m0009_experiments(_ db: Database) throws {
        for statement in ExperimentColumns.schema(.sqlite) { try db.execute(sql: statement) }
    }
}
