import Foundation
import GRDB
import TernCore
import TernStoreSQL

/// Probes and their runs; the SQL is shared with PostgreSQL (`ProbeSQL`).
struct SQLiteProbes: ProbeRepository, SQLiteNamedRepository {
    let records: SQLiteNamedRecords<Probe>

    init(pool: DatabasePool) { records = SQLiteNamedRecords(pool: pool, records: ProbeSQL.records, read: ProbeSQL.probe) }

    func create(_ probe: Probe) async throws -> Probe {
        try await records.create(ProbeSQL.insert(probe, .sqlite), name: probe.name)
        return probe
    }

    func update(_ probe: Probe) async throws -> Probe {
        try await records.update(ProbeSQL.update(probe, .sqlite), id: probe.id, name: probe.name)
        return probe
    }

    func recordRun(_ run: ProbeRun) async throws { try await records.write(ProbeSQL.recordRun(run, .sqlite)) }

    func runs(projectID: String, probeID: String, limit: Int) async throws -> [ProbeRun] {
        try await records.fetch(ProbeSQL.runs(projectID: projectID, probeID: probeID, limit: limit, .sqlite), ProbeSQL.run)
    }
}
