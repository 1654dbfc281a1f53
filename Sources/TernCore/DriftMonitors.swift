public import Foundation

/// A scheduled drift check of live traffic: the traces of the last `windowSeconds` (matching a filter)
/// against a reference window, column by column with Evidently's tests, every `everySeconds`; each check is
/// kept as a report.
public struct DriftMonitor: Sendable, Equatable, Identifiable {
    /// The reference the current window is compared with.
    public enum Reference: Sendable, Equatable {
        /// The window of the same length just before the current one.
        case previousWindow
        /// The same window a week earlier (weekly seasonality).
        case weekBefore
        /// A fixed period (a known-good week, say).
        case fixed(from: Date, to: Date)
        /// A dataset's items (the latest version, or `version`): what the traffic was expected to look like.
        case dataset(name: String, version: Int?)
    }

    public var id: String
    public var projectID: String
    public var name: String
    public var enabled: Bool
    public var windowSeconds: Int
    public var reference: Reference
    public var filter: WatcherFilter
    /// Columns compared (empty: every feature of traces).
    public var columns: [String]
    public var everySeconds: Int
    /// At most this many newest traces of each window.
    public var maxRows: Int
    /// Text of traces compared through embeddings of the local model, with topic clusters: `input`, `output`.
    public var text: [String] = []
    /// At most this many texts of each window are embedded (a seeded sample of the window's traces).
    public var textRows = 1_000
    public var lastRunAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, projectID: String, name: String, enabled: Bool = true, windowSeconds: Int = 86_400, reference: Reference = .previousWindow,
        filter: WatcherFilter = WatcherFilter(), columns: [String] = [], everySeconds: Int = 3600, maxRows: Int = 10_000, lastRunAt: Date? = nil,
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.enabled = enabled
        self.windowSeconds = windowSeconds
        self.reference = reference
        self.filter = filter
        self.columns = columns
        self.everySeconds = everySeconds
        self.maxRows = maxRows
        self.lastRunAt = lastRunAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var isDatasetReference: Bool {
        if case .dataset = reference { return true }
        return false
    }

    /// The trace metadata keys among the columns (`metadata.KEY` -> KEY).
    public var metadataKeys: [String] { Self.metadataKeys(in: columns) }

    /// The trace metadata keys among drift columns (`metadata.KEY` -> KEY).
    public static func metadataKeys(in columns: [String]) -> [String] {
        columns.filter { $0.hasPrefix("metadata.") }.map { String($0.dropFirst("metadata.".count)) }
    }

    public func isDue(at now: Date) -> Bool {
        guard enabled else { return false }
        guard let lastRunAt else { return true }
        return now.timeIntervalSince(lastRunAt) >= Double(everySeconds) - 0.001
    }

    /// The current and reference windows of a check at `now`.
    public func windows(at now: Date) -> (current: (Date, Date), reference: (Date, Date)) {
        let current = (now.addingTimeInterval(-Double(windowSeconds)), now)
        switch reference {
        case .previousWindow: return (current, (current.0.addingTimeInterval(-Double(windowSeconds)), current.0))
        case .weekBefore: return (current, (current.0.addingTimeInterval(-7 * 86_400), current.1.addingTimeInterval(-7 * 86_400)))
        case .fixed(let from, let to): return (current, (from, to))
        case .dataset: return (current, current)
        }
    }
}

/// One check of a drift monitor.
public struct DriftMonitorReport: Sendable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var monitorID: String
    public var at: Date
    public var referenceRows: Int
    public var currentRows: Int
    /// Nil when a window was empty (nothing to compare).
    public var shareDrifted: Double?
    public var datasetDrift: Bool
    public var drifted: [String]
    /// The whole report (`tern drift`'s JSON), or why there is none.
    public var report: JSONValue

    public init(
        id: String, projectID: String, monitorID: String, at: Date, referenceRows: Int, currentRows: Int, shareDrifted: Double?, datasetDrift: Bool,
        drifted: [String], report: JSONValue
    ) {
        self.id = id
        self.projectID = projectID
        self.monitorID = monitorID
        self.at = at
        self.referenceRows = referenceRows
        self.currentRows = currentRows
        self.shareDrifted = shareDrifted
        self.datasetDrift = datasetDrift
        self.drifted = drifted
        self.report = report
    }

    public var json: JSONValue {
        [
            "id": .string(id), "at": .string(at.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))),
            "reference_rows": .number(Double(referenceRows)), "current_rows": .number(Double(currentRows)),
            "share_drifted": shareDrifted.map(JSONValue.number) ?? .null, "dataset_drift": .bool(datasetDrift),
            "drifted": .array(drifted.map(JSONValue.string)), "report": report,
        ]
    }
}

public protocol DriftMonitorRepository: NamedRecordRepository where Record == DriftMonitor {
    /// Stores a report and the monitor's last run time, in one transaction.
    func record(_ report: DriftMonitorReport) async throws
    /// Newest first.
    func reports(projectID: String, monitorID: String, limit: Int) async throws -> [DriftMonitorReport]
}

// MARK: - JSON form

extension DriftMonitor {
    /// The features of traces that drift is measured on.
    public static let traceColumns = [
        "latency_ms", "input_tokens", "output_tokens", "cost", "input_chars", "output_chars", "language", "model", "deployment", "prompt",
        "task", "domain", "status", "finish_reason", "tool",
    ]

    /// A column drift can compare on traces: a feature of `allowed`, a score (`score.NAME`) or a trace metadata
    /// key (`metadata.KEY`).
    public static func isTraceColumn(_ name: String, allowed: [String] = traceColumns) -> Bool {
        if allowed.contains(name) { return true }
        for prefix in ["score.", "metadata."] where name.hasPrefix(prefix) && name.count > prefix.count { return true }
        return false
    }

    /// The text of traces that drift is measured on through embeddings.
    public static let textColumns = ["input", "output"]

    public static let bodyKeys: Set<String> = [
        "name", "enabled", "window_seconds", "reference", "filter", "columns", "every_seconds", "max_rows", "text", "text_rows",
    ]

    /// Reads a monitor body onto `base` (unknown keys refused by name); `allowedColumns` are the features.
    public static func apply(_ body: JSONValue, to base: DriftMonitor, allowedColumns: [String]) throws -> DriftMonitor {
        guard case .object(let object) = body else { throw TernError.invalid(nil, "expected a JSON object") }
        for key in object.keys where !bodyKeys.contains(key) {
            throw TernError.invalid(key, "unknown field; expected one of \(bodyKeys.sorted().joined(separator: ", "))")
        }
        var monitor = base
        if let value = object["enabled"], !value.isNull {
            guard let flag = value.bool else { throw TernError.invalid("enabled", "expected true or false") }
            monitor.enabled = flag
        }
        func seconds(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let number = try WatcherDefinition.number(object[key], key) else { return nil }
            guard number.rounded() == number, number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
                throw TernError.invalid(key, "expected whole numbers from \(range.lowerBound) to \(range.upperBound)")
            }
            return Int(number)
        }
        if let window = try seconds("window_seconds", 300...90 * 86_400) { monitor.windowSeconds = window }
        if let every = try seconds("every_seconds", 60...30 * 86_400) { monitor.everySeconds = every }
        if let rows = try seconds("max_rows", 10...100_000) { monitor.maxRows = rows }
        if let rows = try seconds("text_rows", 10...20_000) { monitor.textRows = rows }
        if let text = object["text"], !text.isNull {
            guard let items = text.array, items.allSatisfy({ $0.string != nil }) else {
                throw TernError.invalid("text", "expected an array of text columns: input, output")
            }
            let names = items.compactMap(\.string)
            if let unknown = names.first(where: { !textColumns.contains($0) }) {
                throw TernError.invalid("text", "unknown text column \"\(unknown)\"; expected some of \(textColumns.joined(separator: ", "))")
            }
            monitor.text = Array(Set(names)).sorted()
        }
        if let filter = object["filter"], !filter.isNull { monitor.filter = try WatcherFilter(json: filter) }
        if let columns = object["columns"], !columns.isNull {
            guard let items = columns.array, items.allSatisfy({ $0.string != nil }) else {
                throw TernError.invalid("columns", "expected an array of column names")
            }
            let names = items.compactMap(\.string)
            if let unknown = names.first(where: { !isTraceColumn($0, allowed: allowedColumns) }) {
                throw TernError.invalid(
                    "columns", "unknown column \"\(unknown)\"; expected some of \(allowedColumns.joined(separator: ", ")), score.NAME or metadata.KEY")
            }
            monitor.columns = names
        }
        if let reference = object["reference"], !reference.isNull {
            if let text = reference.string {
                switch text {
                case "previous_window": monitor.reference = .previousWindow
                case "week_before": monitor.reference = .weekBefore
                default: throw TernError.invalid("reference", "expected previous_window, week_before or {\"from\": TIME, \"to\": TIME}")
                }
            } else if let dataset = reference["dataset"] {
                guard let name = dataset.string, !name.isEmpty else { throw TernError.invalid("reference.dataset", "expected a dataset's name") }
                let version = try WatcherDefinition.number(reference["version"], "reference.version")
                if let version, !(version >= 1 && version <= 1e9 && version.rounded() == version) {
                    throw TernError.invalid("reference.version", "expected a version number from 1")
                }
                if let extra = reference.object?.keys.first(where: { $0 != "dataset" && $0 != "version" }) {
                    throw TernError.invalid("reference.\(extra)", "unknown field; a dataset reference has dataset and version")
                }
                monitor.reference = .dataset(name: name, version: version.map { Int($0) })
            } else {
                let reader = FieldReader(body: reference, path: "reference")
                guard let from = try reader.date("from"), let to = try reader.date("to"), from < to else {
                    throw TernError.invalid(
                        "reference",
                        "expected previous_window, week_before, {\"from\": TIME, \"to\": TIME} with from before to, or {\"dataset\": NAME, \"version\": N}")
                }
                monitor.reference = .fixed(from: from, to: to)
            }
        }
        return monitor
    }

    public var referenceJSON: JSONValue {
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        switch reference {
        case .previousWindow: return "previous_window"
        case .weekBefore: return "week_before"
        case .fixed(let from, let to): return ["from": .string(from.formatted(iso)), "to": .string(to.formatted(iso))]
        case .dataset(let name, let version): return ["dataset": .string(name), "version": version.map { .number(Double($0)) } ?? .null]
        }
    }

    /// The stored definition: what `apply` reads back.
    public var definitionJSON: JSONValue {
        [
            "window_seconds": .number(Double(windowSeconds)), "reference": referenceJSON, "filter": filter.json,
            "columns": .array(columns.map(JSONValue.string)), "every_seconds": .number(Double(everySeconds)), "max_rows": .number(Double(maxRows)),
            "text": .array(text.map(JSONValue.string)), "text_rows": .number(Double(textRows)),
        ]
    }

    public var json: JSONValue {
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        guard case .object(var object) = definitionJSON else { return .null }
        object["id"] = .string(id)
        object["name"] = .string(name)
        object["enabled"] = .bool(enabled)
        object["last_run_at"] = lastRunAt.map { .string($0.formatted(iso)) } ?? .null
        object["created_at"] = .string(createdAt.formatted(iso))
        object["updated_at"] = .string(updatedAt.formatted(iso))
        return .object(object)
    }
}
