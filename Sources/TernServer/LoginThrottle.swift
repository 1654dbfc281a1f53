import Foundation
import Synchronization
import TernCore

/// Limits password guessing, by account and by client address: after `freeFailures` wrong passwords
/// (per account; `freeAddressFailures` per address) within `window`, each further attempt must wait a
/// delay that doubles with every failure, from 1 s up to `maxDelay`. While an account or address waits,
/// sign-in is refused with 429 and Retry-After (even with the right password: that is what makes
/// guessing slow); a successful sign-in clears the account's and the address's failures. Memory is
/// bounded: at most `maxEntries` accounts and addresses are remembered (the oldest go first).
final class LoginThrottle: Sendable {
    struct Entry {
        var failures: Int
        var lastFailure: ContinuousClock.Instant
        var blockedUntil: ContinuousClock.Instant?
    }

    let freeFailures: Int
    let freeAddressFailures: Int
    let window: Duration
    let maxDelay: Duration
    let maxEntries: Int
    /// The first wait (then doubled with each failure).
    let firstDelay: Duration
    private let accounts = Mutex<[String: Entry]>([:])
    private let addresses = Mutex<[String: Entry]>([:])

    init(
        freeFailures: Int = 5, freeAddressFailures: Int = 20, window: Duration = .seconds(900), maxDelay: Duration = .seconds(900),
        maxEntries: Int = 100_000, firstDelay: Duration = .seconds(1)
    ) {
        self.firstDelay = firstDelay
        self.freeFailures = freeFailures
        self.freeAddressFailures = freeAddressFailures
        self.window = window
        self.maxDelay = maxDelay
        self.maxEntries = maxEntries
    }

    /// Throws 429 when the account or the address must still wait.
    func check(account: String, address: String?, now: ContinuousClock.Instant = .now) throws {
        func wait(_ table: borrowing Mutex<[String: Entry]>, _ key: String) -> Duration? {
            table.withLock { entries in
                guard let until = entries[key]?.blockedUntil, until > now else { return nil }
                return until - now
            }
        }
        let accountWait = wait(accounts, account)
        let addressWait = address.flatMap { wait(addresses, $0) }
        guard let longest = [accountWait, addressWait].compactMap({ $0 }).max() else { return }
        let seconds = max(1, Int((Double(longest.components.seconds) + Double(longest.components.attoseconds) / 1e18).rounded(.up)))
        let what = accountWait == longest ? "this account" : "this address"
        throw TernError(
            .rateLimited, code: "too_many_sign_in_attempts",
            message: "too many failed sign-ins for \(what): wait \(seconds) s before trying again (the wait doubles with each failure)",
            retryAfterSeconds: seconds)
    }

    func recordFailure(account: String, address: String?, now: ContinuousClock.Instant = .now) {
        record(accounts, account, free: freeFailures, now: now)
        if let address { record(addresses, address, free: freeAddressFailures, now: now) }
    }

    func recordSuccess(account: String, address: String?) {
        _ = accounts.withLock { $0.removeValue(forKey: account) }
        if let address { _ = addresses.withLock { $0.removeValue(forKey: address) } }
    }

    private func record(_ table: borrowing Mutex<[String: Entry]>, _ key: String, free: Int, now: ContinuousClock.Instant) {
        let window = self.window, maxDelay = self.maxDelay, maxEntries = self.maxEntries, firstDelay = self.firstDelay
        table.withLock { entries in
            var entry = entries[key] ?? Entry(failures: 0, lastFailure: now, blockedUntil: nil)
            // Failures older than the window are forgotten, unless the key is still waiting out a delay.
            if now - entry.lastFailure > window, (entry.blockedUntil ?? now) <= now { entry.failures = 0 }
            entry.failures += 1
            entry.lastFailure = now
            if entry.failures > free {
                let exponent = min(entry.failures - free - 1, 20)
                let delay = min(firstDelay * (1 << exponent), maxDelay)
                entry.blockedUntil = now + delay
            }
            if entries[key] == nil, entries.count >= maxEntries {
                // Forget the entries idle longest.
                let oldest = entries.sorted { $0.value.lastFailure < $1.value.lastFailure }.prefix(max(1, maxEntries / 10))
                for (key, _) in oldest { entries[key] = nil }
            }
            entries[key] = entry
        }
    }
}
