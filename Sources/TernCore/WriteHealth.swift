public import Foundation
import Synchronization

/// Whether the store is taking writes, as the writers see it: the trace writer, ingest and OTLP record
/// each write's outcome here. `/readyz` answers 503 while the last write failed for a reason the store
/// calls unavailability (disk full, read-only, unreachable), and a probe write clears it once the store
/// takes writes again, so a replica that cannot store what it acknowledges leaves the load balancer.
public final class WriteHealth: Sendable {
    public struct Failure: Sendable, Equatable {
        public var reason: String
        public var since: Date
        public var failures: Int
    }

    private let state = Mutex<Failure?>(nil)

    public init() {}

    /// The current failure, nil while writes succeed.
    public var failure: Failure? { state.withLock { $0 } }

    public func recordSuccess() {
        state.withLock { $0 = nil }
    }

    public func recordFailure(_ reason: String) {
        state.withLock { state in
            if var known = state {
                known.reason = reason
                known.failures += 1
                state = known
            } else {
                state = Failure(reason: reason, since: Date(), failures: 1)
            }
        }
    }
}
