public import Foundation
public import TernCore
public import TernMonitor

/// The monitoring pages: watchers, alerts, gaps between segments and drift.
extension Views {
    static func monitoringTabs(_ chrome: Chrome, active: String) -> [SettingsTab] {
        let base = "/ui/\(percent(chrome.project.slug))/monitoring"
        return [
            ("watchers", "Watchers", base), ("alerts", "Alerts", base + "/alerts"), ("probes", "Probes", base + "/probes"), ("gaps", "Gaps", base + "/gaps"),
            ("drift", "Drift", base + "/drift"), ("topics", "Topics", base + "/topics"),
        ]
        .map { SettingsTab(label: $0.1, href: $0.2, active: $0.0 == active) }
    }

    // MARK: Watchers

    public struct WatchersView: ViewModel {
        public struct Row: ViewModel {
            public var name: String
            public var href: String
            public var version: Int
            public var state: String
            public var paused: Bool
            public var sampling: String
            public var pending: String
            public var done: String
            public var failed: String
            public var hasFailures: Bool
            public var lag: String
            public var cost: String
        }

        public var tabs: [SettingsTab]
        public var rows: [Row]
    }

    static func lag(_ stats: WatcherQueueStats, now: Date) -> String {
        stats.oldestWaiting.map { Format.duration(max(0, now.timeIntervalSince($0)) * 1000) } ?? "–"
    }

    public static func watchers(chrome: Chrome, watchers: [Watcher], stats: [String: WatcherQueueStats], now: Date = Date()) -> Page<WatchersView> {
        let base = "/ui/\(percent(chrome.project.slug))/monitoring/watchers"
        let rows = watchers.map { watcher -> WatchersView.Row in
            let queue = stats[watcher.id] ?? WatcherQueueStats(watcherID: watcher.id)
            return WatchersView.Row(
                name: watcher.name, href: "\(base)/\(percent(watcher.id))", version: watcher.version, state: watcher.enabled ? "on" : "paused",
                paused: !watcher.enabled, sampling: Format.percent(watcher.definition.samplingRate), pending: Format.integer(queue.pending + queue.running),
                done: Format.integer(queue.done), failed: Format.integer(queue.failed), hasFailures: queue.failed > 0, lag: lag(queue, now: now),
                cost: Format.cost(queue.costToday))
        }
        return chrome.page("Watchers", WatchersView(tabs: monitoringTabs(chrome, active: "watchers"), rows: rows))
    }

    public struct WatcherView: ViewModel {
        public struct Job: ViewModel {
            public var trace: String
            public var traceHref: String
            public var status: String
            public var attempts: Int
            public var error: String
            public var finished: String
        }

        public struct Backfill: ViewModel {
            public var range: String
            public var status: String
            public var progress: String
            public var percent: Int
            public var detail: String
            public var note: String?
        }

        public var tabs: [SettingsTab]
        public var name: String
        public var version: Int
        public var paused: Bool
        public var action: String
        public var assertions: String
        public var filter: String
        public var sampling: String
        public var idle: String
        public var costCap: String
        public var pending: String
        public var running: String
        public var done: String
        public var failed: String
        public var lag: String
        public var cost: String
        public var jobs: [Job]
        public var backfills: [Backfill]
        /// The explorer on the traces it failed, and the form that adds them to a dataset.
        public var failingHref: String
        public var datasetAction: String
        public var datasetName: String
    }

    public static func watcher(
        chrome: Chrome, watcher: Watcher, stats: WatcherQueueStats?, jobs: [WatcherJob], backfills: [WatcherBackfill], now: Date = Date()
    ) -> Page<WatcherView> {
        let queue = stats ?? WatcherQueueStats(watcherID: watcher.id)
        let traces = "/ui/\(percent(chrome.project.slug))/traces"
        let rows = jobs.map { job in
            WatcherView.Job(
                trace: job.traceID, traceHref: "\(traces)/\(percent(job.traceID))", status: job.status.rawValue, attempts: job.attempts,
                error: job.lastError ?? "", finished: job.finishedAt.map(Format.time) ?? "–")
        }
        let fills = backfills.map { backfill in
            WatcherView.Backfill(
                range: "\(Format.time(backfill.from)) – \(Format.time(backfill.to))", status: backfill.status.rawValue,
                progress: Format.percent(backfill.progress), percent: Int((backfill.progress * 100).rounded()),
                detail: "\(Format.count(backfill.scanned, "trace")) read, \(Format.integer(backfill.queued)) queued; "
                    + "\(Format.integer(backfill.jobs.done)) done, \(Format.integer(backfill.jobs.failed)) failed",
                note: backfill.note)
        }
        let content = WatcherView(
            tabs: monitoringTabs(chrome, active: "watchers"), name: watcher.name, version: watcher.version, paused: !watcher.enabled,
            action: "/ui/\(percent(chrome.project.slug))/monitoring/watchers/\(percent(watcher.id))/state",
            assertions: pretty(watcher.definition.assertions.jsonString()), filter: watcher.definition.filter.json.jsonString(),
            sampling: Format.percent(watcher.definition.samplingRate), idle: "\(watcher.definition.idleSeconds) s",
            costCap: watcher.definition.dailyCostCap.map(Format.cost) ?? "none", pending: Format.integer(queue.pending),
            running: Format.integer(queue.running), done: Format.integer(queue.done), failed: Format.integer(queue.failed), lag: lag(queue, now: now),
            cost: Format.cost(queue.costToday), jobs: rows, backfills: fills,
            failingHref: url(traces, [("score.\(watcher.scoreName).max", "0.999999")]),
            datasetAction: "/ui/\(percent(chrome.project.slug))/monitoring/watchers/\(percent(watcher.id))/dataset", datasetName: "\(watcher.name)-failures")
        return chrome.page("Watcher \(watcher.name)", content)
    }

    // MARK: Alerts

    public struct AlertsView: ViewModel {
        public struct Row: ViewModel {
            public var name: String
            public var href: String
            public var state: String
            public var firing: Bool
            public var paused: Bool
            public var condition: String
            public var value: String
            public var since: String
            public var silenced: String
        }

        public var tabs: [SettingsTab]
        public var rows: [Row]
    }

    static func condition(_ definition: AlertDefinition) -> String {
        "\(definition.metric.rawValue) \(definition.condition.rawValue) \(AlertNotification.format(definition.threshold)) over \(window(definition.windowSeconds))"
    }

    static func window(_ seconds: Int) -> String {
        if seconds % 86_400 == 0 { return "\(seconds / 86_400) d" }
        if seconds % 3600 == 0 { return "\(seconds / 3600) h" }
        if seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }

    public static func alerts(chrome: Chrome, rules: [AlertRule], now: Date = Date()) -> Page<AlertsView> {
        let base = "/ui/\(percent(chrome.project.slug))/alerts"
        let rows = rules.map { rule in
            AlertsView.Row(
                name: rule.name, href: "\(base)/\(percent(rule.id))", state: rule.enabled ? rule.state.rawValue : "paused",
                firing: rule.enabled && rule.state == .firing, paused: !rule.enabled, condition: condition(rule.definition),
                value: rule.lastValue.map(AlertNotification.format) ?? "–", since: rule.stateSince.map(Format.time) ?? "–",
                silenced: rule.silencedUntil.flatMap { $0 > now ? Format.time($0) : nil } ?? "")
        }
        return chrome.page("Alerts", AlertsView(tabs: monitoringTabs(chrome, active: "alerts"), rows: rows))
    }

    public struct AlertView: ViewModel {
        public struct Event: ViewModel {
            public var at: String
            public var kind: String
            public var firing: Bool
            public var value: String
            public var message: String
            public var notification: String
        }

        public struct Delivery: ViewModel {
            public var created: String
            public var url: String
            public var format: String
            public var status: String
            public var failed: Bool
            public var attempts: Int
            public var answer: String
            public var error: String
        }

        public struct Destination: ViewModel {
            public var url: String
            public var format: String
            public var signed: Bool
        }

        public var tabs: [SettingsTab]
        public var name: String
        public var state: String
        public var firing: Bool
        public var condition: String
        public var value: String
        public var since: String
        public var every: String
        public var filter: String
        public var silenced: String
        public var silenceAction: String
        public var destinations: [Destination]
        public var events: [Event]
        public var deliveries: [Delivery]
    }

    public static func alert(chrome: Chrome, rule: AlertRule, events: [AlertEvent], deliveries: [AlertDelivery], now: Date = Date()) -> Page<AlertView> {
        let content = AlertView(
            tabs: monitoringTabs(chrome, active: "alerts"), name: rule.name, state: rule.enabled ? rule.state.rawValue : "paused",
            firing: rule.enabled && rule.state == .firing, condition: condition(rule.definition), value: rule.lastValue.map(AlertNotification.format) ?? "–",
            since: rule.stateSince.map(Format.time) ?? "–", every: window(rule.definition.everySeconds),
            filter: rule.definition.filter.json.jsonString(), silenced: rule.silencedUntil.flatMap { $0 > now ? Format.time($0) : nil } ?? "",
            silenceAction: "/ui/\(percent(chrome.project.slug))/alerts/\(percent(rule.id))/silence",
            destinations: rule.definition.notify.map { AlertView.Destination(url: $0.url, format: $0.format.rawValue, signed: $0.secret != nil) },
            events: events.map { event in
                AlertView.Event(
                    at: Format.time(event.at), kind: event.kind.rawValue, firing: event.kind == .firing,
                    value: event.value.map(AlertNotification.format) ?? "–",
                    message: event.message, notification: event.notification)
            },
            deliveries: deliveries.map { delivery in
                AlertView.Delivery(
                    created: Format.time(delivery.createdAt), url: delivery.url, format: delivery.format.rawValue, status: delivery.status.rawValue,
                    failed: delivery.status == .failed, attempts: delivery.attempts, answer: delivery.responseStatus.map(String.init) ?? "–",
                    error: delivery.lastError ?? "")
            })
        return chrome.page("Alert \(rule.name)", content)
    }

    // MARK: Gaps

    public struct GapsView: ViewModel {
        public struct Row: ViewModel {
            public var segment: String
            public var count: String
            public var mean: String
            public var rest: String
            public var gap: String
            public var p: String
            public var adjusted: String
            public var flagged: Bool
            public var note: String
        }

        public var tabs: [SettingsTab]
        public var action: String
        public var metrics: [Option]
        public var segments: [Option]
        public var ranges: [Option]
        public var minCount: Int
        public var test: String
        public var rows: [Row]
        public var flaggedCount: Int
        public var chart: String
    }

    public static let gapMetrics = [
        ("latency", "Latency"), ("cost", "Cost"), ("tokens", "Tokens"), ("error_rate", "Error rate"), ("refusal_rate", "Refusal rate"),
    ]

    public static func gaps(
        chrome: Chrome, metric: String, by: String, range: RangeChoice, minCount: Int, kind: GapKind, gaps: [SegmentGap], scoreNames: [String]
    ) -> Page<GapsView> {
        let isRate = kind == .rate
        func value(_ number: Double) -> String {
            if isRate { return Format.percent(number) }
            switch metric {
            case "latency": return Format.duration(number)
            case "cost": return Format.cost(number)
            default: return Format.score(number)
            }
        }
        let rows = gaps.map { gap in
            GapsView.Row(
                segment: gap.segment, count: Format.integer(gap.count), mean: value(gap.mean), rest: value(gap.restMean),
                gap: (gap.gap >= 0 ? "+" : "-") + value(abs(gap.gap)), p: gap.pValue.map { String(format: "%.2g", $0) } ?? "–",
                adjusted: gap.adjustedPValue.map { String(format: "%.2g", $0) } ?? "–", flagged: gap.flagged, note: gap.note ?? "")
        }
        let metricOptions = (gapMetrics + scoreNames.map { ("score:\($0)", "Score \($0)") }).map { Option(value: $0.0, label: $0.1, selected: $0.0 == metric) }
        let segmentOptions = (TraceSegment.columns + ["metadata.tier"]).map { Option(value: $0, label: $0, selected: $0 == by) }
        let chart = SVGChart.bars(
            gaps.filter { $0.count > 0 }.map { (label: $0.segment, value: $0.mean) }, format: isRate ? .percent : .number,
            label: "Mean \(metric) by \(by)")
        return chrome.page(
            "Gaps",
            GapsView(
                tabs: monitoringTabs(chrome, active: "gaps"), action: "/ui/\(percent(chrome.project.slug))/monitoring/gaps", metrics: metricOptions,
                segments: segmentOptions, ranges: RangeChoice.options(range), minCount: minCount,
                test: isRate ? "two-proportion z-test" : "Welch's t-test", rows: rows, flaggedCount: gaps.filter(\.flagged).count, chart: chart))
    }

    // MARK: Drift

    public struct DriftView: ViewModel {
        public struct Column: ViewModel {
            public var column: String
            public var type: String
            public var stattest: String
            public var score: String
            public var threshold: String
            public var drifted: Bool
            public var chart: String
        }

        public var tabs: [SettingsTab]
        public var action: String
        public var ranges: [Option]
        public var references: [Option]
        public var referenceText: String
        public var currentText: String
        public var referenceRows: String
        public var currentRows: String
        public var shareDrifted: String
        public var datasetDrift: Bool
        public var columns: [Column]
        public var skipped: [String]
        public var monitors: [Monitor]
        /// The monitor whose comparison is drawn, or empty.
        public var monitor: String
        public var hasMonitor: Bool

        public struct Monitor: ViewModel {
            public var name: String
            public var href: String
            public var window: String
            public var reference: String
            public var latest: String
            public var drifted: Bool
            public var columns: String
            public var at: String
            public var spark: String
        }
    }

    public static let driftReferences = [("previous", "The window before"), ("week", "The same window a week before")]

    public static func drift(
        chrome: Chrome, range: RangeChoice, reference: String, referenceWindow: (Date, Date), currentWindow: (Date, Date), report: DriftReport?,
        referenceTable: DriftTable, currentTable: DriftTable, monitors: [(DriftMonitor, [DriftMonitorReport])] = [], monitor: String? = nil,
        referenceLabel: String? = nil
    ) -> Page<DriftView> {
        let action = "/ui/\(percent(chrome.project.slug))/monitoring/drift"
        let monitorRows = monitors.map { monitor, reports -> DriftView.Monitor in
            let latest = reports.first
            let reference: String
            switch monitor.reference {
            case .previousWindow: reference = "the window before"
            case .weekBefore: reference = "a week before"
            case .fixed(let from, let to): reference = "\(Format.time(from)) – \(Format.time(to))"
            case .dataset(let name, let version): reference = "dataset \(name)" + (version.map { " v\($0)" } ?? "")
            }
            return DriftView.Monitor(
                name: monitor.name, href: action + "?monitor=" + percent(monitor.name), window: window(monitor.windowSeconds), reference: reference,
                latest: latest?.shareDrifted.map(Format.percent) ?? "–", drifted: latest?.datasetDrift ?? false,
                columns: latest?.drifted.joined(separator: ", ") ?? "", at: latest.map { Format.time($0.at) } ?? "never",
                spark: SVGChart.sparkline(
                    reports.reversed().compactMap(\.shareDrifted), format: .percent, label: "Share of drifted columns of \(monitor.name)"))
        }
        let columns = (report?.columns ?? []).map { column -> DriftView.Column in
            let reference = referenceTable.values[column.column] ?? []
            let current = currentTable.values[column.column] ?? []
            let chart: String
            if column.type == .numeric {
                chart = DistributionCharts.overlaidHistogram(
                    reference: reference.compactMap(\.number), current: current.compactMap(\.number), label: "\(column.column): reference and current")
            } else {
                chart = DistributionCharts.overlaidCategories(
                    reference: reference.compactMap(\.category), current: current.compactMap(\.category), label: "\(column.column): reference and current")
            }
            return DriftView.Column(
                column: column.column, type: column.type.rawValue, stattest: column.stattest.rawValue,
                score: column.pValue.map { "p = " + String(format: "%.3g", $0) } ?? String(format: "%.3g", column.statistic),
                threshold: String(format: "%.3g", column.threshold), drifted: column.driftDetected, chart: chart)
        }
        return chrome.page(
            "Drift",
            DriftView(
                tabs: monitoringTabs(chrome, active: "drift"), action: action,
                ranges: RangeChoice.options(range), references: driftReferences.map { Option(value: $0.0, label: $0.1, selected: $0.0 == reference) },
                referenceText: referenceLabel ?? "\(Format.time(referenceWindow.0)) – \(Format.time(referenceWindow.1))",
                currentText: "\(Format.time(currentWindow.0)) – \(Format.time(currentWindow.1))", referenceRows: Format.integer(referenceTable.rowCount),
                currentRows: Format.integer(currentTable.rowCount), shareDrifted: Format.percent(report?.shareDrifted ?? 0),
                datasetDrift: report?.datasetDrift ?? false,
                columns: columns, skipped: (report?.skipped ?? []).map { "\($0.column): \($0.reason)" }, monitors: monitorRows, monitor: monitor ?? "",
                hasMonitor: monitor != nil))
    }
}

extension Views {
    // MARK: Probes

    public struct ProbesView: ViewModel {
        public struct Row: ViewModel {
            public var name: String
            public var state: String
            public var every: String
            public var lastRun: String
            public var passRate: String
            public var changed: Bool
            public var compared: Bool
            public var reasons: String
            public var runs: String
        }

        public var tabs: [SettingsTab]
        public var rows: [Row]
    }

    /// Probes with their newest completed run and its difference from the one before.
    public static func probes(
        chrome: Chrome, probes: [(Probe, (ExperimentRun, ProbeShift?)?)]
    ) -> Page<ProbesView> {
        let experiments = "/ui/\(percent(chrome.project.slug))/experiments"
        let rows = probes.map { probe, latest in
            ProbesView.Row(
                name: probe.name, state: probe.enabled ? "on" : "paused", every: window(probe.everySeconds),
                lastRun: probe.lastRunAt.map(Format.time) ?? "never", passRate: latest.map { Format.percent($0.0.totals.passRate) } ?? "–",
                changed: latest?.1?.changed ?? false, compared: latest?.1 != nil,
                reasons: latest?.1.map { $0.changed ? $0.reasons.joined(separator: "; ") : "no significant change (\($0.pairs) pairs)" } ?? "",
                runs: latest.map { "\(experiments)/\(percent($0.0.id))" } ?? experiments)
        }
        return chrome.page("Probes", ProbesView(tabs: monitoringTabs(chrome, active: "probes"), rows: rows))
    }
}

extension DriftTable.Value {
    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    var category: String? {
        switch self {
        case .string(let text): text
        case .number(let value): Format.score(value)
        default: nil
        }
    }
}

extension Views {
    // MARK: Topics

    public struct TopicsView: ViewModel {
        public struct Row: ViewModel {
            public var label: String
            public var terms: String
            public var size: String
            public var share: String
            public var firstSeen: String
            public var new: Bool
        }

        public var tabs: [SettingsTab]
        public var action: String
        public var ranges: [Option]
        public var fields: [Option]
        public var chart: String
        public var rows: [Row]
        public var sampled: String
        public var newCount: Int
        public var note: String
        public var hasNote: Bool
    }

    public static func topics(chrome: Chrome, range: RangeChoice, field: String, timeline: TopicTimeline?, note: String) -> Page<TopicsView> {
        let clusters = timeline?.clusters ?? []
        let series = clusters.map { cluster in
            ChartSeries(
                name: cluster.new ? "\(cluster.label) (new)" : cluster.label,
                points: (timeline?.buckets ?? []).filter { $0.count > 0 }.map {
                    ChartPoint(x: $0.start.timeIntervalSince1970, y: $0.shares[cluster.id])
                })
        }
        let bucket: TimeBucket = range.seconds <= 2 * 86_400 ? .hour : .day
        let chart = SVGChart.line(series, bucket: bucket, yFormat: .percent, width: 760, height: 260, label: "Share of each topic over time")
        let rows = clusters.sorted { $0.size > $1.size }.map {
            TopicsView.Row(
                label: $0.label, terms: $0.terms.joined(separator: ", "), size: Format.integer($0.size), share: Format.percent($0.share),
                firstSeen: $0.firstSeen.map(Format.time) ?? "–", new: $0.new)
        }
        return chrome.page(
            "Topics",
            TopicsView(
                tabs: monitoringTabs(chrome, active: "topics"), action: "/ui/\(percent(chrome.project.slug))/monitoring/topics",
                ranges: RangeChoice.options(range).filter { $0.value != "1h" },
                fields: [("input", "Inputs"), ("output", "Outputs")].map { Option(value: $0.0, label: $0.1, selected: $0.0 == field) }, chart: chart,
                rows: rows, sampled: Format.integer(timeline?.sampled ?? 0), newCount: clusters.count { $0.new }, note: note,
                hasNote: !note.isEmpty))
    }
}
