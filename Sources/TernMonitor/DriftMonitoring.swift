public import Foundation
public import TernCore

/// Runs drift monitors: each due monitor's current window against its reference, column by column with
/// Evidently's tests (`DriftAnalysis`), kept as a report.
public enum DriftMonitoring {
    /// One check of `monitor` at `now`, recorded.
    @discardableResult
    public static func check(_ monitor: DriftMonitor, store: any TernStore, now: Date = Date()) async throws -> DriftMonitorReport {
        let (current, reference) = monitor.windows(at: now)
        var filter = monitor.filter.traceFilter
        filter.from = reference.0
        filter.to = reference.1
        let referenceTable = try await TraceDriftTable.load(
            store: store, project: monitor.projectID, filter: filter, limit: monitor.maxRows, source: "reference window")
        filter.from = current.0
        filter.to = current.1
        let currentTable = try await TraceDriftTable.load(
            store: store, project: monitor.projectID, filter: filter, limit: monitor.maxRows, source: "current window")
        var report = DriftMonitorReport(
            id: TernID.make(), projectID: monitor.projectID, monitorID: monitor.id, at: now, referenceRows: referenceTable.rowCount,
            currentRows: currentTable.rowCount, shareDrifted: nil, datasetDrift: false, drifted: [], report: .null)
        if referenceTable.rowCount == 0 || currentTable.rowCount == 0 {
            report.report = ["note": .string(referenceTable.rowCount == 0 ? "no traces in the reference window" : "no traces in the current window")]
        } else {
            var options = DriftOptions()
            options.columns = monitor.columns
            do {
                let result = try DriftAnalysis.report(reference: referenceTable, current: currentTable, options: options)
                report.shareDrifted = result.shareDrifted
                report.datasetDrift = result.datasetDrift
                report.drifted = result.columns.filter(\.driftDetected).map(\.column)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                report.report = try JSONValue.parse(try encoder.encode(result))
            } catch let error as TernError {
                report.report = ["note": .string(error.message)]
            }
        }
        try await store.driftMonitors.record(report)
        return report
    }

    /// Checks every due monitor; returns the reports.
    @discardableResult
    public static func tick(store: any TernStore, now: Date = Date()) async throws -> [DriftMonitorReport] {
        var reports: [DriftMonitorReport] = []
        for monitor in try await store.driftMonitors.listEnabled() where monitor.isDue(at: now) {
            reports.append(try await check(monitor, store: store, now: now))
        }
        return reports
    }
}
