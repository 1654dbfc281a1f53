public import Foundation
public import Logging
import Synchronization
public import TernCore

/// The monitoring duties behind the metrics: language detection for traces that came without one,
/// then the rollups of the hours that changed.
public final class MonitoringJob: Sendable {
    let store: any TernStore
    let logger: Logger
    /// The hour still filling is recomputed at most this often: recomputing reads all of its traces
    /// (and its day's). Under heavy ingest that read grows with the hour, so the wait also grows to
    /// nine times what the last such round took: the job spends at most a tenth of its time there.
    static let currentHourInterval: Duration = .seconds(10)
    let lastCurrentHourRefresh = Mutex<[String: ContinuousClock.Instant]>([:])
    let lastCurrentHourCost = Mutex<Duration>(.zero)
    let lastStatistics = Mutex<ContinuousClock.Instant?>(nil)

    /// One per server (its state: when each filling hour was last recomputed, what that cost, when the
    /// planner statistics were last refreshed).
    public init(store: any TernStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// How long to wait between two recomputes of a filling hour after one took `cost`.
    static func currentHourWait(after cost: Duration) -> Duration { max(currentHourInterval, cost * 9) }

    /// One round: languages, then the dirty hours (a filling hour at most every `currentHourWait`), then
    /// planner statistics when due. `detect` gives the language of a trace input (nil: none). `date` says
    /// which hour is filling and `now` measures the waits (tests pass their own clock).
    public func run(
        detect: @escaping @Sendable (String) -> String?, date: Date = Date(), now: ContinuousClock.Instant = ContinuousClock.now
    ) async {
        let currentHour = Timestamp.hour(Timestamp.micros(date))
        let wait = Self.currentHourWait(after: lastCurrentHourCost.withLock { $0 })
        let deferring: (DirtyBucket) -> Bool = { mark in
            guard mark.bucket >= currentHour else { return false }
            let key = "\(mark.projectID)\u{1}\(mark.bucket)"
            return self.lastCurrentHourRefresh.withLock { last in
                if let previous = last[key], now - previous < wait { return true }
                last = last.filter { $0.value > now - .seconds(7200) }
                last[key] = now
                return false
            }
        }
        do {
            // Bounded work per round, so a backlog cannot starve the rest.
            for _ in 0..<20 {
                guard try await MetricsEngine.detectLanguages(store.metrics, limit: 1_000, detect: detect) == 1_000 else { break }
            }
            let refreshStart = ContinuousClock.now
            for _ in 0..<20 {
                guard try await MetricsEngine.refresh(store.metrics, limit: 200, deferring: deferring) == 200 else { break }
            }
            // A filling hour was recomputed in this round (stamped `now` above): remember what it cost.
            if lastCurrentHourRefresh.withLock({ $0.values.contains(now) }) {
                let cost = ContinuousClock.now - refreshStart
                lastCurrentHourCost.withLock { $0 = cost }
            }
            // Planner statistics: at start and then hourly (the data's shape changes slowly).
            let due = lastStatistics.withLock { last in
                guard last.map({ now - $0 > .seconds(3600) }) ?? true else { return false }
                last = now
                return true
            }
            if due { try await store.metrics.refreshPlannerStatistics() }
        } catch {
            logger.warning("monitoring job failed", metadata: ["error": "\(error)"])
        }
    }
}
