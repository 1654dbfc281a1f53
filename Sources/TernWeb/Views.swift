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

    /// A count with its noun: "1 item", "2,000 items" (`plural` for irregular nouns).
    public static func count(_ value: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(integer(value)) \(value == 1 ? singular : plural ?? singular + "s")"
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
        ("labeling", "Labeling", false), ("monitoring", "Monitoring", true), ("gateway", "Gateway", false), ("settings", "Settings", true),
    ]

    /// A page of this project with `content` under `title`.
    public func page<Content: ViewModel>(_ title: String, _ content: Content, flash: Flash? = nil) -> Page<Content> {
        Page(title: title, chrome: self, flash: flash, content: content)
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

    static func options(_ selected: RangeChoice) -> [Option] {
        all.map { Option(value: $0.value, label: $0.label, selected: $0 == selected) }
    }
}

/// Builds page contexts from Tern's data.
public enum Views {
    /// The dimensions the dashboard's segment picker offers; the picked one splits every chart named
    /// "by ..." (traces over time, cost, traces in total).
    public static let dashboardSegments: [MetricsDimension] = [
        .model, .language, .task, .domain, .prompt, .deployment, .variant, .environment, .tag, .name, .user,
    ]

    // MARK: Dashboard

    public struct DashboardView: ViewModel {
        public var ranges: [Option]
        public var buckets: [Option]
        public var segments: [Option]
        public var kpis: [KPI]
        public var charts: [ChartView]
        public var from: String
        public var to: String
        public var source: String
        /// Whether the traces of experiments and the playground are counted (`TraceOrigin`).
        public var includeInternal: Bool
        /// Set when the range holds no trace at all.
        public var firstTrace: FirstTraceView?
    }

    public static func dashboard(
        chrome: Chrome, range: RangeChoice, bucket: MetricsBucket, segment: MetricsDimension,
        overall: MetricsResult, bySegment: MetricsResult, includeInternal: Bool = false,
        firstTrace: FirstTraceView? = nil, now: Date = Date()
    ) -> Page<DashboardView> {
        let totals = overall.totals
        var kpis = [
            KPI(id: "traces", label: "Traces", value: Format.integer(totals.traces)),
            KPI(id: "errors", label: "Error rate", value: Format.percent(totals.errorRate)),
            KPI(id: "p50", label: "Latency p50", value: Format.duration(totals.latencyP50Ms)),
            KPI(id: "p95", label: "Latency p95", value: Format.duration(totals.latencyP95Ms)),
            KPI(id: "cost", label: "Cost", value: Format.cost(totals.cost)),
            KPI(id: "tokens", label: "Tokens", value: Format.integer(totals.totalTokens)),
        ]
        for name in totals.scores.keys.sorted().prefix(3) {
            kpis.append(KPI(id: "score-\(name)", label: "Score \(name)", value: Format.score(totals.scores[name]!.mean)))
        }
        let timeBucket = TimeBucket(rawValue: bucket.rawValue)
        func points(_ series: [MetricsPoint], _ value: (MetricsSummary) -> Double?) -> [ChartPoint] {
            series.map { ChartPoint(x: $0.start.timeIntervalSince1970, y: value($0.metrics) ?? .nan) }
        }
        let segmentSeries = bySegment.groups.prefix(8).map { ChartSeries(name: $0.key, points: points($0.series) { Double($0.traces) }) }
        // The bucket holding `now` is still filling: its part of each line is dashed, not a drop.
        let nowMicros = Timestamp.micros(now)
        let current = bucket.start(of: nowMicros)
        let partialFrom = current < nowMicros ? Double(current) / 1_000_000 : nil
        let name = segment.rawValue
        let latency = [
            ChartSeries(name: "p50", points: points(overall.series) { $0.latencyP50Ms }),
            ChartSeries(name: "p95", points: points(overall.series) { $0.latencyP95Ms }),
            ChartSeries(name: "p99", points: points(overall.series) { $0.latencyP99Ms }),
        ]
        let scoreNames = totals.scores.keys.sorted().prefix(8)
        let scores = scoreNames.map { name in
            ChartSeries(name: name, points: points(overall.series) { $0.scores[name].map(\.mean) })
        }
        var charts = [
            ChartView(
                title: "Traces over time by \(name)",
                svg: SVGChart.line(
                    Array(segmentSeries), bucket: timeBucket, yFormat: .integer, label: "Traces per \(bucket.rawValue) by \(name)",
                    partialFrom: partialFrom)),
            ChartView(
                title: "Cost",
                svg: SVGChart.line(
                    [ChartSeries(name: "cost", points: points(overall.series) { $0.cost })], bucket: timeBucket, yFormat: .usd,
                    label: "Cost per \(bucket.rawValue)", partialFrom: partialFrom)),
            ChartView(
                title: "Latency",
                svg: SVGChart.line(
                    latency, bucket: timeBucket, yFormat: .milliseconds, label: "Latency percentiles per \(bucket.rawValue)",
                    partialFrom: partialFrom)),
            ChartView(
                title: "Error rate",
                svg: SVGChart.line(
                    [ChartSeries(name: "error rate", points: points(overall.series) { $0.traces > 0 ? $0.errorRate : nil })],
                    bucket: timeBucket, yFormat: .percent, label: "Share of traces with an error", partialFrom: partialFrom)),
            ChartView(
                title: "Cost by \(name)",
                svg: SVGChart.bars(bySegment.groups.map { (label: $0.key, value: $0.totals.cost) }, format: .usd, label: "Cost by \(name)")),
            ChartView(
                title: "Traces by \(name)",
                svg: SVGChart.bars(
                    bySegment.groups.map { (label: $0.key, value: Double($0.totals.traces)) }, format: .integer, label: "Traces by \(name)")),
            ChartView(
                title: "Latency distribution",
                svg: SVGChart.histogram(
                    bins: overall.latencyHistogram.map { (lower: $0.lowerMs, upper: $0.upperMs, count: $0.count) }, xFormat: .milliseconds,
                    label: "How many traces took how long")),
        ]
        if !scores.isEmpty {
            charts.append(
                ChartView(
                    title: "Scores",
                    svg: SVGChart.line(
                        scores, bucket: timeBucket, yFormat: .number, label: "Mean score per \(bucket.rawValue)", partialFrom: partialFrom),
                    note: "Mean of numeric and boolean scores of the traces that started in each \(bucket.rawValue)."))
        }
        return chrome.page(
            "Dashboard",
            DashboardView(
                ranges: RangeChoice.options(range),
                buckets: MetricsBucket.allCases.map { Option(value: $0.rawValue, label: $0.rawValue.capitalized, selected: $0 == bucket) },
                segments: dashboardSegments.map { Option(value: $0.rawValue, label: $0.rawValue.capitalized, selected: $0 == segment) },
                kpis: kpis, charts: charts, from: Format.time(overall.from), to: Format.time(overall.to),
                source: overall.source == "rollup" ? "from hourly rollups" : "scanned from traces", includeInternal: includeInternal,
                firstTrace: overall.totals.traces == 0 ? firstTrace : nil))
    }

    // MARK: First trace

    /// How to send the first trace, on the empty dashboard and trace list: the server's own URL (as the
    /// browser reached it), the project, and a model of the gateway.
    public struct FirstTraceView: ViewModel {
        public var baseURL: String
        public var project: String
        public var model: String
        public var includeHref: String?

        public init(baseURL: String, project: String, model: String?, includeHref: String?) {
            self.baseURL = baseURL
            self.project = project
            self.model = model ?? "MODEL"
            self.includeHref = includeHref
        }
    }

    // MARK: Traces

    /// The filter parameters a traces page shows in its form (the rest are kept as hidden fields).
    static let formFields = [
        "q", "model", "status", "name", "user_id", "session_id", "tag", "task", "language", "domain", "min_latency_ms", "min_cost", "sort",
        "include_internal", "range", "from", "to", "col",
    ]

    /// The trace list's optional columns (`col=` in the URL, repeatable); time, name, input and status always show.
    public static let traceColumns: [(value: String, label: String)] = [
        ("user", "User"), ("model", "Model"), ("output", "Output"), ("latency", "Latency"), ("tokens", "Tokens"), ("cost", "Cost"),
        ("scores", "Scores"), ("tags", "Tags"),
    ]
    public static let defaultTraceColumns: Set<String> = ["user", "model", "latency", "tokens", "cost", "tags"]

    /// The columns a traces URL asks for (the defaults when it names none).
    public static func traceColumns(_ parameters: [(String, String)]) -> Set<String> {
        let asked = Set(parameters.filter { $0.0 == "col" }.map(\.1)).intersection(traceColumns.map(\.value))
        return asked.isEmpty ? defaultTraceColumns : asked
    }

    /// The time range presets of the trace list; `custom` reads `from` and `to`.
    public static let traceRanges: [(value: String, label: String)] = [
        ("", "Any time"), ("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days"),
        ("90d", "Last 90 days"), ("custom", "Custom"),
    ]

    public struct TracesView: ViewModel {
        public struct Hidden: ViewModel {
            public var name: String
            public var value: String
        }

        public struct Row: ViewModel {
            public var href: String
            public var time: String
            public var name: String
            public var input: String
            public var inputPreview: String
            public var model: String
            public var latency: String
            public var tokens: String
            public var cost: String
            public var status: String
            public var statusClass: String
            public var tags: [String]
            public var user: String?
            public var userHref: String?
            public var output: String
            public var scores: String
        }

        /// The form's fields by query parameter name (`filters.user_id`).
        public var filters: [String: String]
        public var hidden: [Hidden]
        public var statuses: [Option]
        public var sorts: [Option]
        public var sortLatency: String
        public var sortCost: String
        public var error: String?
        public var rows: [Row]
        public var next: String?
        public var includeInternal: Bool
        public var ranges: [Option]
        /// The custom range's fields (`datetime-local` values, UTC), shown when the range is custom.
        public var custom: Bool
        public var from: String
        public var to: String
        public var columnOptions: [Option]
        /// Which optional columns show (`show.output`).
        public var show: [String: Bool]
        /// Set when the project has no trace and no filter is applied.
        public var firstTrace: FirstTraceView?
    }

    public static func traces(
        chrome: Chrome, parameters: [(String, String)], page: TracePage?, error: String?, firstTrace: FirstTraceView? = nil,
        scores: [String: [Score]] = [:]
    ) -> Page<TracesView> {
        let base = "/ui/\(chrome.project.slug)/traces"
        var filters: [String: String] = [:]
        var hidden: [TracesView.Hidden] = []
        for (key, value) in parameters where key != "cursor" {
            if formFields.contains(key), filters[key] == nil {
                filters[key] = value
            } else if !formFields.contains(key) {
                hidden.append(TracesView.Hidden(name: key, value: value))
            }
        }
        let kept = parameters.filter { $0.0 != "cursor" && $0.0 != "sort" && !$0.1.isEmpty }
        let slug = chrome.project.slug
        let rows = (page?.traces ?? []).map { summary -> TracesView.Row in
            let trace = summary.trace
            let status = summary.level == .error ? "error" : summary.level == .warning ? "warning" : "ok"
            return TracesView.Row(
                href: "/ui/\(slug)/traces/\(percent(trace.id))", time: Format.time(trace.startTime), name: trace.name ?? "",
                input: trace.input ?? "", inputPreview: String(preview(trace.input).prefix(140)), model: summary.model ?? "",
                latency: Format.duration(summary.latencyMs),
                tokens: "\(Format.integer(summary.inputTokens)) → \(Format.integer(summary.outputTokens))", cost: Format.cost(summary.cost),
                status: status, statusClass: status, tags: trace.tags, user: trace.userID,
                userHref: trace.userID.map { url(base, [("user_id", $0)]) }, output: String(preview(trace.output).prefix(140)),
                scores: (scores[trace.id] ?? []).map { "\($0.name) \(scoreText($0))" }.joined(separator: " · "))
        }
        let shown = traceColumns(parameters)
        let range = filters["range"] ?? ""
        func local(_ key: String) -> String {
            // The form's datetime-local value (UTC) for an ISO or date parameter.
            guard let text = filters[key], !text.isEmpty else { return "" }
            return String(text.replacingOccurrences(of: "Z", with: "").prefix(16))
        }
        return chrome.page(
            "Traces",
            TracesView(
                filters: filters, hidden: hidden,
                statuses: [("", "any"), ("ok", "ok"), ("error", "error")].map {
                    Option(value: $0.0, label: $0.1, selected: (filters["status"] ?? "") == $0.0)
                },
                sorts: [("time", "newest"), ("latency", "slowest"), ("cost", "costliest")].map {
                    Option(value: $0.0, label: $0.1, selected: (filters["sort"] ?? "time") == $0.0)
                },
                sortLatency: url(base, kept + [("sort", "latency")]), sortCost: url(base, kept + [("sort", "cost")]), error: error, rows: rows,
                next: page?.nextCursor.map { url(base, parameters.filter { $0.0 != "cursor" } + [("cursor", $0)]) },
                includeInternal: TraceQueryParameters.flag(filters["include_internal"]) ?? false,
                ranges: traceRanges.map { Option(value: $0.value, label: $0.label, selected: $0.value == range) },
                custom: range == "custom", from: local("from"), to: local("to"),
                columnOptions: traceColumns.map { Option(value: $0.value, label: $0.label, selected: shown.contains($0.value)) },
                show: Dictionary(uniqueKeysWithValues: traceColumns.map { ($0.value, shown.contains($0.value)) }),
                firstTrace: rows.isEmpty && error == nil && parameters.isEmpty ? firstTrace : nil))
    }

    // MARK: Trace detail

    public struct TraceView: ViewModel {
        public struct ScoreRow: ViewModel {
            public var name: String
            public var value: String
            public var source: String
            public var comment: String
            public var author: String
        }

        public struct WaterfallRow: ViewModel {
            public var id: String
            public var type: String
            public var name: String
            public var indent: Int
            public var left: String
            public var width: String
            public var duration: String
            public var barClass: String
            public var title: String
        }

        public struct CostRow: ViewModel {
            public var name: String
            public var model: String
            public var input: String
            public var output: String
            public var cached: String
            public var cost: String
        }

        /// An observation of the tree, with its children.
        public struct Node: ViewModel {
            public var id: String
            public var type: String
            public var name: String
            public var duration: String
            public var open: Bool
            public var error: Bool
            public var children: [Node]
            public var model: String?
            public var tokens: String?
            public var cost: String?
            public var input: MessageContent?
            public var output: MessageContent?
            public var facts: [Fact]
        }

        public var id: String
        public var name: String
        /// `ok`, `warning` or `error`: the worst level of the trace's observations.
        public var status: String
        /// The first error (or warning) message, shown under the header.
        public var statusMessage: String?
        public var kpis: [KPI]
        public var facts: [Fact]
        public var tags: [String]
        public var hasTags: Bool
        public var metadata: String?
        public var input: MessageContent?
        public var output: MessageContent?
        public var scores: [ScoreRow]
        public var scoreNames: [String]
        public var waterfall: [WaterfallRow]
        public var costs: [CostRow]
        public var hasCosts: Bool
        public var tree: [Node]
        /// The "add to dataset" form (the controller fills it in).
        public var datasetForm: AddToDatasetForm?
    }

    public static func trace(chrome: Chrome, detail: TraceDetail, scores: [Score], scoreNames: [String]) -> Page<TraceView> {
        let trace = detail.trace
        let slug = chrome.project.slug
        let generations = detail.observations.filter { $0.usage != nil || $0.cost != nil }
        let inputTokens = generations.reduce(0) { $0 + ($1.usage?.inputTokens ?? 0) }
        let outputTokens = generations.reduce(0) { $0 + ($1.usage?.outputTokens ?? 0) }
        let cost = generations.compactMap(\.cost).reduce(0, +)
        let latency = trace.endTime.map { $0.timeIntervalSince(trace.startTime) * 1000 }
        let kpis = [
            KPI(label: "Latency", value: Format.duration(latency)),
            KPI(label: "Input tokens", value: Format.integer(inputTokens)),
            KPI(label: "Output tokens", value: Format.integer(outputTokens)),
            KPI(label: "Cost", value: Format.cost(generations.isEmpty ? nil : cost)),
            KPI(label: "Observations", value: Format.integer(detail.observations.count)),
        ]
        var facts = [Fact(label: "Started", value: Format.time(trace.startTime) + " UTC")]
        let base = "/ui/\(slug)/traces"
        if let user = trace.userID { facts.append(Fact(label: "User", value: user, href: url(base, [("user_id", user)]))) }
        if let session = trace.sessionID { facts.append(Fact(label: "Session", value: session, href: "/ui/\(slug)/sessions/\(percent(session))")) }
        for (label, value) in [
            ("Environment", trace.environment), ("Release", trace.release), ("Task", trace.task),
            ("Language", trace.language), ("Domain", trace.domain),
        ] {
            if let value { facts.append(Fact(label: label, value: value)) }
        }
        let scoreRows = scores.map { score in
            TraceView.ScoreRow(
                name: score.name, value: scoreText(score), source: score.source.rawValue,
                comment: score.comment ?? "", author: score.author ?? "")
        }
        // Waterfall over the trace's span (or its observations' span when the trace has no end).
        let tree = ObservationNode.tree(detail.observations, traceStart: trace.startTime)
        let flat = ObservationNode.flatten(tree)
        let total = max(latency ?? 0, flat.map { $0.startOffsetMs + ($0.durationMs ?? 0) }.max() ?? 0, 0.001)
        let byID = Dictionary(detail.observations.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let waterfall = flat.map { node -> TraceView.WaterfallRow in
            let observation = byID[node.id]
            let left = max(0, min(100, node.startOffsetMs / total * 100))
            let width = max(0.3, min(100 - left, (node.durationMs ?? 0) / total * 100))
            var barClass = node.type.rawValue
            if observation?.level == .error { barClass += " error" }
            return TraceView.WaterfallRow(
                id: node.id, type: node.type.rawValue, name: node.name ?? node.id, indent: 4 + node.depth * 14,
                left: String(format: "%.3f", left), width: String(format: "%.3f", width), duration: Format.duration(node.durationMs),
                barClass: barClass,
                title: "\(node.name ?? node.id): starts at +\(Format.duration(node.startOffsetMs)), takes \(Format.duration(node.durationMs))")
        }
        let costs = generations.map { o in
            TraceView.CostRow(
                name: o.name ?? o.id, model: o.model ?? "", input: Format.integer(o.usage?.inputTokens ?? 0),
                output: Format.integer(o.usage?.outputTokens ?? 0), cached: Format.integer(o.usage?.cachedTokens ?? 0),
                cost: Format.cost(o.cost) + (o.costEstimated ? " (est.)" : ""))
        }
        func node(_ n: ObservationNode) -> TraceView.Node? {
            guard let o = byID[n.id] else { return nil }
            var facts = [Fact(label: "Start", value: "+" + Format.duration(n.startOffsetMs))]
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
            for (label, value) in pairs { if let value { facts.append(Fact(label: label, value: value)) } }
            return TraceView.Node(
                id: o.id, type: o.type.rawValue, name: o.name ?? o.id, duration: Format.duration(o.latencyMs),
                open: n.depth == 0 && detail.observations.count <= 6, error: o.level == .error, children: n.children.compactMap(node),
                model: o.model, tokens: o.usage.map { Format.integer($0.inputTokens + $0.outputTokens) }, cost: o.cost.map(Format.cost),
                input: content(o.input), output: content(o.output), facts: facts)
        }
        let failing = detail.observations.first { $0.level == .error } ?? detail.observations.first { $0.level == .warning }
        let status = failing.map { $0.level == .error ? "error" : "warning" } ?? "ok"
        let statusMessage = failing.map { o in
            "\(o.name ?? o.type.rawValue)\(o.statusCode.map { " (\($0))" } ?? ""): \(o.statusMessage ?? (o.level == .error ? "failed" : "warning"))"
        }
        return chrome.page(
            trace.name ?? trace.id,
            TraceView(
                id: trace.id, name: trace.name ?? "Trace", status: status, statusMessage: statusMessage, kpis: kpis, facts: facts, tags: trace.tags,
                hasTags: !trace.tags.isEmpty,
                metadata: trace.metadata.map { pretty($0.jsonString()) }, input: content(trace.input), output: content(trace.output),
                scores: scoreRows, scoreNames: scoreNames, waterfall: waterfall, costs: costs, hasCosts: !generations.isEmpty,
                tree: tree.compactMap(node)))
    }

    // MARK: Sessions and users

    public struct SessionsView: ViewModel {
        public struct Row: ViewModel {
            public var id: String
            public var href: String
            public var user: String
            public var traces: String
            public var first: String
            public var last: String
            public var tokens: String
            public var cost: String
            public var errors: String
        }

        public var ranges: [Option]
        public var userID: String
        public var rows: [Row]
        public var includeInternal: Bool
    }

    public static func sessions(
        chrome: Chrome, range: RangeChoice, userID: String?, sessions: [SessionSummary], includeInternal: Bool = false
    ) -> Page<SessionsView> {
        chrome.page(
            "Sessions",
            SessionsView(
                ranges: RangeChoice.options(range), userID: userID ?? "",
                rows: sessions.map { s in
                    SessionsView.Row(
                        id: s.id, href: "/ui/\(chrome.project.slug)/sessions/\(percent(s.id))", user: s.userID ?? "",
                        traces: Format.integer(s.traceCount), first: Format.time(s.firstTime), last: Format.time(s.lastTime),
                        tokens: Format.integer(s.tokens), cost: Format.cost(s.cost), errors: Format.integer(s.errorCount))
                }, includeInternal: includeInternal))
    }

    public struct SessionView: ViewModel {
        public struct Turn: ViewModel {
            public var href: String
            public var time: String
            public var name: String
            public var latency: String
            public var model: String
            public var status: String
            public var statusClass: String
            public var input: MessageContent?
            public var output: MessageContent?
        }

        public var id: String
        public var count: String
        /// The session's user (the first trace that names one).
        public var user: String?
        public var tokens: String
        public var cost: String
        public var turns: [Turn]
        public var more: Bool
        public var shown: Int?
    }

    public static func session(chrome: Chrome, id: String, page: TracePage, limit: Int) -> Page<SessionView> {
        let turns = page.traces.map { s in
            SessionView.Turn(
                href: "/ui/\(chrome.project.slug)/traces/\(percent(s.trace.id))", time: Format.time(s.trace.startTime), name: s.trace.name ?? "",
                latency: Format.duration(s.latencyMs), model: s.model ?? "", status: s.level == .error ? "error" : "ok",
                statusClass: s.level == .error ? "error" : "ok", input: content(s.trace.input), output: content(s.trace.output))
        }
        return chrome.page(
            "Session \(id)",
            SessionView(
                id: id,
                count: page.nextCursor == nil ? Format.count(page.traces.count, "trace") : "\(Format.integer(page.traces.count))+ traces",
                user: page.traces.compactMap(\.trace.userID).first,
                tokens: Format.integer(page.traces.reduce(0) { $0 + $1.inputTokens + $1.outputTokens }),
                cost: Format.cost(page.traces.compactMap(\.cost).reduce(0, +)), turns: turns, more: page.nextCursor != nil,
                shown: page.nextCursor != nil ? limit : nil))
    }

    public struct UsersView: ViewModel {
        public struct Row: ViewModel {
            public var user: String
            public var href: String
            public var traces: String
            public var errorRate: String
            public var tokens: String
            public var cost: String
            public var p95: String
            public var spark: String
        }

        public var ranges: [Option]
        public var limit: Int
        public var rows: [Row]
        public var includeInternal: Bool
    }

    public static func users(chrome: Chrome, range: RangeChoice, result: MetricsResult, limit: Int, includeInternal: Bool = false) -> Page<UsersView> {
        let base = "/ui/\(chrome.project.slug)/traces"
        let rows = result.groups.map { group -> UsersView.Row in
            let isUser = group.key != MetricsResult.noneKey && group.key != MetricsResult.otherKey
            return UsersView.Row(
                user: group.key, href: isUser ? url(base, [("user_id", group.key)]) : base, traces: Format.integer(group.totals.traces),
                errorRate: Format.percent(group.totals.errorRate), tokens: Format.integer(group.totals.totalTokens),
                cost: Format.cost(group.totals.cost), p95: Format.duration(group.totals.latencyP95Ms),
                spark: SVGChart.sparkline(group.series.map { Double($0.metrics.traces) }, format: .integer, label: "Traces per day of \(group.key)"))
        }
        return chrome.page("Users", UsersView(ranges: RangeChoice.options(range), limit: limit, rows: rows, includeInternal: includeInternal))
    }

    // MARK: Helpers

    /// A score as people read it: `true`/`false` for booleans, the category, or the number.
    public static func scoreText(_ score: Score) -> String {
        if score.dataType == .boolean, let value = score.numericValue { return value != 0 ? "true" : "false" }
        return score.stringValue ?? score.numericValue.map(Format.score) ?? ""
    }

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
    public static func content(_ text: String?) -> MessageContent? {
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
            if let list, !list.isEmpty { return MessageContent(messages: list.map(message), text: nil) }
            return MessageContent(messages: nil, text: pretty(trimmed))
        }
        return MessageContent(messages: nil, text: text)
    }

    /// One line for a table cell: the last user message of a message list, else the text.
    public static func preview(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "" }
        if let messages = content(text)?.messages {
            let last = messages.last { $0.role == "user" } ?? messages.last
            if let words = last?.content { return words.replacingOccurrences(of: "\n", with: " ") }
        }
        return text.replacingOccurrences(of: "\n", with: " ")
    }

    static func message(_ value: JSONValue) -> MessageView {
        var texts: [String] = []
        var calls: [MessageView.ToolCall] = []
        func call(_ name: String?, _ arguments: JSONValue?) {
            let text: String = if let string = arguments?.string { pretty(string) } else { arguments.map { pretty($0.jsonString()) } ?? "" }
            calls.append(MessageView.ToolCall(name: name ?? "?", arguments: text))
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
        return MessageView(
            role: value["role"]?.string ?? "message", name: value["name"]?.string, content: texts.isEmpty ? nil : texts.joined(separator: "\n"),
            toolCalls: calls.isEmpty ? nil : calls)
    }
}

/// A trace's input or output: chat messages, or text.
public struct MessageContent: ViewModel {
    public var messages: [MessageView]?
    public var text: String?
}

/// One chat message, its text and tool calls.
public struct MessageView: ViewModel {
    public struct ToolCall: ViewModel {
        public var name: String
        public var arguments: String
    }

    public var role: String
    public var name: String?
    public var content: String?
    public var toolCalls: [ToolCall]?
}
