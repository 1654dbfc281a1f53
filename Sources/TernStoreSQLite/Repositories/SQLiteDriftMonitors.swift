import Foundation
import GRDB
import TernCore
import TernStoreSQL

/// Drift monitors and their reports; the SQL is shared with PostgreSQL (`DriftMonitorSQL`).
struct SQLiteDriftMonitors: DriftMonitorRepository, SQLiteNamedRepository {
    let records: SQLiteNamedRecords<DriftMonitor>

    init(pool: DatabasePool) { records = SQLiteNamedRecords(pool: pool, records: DriftMonitorSQL.records, read: DriftMonitorSQL.monitor) }

    func create(_ monitor: DriftMonitor) async throws -> DriftMonitor {
        try await records.create(DriftMonitorSQL.insert(monitor, .sqlite), name: monitor.name)
        return monitor
    }

    func update(_ monitor: DriftMonitor) async throws -> DriftMonitor {
        try await records.update(DriftMonitorSQL.update(monitor, .sqlite), id: monitor.id, name: monitor.name)
        return monitor
    }

    func record(_ report: DriftMonitorReport) async throws { try await records.write(DriftMonitorSQL.record(report, .sqlite)) }

    func reports(projectID: String, monitorID: String, limit: Int) async throws -> [DriftMonitorReport] {
        try await records.fetch(DriftMonitorSQL.reports(projectID: projectID, monitorID: monitorID, limit: limit, .sqlite), DriftMonitorSQL.report)
    }
}
