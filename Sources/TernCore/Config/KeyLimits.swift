public import Foundation

public enum BudgetPeriod: String, Sendable, Codable, Equatable {
    case day
    case month

    /// The period containing `date`, as stored: `2026-11-27` or `2026-11` (UTC).
    public func label(for date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        let year = parts.year ?? 1970, month = parts.month ?? 1, day = parts.day ?? 1
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        switch self {
        case .day: return "\(year)-\(two(month))-\(two(day))"
        case .month: return "\(year)-\(two(month))"
        }
    }
}

/// Limits of a virtual (Tern) key. Nil means unlimited.
public struct KeyLimits: Sendable, Codable, Equatable {
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    public var budgetUSD: Double?
    public var budgetPeriod: BudgetPeriod

    public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil, budgetUSD: Double? = nil, budgetPeriod: BudgetPeriod = .month) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.budgetUSD = budgetUSD
        self.budgetPeriod = budgetPeriod
    }

    public var isUnlimited: Bool { requestsPerMinute == nil && tokensPerMinute == nil && budgetUSD == nil }

    enum CodingKeys: String, CodingKey {
        case requestsPerMinute = "rpm", tokensPerMinute = "tpm", budgetUSD = "budget_usd", budgetPeriod = "budget_period"
    }

    public func validate() throws {
        if let rpm = requestsPerMinute, !(1...1_000_000_000).contains(rpm) { throw TernError.invalid("rpm", "expected 1-1000000000") }
        if let tpm = tokensPerMinute, !(1...1_000_000_000_000).contains(tpm) { throw TernError.invalid("tpm", "expected 1-1000000000000") }
        if let budget = budgetUSD, !(budget >= 0 && budget <= 1_000_000_000) {
            throw TernError.invalid("budget_usd", "expected a number of USD from 0 to 1000000000")
        }
    }
}
