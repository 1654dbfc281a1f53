public import Foundation
import Crypto

/// What an alert rule measures over its window.
public enum AlertMetric: String, Sendable, Equatable, CaseIterable {
    /// The share of traces with an error observation.
    case errorRate = "error_rate"
    case latencyP50 = "latency_p50_ms"
    case latencyP95 = "latency_p95_ms"
    case latencyP99 = "latency_p99_ms"
    /// The window's total cost in USD (a window of an hour or a day gives cost per hour or day).
    case cost
    /// The number of traces (traffic that stops or spikes).
    case traces
    /// The mean of the scores named `score` (a watcher's, an evaluator's; boolean scores give a rate).
    case meanScore = "mean_score"
    /// The jobs waiting in the queue of the watcher named `watcher`.
    case watcherBacklog = "watcher_backlog"
    /// The jobs of the watcher named `watcher` that ended failed within the window.
    case watcherFailed = "watcher_failed"
    /// The largest gap between a segment (`by`) and the rest for `measure` that the gaps analysis flags
    /// (Welch's t or the two-proportion z-test, Benjamini-Hochberg); 0 when none is flagged.
    case segmentGap = "segment_gap"
    /// The pass rate of the newest completed run of the probe named `probe`.
    case probePassRate = "probe_pass_rate"
    /// 1 when the probe's newest completed run differs significantly from the run before it, else 0.
    case probeChanged = "probe_changed"
    /// The share of drifted columns in the newest report of the drift monitor named `monitor`.
    case driftShare = "drift_share"
    /// The share of traces (with an output) whose output is a refusal (`TraceMeasure.isRefusal`).
    case refusalRate = "refusal_rate"

    /// Whether the metric reads traces in the window (and so has no value without traffic).
    public var readsTraces: Bool { ![.watcherBacklog, .watcherFailed, .probePassRate, .probeChanged, .driftShare].contains(self) }
}

/// A comparison of the measured value with the threshold.
public enum AlertCondition: String, Sendable, Equatable, CaseIterable {
    case above = ">"
    case atLeast = ">="
    case below = "<"
    case atMost = "<="

    public func holds(_ value: Double, _ threshold: Double) -> Bool {
        switch self {
        case .above: value > threshold
        case .atLeast: value >= threshold
        case .below: value < threshold
        case .atMost: value <= threshold
        }
    }
}

/// Where a rule's notifications go: a webhook with a generic JSON body signed with HMAC-SHA256, or a
/// Slack-compatible body (Slack's incoming webhooks, Mattermost, Discord's `/slack` endpoints).
public struct AlertDestination: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable, CaseIterable {
        case json
        case slack
    }

    public var url: String
    public var format: Format
    /// The HMAC key of the signature header; never returned by the API.
    public var secret: String?

    public init(url: String, format: Format = .json, secret: String? = nil) {
        self.url = url
        self.format = format
        self.secret = secret
    }
}

/// What a rule checks and whom it tells.
public struct AlertDefinition: Sendable, Equatable {
    public var metric: AlertMetric
    public var condition: AlertCondition
    public var threshold: Double
    /// The traces it reads: the window before each evaluation, matching the filter.
    public var windowSeconds: Int
    public var filter: WatcherFilter
    /// How often it is evaluated.
    public var everySeconds: Int
    /// Firing notifications of the rule are at least this far apart (a resolution is always sent).
    public var cooldownSeconds: Int
    /// Fewer traces (or values) than this in the window: no value, the state stays as it is.
    public var minCount: Int
    /// `mean_score`: the score's name.
    public var score: String?
    /// `watcher_backlog`, `watcher_failed`: the watcher's name.
    public var watcher: String?
    /// `segment_gap`: the measure (`latency`, `cost`, `tokens`, `error_rate`, `score:NAME`) and the segment.
    public var measure: String?
    public var by: String?
    /// `segment_gap`: the smallest gap that counts.
    public var minGap: Double
    /// `probe_pass_rate`, `probe_changed`: the probe's name.
    public var probe: String?
    /// `drift_share`: the drift monitor's name.
    public var monitor: String?
    public var notify: [AlertDestination]

    public init(
        metric: AlertMetric, condition: AlertCondition = .above, threshold: Double, windowSeconds: Int = 3600, filter: WatcherFilter = WatcherFilter(),
        everySeconds: Int = 60, cooldownSeconds: Int = 600, minCount: Int = 1, score: String? = nil, watcher: String? = nil,
        measure: String? = nil, by: String? = nil, minGap: Double = 0, probe: String? = nil, monitor: String? = nil, notify: [AlertDestination] = []
    ) {
        self.probe = probe
        self.monitor = monitor
        self.metric = metric
        self.condition = condition
        self.threshold = threshold
        self.windowSeconds = windowSeconds
        self.filter = filter
        self.everySeconds = everySeconds
        self.cooldownSeconds = cooldownSeconds
        self.minCount = minCount
        self.score = score
        self.watcher = watcher
        self.measure = measure
        self.by = by
        self.minGap = minGap
        self.notify = notify
    }
}

public enum AlertState: String, Sendable, Equatable, CaseIterable {
    case ok
    case firing
}

/// A rule with its state.
public struct AlertRule: Sendable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var name: String
    public var enabled: Bool
    public var definition: AlertDefinition
    public var state: AlertState
    /// When the state last changed.
    public var stateSince: Date?
    public var lastValue: Double?
    public var lastEvaluatedAt: Date?
    /// When a firing notification was last sent (the cooldown counts from it).
    public var lastNotifiedAt: Date?
    /// No notification before this time; evaluations and history go on.
    public var silencedUntil: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, projectID: String, name: String, enabled: Bool = true, definition: AlertDefinition, state: AlertState = .ok,
        stateSince: Date? = nil, lastValue: Double? = nil, lastEvaluatedAt: Date? = nil, lastNotifiedAt: Date? = nil, silencedUntil: Date? = nil,
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.enabled = enabled
        self.definition = definition
        self.state = state
        self.stateSince = stateSince
        self.lastValue = lastValue
        self.lastEvaluatedAt = lastEvaluatedAt
        self.lastNotifiedAt = lastNotifiedAt
        self.silencedUntil = silencedUntil
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether the rule is due at `now`.
    public func isDue(at now: Date) -> Bool {
        guard enabled else { return false }
        guard let last = lastEvaluatedAt else { return true }
        return now.timeIntervalSince(last) >= Double(definition.everySeconds) - 0.001
    }
}

/// A change of state (or a test notification), kept as the rule's history.
public struct AlertEvent: Sendable, Equatable, Identifiable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case firing
        case resolved
        case test
    }

    public var id: String
    public var projectID: String
    public var ruleID: String
    public var kind: Kind
    public var value: Double?
    public var threshold: Double
    public var message: String
    /// `sent` (deliveries queued), or why not: `silenced until ...`, `cooldown until ...`, `no destinations`.
    public var notification: String
    public var at: Date

    public init(
        id: String, projectID: String, ruleID: String, kind: Kind, value: Double?, threshold: Double, message: String, notification: String, at: Date
    ) {
        self.id = id
        self.projectID = projectID
        self.ruleID = ruleID
        self.kind = kind
        self.value = value
        self.threshold = threshold
        self.message = message
        self.notification = notification
        self.at = at
    }
}

public enum AlertDeliveryStatus: String, Sendable, Equatable, CaseIterable {
    case pending
    case delivered
    case failed
}

/// One notification to one destination: retried with backoff, every attempt recorded.
public struct AlertDelivery: Sendable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var ruleID: String
    public var eventID: String
    public var url: String
    public var format: AlertDestination.Format
    /// The body sent on every attempt (the signature is made again with each attempt's time).
    public var body: String
    public var status: AlertDeliveryStatus
    public var attempts: Int
    public var nextAttemptAt: Date
    /// The last answer's status code, and the last error.
    public var responseStatus: Int?
    public var lastError: String?
    public var createdAt: Date
    public var deliveredAt: Date?

    public init(
        id: String, projectID: String, ruleID: String, eventID: String, url: String, format: AlertDestination.Format, body: String,
        status: AlertDeliveryStatus = .pending, attempts: Int = 0, nextAttemptAt: Date, responseStatus: Int? = nil, lastError: String? = nil,
        createdAt: Date, deliveredAt: Date? = nil
    ) {
        self.id = id
        self.projectID = projectID
        self.ruleID = ruleID
        self.eventID = eventID
        self.url = url
        self.format = format
        self.body = body
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.responseStatus = responseStatus
        self.lastError = lastError
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
    }
}

public protocol AlertRepository: NamedRecordRepository where Record == AlertRule {

    /// Records an evaluation: the state, value and times, and the event of a state change with its deliveries,
    /// in one transaction.
    func recordEvaluation(_ rule: AlertRule, event: AlertEvent?, deliveries: [AlertDelivery]) async throws
    /// Records a test notification's event and deliveries.
    func recordTest(event: AlertEvent, deliveries: [AlertDelivery]) async throws
    /// The rule's history, newest first.
    func events(projectID: String, ruleID: String, limit: Int) async throws -> [AlertEvent]
    /// The rule's deliveries, newest first (every project's due ones with `dueBefore`).
    func deliveries(projectID: String, ruleID: String, limit: Int) async throws -> [AlertDelivery]
    /// Pending deliveries due at `now`, oldest first, across projects.
    func dueDeliveries(now: Date, limit: Int) async throws -> [AlertDelivery]
    /// Records an attempt: its status, the answer and the next attempt.
    func saveDelivery(_ delivery: AlertDelivery) async throws
    /// Deletes events and finished deliveries older than `cutoff`; returns how many rows went.
    @discardableResult
    func prune(before cutoff: Date) async throws -> Int
}

// MARK: - Signatures and bodies

/// Notification bodies and their signature.
public enum AlertNotification {
    /// The signature header of generic webhooks: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
    /// keyed with the destination's secret (as Stripe's): a receiver recomputes it and refuses old times.
    public static let signatureHeader = "X-Tern-Signature"
    public static let timestampHeader = "X-Tern-Timestamp"
    public static let eventHeader = "X-Tern-Event"

    public static func signature(secret: String, timestamp: Int, body: Data) -> String {
        var message = Data("\(timestamp).".utf8)
        message.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// The headers of one attempt.
    public static func headers(for delivery: AlertDelivery, secret: String?, at now: Date) -> [(String, String)] {
        let timestamp = Int(now.timeIntervalSince1970)
        var headers = [("Content-Type", "application/json"), ("User-Agent", "Tern/\(TernVersion.current)"), (eventHeader, delivery.eventID)]
        headers.append((timestampHeader, "\(timestamp)"))
        if let secret, !secret.isEmpty {
            headers.append((signatureHeader, signature(secret: secret, timestamp: timestamp, body: Data(delivery.body.utf8))))
        }
        return headers
    }

    /// The body for a destination's format.
    public static func body(
        _ format: AlertDestination.Format, rule: AlertRule, event: AlertEvent, project: String, link: String?
    ) -> String {
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        switch format {
        case .json:
            var object: [String: JSONValue] = [
                "event_id": .string(event.id), "kind": .string(event.kind.rawValue), "state": .string(event.kind == .resolved ? "ok" : "firing"),
                "rule": .string(rule.name), "rule_id": .string(rule.id), "project": .string(project), "metric": .string(rule.definition.metric.rawValue),
                "condition": .string(rule.definition.condition.rawValue), "threshold": .number(event.threshold),
                "value": event.value.map(JSONValue.number) ?? .null, "window_seconds": .number(Double(rule.definition.windowSeconds)),
                "filter": rule.definition.filter.json, "message": .string(event.message), "at": .string(event.at.formatted(iso)),
            ]
            object["url"] = link.map(JSONValue.string) ?? .null
            return JSONValue.object(object).jsonString()
        case .slack:
            let icon = event.kind == .firing ? ":rotating_light:" : event.kind == .resolved ? ":white_check_mark:" : ":bell:"
            let title = "\(icon) [\(event.kind.rawValue.uppercased())] \(rule.name) (\(project))"
            var text = "\(title)\n\(event.message)"
            if let link { text += "\n<\(link)|Open in Tern>" }
            let blocks: [JSONValue] = [
                ["type": "section", "text": ["type": "mrkdwn", "text": .string("*\(Self.slackEscaped(title))*\n\(Self.slackEscaped(event.message))")]],
                [
                    "type": "context",
                    "elements": [
                        [
                            "type": "mrkdwn",
                            "text": .string(
                                "\(rule.definition.metric.rawValue) \(rule.definition.condition.rawValue) \(Self.format(event.threshold)) over \(rule.definition.windowSeconds) s"
                                    + (link.map { " · <\($0)|Open in Tern>" } ?? "")),
                        ]
                    ],
                ],
            ]
            return JSONValue.object(["text": .string(Self.slackEscaped(text)), "blocks": .array(blocks)]).jsonString()
        }
    }

    /// Slack's three control characters, escaped as its docs say.
    static func slackEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// A figure for messages: up to 4 significant decimals, no exponent for everyday sizes.
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.4g", value)
    }
}

// MARK: - JSON form

extension AlertDefinition {
    static let keys: Set<String> = [
        "metric", "condition", "threshold", "window_seconds", "filter", "every_seconds", "cooldown_seconds", "min_count", "score", "watcher",
        "measure", "by", "min_gap", "notify", "probe", "monitor",
    ]

    /// Reads the definition fields of a rule body (unknown keys are refused by name); `base` gives the values
    /// of fields the body leaves out (a PATCH). `segmentColumns` are the segments `by` may name.
    public init(json body: JSONValue, base: AlertDefinition? = nil, allowing extra: Set<String> = []) throws {
        guard case .object(let object) = body else { throw TernError.invalid(nil, "expected a JSON object") }
        for key in object.keys where !Self.keys.contains(key) && !extra.contains(key) {
            throw TernError.invalid(key, "unknown field; expected one of \((Self.keys.union(extra)).sorted().joined(separator: ", "))")
        }
        var definition = base ?? AlertDefinition(metric: .errorRate, threshold: 0)
        if let text = try WatcherDefinition.text(object["metric"], "metric") {
            guard let metric = AlertMetric(rawValue: text) else {
                throw TernError.invalid("metric", "expected one of \(AlertMetric.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
            }
            definition.metric = metric
        } else if base == nil {
            throw TernError.invalid("metric", "required: one of \(AlertMetric.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let text = try WatcherDefinition.text(object["condition"], "condition") {
            guard let condition = AlertCondition(rawValue: text) else { throw TernError.invalid("condition", "expected >, >=, < or <=, got \"\(text)\"") }
            definition.condition = condition
        }
        if let threshold = try WatcherDefinition.number(object["threshold"], "threshold") {
            guard abs(threshold) <= 1e15 else { throw TernError.invalid("threshold", "expected a number within +-1e15") }
            definition.threshold = threshold
        } else if base == nil {
            throw TernError.invalid("threshold", "required: the value to compare with, e.g. 0.05 for a 5% error rate")
        }
        func seconds(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let number = try WatcherDefinition.number(object[key], key) else { return nil }
            guard number.rounded() == number, number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
                throw TernError.invalid(key, "expected whole seconds from \(range.lowerBound) to \(range.upperBound)")
            }
            return Int(number)
        }
        if let window = try seconds("window_seconds", 60...90 * 86_400) { definition.windowSeconds = window }
        if let every = try seconds("every_seconds", 10...86_400) { definition.everySeconds = every }
        if let cooldown = try seconds("cooldown_seconds", 0...30 * 86_400) { definition.cooldownSeconds = cooldown }
        if let count = try seconds("min_count", 0...1_000_000_000) { definition.minCount = count }
        if let filter = object["filter"], !filter.isNull { definition.filter = try WatcherFilter(json: filter) }
        for (key, path) in [
            ("score", \AlertDefinition.score), ("watcher", \.watcher), ("measure", \.measure), ("by", \.by), ("probe", \.probe), ("monitor", \.monitor),
        ]
            as [(String, WritableKeyPath<AlertDefinition, String?>)]
        {
            if object[key] != nil {
                let text = try WatcherDefinition.text(object[key], key)
                if let text, text.isEmpty || text.count > 200 { throw TernError.invalid(key, "expected 1-200 characters") }
                definition[keyPath: path] = text
            }
        }
        if let gap = try WatcherDefinition.number(object["min_gap"], "min_gap") {
            guard gap >= 0, gap <= 1e12 else { throw TernError.invalid("min_gap", "expected a number from 0") }
            definition.minGap = gap
        }
        if let notify = object["notify"], !notify.isNull {
            guard case .array(let items) = notify, items.count <= 10 else {
                throw TernError.invalid(
                    "notify", "expected an array of at most 10 destinations, e.g. [{\"url\": \"https://hooks.slack.com/...\", \"format\": \"slack\"}]")
            }
            definition.notify = try items.enumerated().map { index, item in
                let path = "notify[\(index)]"
                guard case .object(let fields) = item else { throw TernError.invalid(path, "expected an object with url, format and secret") }
                for key in fields.keys where !["url", "format", "secret"].contains(key) {
                    throw TernError.invalid("\(path).\(key)", "unknown field; expected url, format or secret")
                }
                guard let url = fields["url"]?.string, let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
                    ["http", "https"].contains(scheme), let host = parsed.host, !host.isEmpty, url.count <= 2000
                else {
                    throw TernError.invalid("\(path).url", "expected an http or https URL")
                }
                guard parsed.user == nil, parsed.password == nil else {
                    throw TernError.invalid("\(path).url", "credentials in the URL are refused; use secret for a signature")
                }
                var format = AlertDestination.Format.json
                if let text = fields["format"]?.string {
                    guard let value = AlertDestination.Format(rawValue: text) else { throw TernError.invalid("\(path).format", "expected json or slack") }
                    format = value
                } else if let value = fields["format"], !value.isNull {
                    throw TernError.invalid("\(path).format", "expected json or slack")
                }
                var secret: String?
                if let value = fields["secret"], !value.isNull {
                    guard let text = value.string, text.count >= 16, text.count <= 200 else {
                        throw TernError.invalid("\(path).secret", "expected 16-200 characters")
                    }
                    secret = text
                } else if let kept = base?.notify.first(where: { $0.url == url })?.secret {
                    // A PATCH that repeats a destination without its secret keeps the secret.
                    secret = kept
                }
                return AlertDestination(url: url, format: format, secret: secret)
            }
        }
        try definition.validate()
        self = definition
    }

    /// The fields a metric needs.
    func validate() throws {
        switch metric {
        case .meanScore:
            guard score != nil else { throw TernError.invalid("score", "required by mean_score: the name of the score") }
        case .watcherBacklog, .watcherFailed:
            guard watcher != nil else { throw TernError.invalid("watcher", "required by \(metric.rawValue): the watcher's name") }
        case .probePassRate, .probeChanged:
            guard probe != nil else { throw TernError.invalid("probe", "required by \(metric.rawValue): the probe's name") }
        case .driftShare:
            guard monitor != nil else { throw TernError.invalid("monitor", "required by drift_share: the drift monitor's name") }
        case .segmentGap:
            guard let measure else {
                throw TernError.invalid("measure", "required by segment_gap: latency, cost, tokens, error_rate, refusal_rate or score:NAME")
            }
            _ = try TraceMeasure(parsing: measure)
            guard let by else { throw TernError.invalid("by", "required by segment_gap: \(TraceSegment.columns.joined(separator: ", ")) or metadata.KEY") }
            do { _ = try TraceSegment(parsing: by) } catch { throw TernError.invalid("by", "\(error)") }
        default:
            break
        }
    }

    /// The JSON form kept in the store (with secrets).
    public var storedJSON: JSONValue { json(secrets: true) }

    /// The JSON form; the API's leaves secrets out (`"secret": "set"`).
    public func json(secrets: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "metric": .string(metric.rawValue), "condition": .string(condition.rawValue), "threshold": .number(threshold),
            "window_seconds": .number(Double(windowSeconds)), "filter": filter.json, "every_seconds": .number(Double(everySeconds)),
            "cooldown_seconds": .number(Double(cooldownSeconds)), "min_count": .number(Double(minCount)), "min_gap": .number(minGap),
        ]
        object["score"] = score.map(JSONValue.string) ?? .null
        object["watcher"] = watcher.map(JSONValue.string) ?? .null
        object["measure"] = measure.map(JSONValue.string) ?? .null
        object["by"] = by.map(JSONValue.string) ?? .null
        object["probe"] = probe.map(JSONValue.string) ?? .null
        object["monitor"] = monitor.map(JSONValue.string) ?? .null
        object["notify"] = .array(
            notify.map { destination in
                var item: [String: JSONValue] = ["url": .string(destination.url), "format": .string(destination.format.rawValue)]
                if let secret = destination.secret { item["secret"] = secrets ? .string(secret) : .string("set") }
                return .object(item)
            })
        return .object(object)
    }
}

extension AlertRule {
    /// The API's JSON form (secrets left out).
    public var json: JSONValue {
        guard case .object(var object) = definition.json(secrets: false) else { return .null }
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        func time(_ date: Date?) -> JSONValue { date.map { .string($0.formatted(iso)) } ?? .null }
        object["id"] = .string(id)
        object["name"] = .string(name)
        object["enabled"] = .bool(enabled)
        object["state"] = .string(state.rawValue)
        object["state_since"] = time(stateSince)
        object["last_value"] = lastValue.map(JSONValue.number) ?? .null
        object["last_evaluated_at"] = time(lastEvaluatedAt)
        object["last_notified_at"] = time(lastNotifiedAt)
        object["silenced_until"] = time(silencedUntil)
        object["created_at"] = time(createdAt)
        object["updated_at"] = time(updatedAt)
        return .object(object)
    }
}

extension AlertEvent {
    public var json: JSONValue {
        [
            "id": .string(id), "kind": .string(kind.rawValue), "value": value.map(JSONValue.number) ?? .null, "threshold": .number(threshold),
            "message": .string(message), "notification": .string(notification),
            "at": .string(at.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))),
        ]
    }
}

extension AlertDelivery {
    public var json: JSONValue {
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return [
            "id": .string(id), "event_id": .string(eventID), "url": .string(url), "format": .string(format.rawValue), "status": .string(status.rawValue),
            "attempts": .number(Double(attempts)), "next_attempt_at": status == .pending ? .string(nextAttemptAt.formatted(iso)) : .null,
            "response_status": responseStatus.map { .number(Double($0)) } ?? .null, "last_error": lastError.map(JSONValue.string) ?? .null,
            "created_at": .string(createdAt.formatted(iso)), "delivered_at": deliveredAt.map { .string($0.formatted(iso)) } ?? .null,
        ]
    }
}
