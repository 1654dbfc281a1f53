import Foundation
import TernCore
import Testing

@Suite("Input bounds and saturating arithmetic")
struct InputBoundsTests {
    @Test("conversions from Double clamp instead of trapping, at both ends and for NaN and infinities")
    func clamping() {
        #expect(Int64.clamping(1e300) == .max)
        #expect(Int64.clamping(-1e300) == .min)
        #expect(Int64.clamping(.nan) == 0)
        #expect(Int64.clamping(.infinity) == .max)
        #expect(Int64.clamping(9.3e18) == .max)
        #expect(Int64.clamping(9.2e18) == 9_200_000_000_000_000_000)
        #expect(Int64.clamping(-9.223372036854775808e18) == .min)
        #expect(Int.clamping(42.9) == 42)
        #expect(Timestamp.micros(Date(timeIntervalSince1970: 1e300)) == .max)
        #expect(Timestamp.micros(Date(timeIntervalSince1970: .nan)) == 0)
    }

    @Test("sums saturate")
    func saturation() {
        #expect(Int.max.addingSaturated(1) == .max)
        #expect(Int.min.addingSaturated(-1) == .min)
        #expect(Int(4_000_000_000_000_000_000).addingSaturated(6_000_000_000_000_000_000) == .max)
        #expect((Double.greatestFiniteMagnitude * 2).finiteOrClamped == .greatestFiniteMagnitude)
        #expect(Double.nan.finiteOrClamped == 0)
        var sum = MetricsAccumulator()
        var big = MetricsAccumulator()
        big.inputTokens = .max - 1
        big.cost = 1.7e308
        sum.merge(big)
        sum.merge(big)
        #expect(sum.inputTokens == .max)
        #expect(sum.cost == .greatestFiniteMagnitude)
        #expect(sum.summary.totalTokens == .max)
    }

    @Test("the bounds refuse what is out of range, naming the field")
    func bounds() throws {
        #expect(throws: TernError.invalid("t", "time out of range: expected 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z")) {
            try InputBounds.date(seconds: 1e300, field: "t")
        }
        #expect(throws: TernError.self) { try InputBounds.date(seconds: -1, field: "t") }
        #expect(try InputBounds.date(seconds: 0, field: "t") == Date(timeIntervalSince1970: 0))
        #expect(throws: TernError.self) { try InputBounds.tokens(8.99e15, field: "u") }
        #expect(throws: TernError.self) { try InputBounds.tokens(1.5, field: "u") }
        #expect(try InputBounds.tokens(1e9, field: "u") == 1_000_000_000)
        #expect(throws: TernError.self) { try InputBounds.cost(1.7e308, field: "c") }
        #expect(throws: TernError.self) { try InputBounds.cost(-0.5, field: "c") }
        #expect(throws: TernError.self) { try InputBounds.seconds(.nan, field: "s", range: 0...10) }
        #expect(Duration.clampedSeconds(1e300) == .seconds(315_360_000))
        #expect(Duration.clampedSeconds(-3) == .zero)
    }
}
