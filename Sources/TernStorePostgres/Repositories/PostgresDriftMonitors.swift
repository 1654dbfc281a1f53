import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

/// Drift monitors and their reports; the SQL is shared with SQLite (`DriftMonitorSQL`).
struct PostgresDriftMonitors: DriftMonitorRepository, PostgresNamedRepository {
    let records: PostgresNamedRecords<DriftMonitor>

    init(client: PostgresClient, logger: Logger) {
        records = PostgresNamedRecords(client: client, logger: logger, records: DriftMonitorSQL.records, read: DriftMonitorSQL.monitor)
    }

    func create(_ monitor: DriftMonitor) async throws -> DriftMonitor {
        try await records.create(DriftMonitorSQL.insert(monitor, .postgres), name: monitor.name)
        return monitor
    }

    func update(_ monitor: DriftMonitor) async throws -> DriftMonitor {
        try await records.update(DriftMonitorSQL.update(monitor, .postgres), id: monitor.id, name: monitor.name)
        return monitor
    }

    func record(_ report: DriftMonitorReport) async throws { try await records.write(DriftMonitorSQL.record(report, .postgres)) }

    func reports(projectID: String, monitorID: String, limit: Int) async throws -> [DriftMonitorReport] {
        try await records.fetch(DriftMonitorSQL.reports(projectID: projectID, monitorID: monitorID, limit: limit, .postgres), DriftMonitorSQL.report)
    }
}
