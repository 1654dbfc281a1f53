import Foundation

extension DriftStatistics {
    /// Two-sample Kolmogorov-Smirnov (scipy's ks_2samp, two-sided, method auto): the statistic D and its p-value.
    ///
    /// D is the largest gap between the two empirical CDFs, each counting the values at or below a point (so ties
    /// move both together). With at most 10,000 values on each side the p-value is exact: the share of the
    /// lattice paths of the pooled ordering that leave the band |x/n1 - y/n2| < D, and D is returned as that
    /// band's multiple of 1/lcm(n1, n2). Above, it is the one-sample two-sided Kolmogorov distribution's survival
    /// function at D for the effective size n1 n2 / (n1 + n2), rounded. Evidently's `ks` test is this p-value
    /// (drift at <= 0.05). Both samples must be non-empty and finite.
    public static func kolmogorovSmirnov(reference: [Double], current: [Double]) -> (statistic: Double, pValue: Double) {
        precondition(!reference.isEmpty && !current.isEmpty, "Kolmogorov-Smirnov needs two non-empty samples")
        precondition(reference.allSatisfy(\.isFinite) && current.allSatisfy(\.isFinite), "Kolmogorov-Smirnov needs finite values")
        let gap = KolmogorovSmirnov.largestGap(reference.sorted(), current.sorted())
        return KolmogorovSmirnov.test(gap: gap, reference.count, current.count)
    }
}

/// The distributions behind `DriftStatistics.kolmogorovSmirnov`. The choice of method in each regime, and its
/// cut-offs, are scipy 1.17's (`ks_2samp`, `kstwo`, `scipy.special.smirnov`), so the results agree within
/// rounding; the computations are written from the mathematics:
/// - two samples, exact: Hodges (1958), "The significance probability of the Smirnov two-sample test", as
///   the share of paths that leave the band (Viehmann 2021, arXiv:2102.08037, so small p-values keep their
///   relative precision), and for equal sizes the reflection series of binomial coefficients;
/// - one sample, two-sided (`kstwo`): Simard & L'Ecuyer (2011), "Computing the two-sided Kolmogorov-Smirnov
///   distribution": Ruben-Gambino's closed forms at the ends, Durbin's matrix (1968) in the Marsaglia-Tsang-Wang
///   form (2003), Pomeranz's recursion (1974), Pelz-Good's expansion (1976), and twice the one-sided tail;
/// - one sample, one-sided (`smirnov`): the Birnbaum-Tingey (1951) sum, its terms taken through Stirling's
///   series so that none of them loses precision.
enum KolmogorovSmirnov {
    /// Up to this many values on either side the two-sample p-value is exact.
    static let exactLimit = 10_000

    // MARK: Two samples

    /// max |F1(v) - F2(v)| over the pooled values v, where F counts the values <= v: one pass over both sorted samples.
    static func largestGap(_ first: [Double], _ second: [Double]) -> Double {
        let size1 = Double(first.count), size2 = Double(second.count)
        var i = 0, j = 0, gap = 0.0
        while i < first.count || j < second.count {
            let value = j == second.count || (i < first.count && first[i] <= second[j]) ? first[i] : second[j]
            while i < first.count, first[i] <= value { i += 1 }
            while j < second.count, second[j] <= value { j += 1 }
            gap = max(gap, abs(Double(i) / size1 - Double(j) / size2))
        }
        return gap
    }

    /// The statistic (exact: rounded to the lattice) and the p-value of the gap between samples of these sizes.
    static func test(gap: Double, _ size1: Int, _ size2: Int) -> (statistic: Double, pValue: Double) {
        guard max(size1, size2) <= exactLimit else { return (gap, asymptoticPValue(gap, size1, size2)) }
        // The ECDF gaps are multiples of 1/lcm; the band half-width in those steps.
        let lattice = size1 / greatestCommonDivisor(size1, size2) * size2
        let steps = (gap * Double(lattice)).rounded(.toNearestOrEven)
        let statistic = steps / Double(lattice)
        let width = Int(steps)
        guard width > 0 else { return (statistic, 1) }
        let p = size1 == size2 ? equalSizesExitShare(size1, width) : bandExitShare(size1, size2, width)
        if p.isFinite, p >= 0, p <= 1 { return (statistic, p) }
        return (statistic, asymptoticPValue(statistic, size1, size2))
    }

    /// kstwo.sf(D, round(n1 n2 / (n1 + n2))), clipped to [0, 1].
    static func asymptoticPValue(_ statistic: Double, _ size1: Int, _ size2: Int) -> Double {
        let larger = Double(max(size1, size2)), smaller = Double(min(size1, size2))
        // Half-to-even, as numpy rounds; at least 1 (only 1 vs 1 would round to 0, and it is always exact).
        let effective = max(1, Int((larger * smaller / (larger + smaller)).rounded(.toNearestOrEven)))
        return min(max(kolmogorovSurvival(effective, statistic), 0), 1)
    }

    /// P(D >= h/n) for two samples of n values: the share of the paths from (0, 0) to (n, n) that touch x - y = ±h.
    /// By reflection it is 2 Σ_{k>=1} (-1)^(k-1) C(2n, n - kh) / C(2n, n); with ρ_k = C(2n, n - kh) / C(2n, n - (k-1)h),
    /// a product of h fractions below 1, that is 2 ρ_1 (1 - ρ_2 (1 - ρ_3 (1 - ...))), summed from the innermost
    /// term out so that no large alternating terms cancel.
    static func equalSizesExitShare(_ n: Int, _ h: Int) -> Double {
        var nested = 0.0
        var k = n / h  // C(2n, n - kh) vanishes beyond
        while k >= 1 {
            let offset = (k - 1) * h
            var ratio = 1.0
            for j in 0..<h { ratio *= Double(n - offset - j) / Double(n + offset + j + 1) }
            nested = ratio * (1 - nested)
            k -= 1
        }
        return 2 * nested
    }

    /// The share of the lattice paths from (0, 0) to (m, n) that leave the band |x/m - y/n| < h/lcm(m, n), i.e.
    /// |(n/g) x - (m/g) y| < h. With u(x, y) that share among the paths to (x, y) (1 outside the band),
    /// u(x, y) = x/(x+y) u(x-1, y) + y/(x+y) u(x, y-1): a convex combination, so rounding errors stay relative.
    /// Column by column along the larger sample, over the band's rows only: O(m × band height).
    static func bandExitShare(_ size1: Int, _ size2: Int, _ h: Int) -> Double {
        let m = max(size1, size2), n = min(size1, size2)
        let divisor = greatestCommonDivisor(m, n)
        let rowStep = m / divisor, columnStep = n / divisor  // inside iff |columnStep x - rowStep y| < h
        var share = [Double](repeating: 1, count: n + 1)  // column x - 1 before the update, x after
        var reciprocal = [Double](repeating: 0, count: m + n + 1)
        for k in 1...(m + n) { reciprocal[k] = 1 / Double(k) }
        // Column 0: rows with rowStep y < h are inside, and no path to them has left yet.
        var low = 0
        var high = min((h + rowStep - 1) / rowStep, n + 1)  // rows low..<high are inside
        for y in 0..<high { share[y] = 0 }
        return share.withUnsafeMutableBufferPointer { u in
            reciprocal.withUnsafeBufferPointer { inverse in
                for x in 1...m {
                    // Inside: (columnStep x - h) / rowStep < y < (columnStep x + h) / rowStep.
                    let newLow = max(floorDivision(columnStep * x - h, rowStep) + 1, 0)
                    let newHigh = min(ceilingDivision(columnStep * x + h, rowStep), n + 1)
                    if newHigh <= newLow { return 1 }  // every path has left
                    // Rows the band has moved past are outside now.
                    for y in low..<min(newLow, high) { u[y] = 1 }
                    let column = Double(x)
                    // Row 0 (if inside) keeps its value: its only predecessor is (x - 1, 0).
                    let first = max(newLow, 1)
                    var below = u[first - 1]  // u(x, y - 1), kept in a register
                    for y in first..<newHigh {
                        let r = inverse[x + y]
                        below = (column * r * u[y]).addingProduct(below, Double(y) * r)
                        u[y] = below
                    }
                    low = newLow
                    high = newHigh
                }
                return u[n]
            }
        }
    }

    // MARK: One sample, two-sided (kstwo)

    /// P(D_n >= x) for the two-sided one-sample statistic D_n = sup |F_n - F|, with each regime's method as in
    /// Simard & L'Ecuyer (scipy's `kolmogn`).
    static func kolmogorovSurvival(_ n: Int, _ x: Double) -> Double {
        guard x < 1 else { return 0 }
        let size = Double(n), t = size * x
        guard t > 0.5 else { return 1 }  // D_n >= 1/(2n) always
        if t <= 1 {
            // Ruben-Gambino: P(D_n < x) = n!/n^n (2t - 1)^n for 1/(2n) <= x <= 1/n.
            return 1 - exp(logFactorial(n) - size * log(size) + size * log(2 * t - 1))
        }
        if t >= size - 1 { return 2 * pow(1 - x, size) }  // Ruben-Gambino, upper end
        // From x = 1/2 on, D+ >= x and D- >= x cannot both happen: twice the one-sided tail is exact.
        if x >= 0.5 { return 2 * smirnovSurvival(n, x) }
        let scaledSquare = t * x  // n x²
        if n <= 140 {
            if scaledSquare <= 0.754693 { return 1 - durbinMatrixCDF(n, x) }
            if scaledSquare <= 4 { return 1 - pomeranzCDF(n, x) }
            return 2 * smirnovSurvival(n, x)
        }
        if scaledSquare >= 370 { return 0 }
        if scaledSquare >= 2.2 { return 2 * smirnovSurvival(n, x) }
        if n <= 100_000, size * pow(x, 1.5) <= 1.4 { return 1 - durbinMatrixCDF(n, x) }
        return 1 - pelzGoodCDF(n, x)
    }

    /// P(D_n < x), exactly, by Durbin's matrix: with n x = k - e (k an integer, 0 <= e < 1) and H the
    /// (2k-1)×(2k-1) matrix of Marsaglia, Tsang & Wang, it is n!/n^n (H^n)[k, k]. H^n by repeated squaring,
    /// each product rescaled by a power of two so that nothing overflows.
    static func durbinMatrixCDF(_ n: Int, _ x: Double) -> Double {
        let t = Double(n) * x
        if x >= 1 { return 1 }
        if t <= 0.5 { return 0 }
        let k = Int(t.rounded(.up))
        let e = Double(k) - t
        let size = 2 * k - 1
        var inverseFactorial = [Double](repeating: 1, count: size + 1)  // 1/j!, underflowing harmlessly
        for j in 1...size { inverseFactorial[j] = inverseFactorial[j - 1] / Double(j) }
        var h = ScaledMatrix(size: size)
        for row in 0..<size {
            for column in 0...min(row + 1, size - 1) { h[row, column] = inverseFactorial[row - column + 1] }
        }
        for row in 0..<size { h[row, 0] = (1 - pow(e, Double(row + 1))) * inverseFactorial[row + 1] }
        for column in 0..<size { h[size - 1, column] = (1 - pow(e, Double(size - column))) * inverseFactorial[size - column] }
        h[size - 1, 0] = (1 - 2 * pow(e, Double(size)) + pow(max(0, 2 * e - 1), Double(size))) * inverseFactorial[size]
        h.normalize()

        var power = ScaledMatrix.identity(size: size)
        var exponent = n
        while exponent > 0 {
            if exponent & 1 == 1 { power = power * h }
            exponent >>= 1
            if exponent > 0 { h = h * h }
        }
        let entry = power[k - 1, k - 1]
        guard entry > 0 else { return 0 }
        let logValue = log(entry) + Double(power.exponent) * M_LN2 + logFactorial(n) - Double(n) * log(Double(n))
        return exp(logValue)
    }

    /// P(D_n < x), exactly, by Pomeranz's recursion. With Y_j = n U_(j) the scaled order statistics of n uniforms,
    /// D_n < x iff j - nx < Y_j < j - 1 + nx for every j, i.e. at every point y of [0, n] the number N(y) of points
    /// at or below y lies in [⌊y + 1 - nx⌋, ⌈y + nx⌉ - 1]. Between consecutive break points (where either bound
    /// changes) the counts grow by Poisson-like increments: V'(j) = Σ_i V(i) L^(j-i)/(j-i)!, L the gap / n; and
    /// P = n! V(n) at y = n.
    static func pomeranzCDF(_ n: Int, _ x: Double) -> Double {
        let t = Double(n) * x
        let whole = Int(t.rounded(.down))
        let fraction = t - Double(whole)
        let c = Int((2 * fraction).rounded(.up))  // ⌈2 fraction⌉, so the bounds are exact integers
        let size = Double(n)
        // Break points k + fraction and k + 1 - fraction in (0, n), with the allowed counts there.
        var points: [(position: Double, low: Int, high: Int)] = []
        for k in -1...n {
            let a = Double(k) + fraction
            if a > 0, a < size { points.append((a, max(0, k + 1 - whole), min(n, k + whole + c - 1))) }
            let b = Double(k) + 1 - fraction
            if b > 0, b < size { points.append((b, max(0, k + 2 - whole - c), min(n, k + whole))) }
        }
        points.sort { $0.position < $1.position }
        points.append((size, n, n))

        var counts = [Double](repeating: 0, count: n + 1)
        var next = counts
        counts[0] = 1
        var low = 0, high = 0, position = 0.0
        var scale = 0  // counts are the true values times 2^scale
        var increments = [Double](repeating: 0, count: n + 1)
        for point in points {
            let gap = max(0, point.position - position) / size
            let newLow = max(point.low, low), newHigh = point.high
            if newHigh < newLow { return 0 }
            increments[0] = 1
            if newHigh - low >= 1 {
                for s in 1...(newHigh - low) { increments[s] = increments[s - 1] * gap / Double(s) }
            }
            var largest = 0.0
            for j in newLow...newHigh {
                var sum = 0.0
                for i in low...min(j, high) { sum += counts[i] * increments[j - i] }
                next[j] = sum
                largest = max(largest, sum)
            }
            for j in low...high { counts[j] = 0 }
            for j in newLow...newHigh { counts[j] = next[j] }
            if largest > 0, largest < 0x1p-256 {
                for j in newLow...newHigh { counts[j] *= 0x1p256 }
                scale += 256
            }
            low = newLow
            high = newHigh
            position = point.position
        }
        guard counts[n] > 0 else { return 0 }
        return exp(log(counts[n]) + logFactorial(n) - Double(scale) * M_LN2)
    }

    /// P(D_n <= x), Pelz & Good's approximation: Li-Chien and Korolyuk's expansion K0 + K1/√n + K2/n + K3/n^1.5 in
    /// z = x√n, each term rewritten through Jacobi's theta transformation into sums that converge fast for small z.
    static func pelzGoodCDF(_ n: Int, _ x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let z = Double(n).squareRoot() * x
        let z2 = z * z, z4 = z2 * z2, z6 = z4 * z2
        let pi2 = Double.pi * Double.pi, pi4 = pi2 * pi2, pi6 = pi4 * pi2
        let oddRate = -pi2 / (8 * z2)  // the odd terms decay as exp(oddRate (2k-1)²)
        if oddRate < -708 { return 0 }
        var k0 = 0.0, k1 = 0.0, k2 = 0.0, k3 = 0.0
        var k = 1
        while true {
            let m2 = Double((2 * k - 1) * (2 * k - 1)), m4 = m2 * m2, m6 = m4 * m2
            let decay = oddRate * (m2 - 1)  // relative to the first term
            let weight = exp(oddRate * m2)
            k0 += weight
            k1 += weight * (pi2 * m2 / 4 - z2)
            k2 += weight * (6 * z6 + 2 * z4 + pi2 * (2 * z4 - 5 * z2) * m2 / 4 + pi4 * (1 - 2 * z2) * m4 / 16)
            k3 +=
                weight
                * (-30 * z6 - 90 * z6 * z2 + pi2 * (135 * z4 - 96 * z6) * m2 / 4 + pi4 * (212 * z4 - 60 * z2) * m4 / 16
                    + pi6 * (5 - 30 * z2) * m6 / 64)
            if decay < -100 || weight == 0 { break }
            k += 1
        }
        let root2pi = (2 * Double.pi).squareRoot()
        k0 *= root2pi / z
        k1 *= root2pi / (6 * z4)
        k2 *= root2pi / (72 * z6 * z)
        k3 *= root2pi / (6480 * z6 * z4)
        // The sums over all integers k >= 1, decaying as exp(-π² k² / (2z²)).
        let evenRate = -pi2 / (2 * z2)
        var plain = 0.0, mixed = 0.0
        k = 1
        while true {
            let k2Value = Double(k * k)
            let weight = exp(evenRate * k2Value)
            plain += k2Value * weight
            mixed += k2Value * (3 * z2 - pi2 * k2Value) * weight
            if evenRate * (k2Value - 1) < -100 || weight == 0 { break }
            k += 1
        }
        k2 -= pi2 * root2pi / (36 * z2 * z) * plain
        k3 += pi2 * root2pi / (216 * z6) * mixed
        let root = Double(n).squareRoot()
        return k0 + k1 / root + k2 / Double(n) + k3 / (Double(n) * root)
    }

    // MARK: One sample, one-sided (smirnov)

    /// scipy.special.smirnov(n, x) = P(D+_n >= x), by Birnbaum and Tingey:
    /// x Σ_{v=0}^{⌊n(1-x)⌋} C(n, v) (x + v/n)^(v-1) (1 - x - v/n)^(n-v). All terms are positive; each is taken in
    /// logarithms with C(n, v) through Stirling's series, which turns the big logarithms into
    /// v log(1 + nx/v) + (n-v) log(1 - nx/(n-v)), and 1 - x - v/n comes from nx split exactly into two doubles.
    static func smirnovSurvival(_ n: Int, _ x: Double) -> Double {
        guard x > 0 else { return 1 }
        guard x < 1 else { return 0 }
        if n == 1 { return 1 - x }
        let size = Double(n)
        let scaledHigh = size * x
        let scaledLow = (-scaledHigh).addingProduct(size, x)  // size x = scaledHigh + scaledLow exactly
        if scaledHigh <= 1 { return 1 - x * pow(1 + x, size - 1) }  // x <= 1/n: the complement is one term
        if Double(-2 * n) * x * x < -708.3964185322641 { return 0 }  // below the smallest normal double
        if n > 1_000_000 {
            // As scipy, for such n: the approximation exp(-(6nx + 1)² / (18n)).
            let logP = -pow(6 * scaledHigh + 1, 2) / 18 / size
            return logP < -M_LN2 ? exp(logP) : 1 + expm1(logP)
        }
        let logX = log(x)
        let remainderN = stirlingRemainder(n)
        var logTerms = [size * log1p(-x)]  // v = 0: x · x^(-1) (1 - x)^n
        var largest = logTerms[0], previous = -Double.infinity
        for v in 1..<n {
            let rest = Double(n - v)
            let q = (rest - scaledHigh) - scaledLow  // n (1 - x - v/n)
            if q <= 0 { break }
            let count = Double(v)
            let p = (count + scaledHigh) + scaledLow  // n (x + v/n)
            let share = scaledHigh / rest
            let logRest = share < 0.5 ? log1p(-share) : log(q / rest)
            let logTerm =
                logX + count * log1p(scaledHigh / count) + rest * logRest - log(p / size)
                + 0.5 * log(size / (2 * Double.pi * count * rest)) + remainderN - stirlingRemainder(v) - stirlingRemainder(n - v)
            logTerms.append(logTerm)
            largest = max(largest, logTerm)
            // The terms rise to one peak and then fall: once falling, stop when all the rest together are negligible.
            if logTerm < previous, logTerm + log(rest) < largest - 45 { break }
            previous = logTerm
        }
        var sum = 0.0
        for logTerm in logTerms { sum += exp(logTerm - largest) }
        return exp(largest + log(sum))
    }

    // MARK: Helpers

    /// log k!: exact below 21, Stirling's series above.
    static func logFactorial(_ k: Int) -> Double {
        if k <= 20 {
            var product = 1.0
            if k >= 2 { for j in 2...k { product *= Double(j) } }
            return log(product)
        }
        let value = Double(k)
        return value * log(value) - value + 0.5 * log(2 * Double.pi * value) + stirlingRemainder(k)
    }

    /// log k! - (k log k - k + ½ log 2πk) for k >= 1: 1/(12k) - 1/(360k³) + 1/(1260k⁵) - ... (exact below 21).
    static func stirlingRemainder(_ k: Int) -> Double {
        let value = Double(k)
        if k <= 20 { return logFactorial(k) - (value * log(value) - value + 0.5 * log(2 * Double.pi * value)) }
        let r = 1 / value, r2 = r * r
        return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))))
    }

    static func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    static func floorDivision(_ a: Int, _ b: Int) -> Int {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }

    static func ceilingDivision(_ a: Int, _ b: Int) -> Int { -floorDivision(-a, b) }

    /// A square matrix of non-negative entries times 2^exponent, kept with its largest entry in [1, 2).
    struct ScaledMatrix {
        let size: Int
        var entries: [Double]
        var exponent = 0

        init(size: Int) {
            self.size = size
            entries = [Double](repeating: 0, count: size * size)
        }

        static func identity(size: Int) -> ScaledMatrix {
            var matrix = ScaledMatrix(size: size)
            for i in 0..<size { matrix[i, i] = 1 }
            return matrix
        }

        subscript(row: Int, column: Int) -> Double {
            get { entries[row * size + column] }
            set { entries[row * size + column] = newValue }
        }

        mutating func normalize() {
            guard let largest = entries.max(), largest > 0, largest.isFinite else { return }
            let shift = Int(largest.exponent)
            guard shift != 0 else { return }
            let factor = Double(sign: .plus, exponent: -shift, significand: 1)
            for i in entries.indices { entries[i] *= factor }
            exponent += shift
        }

        static func * (left: ScaledMatrix, right: ScaledMatrix) -> ScaledMatrix {
            let size = left.size
            var product = ScaledMatrix(size: size)
            product.exponent = left.exponent + right.exponent
            product.entries.withUnsafeMutableBufferPointer { out in
                left.entries.withUnsafeBufferPointer { a in
                    right.entries.withUnsafeBufferPointer { b in
                        for i in 0..<size {
                            for l in 0..<size {
                                let factor = a[i * size + l]
                                if factor == 0 { continue }
                                for j in 0..<size { out[i * size + j] += factor * b[l * size + j] }
                            }
                        }
                    }
                }
            }
            product.normalize()
            return product
        }
    }
}
