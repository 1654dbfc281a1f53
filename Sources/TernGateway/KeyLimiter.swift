public import Foundation
public import Logging
import Synchronization
public import TernCore

/// Enforces per-key requests per minute, tokens per minute and spend budgets under concurrency:
/// each request reserves its estimated tokens and worst-case cost before the call, and the
/// reservation is replaced by the actual figures after it, so parallel requests can never
/// together spend more than the budget (LiteLLM checks and spends in separate steps, and leaks).
///
/// Budgets and rate limits are exact within one Tern process. Replicas sharing a database tell each other
/// what they admitted through `sync()` (every `syncInterval`): spend is written and the stored total read
/// back, and each replica publishes its per-key request and token counts per minute and reads the others'.
/// A key's limits then hold across replicas up to what the other replicas admit within one sync interval
/// (docs/SECURITY.md states it). The request path never waits for the database.
public final class KeyLimiter: Sendable {
    public struct Reservation: Sendable {
        let keyID: String
        /// The window's second the request was counted in, and the tokens counted for it.
        let second: Int64
        let estimatedTokens: Int
        let period: String?
        let reservedCost: Double
        let projectID: String
    }

    /// A key's last 60 seconds in one-second buckets: at most 60 of them whatever the traffic (a list of
    /// every request held hundreds of thousands of entries per busy key).
    struct Window {
        var buckets: [Int64: RateUsage] = [:]

        mutating func prune(_ second: Int64) {
            if buckets.keys.contains(where: { $0 <= second - 60 }) { buckets = buckets.filter { $0.key > second - 60 } }
        }

        var total: RateUsage {
            buckets.values.reduce(RateUsage(requests: 0, tokens: 0)) { RateUsage(requests: $0.requests + $1.requests, tokens: $0.tokens + $1.tokens) }
        }

        mutating func add(second: Int64, requests: Int, tokens: Int) {
            var bucket = buckets[second] ?? RateUsage(requests: 0, tokens: 0)
            bucket.requests += requests
            bucket.tokens += tokens
            buckets[second] = bucket
        }
    }

    /// Seconds since this limiter started, for the windows' buckets.
    private let origin = ContinuousClock.now
    func second(_ now: ContinuousClock.Instant) -> Int64 { (now - origin).components.seconds }

    struct Budget {
        var period: String
        var spent: Double
        var reserved: Double
    }

    struct State {
        var windows: [String: Window] = [:]
        var budgets: [String: Budget] = [:]
        /// The other replicas' counts per key: minute -> usage (the current and the previous minute).
        var others: [String: [Int64: RateUsage]] = [:]
    }

    let store: any TernStore
    let logger: Logger
    /// This process among the replicas sharing the database.
    public let replica = TernID.make()
    private let state = Mutex(State())
    private let pendingSpend = Mutex<[String: (projectID: String, keyID: String, period: String, amount: Double)]>([:])

    public init(store: any TernStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Admits a request or throws a `rateLimited` error naming the limit.
    public func admit(
        key: APIKey, estimatedTokens: Int, worstCaseCost: Double, now: ContinuousClock.Instant = .now, date: Date = Date()
    ) async throws -> Reservation? {
        let limits = key.limits
        if limits.isUnlimited { return nil }
        let period = limits.budgetUSD != nil ? limits.budgetPeriod.label(for: date) : nil
        if let period, state.withLock({ $0.budgets[key.id]?.period != period }) {
            // First use in this period: load what was spent (once; later requests use memory).
            let spent = try await store.spend.spent(keyID: key.id, period: period)
            state.withLock { state in
                if state.budgets[key.id]?.period != period {
                    state.budgets[key.id] = Budget(period: period, spent: spent + pendingAmount(key.id, period), reserved: 0)
                }
            }
        }
        return try state.withLock { state -> Reservation in
            var window = state.windows[key.id] ?? Window()
            let second = self.second(now)
            window.prune(second)
            let own = window.total
            let others = Self.othersInLastMinute(state.others[key.id], date: date)
            if let rpm = limits.requestsPerMinute, own.requests + others.requests >= rpm {
                throw TernError(
                    .rateLimited, code: "rpm_limit_exceeded",
                    message: "API key \"\(key.name)\" allows \(rpm) requests per minute; try again shortly")
            }
            if let tpm = limits.tokensPerMinute {
                let used = own.tokens + others.tokens
                if used + estimatedTokens > tpm {
                    throw TernError(
                        .rateLimited, code: "tpm_limit_exceeded",
                        message: "API key \"\(key.name)\" allows \(tpm) tokens per minute (\(used) used, this request needs about \(estimatedTokens))")
                }
            }
            if let budget = limits.budgetUSD, let period {
                var current = state.budgets[key.id] ?? Budget(period: period, spent: 0, reserved: 0)
                if current.spent + current.reserved + worstCaseCost > budget + 1e-12 {
                    throw TernError(
                        .rateLimited, code: "budget_exceeded",
                        message: String(
                            format:
                                "API key \"%@\" has a budget of $%.4f per %@: $%.4f spent, $%.4f reserved by calls in flight, this call may cost up to $%.4f",
                            key.name, budget, limits.budgetPeriod.rawValue, current.spent, current.reserved, worstCaseCost))
                }
                current.reserved += worstCaseCost
                state.budgets[key.id] = current
            }
            window.add(second: second, requests: 1, tokens: estimatedTokens)
            state.windows[key.id] = window
            return Reservation(
                keyID: key.id, second: second, estimatedTokens: estimatedTokens, period: period,
                reservedCost: limits.budgetUSD != nil ? worstCaseCost : 0,
                projectID: key.projectID)
        }
    }

    /// Replaces a reservation by what the call actually used.
    public func settle(_ reservation: Reservation?, tokens: Int, cost: Double) {
        guard let reservation else { return }
        state.withLock { state in
            if var window = state.windows[reservation.keyID], window.buckets[reservation.second] != nil {
                window.add(second: reservation.second, requests: 0, tokens: tokens - reservation.estimatedTokens)
                state.windows[reservation.keyID] = window
            }
            if let period = reservation.period, var budget = state.budgets[reservation.keyID], budget.period == period {
                budget.reserved = max(0, budget.reserved - reservation.reservedCost)
                budget.spent += cost
                state.budgets[reservation.keyID] = budget
            }
        }
        if let period = reservation.period, cost > 0 {
            pendingSpend.withLock { pending in
                let slot = reservation.keyID + "\u{1}" + period
                let amount = (pending[slot]?.amount ?? 0) + cost
                pending[slot] = (reservation.projectID, reservation.keyID, period, amount)
            }
        }
    }

    private func pendingAmount(_ keyID: String, _ period: String) -> Double {
        pendingSpend.withLock { $0[keyID + "\u{1}" + period]?.amount ?? 0 }
    }

    /// Writes accumulated spend to the store (called periodically and at shutdown).
    public func flush() async {
        let batch = pendingSpend.withLock { pending in
            let batch = pending
            pending.removeAll()
            return batch
        }
        for (_, entry) in batch {
            do {
                try await store.spend.add(projectID: entry.projectID, keyID: entry.keyID, period: entry.period, amount: entry.amount)
            } catch {
                logger.warning("could not record spend", metadata: ["key_id": .string(entry.keyID), "error": "\(error)"])
                pendingSpend.withLock { pending in
                    let slot = entry.keyID + "\u{1}" + entry.period
                    pending[slot] = (entry.projectID, entry.keyID, entry.period, (pending[slot]?.amount ?? 0) + entry.amount)
                }
            }
        }
    }

    /// The other replicas' requests and tokens within the last 60 s, estimated from their per-minute counts:
    /// all of the current minute's and the share of the previous minute the sliding window still covers.
    static func othersInLastMinute(_ counts: [Int64: RateUsage]?, date: Date) -> RateUsage {
        guard let counts, !counts.isEmpty else { return RateUsage(requests: 0, tokens: 0) }
        let seconds = date.timeIntervalSince1970
        let minute = Int64(seconds / 60)
        let covered = 1 - (seconds / 60 - Double(minute))
        let current = counts[minute] ?? RateUsage(requests: 0, tokens: 0)
        let previous = counts[minute - 1] ?? RateUsage(requests: 0, tokens: 0)
        return RateUsage(
            requests: current.requests + Int((Double(previous.requests) * covered).rounded(.up)),
            tokens: current.tokens + Int((Double(previous.tokens) * covered).rounded(.up)))
    }

    /// What this process admitted per key with limits, per minute, for the other replicas.
    func ownUsage(now: ContinuousClock.Instant, date: Date) -> [Int64: [String: RateUsage]] {
        let nowSecond = second(now)
        let nowMinute = Int64(date.timeIntervalSince1970 / 60)
        return state.withLock { state in
            var out: [Int64: [String: RateUsage]] = [:]
            for (keyID, window) in state.windows {
                for (second, bucket) in window.buckets {
                    // The minute the bucket's second fell in, from its age.
                    let minute = min(nowMinute, Int64((date.timeIntervalSince1970 - Double(nowSecond - second)) / 60))
                    var usage = out[minute, default: [:]][keyID] ?? RateUsage(requests: 0, tokens: 0)
                    usage.requests += bucket.requests
                    usage.tokens += bucket.tokens
                    out[minute, default: [:]][keyID] = usage
                }
            }
            return out
        }
    }

    /// Exchanges with the other replicas through the store: writes this process's spend and per-minute
    /// counts, then reads the others' counts and every key's stored spend. Off the request path.
    public func sync(now: ContinuousClock.Instant = .now, date: Date = Date()) async {
        await flush()
        let minute = Int64(date.timeIntervalSince1970 / 60)
        do {
            let own = ownUsage(now: now, date: date)
            for (ownMinute, usage) in own where ownMinute >= minute - 1 {
                try await store.replicas.publishRateUsage(replica: replica, minute: ownMinute, usage: usage)
            }
            let others = try await store.replicas.rateUsage(since: minute - 1, excludingReplica: replica)
            state.withLock { $0.others = others }
            if minute % 10 == 0 { try await store.replicas.purgeRateUsage(before: minute - 5) }
        } catch {
            logger.warning("could not exchange rate limit counts with other replicas", metadata: ["error": "\(error)"])
        }
        // Budgets: the stored total (every replica's flushed spend) plus what this one has not flushed.
        let budgets = state.withLock { $0.budgets.map { (keyID: $0.key, period: $0.value.period) } }
        for budget in budgets {
            do {
                let stored = try await store.spend.spent(keyID: budget.keyID, period: budget.period)
                let pending = pendingAmount(budget.keyID, budget.period)
                state.withLock { state in
                    if var current = state.budgets[budget.keyID], current.period == budget.period {
                        current.spent = max(current.spent, stored + pending)
                        state.budgets[budget.keyID] = current
                    }
                }
            } catch {
                logger.warning("could not read a key's spend", metadata: ["key_id": .string(budget.keyID), "error": "\(error)"])
            }
        }
    }

    /// The buckets a key's window holds now (tests of its bound).
    func bucketCount(keyID: String) -> Int { state.withLock { $0.windows[keyID]?.buckets.count ?? 0 } }

    /// What a key's window counts now.
    func windowTotal(keyID: String) -> RateUsage { state.withLock { $0.windows[keyID]?.total ?? RateUsage(requests: 0, tokens: 0) } }

    /// Spend seen by this process for the key's current period (stored plus not yet flushed).
    public func spent(keyID: String) -> Double? {
        state.withLock { $0.budgets[keyID]?.spent }
    }
}
