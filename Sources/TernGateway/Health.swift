import Foundation
import Synchronization
import TernCore

/// Per-deployment health: consecutive failures, cooldown with a single probe back, and a moving
/// latency estimate for least-latency routing.
public final class HealthTracker: Sendable {
    struct State {
        var consecutiveFailures = 0
        var cooldownUntil: ContinuousClock.Instant?
        var probing = false
        var latencyMs: Double?
    }

    private let states = Mutex<[String: State]>([:])

    public init() {}

    static func key(_ model: String, _ deployment: String) -> String { model + "\u{1}" + deployment }

    public enum Availability: Sendable, Equatable {
        case healthy
        /// Out of rotation until the cooldown ends.
        case coolingDown
        /// The cooldown ended: this caller may send one probe request.
        case probe
    }

    /// Whether a deployment may take a request now. A `.probe` answer reserves the single probe.
    public func availability(model: String, deployment: String, now: ContinuousClock.Instant = .now) -> Availability {
        states.withLock { states in
            let key = Self.key(model, deployment)
            guard var state = states[key], let until = state.cooldownUntil else { return .healthy }
            if now < until || state.probing { return .coolingDown }
            state.probing = true
            states[key] = state
            return .probe
        }
    }

    /// Peeks without reserving a probe.
    public func isCoolingDown(model: String, deployment: String, now: ContinuousClock.Instant = .now) -> Bool {
        states.withLock { states in
            guard let state = states[Self.key(model, deployment)], let until = state.cooldownUntil else { return false }
            return now < until || state.probing
        }
    }

    public func recordSuccess(model: String, deployment: String, latencyMs: Double) {
        states.withLock { states in
            var state = states[Self.key(model, deployment)] ?? State()
            state.consecutiveFailures = 0
            state.cooldownUntil = nil
            state.probing = false
            state.latencyMs = state.latencyMs.map { $0 * 0.8 + latencyMs * 0.2 } ?? latencyMs
            states[Self.key(model, deployment)] = state
        }
    }

    /// Counts a failure; `allowedFails` in a row, a failed probe, or a rate limit start a cooldown.
    public func recordFailure(
        model: String, deployment: String, allowedFails: Int, cooldown: Duration, rateLimited: Bool,
        now: ContinuousClock.Instant = .now
    ) {
        states.withLock { states in
            var state = states[Self.key(model, deployment)] ?? State()
            state.consecutiveFailures += 1
            if rateLimited || state.probing || state.consecutiveFailures >= allowedFails {
                state.cooldownUntil = now + cooldown
            }
            state.probing = false
            states[Self.key(model, deployment)] = state
        }
    }

    /// Releases a probe that ended without a verdict (the client went away).
    public func releaseProbe(model: String, deployment: String) {
        states.withLock { states in states[Self.key(model, deployment)]?.probing = false }
    }

    public func latency(model: String, deployment: String) -> Double? {
        states.withLock { $0[Self.key(model, deployment)]?.latencyMs }
    }

    /// A snapshot for the API: deployment -> (cooling down, consecutive failures, latency).
    public func snapshot(model: String, deployments: [String]) -> [(name: String, coolingDown: Bool, failures: Int, latencyMs: Double?)] {
        let now = ContinuousClock.now
        return states.withLock { states in
            deployments.map { name in
                let state = states[Self.key(model, name)] ?? State()
                let cooling = state.cooldownUntil.map { now < $0 || state.probing } ?? false
                return (name, cooling, state.consecutiveFailures, state.latencyMs)
            }
        }
    }
}
