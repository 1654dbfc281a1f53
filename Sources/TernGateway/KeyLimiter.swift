public import Foundation
public import Logging
import Synchronization
public import TernCore

/// Enforces per-key requests per minute, tokens per minute and spend budgets under concurrency:
/// each request reserves its estimated tokens and worst-case cost before the call, and the
/// reservation is replaced by the actual figures after it, so parallel requests can never
/// together spend more than the budget (LiteLLM checks and spends in separate steps, and leaks).
///
/// Budgets are exact within one Tern process; replicas sharing a database each enforce the
/// budget with the spend recorded so far (documented limitation).
public final class KeyLimiter: Sendable {
    public struct Reservation: Sendable {
        let keyID: String
        let entryID: UInt64
        let period: String?
        let reservedCost: Double
        let projectID: String
    }

    struct Window {
        var entries: [(id: UInt64, at: ContinuousClock.Instant, tokens: Int)] = []
        mutating func prune(_ now: ContinuousClock.Instant) {
            let cutoff = now - .seconds(60)
            if let first = entries.firstIndex(where: { $0.at > cutoff }) {
                if first > 0 { entries.removeFirst(first) }
            } else {
                entries.removeAll()
            }
        }
    }

    struct Budget {
        var period: String
        var spent: Double
        var reserved: Double
    }

    struct State {
        var windows: [String: Window] = [:]
        var budgets: [String: Budget] = [:]
        var nextID: UInt64 = 0
    }

    let store: any TernStore
    let logger: Logger
    private let state = Mutex(State())
    private let pendingSpend = Mutex<[String: (projectID: String, keyID: String, period: String, amount: Double)]>([:])

    public init(store: any TernStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Admits a request or throws a `rateLimited` error naming the limit.
    public func admit(key: APIKey, estimatedTokens: Int, worstCaseCost: Double, now: ContinuousClock.Instant = .now, date: Date = Date()) async throws -> Reservation? {
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
            window.prune(now)
            if let rpm = limits.requestsPerMinute, window.entries.count >= rpm {
                throw TernError(.rateLimited, code: "rpm_limit_exceeded",
                                message: "API key \"\(key.name)\" allows \(rpm) requests per minute; try again shortly")
            }
            if let tpm = limits.tokensPerMinute {
                let used = window.entries.reduce(0) { $0 + $1.tokens }
                if used + estimatedTokens > tpm {
                    throw TernError(.rateLimited, code: "tpm_limit_exceeded",
                                    message: "API key \"\(key.name)\" allows \(tpm) tokens per minute (\(used) used, this request needs about \(estimatedTokens))")
                }
            }
            if let budget = limits.budgetUSD, let period {
                var current = state.budgets[key.id] ?? Budget(period: period, spent: 0, reserved: 0)
                if current.spent + current.reserved + worstCaseCost > budget + 1e-12 {
                    throw TernError(.rateLimited, code: "budget_exceeded",
                                    message: String(format: "API key \"%@\" has a budget of $%.4f per %@: $%.4f spent, $%.4f reserved by calls in flight, this call may cost up to $%.4f",
                                                    key.name, budget, limits.budgetPeriod.rawValue, current.spent, current.reserved, worstCaseCost))
                }
                current.reserved += worstCaseCost
                state.budgets[key.id] = current
            }
            state.nextID += 1
            window.entries.append((state.nextID, now, estimatedTokens))
            state.windows[key.id] = window
            return Reservation(keyID: key.id, entryID: state.nextID, period: period, reservedCost: limits.budgetUSD != nil ? worstCaseCost : 0,
                               projectID: key.projectID)
        }
    }

    /// Replaces a reservation by what the call actually used.
    public func settle(_ reservation: Reservation?, tokens: Int, cost: Double) {
        guard let reservation else { return }
        state.withLock { state in
            if var window = state.windows[reservation.keyID], let index = window.entries.firstIndex(where: { $0.id == reservation.entryID }) {
                window.entries[index].tokens = tokens
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

    /// Spend seen by this process for the key's current period (stored plus not yet flushed).
    public func spent(keyID: String) -> Double? {
        state.withLock { $0.budgets[keyID]?.spent }
    }
}
