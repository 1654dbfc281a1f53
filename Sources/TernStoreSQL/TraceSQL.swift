import Foundation
public import TernCore

/// The two SQL dialects Tern's stores speak.
public enum SQLDialect: Sendable {
    case sqlite, postgres
}

/// A value bound to a statement parameter.
public enum SQLValue: Sendable, Equatable {
    case text(String)
    case int(Int64)
    case double(Double)
}

/// Builds parameterised SQL for one dialect: every value goes through `bind`, never into the text.
public struct SQLBuilder: Sendable {
    public let dialect: SQLDialect
    public private(set) var values: [SQLValue] = []

    public init(dialect: SQLDialect) {
        self.dialect = dialect
    }

    public mutating func bind(_ value: SQLValue) -> String {
        values.append(value)
        // Numbered in both dialects, so a value can be used twice.
        return dialect == .sqlite ? "?\(values.count)" : "$\(values.count)"
    }

    public mutating func bind(_ text: String) -> String { bind(.text(text)) }
    public mutating func bind(_ number: Int64) -> String { bind(.int(number)) }
    public mutating func bind(_ number: Double) -> String { bind(.double(number)) }
}

/// The trace filters and list orderings as SQL over the `traces` table (alias-free), shared by both
/// backends so they answer the same query the same way.
public enum TraceSQL {
    /// Columns of `traces` that a list row reads, in the order `TraceRow` expects.
    public static let listColumns = """
        id, project_id, name, user_id, session_id, tags, metadata, release, environment, input, output, start_time, end_time, \
        task, language, domain, model, deployment, variant, prompt_name, prompt_version, observation_count, input_tokens, \
        output_tokens, total_cost, error_count, warning_count
        """

    /// The expression a sort orders by; the same expressions are indexed.
    public static func sortExpression(_ sort: TraceSort) -> String {
        switch sort {
        case .time: "start_time"
        case .latency: "COALESCE(end_time - start_time, -1)"
        case .cost: "COALESCE(total_cost, -1)"
        }
    }

    /// The WHERE conditions of a filter for one project.
    public static func conditions(_ filter: TraceFilter, projectID: String, into builder: inout SQLBuilder) throws -> [String] {
        var out = ["project_id = \(builder.bind(projectID))"]
        if let from = filter.from { out.append("start_time >= \(builder.bind(Timestamp.micros(from)))") }
        if let to = filter.to { out.append("start_time < \(builder.bind(Timestamp.micros(to)))") }
        let equalities: [(String, String?)] = [
            ("user_id", filter.userID), ("session_id", filter.sessionID), ("name", filter.name), ("task", filter.task),
            ("language", filter.language?.lowercased()), ("domain", filter.domain), ("environment", filter.environment),
            ("release", filter.release), ("prompt_name", filter.promptName), ("deployment", filter.deployment), ("variant", filter.variant),
        ]
        for (column, value) in equalities {
            if let value { out.append("\(column) = \(builder.bind(value))") }
        }
        if let version = filter.promptVersion { out.append("prompt_version = \(builder.bind(Int64(version)))") }
        if !filter.includeInternal, filter.environment == nil, filter.sessionID == nil {
            let origins = TraceOrigin.internalEnvironments.map { builder.bind($0) }.joined(separator: ", ")
            out.append("(environment IS NULL OR environment NOT IN (\(origins)))")
        }
        // The trace's model (its first generation's), which is indexed.
        if let model = filter.model { out.append("model = \(builder.bind(model))") }
        switch filter.status?.lowercased() {
        case nil: break
        case "error"?: out.append("error_count > 0")
        case "ok"?: out.append("error_count = 0")
        case let other?: throw TernError.invalid("status", "expected ok or error, got \"\(other)\"")
        }
        for tag in filter.tags {
            switch builder.dialect {
            case .sqlite: out.append("EXISTS (SELECT 1 FROM json_each(traces.tags) WHERE json_each.value = \(builder.bind(tag)))")
            case .postgres: out.append("(traces.tags::jsonb ? \(builder.bind(tag)))")
            }
        }
        for (key, value) in filter.metadata.sorted(by: { $0.key < $1.key }) {
            guard !key.isEmpty, key.count <= 200, !key.contains(where: { $0 == "\"" || $0 == "\\" || $0.isNewline }) else {
                throw TernError.invalid("metadata.\(key)", "metadata keys may not be empty or contain quotes, backslashes or line breaks")
            }
            switch builder.dialect {
            case .sqlite:
                let path = builder.bind("$.\"\(key)\"")
                out.append(
                    """
                    (CASE json_type(traces.metadata, \(path)) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
                    ELSE CAST(json_extract(traces.metadata, \(path)) AS TEXT) END) = \(builder.bind(value))
                    """)
            case .postgres:
                out.append("(traces.metadata::jsonb ->> \(builder.bind(key))) = \(builder.bind(value))")
            }
        }
        if let min = filter.minLatencyMs { out.append("end_time - start_time >= \(builder.bind(Int64.clamping((min * 1000).rounded())))") }
        if let max = filter.maxLatencyMs { out.append("end_time - start_time <= \(builder.bind(Int64.clamping((max * 1000).rounded())))") }
        if let min = filter.minCost { out.append("total_cost >= \(builder.bind(min))") }
        if let max = filter.maxCost { out.append("total_cost <= \(builder.bind(max))") }
        for score in filter.scores {
            var parts = ["s.project_id = traces.project_id", "s.trace_id = traces.id", "s.name = \(builder.bind(score.name))"]
            if let equals = score.equals {
                if let number = Double(equals) {
                    parts.append("(s.numeric_value = \(builder.bind(number)) OR s.string_value = \(builder.bind(equals)))")
                } else {
                    parts.append("s.string_value = \(builder.bind(equals))")
                }
            }
            if let min = score.min { parts.append("s.numeric_value >= \(builder.bind(min))") }
            if let max = score.max { parts.append("s.numeric_value <= \(builder.bind(max))") }
            out.append("EXISTS (SELECT 1 FROM scores s WHERE \(parts.joined(separator: " AND ")))")
        }
        if let text = filter.text, !text.isEmpty {
            let pattern =
                "%"
                + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"
            let bound = builder.bind(pattern)
            switch builder.dialect {
            case .sqlite: out.append("(input LIKE \(bound) ESCAPE '\\' OR output LIKE \(bound) ESCAPE '\\')")
            case .postgres: out.append("(input ILIKE \(bound) ESCAPE '\\' OR output ILIKE \(bound) ESCAPE '\\')")
            }
        }
        return out
    }

    /// A full list statement: filters, the keyset position and the ordering, `limit + 1` rows.
    public static func list(_ query: TraceQuery, projectID: String, dialect: SQLDialect) throws -> (sql: String, values: [SQLValue]) {
        var builder = SQLBuilder(dialect: dialect)
        var conditions = try Self.conditions(query.filter, projectID: projectID, into: &builder)
        let key = sortExpression(query.sort)
        let direction = query.ascending ? "ASC" : "DESC"
        if let cursor = query.cursor {
            let position = try TraceCursor(encoded: cursor, sort: query.sort)
            let value: SQLValue = query.sort == .cost ? .double(position.key) : .int(Int64.clamping(position.key))
            let compare = query.ascending ? ">" : "<"
            let bound = builder.bind(value)
            conditions.append("(\(key) \(compare) \(bound) OR (\(key) = \(builder.bind(value)) AND id \(compare) \(builder.bind(position.id))))")
        }
        let limit = Int64(max(1, min(query.limit, 500)) + 1)
        let sql = """
            SELECT \(listColumns) FROM traces WHERE \(conditions.joined(separator: " AND ")) \
            ORDER BY \(key) \(direction), id \(direction) LIMIT \(builder.bind(limit))
            """
        return (sql, builder.values)
    }

    /// The cursor that continues after `last` in a list ordered by `sort`.
    public static func cursor(after last: TraceSummary, sort: TraceSort) -> String {
        let key: Double =
            switch sort {
            case .time: Double(Timestamp.micros(last.trace.startTime))
            case .latency: last.trace.endTime.map { Double(Timestamp.micros($0) - Timestamp.micros(last.trace.startTime)) } ?? -1
            case .cost: last.cost ?? -1
            }
        return TraceCursor(sort: sort, key: key, id: last.trace.id).encoded
    }
}

/// One row of `TraceSQL.listColumns`, read by a backend and turned into a summary here.
public struct TraceRow: Sendable {
    public var trace: Trace
    public var model: String?
    public var deployment: String?
    public var variant: String?
    public var promptName: String?
    public var promptVersion: Int?
    public var observationCount: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var totalCost: Double?
    public var errorCount: Int
    public var warningCount: Int

    public init(
        trace: Trace, model: String?, deployment: String?, variant: String?, promptName: String?, promptVersion: Int?,
        observationCount: Int, inputTokens: Int, outputTokens: Int, totalCost: Double?, errorCount: Int, warningCount: Int
    ) {
        self.trace = trace
        self.model = model
        self.deployment = deployment
        self.variant = variant
        self.promptName = promptName
        self.promptVersion = promptVersion
        self.observationCount = observationCount
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.totalCost = totalCost
        self.errorCount = errorCount
        self.warningCount = warningCount
    }

    public var summary: TraceSummary {
        TraceSummary(
            trace: trace, model: model, latencyMs: trace.endTime.map { $0.timeIntervalSince(trace.startTime) * 1000 },
            inputTokens: inputTokens, outputTokens: outputTokens, cost: totalCost,
            level: errorCount > 0 ? .error : warningCount > 0 ? .warning : .default, observationCount: observationCount,
            promptName: promptName, promptVersion: promptVersion, deployment: deployment, variant: variant)
    }
}

extension TraceSQL {
    /// Recomputes the per-trace totals of the given traces from their observations (run after new
    /// observations land, in the same transaction). The trace's model, deployment, variant and prompt
    /// are its first generation's.
    /// `traceKeys` (default: on SQLite) finds a trace's observations by its integer key, as SQLite's
    /// schema has since migration 0011; earlier migrations pass false.
    public static func refreshTotals(projectID: String, traceIDs: [String], dialect: SQLDialect, traceKeys: Bool? = nil) -> (sql: String, values: [SQLValue]) {
        var builder = SQLBuilder(dialect: dialect)
        let project = builder.bind(projectID)
        let ids = traceIDs.map { builder.bind($0) }.joined(separator: ",")
        let warning = dialect == .sqlite ? "level = 'WARNING'" : "CASE WHEN level = 'WARNING' THEN 1 ELSE 0 END"
        let error = dialect == .sqlite ? "level = 'ERROR'" : "CASE WHEN level = 'ERROR' THEN 1 ELSE 0 END"
        // A trace's observations: by its integer key on SQLite (observations are unique by (trace_key, id)
        // there), by (project_id, trace_id) on PostgreSQL (its observations' key).
        let ofTrace = traceKeys ?? (dialect == .sqlite) ? "o.trace_key = traces.trace_key" : "o.project_id = traces.project_id AND o.trace_id = traces.id"
        let sql = """
            UPDATE traces SET
                (observation_count, input_tokens, output_tokens, total_cost, error_count, warning_count) = (
                    SELECT COUNT(*), COALESCE(SUM(usage_input), 0), COALESCE(SUM(usage_output), 0), SUM(cost),
                           COALESCE(SUM(\(error)), 0), COALESCE(SUM(\(warning)), 0)
                    FROM observations o WHERE \(ofTrace)),
                (model, deployment, variant, prompt_name, prompt_version) = (
                    SELECT model, deployment, variant, prompt_name, prompt_version FROM observations o
                    WHERE \(ofTrace) AND o.model IS NOT NULL
                    ORDER BY o.start_time, o.id LIMIT 1)
            WHERE project_id = \(project) AND id IN (\(ids))
            """
        return (sql, builder.values)
    }

    /// The hour a time falls in, in microseconds: the rollups' bucket.
    public static func hour(_ micros: Int64) -> Int64 { Timestamp.hour(micros) }
}

extension TraceSQL {
    /// Columns the metrics facts read, in the order backends decode them.
    public static let factColumns = """
        id, start_time, end_time, name, user_id, tags, model, prompt_name, prompt_version, deployment, variant, task, language, \
        domain, environment, error_count, input_tokens, output_tokens, total_cost
        """

    public static func facts(_ filter: TraceFilter, projectID: String, dialect: SQLDialect) throws -> (sql: String, values: [SQLValue]) {
        var builder = SQLBuilder(dialect: dialect)
        let conditions = try Self.conditions(filter, projectID: projectID, into: &builder)
        return ("SELECT \(factColumns) FROM traces WHERE \(conditions.joined(separator: " AND "))", builder.values)
    }

    /// Numeric and boolean scores of the traces matching a filter: trace id, name, value.
    public static func scoreFacts(_ filter: TraceFilter, projectID: String, dialect: SQLDialect) throws -> (sql: String, values: [SQLValue]) {
        var builder = SQLBuilder(dialect: dialect)
        let project = builder.bind(projectID)
        let conditions = try Self.conditions(filter, projectID: projectID, into: &builder)
        // SQLite without planner statistics would walk every score of the project by primary key.
        let index = dialect == .sqlite ? " INDEXED BY scores_trace" : ""
        return (
            """
            SELECT trace_id, name, numeric_value FROM scores\(index) WHERE project_id = \(project) AND numeric_value IS NOT NULL
            AND trace_id IN (SELECT id FROM traces WHERE \(conditions.joined(separator: " AND ")))
            """, builder.values
        )
    }

    /// Attaches score facts to trace facts.
    /// Numeric scores by trace, to attach to each fact as it streams by (`TraceFacts.scores`).
    public static func scoresByTrace(_ scores: [(traceID: String, name: String, value: Double)]) -> [String: [(String, Double)]] {
        var index: [String: [(String, Double)]] = [:]
        for score in scores { index[score.traceID, default: []].append((score.name, score.value)) }
        return index
    }

    /// The SQL expression of the hour holding `start_time`.
    public static let hourOfStart = "(start_time / 3600000000) * 3600000000"
}

extension TraceSQL {
    /// Sessions of the traces matching a filter, most recently active first.
    public static func sessions(_ filter: TraceFilter, projectID: String, limit: Int, dialect: SQLDialect) throws -> (sql: String, values: [SQLValue]) {
        var builder = SQLBuilder(dialect: dialect)
        let conditions = try Self.conditions(filter, projectID: projectID, into: &builder) + ["session_id IS NOT NULL"]
        let sql = """
            SELECT session_id, MAX(user_id), CAST(COUNT(*) AS BIGINT), MIN(start_time), MAX(start_time),
                   CAST(SUM(input_tokens + output_tokens) AS BIGINT), SUM(total_cost),
                   CAST(SUM(CASE WHEN error_count > 0 THEN 1 ELSE 0 END) AS BIGINT)
            FROM traces WHERE \(conditions.joined(separator: " AND "))
            GROUP BY session_id ORDER BY MAX(start_time) DESC, session_id LIMIT \(builder.bind(Int64(max(1, min(limit, 500)))))
            """
        return (sql, builder.values)
    }
}

extension TraceSQL {
    /// Per segment: count, sum and sum of squares of a measure over the traces matching `filter`.
    public static func segmentSums(
        _ filter: TraceFilter, projectID: String, segment: TraceSegment, measure: TraceMeasure, limit: Int, dialect: SQLDialect
    ) throws -> (sql: String, values: [SQLValue]) {
        var builder = SQLBuilder(dialect: dialect)
        var conditions = try Self.conditions(filter, projectID: projectID, into: &builder)
        let real = dialect == .postgres ? "DOUBLE PRECISION" : "REAL"
        let key: String
        switch segment {
        case .column(let column):
            guard TraceSegment.columns.contains(column) else { throw TernError.invalid("by", "unknown segment \(column)") }
            key = "traces.\(column)"
        case .metadata(let name):
            switch dialect {
            case .sqlite:
                let path = builder.bind("$.\"\(name)\"")
                key = """
                    (CASE json_type(traces.metadata, \(path)) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
                    ELSE CAST(json_extract(traces.metadata, \(path)) AS TEXT) END)
                    """
            case .postgres: key = "(traces.metadata::jsonb ->> \(builder.bind(name)))"
            }
        case .all: key = builder.bind("all")
        }
        let value: String
        var from = "traces"
        switch measure {
        case .latencyMs:
            value = "CAST(traces.end_time - traces.start_time AS \(real)) / 1000.0"
            conditions.append("traces.end_time IS NOT NULL")
        case .cost:
            value = "traces.total_cost"
            conditions.append("traces.total_cost IS NOT NULL")
        case .tokens: value = "CAST(traces.input_tokens + traces.output_tokens AS \(real))"
        case .errorRate: value = "CASE WHEN traces.error_count > 0 THEN 1.0 ELSE 0.0 END"
        case .refusalRate:
            // TraceMeasure.isRefusal in SQL: the phrases (bound, lower-case ASCII) in the first 200 characters,
            // lower-cased, with typographic apostrophes straightened.
            let head = "LOWER(REPLACE(SUBSTR(traces.output, 1, 200), \(builder.bind("\u{2019}")), \(builder.bind("'"))))"
            let tests = TraceMeasure.refusalPhrases.map { "\(head) LIKE \(builder.bind("%\($0)%"))" }
            value = "CASE WHEN \(tests.joined(separator: " OR ")) THEN 1.0 ELSE 0.0 END"
            conditions.append("traces.output IS NOT NULL")
        case .score(let name):
            // The scores in a subquery whose columns no trace column shares, so the trace filters stay unambiguous.
            from = """
                traces JOIN (SELECT trace_id AS scored_trace, numeric_value AS scored_value FROM scores \
                WHERE project_id = \(builder.bind(projectID)) AND name = \(builder.bind(name)) AND numeric_value IS NOT NULL) scored \
                ON scored.scored_trace = traces.id
                """
            value = "scored.scored_value"
        }
        let sql = """
            SELECT COALESCE(\(key), \(builder.bind(SegmentSums.none))) AS segment, COUNT(*) AS n, \
            CAST(SUM(\(value)) AS \(real)) AS total, CAST(SUM((\(value)) * (\(value))) AS \(real)) AS squares \
            FROM \(from) WHERE \(conditions.joined(separator: " AND ")) \
            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT \(builder.bind(Int64(max(1, min(limit, 500)))))
            """
        return (sql, builder.values)
    }
}

extension TraceSQL {
    /// How a trace stored again merges into the stored row, written once for both stores (and matching
    /// `Trace.merged(with:)`, which merges a batch's repeats before they reach the database): new non-empty
    /// fields win, tags only when the new list is not empty, the time span widens. The assignments of
    /// `ON CONFLICT (project_id, id) DO UPDATE SET`; SQLite adds its running totals after them.
    public static func traceMergeAssignments(_ dialect: SQLDialect) -> String {
        let latest =
            ["name", "user_id", "session_id"].map { "\($0) = COALESCE(excluded.\($0), traces.\($0))" }
            + ["tags = CASE WHEN excluded.tags = '[]' THEN traces.tags ELSE excluded.tags END"]
            + ["metadata", "release", "environment", "input", "output", "task", "language", "domain", "last_seen"].map {
                "\($0) = COALESCE(excluded.\($0), traces.\($0))"
            }
        // PostgreSQL's LEAST and GREATEST skip NULLs; SQLite's MIN and MAX return NULL when one argument is.
        let span =
            dialect == .postgres
            ? ["start_time = LEAST(traces.start_time, excluded.start_time)", "end_time = GREATEST(traces.end_time, excluded.end_time)"]
            : [
                "start_time = MIN(traces.start_time, excluded.start_time)",
                """
                end_time = CASE WHEN traces.end_time IS NULL THEN excluded.end_time WHEN excluded.end_time IS NULL THEN traces.end_time \
                ELSE MAX(traces.end_time, excluded.end_time) END
                """,
            ]
        return (latest + span).joined(separator: ",\n")
    }
}
