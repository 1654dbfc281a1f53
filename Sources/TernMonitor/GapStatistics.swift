import Foundation
public import TernCore

/// Significance tests for the gap between a segment of traffic and the rest of it (bias monitoring): Welch's
/// t-test for means, the pooled two-proportion z-test for rates, and the Benjamini-Hochberg adjustment across
/// segments. Implemented from the mathematics; equal to scipy 1.17 and statsmodels 0.15 within 1e-9 relative
/// (tested against fixtures they produced: scripts/monitoring/make_gap_fixtures.py).
public enum GapStatistics {
    /// Welch's unequal-variance t-test from summary statistics (count, mean, sample variance with n - 1): t, the
    /// Welch–Satterthwaite degrees of freedom and the two-sided p-value, as scipy's `ttest_ind_from_stats(equal_var=False)`.
    /// Nil when a side has fewer than 2 values, both variances are 0, or an input is not finite (or a variance negative).
    public static func welch(
        countA: Int, meanA: Double, varianceA: Double, countB: Int, meanB: Double, varianceB: Double
    ) -> (t: Double, degreesOfFreedom: Double, pValue: Double)? {
        guard countA >= 2, countB >= 2, meanA.isFinite, meanB.isFinite, varianceA.isFinite, varianceB.isFinite,
            varianceA >= 0, varianceB >= 0
        else { return nil }
        let shareA = varianceA / Double(countA), shareB = varianceB / Double(countB)
        let squaredError = shareA + shareB
        guard squaredError > 0 else { return nil }
        let t = (meanA - meanB) / squaredError.squareRoot()
        // (sA + sB)² / (sA² / (nA - 1) + sB² / (nB - 1)), with the shares normalized so that nothing under- or overflows.
        let weightA = shareA / squaredError, weightB = shareB / squaredError
        let degreesOfFreedom = 1 / (weightA * weightA / Double(countA - 1) + weightB * weightB / Double(countB - 1))
        guard t.isFinite, degreesOfFreedom.isFinite else { return nil }
        return (t, degreesOfFreedom, studentTwoSided(t, degreesOfFreedom))
    }

    /// Two-proportion z-test with the pooled proportion, as statsmodels' `proportions_ztest([xA, xB], [nA, nB])`
    /// (two-sided): z and p. Nil when a count is 0, successes lie outside 0...count, or the pooled proportion is 0 or 1.
    public static func twoProportion(successesA: Int, countA: Int, successesB: Int, countB: Int) -> (z: Double, pValue: Double)? {
        guard countA > 0, countB > 0, (0...countA).contains(successesA), (0...countB).contains(successesB) else { return nil }
        let pooled = Double(successesA + successesB) / Double(countA + countB)
        guard pooled > 0, pooled < 1 else { return nil }
        let difference = Double(successesA) / Double(countA) - Double(successesB) / Double(countB)
        let z = difference / (pooled * (1 - pooled) * (1 / Double(countA) + 1 / Double(countB))).squareRoot()
        return (z, normalTwoSided(z))
    }

    /// Benjamini-Hochberg adjusted p-values in the input order, as statsmodels' `multipletests(method="fdr_bh")[1]`:
    /// monotone in the p-values' order, capped at 1. NaN entries stay NaN and are not counted among the tests.
    public static func benjaminiHochberg(_ pValues: [Double]) -> [Double] {
        let order = pValues.indices.filter { !pValues[$0].isNaN }.sorted { pValues[$0] < pValues[$1] }
        let tests = Double(order.count)
        var adjusted = [Double](repeating: .nan, count: pValues.count)
        var smallest = 1.0
        for (rank, index) in order.enumerated().reversed() {
            smallest = min(smallest, pValues[index] / (Double(rank + 1) / tests))
            adjusted[index] = smallest
        }
        return adjusted
    }

    // MARK: Distributions

    /// The standard normal two-sided tail, P(|Z| >= |z|) = erfc(|z| / √2), relatively accurate far into the tail.
    static func normalTwoSided(_ z: Double) -> Double {
        erfc(abs(z) / 2.0.squareRoot())
    }

    /// Student's t two-sided tail P(|T| >= |t|) with ν degrees of freedom: I_x(ν/2, 1/2) at x = ν / (ν + t²), by
    /// the continued fraction, or for ν >= 100 and t² <= (e - 1)ν (where the fraction converges slowly and loses
    /// about log10(ν) digits) by an expansion in incomplete gamma functions. Relative accuracy about 1e-14 (1e-13 for
    /// p below 1e-100), checked against 50-digit mpmath for ν from 1 to 10^9.
    static func studentTwoSided(_ t: Double, _ degreesOfFreedom: Double) -> Double {
        guard t != 0 else { return 1 }
        let square = t * t
        guard square.isFinite else { return 0 }
        let total = degreesOfFreedom + square
        let x = degreesOfFreedom / total, y = square / total
        let logX = x < 0.5 ? log(x) : log1p(-y)
        if degreesOfFreedom >= 100, logX >= -1 {
            return incompleteBetaHalfLargeA(minusLogX: -logX, a: degreesOfFreedom / 2)
        }
        return regularizedIncompleteBeta(x: x, y: y, a: degreesOfFreedom / 2, b: 0.5)
    }

    /// I_x(a, ½) for large a, from u = -log x. With s = e^-v, I_x(a, b) = ∫_u^∞ e^-av (1 - e^-v)^(b-1) dv / B(a, b), and
    /// (1 - e^-v)^(b-1) = e^(-(b-1)v/2) v^(b-1) φ(v) with φ(v) = (sinh(v/2) / (v/2))^(b-1) = Σ c(n) v^2n; term by term,
    /// I_x(a, b) = Γ(a+b) / (Γ(a) Γ(b) T^b) Σ c(n) Γ(b+2n, Tu) / T^2n with T = a + (b-1)/2. The series converges for
    /// u < 2π and is asymptotic in 1/T besides (the error near (2n)! / (2πT)^2n), so for T >= 50 and u <= 1 the
    /// terms below fall by a factor of about 40 each.
    static func incompleteBetaHalfLargeA(minusLogX u: Double, a: Double) -> Double {
        let b = 0.5, big = a + (b - 1) / 2
        let z = big * u
        // Γ(a+½) / (Γ(a) √T), by Stirling's series (a + ½ - T = ¾).
        let logPrefix = (a - 0.5) * log1p(b / a) + b * log1p(0.75 / big) - b + stirlingRemainder(a + b) - stirlingRemainder(a)
        // h(k) = Γ(½+k, z) / (Γ(½) T^k), upwards: Γ(s+1, z) = s Γ(s, z) + z^s e^-z; r(k) = z^(½+k) e^-z / (√π T^k).
        var h = erfc(z.squareRoot())
        var r = exp(-z) * (z / Double.pi).squareRoot()
        var series = h
        for n in 1..<halfPowerCoefficients.count {
            for k in (2 * n - 2)...(2 * n - 1) {
                h = ((Double(k) + 0.5) * h + r) / big
                r *= u
            }
            let term = halfPowerCoefficients[n] * h
            series += term
            if abs(term) <= 1e-17 * abs(series) { break }
        }
        return exp(logPrefix) * series
    }

    /// c(n), the coefficients of φ(v) = (sinh(v/2) / (v/2))^-½ = Σ c(n) v^2n: φ = exp(-½ Σ ℓ(k) v^2k) with
    /// log(sinh(w) / w) = Σ B(2k) (2w)^2k / (2k (2k)!), so ℓ(k) = B(2k) / (2k (2k)!); exponentiated as a power series.
    static let halfPowerCoefficients: [Double] = {
        // The Bernoulli numbers B(2), B(4), …, B(30).
        let bernoulli: [Double] = [
            1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66, -691.0 / 2730, 7.0 / 6, -3617.0 / 510, 43867.0 / 798,
            -174611.0 / 330, 854513.0 / 138, -236364091.0 / 2730, 8553103.0 / 6, -23749461029.0 / 870, 8615841276005.0 / 14322,
        ]
        var exponent = [0.0]  // e(k), the power series of -½ Σ ℓ(k) w^k in w = v²
        var factorial = 1.0
        for (index, number) in bernoulli.enumerated() {
            let k = Double(index + 1)
            factorial *= (2 * k - 1) * (2 * k)
            exponent.append(-0.5 * number / (2 * k * factorial))
        }
        // f = exp(g) with f(0) = 1: n f(n) = Σ k g(k) f(n - k).
        var coefficients = [1.0]
        for n in 1..<exponent.count {
            var total = 0.0
            for k in 1...n { total += Double(k) * exponent[k] * coefficients[n - k] }
            coefficients.append(total / Double(n))
        }
        return coefficients
    }()

    /// Student's t survival function P(T > t) with ν degrees of freedom.
    static func studentSurvival(_ t: Double, _ degreesOfFreedom: Double) -> Double {
        let tail = studentTwoSided(t, degreesOfFreedom) / 2
        return t >= 0 ? tail : 1 - tail
    }

    /// The regularized incomplete beta function I_x(a, b), given x and y = 1 - x separately (so that neither loses
    /// digits to cancellation), by its continued fraction (modified Lentz) on the side where that converges fast:
    /// I_x(a, b) = x^a y^b / (a B(a, b)) · CF, or 1 - I_y(b, a). Relative accuracy about 1e-14 (1e-13 below 1e-100), but
    /// near the mode x ≈ a / (a + b) the fraction loses about log10(max(a, b)) digits: hence the large-ν expansion above.
    static func regularizedIncompleteBeta(x: Double, y: Double, a: Double, b: Double) -> Double {
        guard x > 0 else { return 0 }
        guard y > 0 else { return 1 }
        if x * (a + b + 2) < a + 1 {
            return exp(logPowerPrefix(x: x, y: y, a: a, b: b)) * betaContinuedFraction(x: x, a: a, b: b) / a
        }
        return 1 - exp(logPowerPrefix(x: y, y: x, a: b, b: a)) * betaContinuedFraction(x: y, a: b, b: a) / b
    }

    /// log(x^a y^b / B(a, b)), each logarithm taken of whichever of x and y = 1 - x is known best.
    static func logPowerPrefix(x: Double, y: Double, a: Double, b: Double) -> Double {
        let logX = x < 0.5 ? log(x) : log1p(-y)
        let logY = y < 0.5 ? log(y) : log1p(-x)
        return a * logX + b * logY - logBeta(a, b)
    }

    /// The continued fraction of I_x(a, b): 1 / (1 + d1 / (1 + d2 / (1 + …))) with
    /// d(2m+1) = -(a+m)(a+b+m)x / ((a+2m)(a+2m+1)) and d(2m) = m(b-m)x / ((a+2m-1)(a+2m)), by the modified Lentz method.
    static func betaContinuedFraction(x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        func guarded(_ value: Double) -> Double { abs(value) < tiny ? tiny : value }
        var c = 1.0
        var d = 1 / guarded(1 - (a + b) * x / (a + 1))
        var result = d
        // Converges within O(√max(a, b)) steps on this side of the mode.
        let limit = 1000 + 20 * Int(max(a, b).squareRoot().rounded(.up))
        for step in 1...limit {
            let m = Double(step)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 / guarded(1 + even * d)
            c = guarded(1 + even / c)
            result *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 / guarded(1 + odd * d)
            c = guarded(1 + odd / c)
            let factor = d * c
            result *= factor
            if abs(factor - 1) <= Double.ulpOfOne { break }
        }
        return result
    }

    /// log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b), by Stirling's series for arguments of 10 and more so that
    /// large arguments (a = ν/2 for a million degrees of freedom) lose no digits to the cancellation of huge lgammas.
    static func logBeta(_ a: Double, _ b: Double) -> Double {
        let small = min(a, b), large = max(a, b), sum = a + b
        if large < 10 {
            return lgamma(a) + lgamma(b) - lgamma(sum)
        }
        let correction = stirlingRemainder(large) - stirlingRemainder(sum)
        if small < 10 {
            // lgamma(large) - lgamma(large + small) = -(large - ½) log(1 + small/large) - small log(sum) + small + δ(large) - δ(sum).
            return lgamma(small) - (large - 0.5) * log1p(small / large) - small * log(sum) + small + correction
        }
        // ½ log 2π - ½ log(a + b) + (a - ½) log(a / (a + b)) + (b - ½) log(b / (a + b)) + δ(a) + δ(b) - δ(a + b).
        return 0.5 * log(2 * Double.pi) - 0.5 * log(sum) + (small - 0.5) * log(small / sum) + (large - 0.5) * log1p(-small / sum)
            + stirlingRemainder(small) + correction
    }

    /// δ(x) = lgamma(x) - ((x - ½) log x - x + ½ log 2π), by its asymptotic series; below 1e-16 relative from x = 10.
    static func stirlingRemainder(_ x: Double) -> Double {
        let inverse = 1 / x, square = inverse * inverse
        // Bernoulli numbers B(2k) / (2k (2k - 1)) for k = 1...7.
        let coefficients: [Double] = [1.0 / 12, -1.0 / 360, 1.0 / 1260, -1.0 / 1680, 1.0 / 1188, -691.0 / 360360, 1.0 / 156]
        var series = 0.0
        for coefficient in coefficients.reversed() {
            series = series * square + coefficient
        }
        return series * inverse
    }
}

/// What a segment of traffic contributes to a gap analysis: its count and its values' sum and sum of squares
/// (for a rate, the values are 0 or 1, so sum = sumOfSquares = the number of successes). The stores give
/// them as `SegmentSums` (COUNT, SUM(x) and SUM(x * x)).
public typealias SegmentSummary = SegmentSums

extension SegmentSums {
    /// A summary of the values themselves, summed with Neumaier's compensated summation.
    public init(segment: String, values: [Double]) {
        var sum = CompensatedSum(), squares = CompensatedSum()
        for value in values {
            sum.add(value)
            squares.add(value * value)
        }
        self.init(segment: segment, count: values.count, sum: sum.value, sumOfSquares: squares.value)
    }
}

/// Neumaier's compensated sum.
private struct CompensatedSum {
    private var total = 0.0
    private var compensation = 0.0

    var value: Double { total + compensation }

    mutating func add(_ value: Double) {
        let next = total + value
        compensation += abs(total) >= abs(value) ? (total - next) + value : (value - next) + total
        total = next
    }
}

/// One segment's gap to the rest of the traffic (all other segments pooled), its significance and verdict.
public struct SegmentGap: Sendable, Equatable, Codable {
    /// The segment's name.
    public var segment: String
    /// How many values the segment has.
    public var count: Int
    /// The segment's mean (a rate, for rates); 0 when it has no values.
    public var mean: Double
    /// How many values the rest of the traffic has.
    public var restCount: Int
    /// The rest's mean (or rate); 0 when there is no other traffic.
    public var restMean: Double
    /// mean - restMean (0 when either side has no values).
    public var gap: Double
    /// The test's two-sided p-value; nil below the minimum count on either side, or when the test is degenerate.
    public var pValue: Double?
    /// The Benjamini-Hochberg adjusted p-value, over the segments that have a p-value.
    public var adjustedPValue: Double?
    /// Whether the adjusted p-value is below alpha and the gap at least the minimum gap.
    public var flagged: Bool
    /// Why there is no p-value (e.g. "fewer than 30 values"), or nil.
    public var note: String?

    /// A gap from all its parts.
    public init(
        segment: String, count: Int, mean: Double, restCount: Int, restMean: Double, gap: Double, pValue: Double?,
        adjustedPValue: Double?, flagged: Bool, note: String? = nil
    ) {
        self.segment = segment
        self.count = count
        self.mean = mean
        self.restCount = restCount
        self.restMean = restMean
        self.gap = gap
        self.pValue = pValue
        self.adjustedPValue = adjustedPValue
        self.flagged = flagged
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case segment, count, mean
        case restCount = "rest_count"
        case restMean = "rest_mean"
        case gap
        case pValue = "p_value"
        case adjustedPValue = "adjusted_p_value"
        case flagged, note
    }
}

/// What the segments' values are: a metric to compare by mean (Welch's t-test) or 0/1 outcomes to compare by
/// rate (the two-proportion z-test).
public enum GapKind: String, Sendable, Codable {
    case mean, rate
}

/// Bias monitoring: each segment against the rest of the traffic.
public enum SegmentGaps {
    /// Rates for the error rate and for scores that are all 0 or 1 (booleans); means otherwise.
    public static func kind(of measure: TraceMeasure, _ sums: [SegmentSummary]) -> GapKind {
        let isRate =
            measure == .errorRate || measure == .refusalRate || (!sums.isEmpty && sums.allSatisfy { $0.sum == $0.sumOfSquares && $0.sum.rounded() == $0.sum })
        return isRate ? .rate : .mean
    }

    /// Each segment's gap to the rest (all other segments pooled), in the input order: a p-value when both sides
    /// have at least `minimumCount` values (Welch's t-test for means, the z-test for rates), Benjamini-Hochberg
    /// adjusted across the segments that have one, and flagged when adjusted p < `alpha` and |gap| >= `minimumGap`.
    ///
    /// Variances come from the sums: each segment's as (Σx² - Σx·mean) / (n - 1), clamped at 0, which loses
    /// about log10(mean² / variance) digits (values far from 0 relative to their spread, such as timestamps, are
    /// better shifted before they are summed); the rest's by pooling the segments' means and squared deviations
    /// (Chan et al.), prefix and suffix, so that no variance is ever found by subtraction. Segments are not merged
    /// by name.
    public static func analyse(
        _ segments: [SegmentSummary], kind: GapKind, minimumCount: Int = 30, minimumGap: Double = 0, alpha: Double = 0.05
    ) -> [SegmentGap] {
        let moments = segments.map(Moments.init)
        var prefixes = [Moments()], suffixes = [Moments()]
        for moment in moments { prefixes.append(prefixes[prefixes.count - 1].pooled(with: moment)) }
        for moment in moments.reversed() { suffixes.append(suffixes[suffixes.count - 1].pooled(with: moment)) }
        var gaps: [SegmentGap] = []
        for (index, segment) in moments.enumerated() {
            let rest = prefixes[index].pooled(with: suffixes[moments.count - 1 - index])
            var gap = SegmentGap(
                segment: segments[index].segment, count: segment.count, mean: segment.mean, restCount: rest.count,
                restMean: rest.mean, gap: segment.count > 0 && rest.count > 0 ? segment.mean - rest.mean : 0,
                pValue: nil, adjustedPValue: nil, flagged: false)
            if segment.count == 0 {
                gap.note = "no values"
            } else if segment.count < minimumCount {
                gap.note = "fewer than \(minimumCount) values"
            } else if rest.count == 0 {
                gap.note = "no other traffic"
            } else if rest.count < minimumCount {
                gap.note = "the rest has fewer than \(minimumCount) values"
            } else {
                (gap.pValue, gap.note) = test(segment, rest, kind: kind)
            }
            gaps.append(gap)
        }
        let tested = gaps.indices.filter { gaps[$0].pValue != nil }
        let adjusted = GapStatistics.benjaminiHochberg(tested.map { gaps[$0].pValue! })
        for (index, value) in zip(tested, adjusted) {
            gaps[index].adjustedPValue = value
            gaps[index].flagged = value < alpha && abs(gaps[index].gap) >= minimumGap
        }
        return gaps
    }

    /// The segment's p-value against the rest, or why there is none.
    static func test(_ segment: Moments, _ rest: Moments, kind: GapKind) -> (pValue: Double?, note: String?) {
        switch kind {
        case .mean:
            guard segment.count >= 2, rest.count >= 2 else { return (nil, "fewer than 2 values on a side") }
            guard segment.sum.isFinite, rest.sum.isFinite, segment.squaredDeviations.isFinite, rest.squaredDeviations.isFinite
            else { return (nil, "values that are not finite") }
            guard
                let result = GapStatistics.welch(
                    countA: segment.count, meanA: segment.mean, varianceA: segment.variance,
                    countB: rest.count, meanB: rest.mean, varianceB: rest.variance)
            else { return (nil, "no variation on either side") }
            return (result.pValue, nil)
        case .rate:
            guard let successes = segment.successes, let restSuccesses = rest.successes,
                (0...segment.count).contains(successes), (0...rest.count).contains(restSuccesses)
            else { return (nil, "successes that are not counts of 0 to the values' count") }
            guard
                let result = GapStatistics.twoProportion(
                    successesA: successes, countA: segment.count, successesB: restSuccesses, countB: rest.count)
            else { return (nil, "no variation on either side") }
            return (result.pValue, nil)
        }
    }

    /// A count, sum, mean and sum of squared deviations from the mean, which pool without cancellation.
    struct Moments {
        var count = 0
        var sum = 0.0
        var mean = 0.0
        var squaredDeviations = 0.0

        init() {}

        init(_ summary: SegmentSummary) {
            count = max(summary.count, 0)
            guard count > 0 else { return }
            sum = summary.sum
            mean = sum / Double(count)
            // Σ(x - mean)² = Σx² - mean·Σx: the one formula raw sums allow; rounding can take it below 0.
            squaredDeviations = max(summary.sumOfSquares - mean * sum, 0)
        }

        /// The sample variance (n - 1).
        var variance: Double { count > 1 ? squaredDeviations / Double(count - 1) : 0 }

        /// The sum as a whole number of successes, for rates.
        var successes: Int? {
            let rounded = sum.rounded()
            return rounded.isFinite && abs(rounded) < 9e15 ? Int(rounded) : nil
        }

        /// Both together: the squared deviations add, plus the between-group term δ² nA nB / (nA + nB).
        func pooled(with other: Moments) -> Moments {
            guard other.count > 0 else { return self }
            guard count > 0 else { return other }
            var result = Moments()
            result.count = count + other.count
            result.sum = sum + other.sum
            result.mean = result.sum / Double(result.count)
            let delta = other.mean - mean
            result.squaredDeviations =
                squaredDeviations + other.squaredDeviations + delta * delta * (Double(count) * Double(other.count) / Double(result.count))
            return result
        }
    }
}
