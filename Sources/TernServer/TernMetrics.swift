import Foundation
import Synchronization
import Metrics
public import Prometheus

/// Tern's metrics: a Prometheus registry of its own (no global state, so tests and several apps in one
/// process do not collide), fed through swift-metrics.
public final class TernMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory
    private let scrapeHook = Mutex<(@Sendable () -> Void)?>(nil)

    /// Runs before every scrape, to refresh gauges read from elsewhere (queue depths).
    public var beforeScrape: (@Sendable () -> Void)? {
        get { scrapeHook.withLock { $0 } }
        set { scrapeHook.withLock { $0 = newValue } }
    }

    public func setGauge(_ name: String, _ value: Double) {
        registry.makeGauge(descriptor: Self.descriptor(name)).set(value)
    }

    public func setGauge(_ name: String, labels: [(String, String)], _ value: Double) {
        registry.makeGauge(descriptor: Self.descriptor(name), labels: labels).set(value)
    }

    /// A gauge's name as a descriptor: the whole name, no separate unit, no help line (as before).
    static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: "")
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
        ]
        self.factory = factory
    }

    private let requestCounters = Mutex<[String: Metrics.Counter]>([:])
    private let requestTimers = Mutex<[String: Metrics.Timer]>([:])

    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        let key = method + " " + route
        let counterKey = key + " " + String(status)
        let counter =
            requestCounters.withLock { $0[counterKey] }
            ?? {
                let made = Metrics.Counter(
                    label: "tern_http_requests_total", dimensions: [("method", method), ("route", route), ("status", String(status))], factory: factory)
                requestCounters.withLock { $0[counterKey] = made }
                return made
            }()
        counter.increment()
        let timer =
            requestTimers.withLock { $0[key] }
            ?? {
                let made = Metrics.Timer(label: "tern_http_request_duration_seconds", dimensions: [("method", method), ("route", route)], factory: factory)
                requestTimers.withLock { $0[key] = made }
                return made
            }()
        timer.recordInterval(duration)
    }

    /// The Prometheus text exposition of everything recorded.
    public func exposition() -> String {
        beforeScrape?()
        return registry.emitToString()
    }
}

extension Timer {
    func recordInterval(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
