public import Foundation
public import TernCore
public import TernMonitor

/// Formats numbers and times the same way on every page.
public enum Format {
    static let timeFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter
    }()
    static let lock = NSLock()

    public static func time(_ date: Date) -> String {
        lock.lock()
        defer { lock.unlock() }
        return timeFormatter.string(from: date)
    }

    public static func duration(_ ms: Double?) -> String {
        guard let ms, ms.isFinite else { return "–" }
        if ms < 1 { return String(format: "%.2f ms", ms) }
        if ms < 1000 { return String(format: "%.0f ms", ms) }
        if ms < 60_000 { return String(format: "%.2f s", ms / 1000) }
        return String(format: "%dm %02ds", Int.clamping(ms / 60_000), Int.clamping(ms / 1000) % 60)
    }

    public static func cost(_ usd: Double?) -> String {
        guard let usd, usd.isFinite else { return "–" }
        if usd == 0 { return "$0" }
        if usd < 0.01 { return String(format: "$%.6f", usd) }
        if usd < 100 { return String(format: "$%.4f", usd) }
        if usd >= 1e15 { return String(format: "$%.3g", usd) }
        return "$" + integer(Int(usd.rounded()))
    }

    public static func integer(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    public static func percent(_ fraction: Double) -> String { String(format: "%.1f%%", fraction * 100) }

    public static func score(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(format: "%.3g", value)
    }
}

/// What every signed-in page shows around its content.
public struct Chrome: Sendable {
    public var project: Project
    public var projects: [Project]
    public var userName: String
    public var csrf: String
    public var active: String

    public init(project: Project, projects: [Project], userName: String, csrf: String, active: String) {
        self.project = project
        self.projects = projects
        self.userName = userName
        self.csrf = csrf
        self.active = active
    }

    static let sections: [(id: String, label: String, enabled: Bool)] = [
        ("dashboard", "Dashboard", true), ("traces", "Traces", true), ("sessions", "Sessions", true), ("users", "Users", true),
        ("prompts", "Prompts", true), ("datasets", "Datasets", true), ("experiments", "Experiments", true),
        ("labeling", "Labeling", false), ("monitoring", "Monitoring", false), ("gateway", "Gateway", false),
    ]

    public func pageContext(title: String) -> [String: Any] {
        [
            "title": title,
            "chrome": true,
            "project": ["slug": project.slug, "name": project.name],
            "projects": projects.map { ["slug": $0.slug, "name": $0.name, "selected": $0.id == project.id] as [String: Any] },
            "nav": Self.sections.map { section -> [String: Any] in
                [
                    "id": section.id, "label": section.label, "enabled": section.enabled, "active": section.id == active,
                    "href": "/ui/\(project.slug)/\(section.id)",
                ]
            },
            "user": userName,
            "csrf": csrf,
        ]
    }
}

/// A time range choice of the dashboard, sessions and users pages.
public struct RangeChoice: Sendable, Equatable {
    public let value: String
    public let label: String
    public let seconds: TimeInterval
    public let bucket: MetricsBucket

    public static let all: [RangeChoice] = [
        RangeChoice(value: "1h", label: "Last hour", seconds: 3600, bucket: .minute),
        RangeChoice(value: "24h", label: "Last 24 hours", seconds: 86_400, bucket: .hour),
        RangeChoice(value: "7d", label: "Last 7 days", seconds: 7 * 86_400, bucket: .hour),
        RangeChoice(value: "30d", label: "Last 30 days", seconds: 30 * 86_400, bucket: .day),
        RangeChoice(value: "90d", label: "Last 90 days", seconds: 90 * 86_400, bucket: .day),
    ]

    public static func named(_ value: String?, default fallback: String = "24h") -> RangeChoice {
        all.first { $0.value == value } ?? all.first { $0.value == fallback }!
    }

    static func options(_ selected: RangeChoice) -> [[String: Any]] {
        all.map { ["value": $0.value, "label": $0.label, "selected": $0 == selected] }
    }
}

/// Builds page contexts from Tern's data.
public enum Views {
    public static let dashboardSegments: [MetricsDimension] = [.language, .task, .domain, .prompt, .deployment, .variant, .environment, .tag, .name]

    // MARK: Dashboard

    public static func dashboard(
        chrome: Chrome, range: RangeChoice, bucket: MetricsBucket, segment: MetricsDimension,
        overall: MetricsResult, byModel: MetricsResult, bySegment: MetricsResult
    ) -> [String: Any] {
        var context = chrome.pageContext(title: "Dashboard")
        context["ranges"] = RangeChoice.options(range)
        context["buckets"] = MetricsBucket.allCases.map { ["value": $0.rawValue, "label": $0.rawValue.capitalized, "selected": $0 == bucket] }
        context["segments"] = dashboardSegments.map { ["value": $0.rawValue, "label": $0.rawValue.capitalized, "selected": $0 == segment] }
        let totals = overall.totals
        var kpis: [[String: Any]] = [
            ["id": "traces", "label": "Traces", "value": Format.integer(totals.traces)],
            ["id": "errors", "label": "Error rate", "value": Format.percent(totals.errorRate)],
            ["id": "p50", "label": "Latency p50", "value": Format.duration(totals.latencyP50Ms)],
            ["id": "p95", "label": "Latency p95", "value": Format.duration(totals.latencyP95Ms)],
            ["id": "cost", "label": "Cost", "value": Format.cost(totals.cost)],
            ["id": "tokens", "label": "Tokens", "value": Format.integer(totals.totalTokens)],
        ]
        for name in totals.scores.keys.sorted().prefix(3) {
            kpis.append(["id": "score-\(name)", "label": "Score \(name)", "value": Format.score(totals.scores[name]!.mean)])
        }
        context["kpis"] = kpis
        let timeBucket = TimeBucket(rawValue: bucket.rawValue)
        func points(_ series: [MetricsPoint], _ value: (MetricsSummary) -> Double?) -> [ChartPoint] {
            series.map { ChartPoint(x: $0.start.timeIntervalSince1970, y: value($0.metrics) ?? .nan) }
        }
        let modelSeries = byModel.groups.prefix(8).map { ChartSeries(name: $0.key, points: points($0.series) { Double($0.traces) }) }
        let latency = [
            ChartSeries(name: "p50", points: points(overall.series) { $0.latencyP50Ms }),
            ChartSeries(name: "p95", points: points(overall.series) { $0.latencyP95Ms }),
            ChartSeries(name: "p99", points: points(overall.series) { $0.latencyP99Ms }),
        ]
        let scoreNames = totals.scores.keys.sorted().prefix(8)
        let scores = scoreNames.map { name in
            ChartSeries(name: name, points: points(overall.series) { $0.scores[name].map(\.mean) })
        }
        var charts: [[String: Any]] = [
            [
                "title": "Traces by model",
                "svg": SVGChart.line(Array(modelSeries), bucket: timeBucket, yFormat: .integer, label: "Traces per \(bucket.rawValue) by model"),
            ],
            [
                "title": "Cost",
                "svg": SVGChart.line(
                    [ChartSeries(name: "cost", points: points(overall.series) { $0.cost })], bucket: timeBucket, yFormat: .usd,
                    label: "Cost per \(bucket.rawValue)"),
            ],
            [
                "title": "Latency",
                "svg": SVGChart.line(latency, bucket: timeBucket, yFormat: .milliseconds, label: "Latency percentiles per \(bucket.rawValue)"),
            ],
            [
                "title": "Error rate",
                "svg": SVGChart.line(
                    [ChartSeries(name: "error rate", points: points(overall.series) { $0.traces > 0 ? $0.errorRate : nil })],
                    bucket: timeBucket, yFormat: .percent, label: "Share of traces with an error"),
            ],
            [
                "title": "Cost by model",
                "svg": SVGChart.bars(
                    byModel.groups.map { (label: $0.key, value: $0.totals.cost) }, format: .usd, width: 640,
                    label: "Cost by model"),
            ],
            [
                "title": "Traces by \(segment.rawValue)",
                "svg": SVGChart.bars(
                    bySegment.groups.map { (label: $0.key, value: Double($0.totals.traces)) },
                    format: .integer, width: 640, label: "Traces by \(segment.rawValue)"),
            ],
            [
                "title": "Latency distribution",
                "svg": SVGChart.histogram(
                    bins: overall.latencyHistogram.map { (lower: $0.lowerMs, upper: $0.upperMs, count: $0.count) }, xFormat: .milliseconds,
                    label: "How many traces took how long"),
            ],
        ]
        if !scores.isEmpty {
            charts.append([
                "title": "Scores", "svg": SVGChart.line(scores, bucket: timeBucket, yFormat: .number, label: "Mean score per \(bucket.rawValue)"),
                "note": "Mean of numeric and boolean scores of the traces that started in each \(bucket.rawValue).",
            ])
        }
        context["charts"] = charts
        context["from"] = Format.time(overall.from)
        context["to"] = Format.time(overall.to)
        context["source"] = overall.source == "rollup" ? "from hourly rollups" : "scanned from traces"
        return context
    }

    // MARK: Traces

    /// The filter parameters a traces page shows in its form (the rest are kept as hidden fields).
    static let formFields = [
        "q", "model", "status", "name", "user_id", "session_id", "tag", "task", "language", "domain", "min_latency_ms", "min_cost", "sort",
    ]

    public static func traces(chrome: Chrome, parameters: [(String, String)], page: TracePage?, error: String?) -> [String: Any] {
        var context = chrome.pageContext(title: "Traces")
        let base = "/ui/\(chrome.project.slug)/traces"
        var filters: [String: String] = [:]
        var hidden: [[String: Any]] = []
        for (key, value) in parameters where key != "cursor" {
            if formFields.contains(key), filters[key] == nil {
                filters[key] = value
            } else if !formFields.contains(key) {
                hidden.append(["name": key, "value": value])
            }
        }
        context["filters"] = filters
        context["hidden"] = hidden
        context["statuses"] = [("", "any"), ("ok", "ok"), ("error", "error")].map {
            ["value": $0.0, "label": $0.1, "selected": (filters["status"] ?? "") == $0.0] as [String: Any]
        }
        context["sorts"] = [("time", "newest"), ("latency", "slowest"), ("cost", "costliest")].map {
            ["value": $0.0, "label": $0.1, "selected": (filters["sort"] ?? "time") == $0.0] as [String: Any]
        }
        let kept = parameters.filter { $0.0 != "cursor" && $0.0 != "sort" && !$0.1.isEmpty }
        context["sortLatency"] = url(base, kept + [("sort", "latency")])
        context["sortCost"] = url(base, kept + [("sort", "cost")])
        if let error { context["error"] = error }
        let slug = chrome.project.slug
        context["rows"] = (page?.traces ?? []).map { summary -> [String: Any] in
            let trace = summary.trace
            let row: [String: Any] = [
                "href": "/ui/\(slug)/traces/\(percent(trace.id))",
                "time": Format.time(trace.startTime),
                "name": trace.name ?? "",
                "input": trace.input ?? "",
                "inputPreview": String(preview(trace.input).prefix(140)),
                "model": summary.model ?? "",
                "latency": Format.duration(summary.latencyMs),
                "tokens": "\(Format.integer(summary.inputTokens)) → \(Format.integer(summary.outputTokens))",
                "cost": Format.cost(summary.cost),
                "status": summary.level == .error ? "error" : summary.level == .warning ? "warning" : "ok",
                "statusClass": summary.level == .error ? "error" : summary.level == .warning ? "warning" : "ok",
                "tags": trace.tags,
                "user": trace.userID ?? false,
                "userHref": trace.userID.map { url(base, [("user_id", $0)]) } ?? false,
            ]
            return row
        }
        if let cursor = page?.nextCursor {
            context["next"] = url(base, parameters.filter { $0.0 != "cursor" } + [("cursor", cursor)])
        }
        return context
    }

    // MARK: Trace detail

    public static func trace(chrome: Chrome, detail: TraceDetail, scores: [Score], scoreNames: [String]) -> [String: Any] {
        let trace = detail.trace
        var context = chrome.pageContext(title: trace.name ?? trace.id)
        let slug = chrome.project.slug
        context["id"] = trace.id
        context["name"] = trace.name ?? "Trace"
        let generations = detail.observations.filter { $0.usage != nil || $0.cost != nil }
        let inputTokens = generations.reduce(0) { $0 + ($1.usage?.inputTokens ?? 0) }
        let outputTokens = generations.reduce(0) { $0 + ($1.usage?.outputTokens ?? 0) }
        let cost = generations.compactMap(\.cost).reduce(0, +)
        let latency = trace.endTime.map { $0.timeIntervalSince(trace.startTime) * 1000 }
        context["kpis"] = [
            ["label": "Latency", "value": Format.duration(latency)],
            ["label": "Input tokens", "value": Format.integer(inputTokens)],
            ["label": "Output tokens", "value": Format.integer(outputTokens)],
            ["label": "Cost", "value": Format.cost(generations.isEmpty ? nil : cost)],
            ["label": "Observations", "value": Format.integer(detail.observations.count)],
        ]
        var facts: [[String: Any]] = [["label": "Started", "value": Format.time(trace.startTime) + " UTC", "href": false]]
        let base = "/ui/\(slug)/traces"
        if let user = trace.userID { facts.append(["label": "User", "value": user, "href": url(base, [("user_id", user)])]) }
        if let session = trace.sessionID { facts.append(["label": "Session", "value": session, "href": "/ui/\(slug)/sessions/\(percent(session))"]) }
        for (label, value) in [
            ("Environment", trace.environment), ("Release", trace.release), ("Task", trace.task),
            ("Language", trace.language), ("Domain", trace.domain),
        ] {
            if let value { facts.append(["label": label, "value": value, "href": false]) }
        }
        context["facts"] = facts
        context["tags"] = trace.tags
        context["hasTags"] = !trace.tags.isEmpty
        context["metadata"] = trace.metadata.map { pretty($0.jsonString()) } ?? false
        context["input"] = content(trace.input) ?? false
        context["output"] = content(trace.output) ?? false
        context["scores"] = scores.map { score -> [String: Any] in
            [
                "name": score.name, "value": score.numericValue.map(Format.score) ?? score.stringValue ?? "", "source": score.source.rawValue,
                "comment": score.comment ?? "", "author": score.author ?? "",
            ]
        }
        context["scoreNames"] = scoreNames
        // Waterfall over the trace's span (or its observations' span when the trace has no end).
        let tree = ObservationNode.tree(detail.observations, traceStart: trace.startTime)
        let flat = ObservationNode.flatten(tree)
        let total = max(latency ?? 0, flat.map { $0.startOffsetMs + ($0.durationMs ?? 0) }.max() ?? 0, 0.001)
        let byID = Dictionary(detail.observations.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        context["waterfall"] = flat.map { node -> [String: Any] in
            let observation = byID[node.id]
            let left = max(0, min(100, node.startOffsetMs / total * 100))
            let width = max(0.3, min(100 - left, (node.durationMs ?? 0) / total * 100))
            var barClass = node.type.rawValue
            if observation?.level == .error { barClass += " error" }
            return [
                "id": node.id, "type": node.type.rawValue, "name": node.name ?? node.id, "indent": 4 + node.depth * 14,
                "left": String(format: "%.3f", left), "width": String(format: "%.3f", width), "duration": Format.duration(node.durationMs),
                "barClass": barClass,
                "title": "\(node.name ?? node.id): starts at +\(Format.duration(node.startOffsetMs)), takes \(Format.duration(node.durationMs))",
            ]
        }
        context["costs"] = generations.map { o -> [String: Any] in
            [
                "name": o.name ?? o.id, "model": o.model ?? "", "input": Format.integer(o.usage?.inputTokens ?? 0),
                "output": Format.integer(o.usage?.outputTokens ?? 0), "cached": Format.integer(o.usage?.cachedTokens ?? 0),
                "cost": Format.cost(o.cost) + (o.costEstimated ? " (est.)" : ""),
            ]
        }
        context["hasCosts"] = !generations.isEmpty
        func node(_ n: ObservationNode) -> [String: Any] {
            guard let o = byID[n.id] else { return [:] }
            var out: [String: Any] = [
                "id": o.id, "type": o.type.rawValue, "name": o.name ?? o.id, "duration": Format.duration(o.latencyMs),
                "open": n.depth == 0 && detail.observations.count <= 6, "error": o.level == .error,
                "children": n.children.map(node), "model": o.model ?? false,
                "tokens": o.usage.map { Format.integer($0.inputTokens + $0.outputTokens) } ?? false, "cost": o.cost.map(Format.cost) ?? false,
                "input": content(o.input) ?? false, "output": content(o.output) ?? false,
            ]
            var facts: [[String: Any]] = [["label": "Start", "value": "+" + Format.duration(n.startOffsetMs)]]
            let pairs: [(String, String?)] = [
                ("Provider", o.provider), ("Requested", o.requestedModel), ("Deployment", o.deployment), ("Variant", o.variant),
                ("Route", o.route), ("Cache", o.cacheStatus), ("Status code", o.statusCode.map(String.init)),
                ("Level", o.level == .default ? nil : o.level.rawValue), ("Status", o.statusMessage),
                ("Time to first token", o.completionStartTime.map { Format.duration($0.timeIntervalSince(o.startTime) * 1000) }),
                ("Prompt", o.promptName.map { name in o.promptVersion.map { "\(name) v\($0)" } ?? name }),
                ("Parameters", o.modelParameters.map { $0.jsonString() }),
                (
                    "Usage",
                    o.usage.map {
                        "\($0.inputTokens) in, \($0.outputTokens) out" + ($0.cachedTokens.map { ", \($0) cached" } ?? "")
                            + ($0.reasoningTokens.map { ", \($0) reasoning" } ?? "")
                    }
                ),
                ("Metadata", o.metadata.map { $0.jsonString() }),
            ]
            for (label, value) in pairs { if let value { facts.append(["label": label, "value": value]) } }
            out["facts"] = facts
            return out
        }
        context["tree"] = tree.map(node)
        return context
    }

    // MARK: Sessions and users

    public static func sessions(chrome: Chrome, range: RangeChoice, userID: String?, sessions: [SessionSummary]) -> [String: Any] {
        var context = chrome.pageContext(title: "Sessions")
        context["ranges"] = RangeChoice.options(range)
        context["userID"] = userID ?? ""
        context["rows"] = sessions.map { s -> [String: Any] in
            [
                "id": s.id, "href": "/ui/\(chrome.project.slug)/sessions/\(percent(s.id))", "user": s.userID ?? "", "traces": Format.integer(s.traceCount),
                "first": Format.time(s.firstTime), "last": Format.time(s.lastTime), "tokens": Format.integer(s.tokens), "cost": Format.cost(s.cost),
                "errors": Format.integer(s.errorCount),
            ]
        }
        return context
    }

    public static func session(chrome: Chrome, id: String, page: TracePage, limit: Int) -> [String: Any] {
        var context = chrome.pageContext(title: "Session \(id)")
        context["id"] = id
        context["count"] = Format.integer(page.traces.count) + (page.nextCursor == nil ? "" : "+")
        context["user"] = page.traces.compactMap(\.trace.userID).first ?? false
        context["tokens"] = Format.integer(page.traces.reduce(0) { $0 + $1.inputTokens + $1.outputTokens })
        context["cost"] = Format.cost(page.traces.compactMap(\.cost).reduce(0, +))
        context["turns"] = page.traces.map { s -> [String: Any] in
            var turn: [String: Any] = [
                "href": "/ui/\(chrome.project.slug)/traces/\(percent(s.trace.id))", "time": Format.time(s.trace.startTime), "name": s.trace.name ?? "",
                "latency": Format.duration(s.latencyMs), "model": s.model ?? "",
                "status": s.level == .error ? "error" : "ok", "statusClass": s.level == .error ? "error" : "ok",
            ]
            turn["input"] = content(s.trace.input) ?? false
            turn["output"] = content(s.trace.output) ?? false
            return turn
        }
        if page.nextCursor != nil {
            context["more"] = true
            context["shown"] = limit
        }
        return context
    }

    public static func users(chrome: Chrome, range: RangeChoice, result: MetricsResult, limit: Int) -> [String: Any] {
        var context = chrome.pageContext(title: "Users")
        context["ranges"] = RangeChoice.options(range)
        context["limit"] = limit
        let base = "/ui/\(chrome.project.slug)/traces"
        context["rows"] = result.groups.map { group -> [String: Any] in
            let isUser = group.key != MetricsResult.noneKey && group.key != MetricsResult.otherKey
            return [
                "user": group.key, "href": isUser ? url(base, [("user_id", group.key)]) : base,
                "traces": Format.integer(group.totals.traces), "errorRate": Format.percent(group.totals.errorRate),
                "tokens": Format.integer(group.totals.totalTokens), "cost": Format.cost(group.totals.cost),
                "p95": Format.duration(group.totals.latencyP95Ms),
                "spark": SVGChart.sparkline(group.series.map { Double($0.metrics.traces) }, format: .integer, label: "Traces per day of \(group.key)"),
            ]
        }
        return context
    }

    // MARK: Helpers

    /// A URL with query parameters, percent-encoded.
    public static func url(_ path: String, _ parameters: [(String, String)]) -> String {
        guard !parameters.isEmpty else { return path }
        return path + "?" + parameters.map { "\(percent($0.0))=\(percent($0.1))" }.joined(separator: "&")
    }

    public static func percent(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func pretty(_ json: String) -> String {
        guard let data = json.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let out = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        else { return json }
        return String(decoding: out, as: UTF8.self)
    }

    /// Input or output as chat messages when it is a message list (OpenAI, Anthropic or OpenTelemetry
    /// GenAI shapes), else as text (JSON pretty-printed). Nil when empty.
    public static func content(_ text: String?) -> [String: Any]? {
        guard let text, !text.isEmpty else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.first == "[" || trimmed.first == "{", let value = try? JSONValue.parse(Data(trimmed.utf8)) {
            var list: [JSONValue]?
            if let array = value.array, !array.isEmpty, array.allSatisfy({ $0["role"]?.string != nil }) {
                list = array
            } else if let messages = value["messages"]?.array, messages.allSatisfy({ $0["role"]?.string != nil }) {
                list = messages
                if let system = value["system"]?.string { list!.insert(.object(["role": "system", "content": .string(system)]), at: 0) }
            } else if value["role"]?.string != nil {
                list = [value]
            }
            if let list, !list.isEmpty { return ["messages": list.map(message), "text": false] }
            return ["text": pretty(trimmed), "messages": false]
        }
        return ["text": text, "messages": false]
    }

    /// One line for a table cell: the last user message of a message list, else the text.
    public static func preview(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "" }
        if let messages = content(text)?["messages"] as? [[String: Any]] {
            let last = messages.last { $0["role"] as? String == "user" } ?? messages.last
            if let words = last?["content"] as? String { return words.replacingOccurrences(of: "\n", with: " ") }
        }
        return text.replacingOccurrences(of: "\n", with: " ")
    }

    static func message(_ value: JSONValue) -> [String: Any] {
        // Every key is set: mustache looks a missing key up in the enclosing contexts.
        var out: [String: Any] = ["role": value["role"]?.string ?? "message", "name": value["name"]?.string ?? false, "content": false, "toolCalls": false]
        var texts: [String] = []
        var calls: [[String: Any]] = []
        func call(_ name: String?, _ arguments: JSONValue?) {
            let text: String = if let string = arguments?.string { pretty(string) } else { arguments.map { pretty($0.jsonString()) } ?? "" }
            calls.append(["name": name ?? "?", "arguments": text])
        }
        if let content = value["content"]?.string { texts.append(content) }
        // Content parts: OpenAI (text, image_url), Anthropic (text, tool_use, tool_result), OpenTelemetry (parts).
        for part in (value["content"]?.array ?? []) + (value["parts"]?.array ?? []) {
            switch part["type"]?.string {
            case "text"?: texts.append(part["text"]?.string ?? part["content"]?.string ?? "")
            case "tool_use"?: call(part["name"]?.string, part["input"])
            case "tool_call"?: call(part["name"]?.string, part["arguments"])
            case "tool_result"?, "tool_call_response"?:
                texts.append(part["content"]?.string ?? part["response"]?.string ?? part["content"].map { $0.jsonString() } ?? "")
            case "image_url"?, "image"?: texts.append("[image]")
            default: if let text = part.string { texts.append(text) } else { texts.append(part.jsonString()) }
            }
        }
        for toolCall in value["tool_calls"]?.array ?? [] {
            call(toolCall["function"]?["name"]?.string, toolCall["function"]?["arguments"])
        }
        if !texts.isEmpty { out["content"] = texts.joined(separator: "\n") }
        if !calls.isEmpty { out["toolCalls"] = calls }
        return out
    }
}
