public import Foundation
public import TernCore

/// Runs drift monitors: each due monitor's current window against its reference, column by column with
/// Evidently's tests (`DriftAnalysis`), kept as a report.
public enum DriftMonitoring {
    /// One check of `monitor` at `now`, recorded.
    @discardableResult
    /// `embedder` (the local model) is asked for only when the monitor compares text.
    public static func check(
        _ monitor: DriftMonitor, store: any TernStore, now: Date = Date(), embedder: @escaping @Sendable () async throws -> any Embedder = noEmbedder
    ) async throws -> DriftMonitorReport {
        let (current, reference) = monitor.windows(at: now)
        var filter = monitor.filter.traceFilter
        filter.from = reference.0
        filter.to = reference.1
        let referenceTable: DriftTable
        if case .dataset(let name, let version) = monitor.reference {
            do {
                referenceTable = try await DatasetDriftTable.load(
                    store: store, project: monitor.projectID, dataset: name, version: version, limit: monitor.maxRows, text: monitor.text,
                    metadata: monitor.metadataKeys)
            } catch let error as TernError {
                let report = DriftMonitorReport(
                    id: TernID.make(), projectID: monitor.projectID, monitorID: monitor.id, at: now, referenceRows: 0, currentRows: 0,
                    shareDrifted: nil, datasetDrift: false, drifted: [], report: ["note": .string(error.message)])
                try await store.driftMonitors.record(report)
                return report
            }
        } else {
            referenceTable = try await TraceDriftTable.load(
                store: store, project: monitor.projectID, filter: filter, limit: monitor.maxRows, source: "reference window",
                text: monitor.text, metadata: monitor.metadataKeys)
        }
        filter.from = current.0
        filter.to = current.1
        let currentTable = try await TraceDriftTable.load(
            store: store, project: monitor.projectID, filter: filter, limit: monitor.maxRows, source: "current window",
            text: monitor.text, metadata: monitor.metadataKeys)
        var report = DriftMonitorReport(
            id: TernID.make(), projectID: monitor.projectID, monitorID: monitor.id, at: now, referenceRows: referenceTable.rowCount,
            currentRows: currentTable.rowCount, shareDrifted: nil, datasetDrift: false, drifted: [], report: .null)
        if referenceTable.rowCount == 0 || currentTable.rowCount == 0 {
            report.report = [
                "note": .string(
                    referenceTable.rowCount == 0
                        ? (monitor.isDatasetReference ? "no items in the reference (\(referenceTable.source))" : "no traces in the reference window")
                        : "no traces in the current window")
            ]
        } else {
            var options = DriftOptions()
            options.columns = monitor.columns
            var textOptions = TextDriftOptions()
            textOptions.maxRows = monitor.textRows
            do {
                let result = try await DriftAnalysis.report(
                    reference: referenceTable, current: currentTable, options: options, text: monitor.text, textOptions: textOptions,
                    embedder: embedder)
                report.shareDrifted = result.shareDrifted
                report.datasetDrift = result.datasetDrift
                report.drifted = result.columns.filter(\.driftDetected).map(\.column) + result.text.filter(\.driftDetected).map(\.column)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                report.report = try JSONValue.parse(try encoder.encode(result))
            } catch let error as TernError {
                report.report = ["note": .string(error.message)]
            } catch {
                report.report = ["note": .string("\(error)")]
            }
        }
        try await store.driftMonitors.record(report)
        return report
    }

    /// Checks every due monitor; returns the reports.
    @discardableResult
    public static func tick(
        store: any TernStore, now: Date = Date(), embedder: @escaping @Sendable () async throws -> any Embedder = noEmbedder
    ) async throws -> [DriftMonitorReport] {
        var reports: [DriftMonitorReport] = []
        for monitor in try await store.driftMonitors.listEnabled() where monitor.isDue(at: now) {
            reports.append(try await check(monitor, store: store, now: now, embedder: embedder))
        }
        return reports
    }

    /// For callers without an embedding model: text drift says so.
    public static let noEmbedder: @Sendable () async throws -> any Embedder = {
        throw TernError.invalid("text", "no embedding model: install the local one with `tern models pull all-minilm-l6-v2`")
    }
}
