public import Foundation

/// The ranges every number that enters Tern must fall in (timestamps, token counts, costs, durations,
/// limits), checked where it enters so that a bad value is refused with a 400 naming its field, and
/// arithmetic on what was accepted (sums over millions of rows, microsecond conversions) cannot trap.
///
/// docs/SECURITY.md lists these bounds.
public enum InputBounds {
    /// Earliest accepted time: 1970-01-01T00:00:00Z (Unix second 0).
    public static let earliestSeconds: Double = 0
    /// Latest accepted time: 9999-12-31T23:59:59Z.
    public static let latestSeconds: Double = 253_402_300_799
    /// Token counts of one call (input, output, cached, reasoning): at most a billion each. Sums of a
    /// billion traces at this bound still fit in 64 bits.
    public static let maxTokens = 1_000_000_000
    /// Cost of one call or one trace in USD.
    public static let maxCost: Double = 1_000_000
    /// Numeric scores lie in -1e12 ... 1e12, so their sums and means stay finite.
    public static let maxScore: Double = 1e12
    /// Largest sum a report shows for tokens; sums saturate here instead of trapping.
    public static let maxTokenSum = Int.max / 2

    /// A time checked against the accepted range.
    public static func date(_ date: Date, field: String) throws -> Date {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite, seconds >= earliestSeconds, seconds <= latestSeconds else {
            throw TernError.invalid(field, "time out of range: expected 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z")
        }
        return date
    }

    /// A time as the API takes it in text (ISO 8601, a date or Unix seconds), range-checked; errors name `field`.
    public static func time(_ text: String, field: String) throws -> Date { try TraceQueryParameters.date(field, text) }

    /// Unix seconds checked against the accepted range.
    public static func date(seconds: Double, field: String) throws -> Date {
        guard seconds.isFinite else { throw TernError.invalid(field, "expected a finite number of Unix seconds") }
        return try date(Date(timeIntervalSince1970: seconds), field: field)
    }

    /// A token count: an integer 0 ... `maxTokens`.
    public static func tokens(_ value: Int, field: String) throws -> Int {
        guard value >= 0, value <= maxTokens else {
            throw TernError.invalid(field, "expected a token count 0-\(maxTokens), got \(value)")
        }
        return value
    }

    /// A token count given as a JSON number: integral, 0 ... `maxTokens`.
    public static func tokens(_ value: Double, field: String) throws -> Int {
        guard value.isFinite, value.rounded() == value, value >= 0, value <= Double(maxTokens) else {
            throw TernError.invalid(field, "expected a token count: an integer 0-\(maxTokens)")
        }
        return Int(value)
    }

    /// A cost in USD: finite, 0 ... `maxCost`.
    public static func cost(_ value: Double, field: String) throws -> Double {
        guard value.isFinite, value >= 0, value <= maxCost else {
            throw TernError.invalid(field, "expected a cost in USD from 0 to \(Int(maxCost))")
        }
        return value
    }

    /// A number of seconds for a timeout or a wait: finite, `range`.
    public static func seconds(_ value: Double, field: String, range: ClosedRange<Double>) throws -> Double {
        guard value.isFinite, range.contains(value) else {
            throw TernError.invalid(field, "expected a number of seconds from \(format(range.lowerBound)) to \(format(range.upperBound))")
        }
        return value
    }

    /// Seconds as people write them: `3`, `0.5`.
    public static func formatSeconds(_ value: Double) -> String { format(value) }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// Arithmetic that saturates instead of trapping, for sums over stored rows (which may predate a bound).
extension FixedWidthInteger where Self: SignedInteger {
    /// `self + other`, clamped to `Self.min ... Self.max`.
    @inlinable public func addingSaturated(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// The integer toward zero from `value`, clamped to the range of `Self` (NaN becomes 0).
    @inlinable public static func clamping(_ value: Double) -> Self {
        guard value.isFinite else { return value.isNaN ? 0 : (value > 0 ? .max : .min) }
        // Double(max) rounds up to 2^(bits-1) and Double(min) is exactly -2^(bits-1): beyond either, clamp.
        if value >= Double(Self.max) { return .max }
        if value <= Double(Self.min) { return .min }
        return Self(value)
    }
}

extension Double {
    /// The value when finite; otherwise the largest finite value of its sign (NaN becomes 0). For sums of
    /// stored costs, which an overflow must not turn into a value JSON cannot carry.
    @inlinable public var finiteOrClamped: Double {
        if isFinite { return self }
        if isNaN { return 0 }
        return self > 0 ? .greatestFiniteMagnitude : -.greatestFiniteMagnitude
    }
}

extension Duration {
    /// A duration of `seconds`, clamped to 0 ... 10 years (NaN becomes 0): for settings read from
    /// configuration, whose conversion to integer nanoseconds would otherwise trap.
    public static func clampedSeconds(_ seconds: Double) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return .zero }
        return .milliseconds(Int64(min(seconds, 315_360_000) * 1000))
    }
}
