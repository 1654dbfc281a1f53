import Foundation

/// Reads trace filters from URL query parameters named after the fields, for the REST API and the
/// web UI alike (so a page's URL and an API call filter the same way):
/// `from`, `to`, `user_id`, `session_id`, `tag` (repeatable), `metadata.KEY=VALUE`, `model`, `name`,
/// `status` (ok, error), `min_latency_ms`, `max_latency_ms`, `min_cost`, `max_cost`,
/// `score.NAME=VALUE`, `score.NAME.min`, `score.NAME.max`, `task`, `language`, `domain`,
/// `environment`, `release`, `prompt` (NAME or NAME@VERSION), `deployment`, `variant`, `q`,
/// `include_internal` (true: also the traces of experiments and the playground, `TraceOrigin`);
/// plus `sort` (time, latency, cost), `order` (desc, asc), `limit`, `cursor`.
public enum TraceQueryParameters {
    static let plain: Set<String> = [
        "from", "to", "user_id", "session_id", "tag", "model", "name", "status", "min_latency_ms", "max_latency_ms", "min_cost",
        "max_cost", "task", "language", "domain", "environment", "release", "prompt", "deployment", "variant", "q", "include_internal",
    ]
    static let listing: Set<String> = ["sort", "order", "limit", "cursor"]

    /// A yes/no parameter: true, 1, yes, on; false, 0, no, off; nil for anything else.
    public static func flag(_ value: String?) -> Bool? {
        switch value?.lowercased() {
        case "true", "1", "yes", "on": true
        case "false", "0", "no", "off": false
        default: nil
        }
    }

    /// Parses a filter. `extra` names parameters the caller reads itself (they are not errors).
    public static func filter(_ pairs: [(String, String)], extra: Set<String> = []) throws -> TraceFilter {
        var filter = TraceFilter()
        var scores: [String: ScoreFilter] = [:]
        var scoreOrder: [String] = []
        func score(_ name: String) -> ScoreFilter {
            if scores[name] == nil { scoreOrder.append(name) }
            return scores[name] ?? ScoreFilter(name: name)
        }
        for (key, rawValue) in pairs {
            let value = rawValue.trimmingCharacters(in: .whitespaces)
            if extra.contains(key) { continue }
            if key.hasPrefix("metadata.") {
                filter.metadata[String(key.dropFirst("metadata.".count))] = value
                continue
            }
            if key.hasPrefix("score.") {
                var name = String(key.dropFirst("score.".count))
                if name.hasSuffix(".min") || name.hasSuffix(".max") {
                    let bound = String(name.suffix(3))
                    name = String(name.dropLast(4))
                    guard let number = Double(value), number.isFinite else {
                        throw TernError.invalid(key, "expected a finite number, got \"\(value.prefix(40))\"")
                    }
                    var condition = score(name)
                    if bound == "min" { condition.min = number } else { condition.max = number }
                    scores[name] = condition
                } else {
                    var condition = score(name)
                    condition.equals = value
                    scores[name] = condition
                }
                guard !name.isEmpty else { throw TernError.invalid(key, "name the score: score.NAME=VALUE") }
                continue
            }
            guard plain.contains(key) || listing.contains(key) else {
                throw TernError.invalid(key, "unknown filter; use one of \(plain.union(listing).sorted().joined(separator: ", ")), metadata.KEY or score.NAME")
            }
            if value.isEmpty && key != "q" { continue }
            switch key {
            case "from": filter.from = try date(key, value)
            case "to": filter.to = try date(key, value)
            case "user_id": filter.userID = value
            case "session_id": filter.sessionID = value
            case "tag": filter.tags.append(value)
            case "model": filter.model = value
            case "name": filter.name = value
            case "status":
                guard ["ok", "error"].contains(value.lowercased()) else { throw TernError.invalid(key, "expected ok or error, got \"\(value)\"") }
                filter.status = value.lowercased()
            case "min_latency_ms": filter.minLatencyMs = try number(key, value, max: maxLatencyMs)
            case "max_latency_ms": filter.maxLatencyMs = try number(key, value, max: maxLatencyMs)
            case "min_cost": filter.minCost = try number(key, value, max: InputBounds.maxCost * 1_000_000)
            case "max_cost": filter.maxCost = try number(key, value, max: InputBounds.maxCost * 1_000_000)
            case "task": filter.task = value
            case "language": filter.language = value.lowercased()
            case "domain": filter.domain = value
            case "environment": filter.environment = value
            case "release": filter.release = value
            case "prompt":
                if let at = value.lastIndex(of: "@"), let version = Int(value[value.index(after: at)...]) {
                    filter.promptName = String(value[..<at])
                    filter.promptVersion = version
                } else {
                    filter.promptName = value
                }
            case "deployment": filter.deployment = value
            case "variant": filter.variant = value
            case "q": filter.text = value.isEmpty ? nil : value
            case "include_internal":
                guard let flag = flag(value) else { throw TernError.invalid(key, "expected true or false, got \"\(value.prefix(40))\"") }
                filter.includeInternal = flag
            default: break
            }
        }
        filter.scores = scoreOrder.compactMap { scores[$0] }
        if let from = filter.from, let to = filter.to, from >= to { throw TernError.invalid("to", "must be after from") }
        return filter
    }

    /// Parses a trace list query: the filter plus sort, order, limit and cursor.
    public static func query(_ pairs: [(String, String)], extra: Set<String> = []) throws -> TraceQuery {
        var query = TraceQuery(filter: try filter(pairs, extra: extra))
        for (key, value) in pairs where !extra.contains(key) {
            switch key {
            case "sort":
                guard let sort = TraceSort(rawValue: value.lowercased()) else {
                    throw TernError.invalid(key, "expected time, latency or cost, got \"\(value)\"")
                }
                query.sort = sort
            case "order":
                switch value.lowercased() {
                case "asc": query.ascending = true
                case "desc": query.ascending = false
                default: throw TernError.invalid(key, "expected asc or desc, got \"\(value)\"")
                }
            case "limit":
                guard let limit = Int(value), (1...500).contains(limit) else { throw TernError.invalid(key, "expected an integer 1-500, got \"\(value)\"") }
                query.limit = limit
            case "cursor": query.cursor = value.isEmpty ? nil : value
            default: break
            }
        }
        return query
    }

    static func date(_ key: String, _ value: String) throws -> Date {
        try InputBounds.date(parseDate(key, value), field: key)
    }

    static func parseDate(_ key: String, _ value: String) throws -> Date {
        if let date = try? Date(value, strategy: .iso8601) { return date }
        if let seconds = Double(value) { return try InputBounds.date(seconds: seconds, field: key) }
        // Date only (the UI's date inputs).
        let parts = value.split(separator: "-").compactMap { Int($0) }
        if parts.count == 3, value.count == 10 {
            var components = DateComponents()
            components.year = parts[0]
            components.month = parts[1]
            components.day = parts[2]
            components.timeZone = TimeZone(identifier: "UTC")
            if let date = MetricsBucket.calendar.date(from: components) { return date }
        }
        throw TernError.invalid(key, "expected an ISO 8601 time, a date (YYYY-MM-DD) or Unix seconds, got \"\(value)\"")
    }

    /// Latency filters up to about 317 years.
    static let maxLatencyMs = 1e13

    static func number(_ key: String, _ value: String, max: Double) throws -> Double {
        guard let number = Double(value), number.isFinite, number >= 0, number <= max else {
            throw TernError.invalid(key, "expected a number from 0 to \(InputBounds.formatSeconds(max)), got \"\(value.prefix(40))\"")
        }
        return number
    }
}
