import Foundation
import Logging
import PostgresNIO
import TernCore

/// Builds a statement with numbered parameters, for multi-row inserts.
struct Binder {
    var bindings = PostgresBindings()
    var count = 0

    mutating func add<T: PostgresDynamicTypeEncodable>(_ value: T?) -> String {
        bindings.append(value)
        count += 1
        return "$\(count)"
    }
}

extension JSONValue {
    static func fromStored(_ text: String?) -> JSONValue? {
        guard let text, let value = try? JSONValue.parse(Data(text.utf8)) else { return nil }
        return value
    }
}

func storedTags(_ text: String) -> [String] { JSONValue.fromStored(text)?.array?.compactMap(\.string) ?? [] }
func tagsText(_ tags: [String]) -> String { JSONValue.array(tags.map { .string($0) }).jsonString() }

struct PGTraces: TraceRepository {
    let client: PostgresClient
    let logger: Logger

    static let traceColumns = "id, project_id, name, user_id, session_id, tags, metadata, release, environment, input, output, start_time, end_time"
    /// A trace id seen again merges: new non-empty fields win, the time span widens.
    static let traceMerge = """
        ON CONFLICT (project_id, id) DO UPDATE SET
            name = COALESCE(EXCLUDED.name, traces.name),
            user_id = COALESCE(EXCLUDED.user_id, traces.user_id),
            session_id = COALESCE(EXCLUDED.session_id, traces.session_id),
            tags = CASE WHEN EXCLUDED.tags = '[]' THEN traces.tags ELSE EXCLUDED.tags END,
            metadata = COALESCE(EXCLUDED.metadata, traces.metadata),
            release = COALESCE(EXCLUDED.release, traces.release),
            environment = COALESCE(EXCLUDED.environment, traces.environment),
            input = COALESCE(EXCLUDED.input, traces.input),
            output = COALESCE(EXCLUDED.output, traces.output),
            start_time = LEAST(traces.start_time, EXCLUDED.start_time),
            end_time = GREATEST(traces.end_time, EXCLUDED.end_time)
        """
    static let observationColumns = """
        id, trace_id, project_id, parent_id, type, name, start_time, end_time, completion_start_time, model, provider, \
        model_parameters, input, output, usage_input, usage_output, usage_cached, usage_reasoning, usage_estimated, cost, \
        cost_estimated, level, status_message, metadata, requested_model, deployment, variant, route, cache_status, \
        status_code, prompt_name, prompt_version
        """

    static func trace(_ row: PostgresRow) throws -> Trace {
        let (id, project, name, user, session, tags, metadata, release, environment, input, output, start, end) = try row.decode(
            (String, String, String?, String?, String?, String, String?, String?, String?, String?, String?, Int64, Int64?).self)
        return Trace(id: id, projectID: project, name: name, userID: user, sessionID: session, tags: storedTags(tags),
                     metadata: JSONValue.fromStored(metadata), release: release, environment: environment, input: input, output: output,
                     startTime: Timestamp.date(start), endTime: end.date)
    }

    static func observation(_ row: PostgresRow) throws -> Observation {
        let cells = row.makeRandomAccess()
        func text(_ i: Int) throws -> String? { try cells[i].decode(String?.self) }
        func int(_ i: Int) throws -> Int? { try cells[i].decode(Int?.self) }
        func big(_ i: Int) throws -> Int64? { try cells[i].decode(Int64?.self) }
        var usage: TokenUsage?
        if let input = try int(14), let output = try int(15) {
            usage = TokenUsage(inputTokens: input, outputTokens: output, cachedTokens: try int(16), reasoningTokens: try int(17),
                               estimated: (try int(18) ?? 0) != 0)
        }
        return Observation(
            id: try text(0) ?? "", traceID: try text(1) ?? "", projectID: try text(2) ?? "", parentID: try text(3),
            type: ObservationType(rawValue: try text(4) ?? "") ?? .span, name: try text(5),
            startTime: Timestamp.date(try big(6) ?? 0), endTime: try big(7).date, completionStartTime: try big(8).date,
            model: try text(9), provider: try text(10), modelParameters: JSONValue.fromStored(try text(11)),
            input: try text(12), output: try text(13), usage: usage, cost: try cells[19].decode(Double?.self),
            costEstimated: (try int(20) ?? 0) != 0, level: ObservationLevel(rawValue: try text(21) ?? "DEFAULT") ?? .default,
            statusMessage: try text(22), metadata: JSONValue.fromStored(try text(23)), requestedModel: try text(24),
            deployment: try text(25), variant: try text(26), route: try text(27), cacheStatus: try text(28),
            statusCode: try int(29), promptName: try text(30), promptVersion: try int(31))
    }

    func insert(_ batch: [TraceBatchItem]) async throws {
        guard !batch.isEmpty else { return }
        // Multi-row statements keep round trips few: PostgreSQL allows 65,535 parameters per statement.
        var traceChunks: [[Trace]] = []
        var observationChunks: [[Observation]] = []
        var traces: [Trace] = []
        var observations: [Observation] = []
        // One statement cannot update a row twice: merge repeated trace ids first, as the database would.
        var merged: [String: Trace] = [:]
        var order: [String] = []
        for item in batch {
            let key = item.trace.projectID + "\u{1}" + item.trace.id
            if let existing = merged[key] { merged[key] = existing.merged(with: item.trace) } else {
                merged[key] = item.trace
                order.append(key)
            }
        }
        for key in order {
            traces.append(merged[key]!)
            if traces.count == 2000 { traceChunks.append(traces); traces = [] }
        }
        for item in batch {
            for observation in item.observations {
                observations.append(observation)
                if observations.count == 1000 { observationChunks.append(observations); observations = [] }
            }
        }
        if !traces.isEmpty { traceChunks.append(traces) }
        if !observations.isEmpty { observationChunks.append(observations) }
        try await client.withTransaction(logger: logger) { connection in
            for chunk in traceChunks {
                var binder = Binder()
                var rows: [String] = []
                rows.reserveCapacity(chunk.count)
                for t in chunk {
                    let values = [
                        binder.add(t.id), binder.add(t.projectID), binder.add(t.name), binder.add(t.userID), binder.add(t.sessionID),
                        binder.add(tagsText(t.tags)), binder.add(t.metadata?.jsonString()), binder.add(t.release),
                        binder.add(t.environment), binder.add(t.input), binder.add(t.output), binder.add(Timestamp.micros(t.startTime)),
                        binder.add(t.endTime.map(Timestamp.micros)),
                    ]
                    rows.append("(" + values.joined(separator: ",") + ")")
                }
                try await connection.query(PostgresQuery(
                    unsafeSQL: "INSERT INTO traces (\(Self.traceColumns)) VALUES \(rows.joined(separator: ",")) \(Self.traceMerge)",
                    binds: binder.bindings), logger: logger)
            }
            for chunk in observationChunks {
                var binder = Binder()
                var rows: [String] = []
                rows.reserveCapacity(chunk.count)
                for o in chunk {
                    let values = [
                        binder.add(o.id), binder.add(o.traceID), binder.add(o.projectID), binder.add(o.parentID), binder.add(o.type.rawValue),
                        binder.add(o.name), binder.add(Timestamp.micros(o.startTime)), binder.add(o.endTime.map(Timestamp.micros)),
                        binder.add(o.completionStartTime.map(Timestamp.micros)), binder.add(o.model), binder.add(o.provider),
                        binder.add(o.modelParameters?.jsonString()), binder.add(o.input), binder.add(o.output),
                        binder.add(o.usage.map { Int32(clamping: $0.inputTokens) }), binder.add(o.usage.map { Int32(clamping: $0.outputTokens) }),
                        binder.add(o.usage?.cachedTokens.map { Int32(clamping: $0) }), binder.add(o.usage?.reasoningTokens.map { Int32(clamping: $0) }),
                        binder.add(Int32((o.usage?.estimated ?? false) ? 1 : 0)), binder.add(o.cost), binder.add(Int32(o.costEstimated ? 1 : 0)),
                        binder.add(o.level.rawValue), binder.add(o.statusMessage), binder.add(o.metadata?.jsonString()),
                        binder.add(o.requestedModel), binder.add(o.deployment), binder.add(o.variant), binder.add(o.route),
                        binder.add(o.cacheStatus), binder.add(o.statusCode.map { Int32(clamping: $0) }), binder.add(o.promptName),
                        binder.add(o.promptVersion.map { Int32(clamping: $0) }),
                    ]
                    rows.append("(" + values.joined(separator: ",") + ")")
                }
                try await connection.query(PostgresQuery(
                    unsafeSQL: "INSERT INTO observations (\(Self.observationColumns)) VALUES \(rows.joined(separator: ",")) ON CONFLICT (project_id, id) DO NOTHING",
                    binds: binder.bindings), logger: logger)
            }
        }
    }

    func list(projectID: String, query: TraceQuery) async throws -> TracePage {
        var binder = Binder()
        var conditions = ["project_id = \(binder.add(projectID))"]
        if let from = query.from { conditions.append("start_time >= \(binder.add(Timestamp.micros(from)))") }
        if let to = query.to { conditions.append("start_time < \(binder.add(Timestamp.micros(to)))") }
        if let user = query.userID { conditions.append("user_id = \(binder.add(user))") }
        if let session = query.sessionID { conditions.append("session_id = \(binder.add(session))") }
        if let model = query.model {
            conditions.append("EXISTS (SELECT 1 FROM observations o WHERE o.project_id = traces.project_id AND o.trace_id = traces.id AND o.model = \(binder.add(model)))")
        }
        if let cursor = query.cursor {
            let position = try TraceCursor(encoded: cursor)
            let micros = binder.add(position.startMicros)
            conditions.append("(start_time < \(micros) OR (start_time = \(micros) AND id < \(binder.add(position.id))))")
        }
        let limit = max(1, min(query.limit, 500))
        let sql = "SELECT \(Self.traceColumns) FROM traces WHERE \(conditions.joined(separator: " AND ")) ORDER BY start_time DESC, id DESC LIMIT \(binder.add(limit + 1))"
        var traces = try await collect(client.mappedQuery(PostgresQuery(unsafeSQL: sql, binds: binder.bindings), logger: logger), Self.trace)
        var next: String?
        if traces.count > limit {
            traces.removeLast()
            if let last = traces.last { next = TraceCursor(startMicros: Timestamp.micros(last.startTime), id: last.id).encoded }
        }
        return TracePage(traces: try await summarise(projectID: projectID, traces: traces), nextCursor: next)
    }

    func summarise(projectID: String, traces: [Trace]) async throws -> [TraceSummary] {
        guard !traces.isEmpty else { return [] }
        var binder = Binder()
        let project = binder.add(projectID)
        let ids = traces.map { binder.add($0.id) }.joined(separator: ",")
        let sql = """
            SELECT trace_id, MAX(model), SUM(COALESCE(usage_input, 0))::bigint, SUM(COALESCE(usage_output, 0))::bigint, SUM(cost),
                   MAX(CASE level WHEN 'ERROR' THEN 3 WHEN 'WARNING' THEN 2 WHEN 'DEFAULT' THEN 1 ELSE 0 END)
            FROM observations WHERE project_id = \(project) AND trace_id IN (\(ids)) GROUP BY trace_id
            """
        var byTrace: [String: (String?, Int64, Int64, Double?, Int32)] = [:]
        for try await (id, model, input, output, cost, level) in try await client.mappedQuery(
            PostgresQuery(unsafeSQL: sql, binds: binder.bindings), logger: logger
        ).decode((String, String?, Int64, Int64, Double?, Int32).self) {
            byTrace[id] = (model, input, output, cost, level)
        }
        return traces.map { trace in
            let row = byTrace[trace.id]
            let rank = row?.4 ?? 1
            return TraceSummary(
                trace: trace, model: row?.0, latencyMs: trace.endTime.map { $0.timeIntervalSince(trace.startTime) * 1000 },
                inputTokens: Int(row?.1 ?? 0), outputTokens: Int(row?.2 ?? 0), cost: row?.3,
                level: rank == 3 ? .error : rank == 2 ? .warning : rank == 0 ? .debug : .default)
        }
    }

    func get(projectID: String, id: String) async throws -> TraceDetail? {
        guard let trace = try await collect(client.mappedQuery(
            "SELECT \(unescaped: Self.traceColumns) FROM traces WHERE project_id = \(projectID) AND id = \(id)", logger: logger), Self.trace).first
        else { return nil }
        let observations = try await collect(client.mappedQuery(
            "SELECT \(unescaped: Self.observationColumns) FROM observations WHERE project_id = \(projectID) AND trace_id = \(id) ORDER BY start_time, id",
            logger: logger), Self.observation)
        return TraceDetail(trace: trace, observations: observations)
    }

    func count(projectID: String) async throws -> Int {
        try await collect(client.mappedQuery("SELECT COUNT(*) FROM traces WHERE project_id = \(projectID)", logger: logger)) {
            try $0.decode(Int.self)
        }.first ?? 0
    }

    func deleteOlderThan(projectID: String, cutoff: Date) async throws -> Int {
        let micros = Timestamp.micros(cutoff)
        return try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                "DELETE FROM observations WHERE project_id = \(projectID) AND trace_id IN (SELECT id FROM traces WHERE project_id = \(projectID) AND start_time < \(micros))",
                logger: logger)
            try await connection.query(
                "DELETE FROM scores WHERE project_id = \(projectID) AND trace_id IN (SELECT id FROM traces WHERE project_id = \(projectID) AND start_time < \(micros))",
                logger: logger)
            var deleted = 0
            for try await _ in try await connection.query(
                "DELETE FROM traces WHERE project_id = \(projectID) AND start_time < \(micros) RETURNING id", logger: logger
            ) { deleted += 1 }
            return deleted
        }
    }
}

struct PGModelVersions: ModelVersionRepository {
    let client: PostgresClient
    let logger: Logger
    static let columns = "name, version, config, author, message, source_hash, deleted, created_at"

    static func version(_ row: PostgresRow) throws -> ModelVersion {
        let (name, version, config, author, message, hash, deleted, created) = try row.decode(
            (String, Int, String, String, String?, String?, Int, Int64).self)
        return ModelVersion(name: name, version: version, config: try JSONDecoder().decode(ModelConfig.self, from: Data(config.utf8)),
                            author: author, message: message, createdAt: Timestamp.date(created), sourceHash: hash, deleted: deleted != 0)
    }

    func append(name: String, config: ModelConfig, author: String, message: String?, sourceHash: String?, deleted: Bool) async throws -> ModelVersion {
        let text = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        let now = Timestamp.now()
        // The primary key (name, version) makes concurrent appends retry rather than collide.
        for _ in 0..<5 {
            do {
                let version = try await collect(client.mappedQuery(
                    """
                    INSERT INTO model_versions (name, version, config, author, message, source_hash, deleted, created_at)
                    SELECT \(name), COALESCE(MAX(version), 0) + 1, \(text), \(author), \(message)::text, \(sourceHash)::text,
                           \(deleted ? 1 : 0), \(Timestamp.micros(now))
                    FROM model_versions WHERE name = \(name)
                    RETURNING version
                    """, logger: logger)) { try $0.decode(Int.self) }.first ?? 1
                return ModelVersion(name: name, version: version, config: config, author: author, message: message, createdAt: now,
                                    sourceHash: sourceHash, deleted: deleted)
            } catch let error as TernError where error.code == "unique_violation" {
                continue
            }
        }
        throw TernError.conflict("model \(name) is being changed concurrently; try again")
    }

    func latest(name: String) async throws -> ModelVersion? {
        try await collect(client.mappedQuery(
            "SELECT \(unescaped: Self.columns) FROM model_versions WHERE name = \(name) ORDER BY version DESC LIMIT 1", logger: logger),
            Self.version).first
    }

    func latestAll() async throws -> [ModelVersion] {
        try await collect(client.mappedQuery(
            "SELECT DISTINCT ON (name) \(unescaped: Self.columns) FROM model_versions ORDER BY name, version DESC", logger: logger),
            Self.version)
    }

    func history(name: String) async throws -> [ModelVersion] {
        try await collect(client.mappedQuery(
            "SELECT \(unescaped: Self.columns) FROM model_versions WHERE name = \(name) ORDER BY version DESC", logger: logger), Self.version)
    }

    func get(name: String, version: Int) async throws -> ModelVersion? {
        try await collect(client.mappedQuery(
            "SELECT \(unescaped: Self.columns) FROM model_versions WHERE name = \(name) AND version = \(version)", logger: logger),
            Self.version).first
    }

    func changeCount() async throws -> Int {
        try await collect(client.mappedQuery("SELECT COUNT(*) FROM model_versions", logger: logger)) { try $0.decode(Int.self) }.first ?? 0
    }
}

struct PGResponseCache: ResponseCacheRepository {
    let client: PostgresClient
    let logger: Logger

    func get(projectID: String, key: String, now: Date) async throws -> Data? {
        try await collect(client.mappedQuery(
            "SELECT value FROM response_cache WHERE project_id = \(projectID) AND cache_key = \(key) AND expires_at > \(Timestamp.micros(now))",
            logger: logger)) { row in
            var buffer = try row.decode(ByteBuffer.self)
            return buffer.readData(length: buffer.readableBytes) ?? Data()
        }.first
    }

    func put(projectID: String, key: String, value: Data, expiresAt: Date) async throws {
        try await client.mappedQuery(
            """
            INSERT INTO response_cache (project_id, cache_key, value, created_at, expires_at)
            VALUES (\(projectID), \(key), \(ByteBuffer(bytes: value)), \(Timestamp.micros(Date())), \(Timestamp.micros(expiresAt)))
            ON CONFLICT (project_id, cache_key) DO UPDATE SET value = EXCLUDED.value, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
            """, logger: logger)
    }

    func purgeExpired(now: Date) async throws -> Int {
        try await collect(client.mappedQuery(
            "DELETE FROM response_cache WHERE expires_at <= \(Timestamp.micros(now)) RETURNING cache_key", logger: logger)) {
            try $0.decode(String.self)
        }.count
    }
}

struct PGSpend: SpendRepository {
    let client: PostgresClient
    let logger: Logger

    func add(projectID: String, keyID: String, period: String, amount: Double) async throws {
        try await client.mappedQuery(
            """
            INSERT INTO key_spend (key_id, project_id, period, spent_usd) VALUES (\(keyID), \(projectID), \(period), \(amount))
            ON CONFLICT (key_id, period) DO UPDATE SET spent_usd = key_spend.spent_usd + EXCLUDED.spent_usd
            """, logger: logger)
    }

    func spent(keyID: String, period: String) async throws -> Double {
        try await collect(client.mappedQuery(
            "SELECT spent_usd FROM key_spend WHERE key_id = \(keyID) AND period = \(period)", logger: logger)) {
            try $0.decode(Double.self)
        }.first ?? 0
    }
}
