public import Foundation
public import Logging
public import TernCore

/// One attempt to deliver a notification: the answer's status code, or why there was none.
public struct WebhookOutcome: Sendable, Equatable {
    public var status: Int?
    public var error: String?

    public init(status: Int? = nil, error: String? = nil) {
        self.status = status
        self.error = error
    }

    public var delivered: Bool { status.map { (200..<300).contains($0) } ?? false }
}

/// What an evaluation measured.
public struct AlertMeasurement: Sendable, Equatable {
    /// Nil: no value (too little traffic in the window); the state stays as it is.
    public var value: Double?
    /// Traces (or values) it was measured on.
    public var count: Int
    /// What the message adds: the flagged segments of a gap, say.
    public var detail: String?

    public init(value: Double?, count: Int, detail: String? = nil) {
        self.value = value
        self.count = count
        self.detail = detail
    }
}

/// Evaluates alert rules on their schedule and delivers their notifications.
///
/// Each due rule is measured over its window; a change of state (ok to firing, firing to ok) is an event in
/// the rule's history, and queues one delivery per destination unless the rule is silenced or (for firing)
/// in its cooldown. Deliveries are worked apart from evaluations, each with a timeout, and retried with
/// backoff (10 s, 30 s, 90 s, ... at most 1 hour; 6 attempts), so a webhook that hangs or fails delays
/// nothing but itself. The loop runs on one replica at a time.
public final class AlertRunner: Sendable {
    public typealias Send = @Sendable (_ url: String, _ body: Data, _ headers: [(String, String)]) async -> WebhookOutcome

    let store: any TernStore
    let send: Send
    let logger: Logger
    /// Links in notifications: `<baseURL>/ui/<project>/alerts/<rule>`; nil leaves them out.
    let baseURL: String?
    public let maxAttempts: Int

    public init(store: any TernStore, baseURL: String? = nil, maxAttempts: Int = 6, logger: Logger, send: @escaping Send) {
        self.store = store
        self.baseURL = baseURL
        self.maxAttempts = max(1, maxAttempts)
        self.logger = logger
        self.send = send
    }

    // MARK: Measure

    /// Summaries of (project, filter, window) already read in this evaluation cycle: rules that differ only in
    /// metric or threshold read the traces once.
    final class CycleCache: @unchecked Sendable {
        var summaries: [String: MetricsSummary] = [:]
    }

    /// Measures a rule's metric over the window that ends at `now`.
    public func measure(_ rule: AlertRule, now: Date) async throws -> AlertMeasurement {
        try await measure(rule, now: now, cache: CycleCache())
    }

    func measure(_ rule: AlertRule, now: Date, cache: CycleCache) async throws -> AlertMeasurement {
        let definition = rule.definition
        let windowStart = now.addingTimeInterval(-Double(definition.windowSeconds))
        var filter = definition.filter.traceFilter
        filter.from = windowStart
        filter.to = now
        switch definition.metric {
        case .watcherBacklog, .watcherFailed:
            guard let name = definition.watcher, let watcher = try await store.watchers.get(projectID: rule.projectID, name: name) else {
                return AlertMeasurement(value: nil, count: 0, detail: "no watcher named \(definition.watcher ?? "")")
            }
            if definition.metric == .watcherBacklog {
                let stats = try await store.watchers.stats(projectID: rule.projectID, now: now).first { $0.watcherID == watcher.id }
                let waiting = (stats?.pending ?? 0) + (stats?.running ?? 0)
                return AlertMeasurement(value: Double(waiting), count: waiting)
            }
            let failed = try await store.watchers.jobs(projectID: rule.projectID, watcherID: watcher.id, status: .failed, limit: 1000)
                .filter { ($0.finishedAt ?? .distantPast) >= windowStart }
            return AlertMeasurement(value: Double(failed.count), count: failed.count, detail: failed.first?.lastError.map { "latest: \($0)" })
        case .driftShare:
            guard let name = definition.monitor, let monitor = try await store.driftMonitors.get(projectID: rule.projectID, name: name) else {
                return AlertMeasurement(value: nil, count: 0, detail: "no drift monitor named \(definition.monitor ?? "")")
            }
            guard let report = try await store.driftMonitors.reports(projectID: rule.projectID, monitorID: monitor.id, limit: 1).first,
                let share = report.shareDrifted
            else { return AlertMeasurement(value: nil, count: 0) }
            return AlertMeasurement(
                value: share, count: report.currentRows, detail: report.drifted.isEmpty ? nil : "drifted: " + report.drifted.joined(separator: ", "))
        case .probePassRate, .probeChanged:
            guard let name = definition.probe, let probe = try await store.probes.get(projectID: rule.projectID, name: name) else {
                return AlertMeasurement(value: nil, count: 0, detail: "no probe named \(definition.probe ?? "")")
            }
            guard let (run, shift) = try await ProbeComparison.latest(probe, store: store) else { return AlertMeasurement(value: nil, count: 0) }
            if definition.metric == .probePassRate {
                let cells = run.totals.cells
                return AlertMeasurement(value: cells > 0 ? Double(run.totals.passed) / Double(cells) : nil, count: cells, detail: "run \(run.id)")
            }
            guard let shift else { return AlertMeasurement(value: nil, count: 0) }
            return AlertMeasurement(
                value: shift.changed ? 1 : 0, count: shift.pairs, detail: shift.changed ? shift.reasons.joined(separator: "; ") : nil)
        case .refusalRate:
            let sums = try await store.traces.segmentSums(projectID: rule.projectID, filter: filter, segment: .all, measure: .refusalRate, limit: 1)
            let count = sums.reduce(0) { $0 + $1.count }, refusals = sums.reduce(0) { $0 + $1.sum }
            guard count > 0, count >= definition.minCount else { return AlertMeasurement(value: nil, count: count) }
            return AlertMeasurement(value: refusals / Double(count), count: count)
        case .segmentGap:
            let measure = try TraceMeasure(parsing: definition.measure ?? "latency")
            let segment = try TraceSegment(parsing: definition.by ?? "model")
            let sums = try await store.traces.segmentSums(projectID: rule.projectID, filter: filter, segment: segment, measure: measure, limit: 50)
            let gaps = SegmentGaps.analyse(
                sums, kind: SegmentGaps.kind(of: measure, sums), minimumCount: max(2, definition.minCount), minimumGap: definition.minGap)
            let count = sums.reduce(0) { $0 + $1.count }
            let flagged = gaps.filter(\.flagged).sorted { abs($0.gap) > abs($1.gap) }
            guard count >= definition.minCount, count > 0 else { return AlertMeasurement(value: nil, count: count) }
            let detail = flagged.prefix(3).map { "\($0.segment): \(AlertNotification.format($0.mean)) vs \(AlertNotification.format($0.restMean))" }
            return AlertMeasurement(
                value: flagged.first.map { abs($0.gap) } ?? 0, count: count,
                detail: flagged.isEmpty ? nil : "flagged by \(segment.name): " + detail.joined(separator: "; "))
        default:
            let key = "\(rule.projectID)\u{1}\(definition.windowSeconds)\u{1}\(definition.filter.json.jsonString())"
            let summary: MetricsSummary
            if let known = cache.summaries[key] {
                summary = known
            } else {
                let rows = try await store.metrics.aggregateFacts(projectID: rule.projectID, filter: filter, granularity: .day, dimensions: [nil])
                var total = MetricsAccumulator()
                for row in rows { total.merge(row.stats) }
                summary = total.summary
                cache.summaries[key] = summary
            }
            if definition.metric == .traces { return AlertMeasurement(value: Double(summary.traces), count: summary.traces) }
            guard summary.traces > 0, summary.traces >= definition.minCount else { return AlertMeasurement(value: nil, count: summary.traces) }
            switch definition.metric {
            case .errorRate: return AlertMeasurement(value: summary.errorRate, count: summary.traces)
            case .latencyP50: return AlertMeasurement(value: summary.latencyP50Ms, count: summary.traces)
            case .latencyP95: return AlertMeasurement(value: summary.latencyP95Ms, count: summary.traces)
            case .latencyP99: return AlertMeasurement(value: summary.latencyP99Ms, count: summary.traces)
            case .cost: return AlertMeasurement(value: summary.cost, count: summary.traces)
            default:
                let mean = summary.scores[definition.score ?? ""]
                guard let mean, mean.count >= max(1, definition.minCount) else { return AlertMeasurement(value: nil, count: mean?.count ?? 0) }
                return AlertMeasurement(value: mean.mean, count: mean.count)
            }
        }
    }

    // MARK: Evaluate

    /// Evaluates every due rule; returns the events recorded (state changes).
    @discardableResult
    public func evaluate(now: Date = Date()) async throws -> [AlertEvent] {
        var events: [AlertEvent] = []
        var slugs: [String: String] = [:]
        let cache = CycleCache()
        for rule in try await store.alerts.listEnabled() where rule.isDue(at: now) {
            do {
                if slugs[rule.projectID] == nil { slugs[rule.projectID] = try await store.projects.get(id: rule.projectID)?.slug ?? rule.projectID }
                if let event = try await evaluate(rule, project: slugs[rule.projectID] ?? rule.projectID, now: now, cache: cache) { events.append(event) }
            } catch {
                logger.warning("alert rule could not be evaluated", metadata: ["rule": .string(rule.name), "error": "\(error)"])
            }
        }
        return events
    }

    func evaluate(_ rule: AlertRule, project: String, now: Date, cache: CycleCache) async throws -> AlertEvent? {
        let measurement = try await measure(rule, now: now, cache: cache)
        var rule = rule
        rule.lastEvaluatedAt = now
        rule.lastValue = measurement.value
        guard let value = measurement.value else {
            try await store.alerts.recordEvaluation(rule, event: nil, deliveries: [])
            return nil
        }
        let holds = rule.definition.condition.holds(value, rule.definition.threshold)
        let next: AlertState = holds ? .firing : .ok
        guard next != rule.state else {
            try await store.alerts.recordEvaluation(rule, event: nil, deliveries: [])
            return nil
        }
        rule.state = next
        rule.stateSince = now
        let kind: AlertEvent.Kind = next == .firing ? .firing : .resolved
        var event = AlertEvent(
            id: TernID.make(), projectID: rule.projectID, ruleID: rule.id, kind: kind, value: value, threshold: rule.definition.threshold,
            message: Self.message(rule, kind: kind, measurement: measurement), notification: "sent", at: now)
        // Resolutions follow a firing notification that was sent; firing respects silence and cooldown.
        let iso = Date.ISO8601FormatStyle()
        if rule.definition.notify.isEmpty {
            event.notification = "no destinations"
        } else if let until = rule.silencedUntil, until > now {
            event.notification = "silenced until \(until.formatted(iso))"
        } else if kind == .firing, let last = rule.lastNotifiedAt, now.timeIntervalSince(last) < Double(rule.definition.cooldownSeconds) {
            event.notification = "cooldown until \(last.addingTimeInterval(Double(rule.definition.cooldownSeconds)).formatted(iso))"
        } else if kind == .resolved, try await !firingWasSent(rule) {
            event.notification = "the firing was not sent"
        }
        var deliveries: [AlertDelivery] = []
        if event.notification == "sent" {
            deliveries = self.deliveries(rule, event: event, project: project, now: now)
            if kind == .firing { rule.lastNotifiedAt = now }
        }
        try await store.alerts.recordEvaluation(rule, event: event, deliveries: deliveries)
        return event
    }

    /// Whether the latest firing event of the rule was sent.
    func firingWasSent(_ rule: AlertRule) async throws -> Bool {
        try await store.alerts.events(projectID: rule.projectID, ruleID: rule.id, limit: 20).first { $0.kind == .firing }?.notification == "sent"
    }

    static func message(_ rule: AlertRule, kind: AlertEvent.Kind, measurement: AlertMeasurement) -> String {
        let definition = rule.definition
        let value = measurement.value.map(AlertNotification.format) ?? "no value"
        let condition = "\(definition.condition.rawValue) \(AlertNotification.format(definition.threshold))"
        let unit = definition.metric.readsTraces ? "traces" : "jobs"
        var text = "\(definition.metric.rawValue) is \(value) over the last \(Self.duration(definition.windowSeconds))"
        text += kind == .resolved ? ": resolved (\(condition) no longer holds; \(measurement.count) \(unit))" : " (\(condition); \(measurement.count) \(unit))"
        if let detail = measurement.detail { text += "; \(detail)" }
        return text
    }

    static func duration(_ seconds: Int) -> String {
        if seconds % 86_400 == 0 { return "\(seconds / 86_400) d" }
        if seconds % 3600 == 0 { return "\(seconds / 3600) h" }
        if seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }

    func deliveries(_ rule: AlertRule, event: AlertEvent, project: String, now: Date) -> [AlertDelivery] {
        let link = baseURL.map { "\($0)/ui/\(project)/alerts/\(rule.id)" }
        return rule.definition.notify.map { destination in
            AlertDelivery(
                id: TernID.make(), projectID: rule.projectID, ruleID: rule.id, eventID: event.id, url: destination.url, format: destination.format,
                body: AlertNotification.body(destination.format, rule: rule, event: event, project: project, link: link), nextAttemptAt: now,
                createdAt: now)
        }
    }

    /// A test notification to each destination of the rule, recorded in its history, sent at once. Returns
    /// each delivery after its first attempt (a failed one is retried like the others).
    public func test(_ rule: AlertRule, project: String, now: Date = Date()) async throws -> [AlertDelivery] {
        let event = AlertEvent(
            id: TernID.make(), projectID: rule.projectID, ruleID: rule.id, kind: .test, value: rule.lastValue, threshold: rule.definition.threshold,
            message: "A test notification of \(rule.name): \(rule.definition.metric.rawValue) \(rule.definition.condition.rawValue) "
                + "\(AlertNotification.format(rule.definition.threshold)) over the last \(Self.duration(rule.definition.windowSeconds)).",
            notification: rule.definition.notify.isEmpty ? "no destinations" : "sent", at: now)
        let deliveries = deliveries(rule, event: event, project: project, now: now)
        try await store.alerts.recordTest(event: event, deliveries: deliveries)
        var attempted: [AlertDelivery] = []
        await withTaskGroup(of: AlertDelivery.self) { group in
            for delivery in deliveries { group.addTask { await self.attempt(delivery, secret: self.secret(rule, delivery.url), now: now) } }
            for await delivery in group { attempted.append(delivery) }
        }
        for delivery in attempted { try await store.alerts.saveDelivery(delivery) }
        return attempted
    }

    // MARK: Deliver

    func secret(_ rule: AlertRule?, _ url: String) -> String? {
        rule?.definition.notify.first { $0.url == url }?.secret
    }

    /// Works the due deliveries (at most `limit`, concurrently); returns how many were attempted.
    @discardableResult
    public func deliver(now: Date = Date(), limit: Int = 50) async throws -> Int {
        let due = try await store.alerts.dueDeliveries(now: now, limit: limit)
        guard !due.isEmpty else { return 0 }
        var rules: [String: AlertRule?] = [:]
        for delivery in due where rules[delivery.ruleID] == nil {
            rules[delivery.ruleID] = .some(try await store.alerts.get(projectID: delivery.projectID, id: delivery.ruleID))
        }
        let attempted = await withTaskGroup(of: AlertDelivery.self) { group in
            for delivery in due {
                let secret = secret(rules[delivery.ruleID] ?? nil, delivery.url)
                group.addTask { await self.attempt(delivery, secret: secret, now: now) }
            }
            var done: [AlertDelivery] = []
            for await delivery in group { done.append(delivery) }
            return done
        }
        for delivery in attempted { try await store.alerts.saveDelivery(delivery) }
        return attempted.count
    }

    /// One attempt: delivered on a 2xx answer; otherwise retried after 10 s, 30 s, 90 s ... (at most an hour)
    /// until `maxAttempts`, then failed with the last answer or error.
    func attempt(_ delivery: AlertDelivery, secret: String?, now: Date) async -> AlertDelivery {
        var delivery = delivery
        let outcome = await send(delivery.url, Data(delivery.body.utf8), AlertNotification.headers(for: delivery, secret: secret, at: now))
        delivery.attempts += 1
        delivery.responseStatus = outcome.status
        if outcome.delivered {
            delivery.status = .delivered
            delivery.deliveredAt = now
            delivery.lastError = nil
            return delivery
        }
        delivery.lastError = outcome.error ?? outcome.status.map { "answered \($0)" } ?? "no answer"
        if delivery.attempts >= maxAttempts {
            delivery.status = .failed
        } else {
            delivery.nextAttemptAt = now.addingTimeInterval(min(3600, 10 * pow(3, Double(delivery.attempts - 1))))
        }
        return delivery
    }

    // MARK: Loop

    /// History and finished deliveries are kept this long.
    public static let retention: TimeInterval = 90 * 86_400

    /// Evaluates rules and works deliveries every `interval` until cancelled, each on one replica at a time. The
    /// two loops are apart: a webhook that hangs (until its timeout) never delays an evaluation.
    public func run(interval: Duration = .seconds(5)) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.loop("alert-rules", every: interval) { try await self.evaluate() } }
            group.addTask { await self.loop("alert-deliveries", every: .seconds(1)) { try await self.deliver() } }
            group.addTask {
                await self.loop("alert-prune", every: .seconds(3600)) { try await self.store.alerts.prune(before: Date().addingTimeInterval(-Self.retention)) }
            }
        }
    }

    func loop(_ name: String, every interval: Duration, _ body: @escaping @Sendable () async throws -> Void) async {
        while !Task.isCancelled {
            do {
                try await store.withExclusiveJob(name) { try await body() }
            } catch {
                logger.warning("\(name) failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
