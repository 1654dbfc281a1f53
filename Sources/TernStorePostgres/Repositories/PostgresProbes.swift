import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

/// Probes and their runs; the SQL is shared with SQLite (`ProbeSQL`).
struct PostgresProbes: ProbeRepository, PostgresNamedRepository {
    let records: PostgresNamedRecords<Probe>

    init(client: PostgresClient, logger: Logger) {
        records = PostgresNamedRecords(client: client, logger: logger, records: ProbeSQL.records, read: ProbeSQL.probe)
    }

    func create(_ probe: Probe) async throws -> Probe {
        try await records.create(ProbeSQL.insert(probe, .postgres), name: probe.name)
        return probe
    }

    func update(_ probe: Probe) async throws -> Probe {
        try await records.update(ProbeSQL.update(probe, .postgres), id: probe.id, name: probe.name)
        return probe
    }

    func recordRun(_ run: ProbeRun) async throws { try await records.write(ProbeSQL.recordRun(run, .postgres)) }

    func runs(projectID: String, probeID: String, limit: Int) async throws -> [ProbeRun] {
        try await records.fetch(ProbeSQL.runs(projectID: projectID, probeID: probeID, limit: limit, .postgres), ProbeSQL.run)
    }
}
