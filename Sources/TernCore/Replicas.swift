public import Foundation

/// Requests and tokens one replica admitted for a key in one minute.
public struct RateUsage: Sendable, Equatable {
    public var requests: Int
    public var tokens: Int

    public init(requests: Int, tokens: Int) {
        self.requests = requests
        self.tokens = tokens
    }
}

/// What Tern replicas sharing one database tell each other (docs/SECURITY.md, "Several replicas"):
/// each publishes its per-key request and token counts per minute and reads the others', so rate limits
/// hold across replicas within one sync interval; revocations are read back so a key revoked through one
/// replica is refused by the others within that interval too.
public protocol ReplicaRepository: Sendable {
    /// Sets this replica's counts for `minute` (absolute values: a repeat changes nothing).
    func publishRateUsage(replica: String, minute: Int64, usage: [String: RateUsage]) async throws
    /// The other replicas' counts of every key from `minute` on, summed per key and minute.
    func rateUsage(since minute: Int64, excludingReplica replica: String) async throws -> [String: [Int64: RateUsage]]
    /// Forgets counts of minutes before `minute`.
    func purgeRateUsage(before minute: Int64) async throws
    /// Ids of keys revoked at or after `since`.
    func revokedKeys(since: Date) async throws -> [String]
}
