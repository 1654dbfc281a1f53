import Foundation
import TernCore
import TernStoreSQL

extension PostgresMigrations {
    /// Migration 0009_experiments.
    static let m0009_experiments = PostgresMigration(id: "0009_experiments", statements: ExperimentColumns.schema(.postgres))
}
