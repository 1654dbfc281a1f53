import Foundation

/// Drift statistics between a reference sample and a current one, computed as Evidently (the reference
/// tool, 0.7.23) computes its stattests of the same names, so results agree within 1e-6 (tested against
/// fixtures it produced: scripts/drift/make_fixtures.py). Kolmogorov-Smirnov is in KolmogorovSmirnov.swift;
/// the embedding drift methods (`embeddingDrift`) in EmbeddingDrift.swift.
public enum DriftStatistics {
    // MARK: Numeric

    /// `wasserstein_distance_norm`: the first Wasserstein distance divided by the reference's standard
    /// deviation (population, at least 0.001). Drift at >= 0.1.
    public static func wassersteinNormed(reference: [Double], current: [Double]) -> Double {
        wasserstein(reference, current) / max(standardDeviation(reference), 0.001)
    }

    /// scipy's `wasserstein_distance` of two equally weighted samples: the area between their CDFs.
    static func wasserstein(_ u: [Double], _ v: [Double]) -> Double {
        guard !u.isEmpty, !v.isEmpty else { return .nan }
        let a = u.sorted(), b = v.sorted()
        let all = (a + b).sorted()
        var total = 0.0
        var i = 0, j = 0
        for k in 0..<(all.count - 1) {
            let x = all[k]
            while i < a.count, a[i] <= x { i += 1 }
            while j < b.count, b[j] <= x { j += 1 }
            total += abs(Double(i) / Double(a.count) - Double(j) / Double(b.count)) * (all[k + 1] - x)
        }
        return total
    }

    static func standardDeviation(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
    }

    /// `jensenshannon` of numeric samples: over numpy's Sturges bins of both samples together when the
    /// reference has more than 20 distinct values, else over the values themselves. Drift at >= 0.1.
    public static func jensenShannon(reference: [Double], current: [Double]) -> Double {
        guard Set(reference).count > 20 else {
            return jensenShannon(reference: reference.map { String($0) }, current: current.map { String($0) })
        }
        let edges = sturgesEdges(reference + current)
        return jensenShannonDistance(histogram(reference, edges), histogram(current, edges))
    }

    /// `np.histogram_bin_edges(values, bins="sturges")`.
    static func sturgesEdges(_ values: [Double]) -> [Double] {
        var first = values.min() ?? 0, last = values.max() ?? 0
        if first == last {
            first -= 0.5
            last += 0.5
        }
        let width = (last - first) / (log2(Double(values.count)) + 1)
        let count = max(1, Int(((last - first) / width).rounded(.up)))
        let step = (last - first) / Double(count)
        return (0...count).map { $0 == count ? last : Double($0) * step + first }
    }

    /// `np.histogram(values, edges)[0] / len(values)`: [e_i, e_i+1), the last bin closed.
    static func histogram(_ values: [Double], _ edges: [Double]) -> [Double] {
        let sorted = values.sorted()
        func position(_ edge: Double, inclusive: Bool) -> Int {
            var low = 0, high = sorted.count
            while low < high {
                let middle = (low + high) / 2
                if inclusive ? sorted[middle] <= edge : sorted[middle] < edge { low = middle + 1 } else { high = middle }
            }
            return low
        }
        let cumulative = edges.dropLast().map { position($0, inclusive: false) } + [position(edges.last!, inclusive: true)]
        return zip(cumulative, cumulative.dropFirst()).map { Double($1 - $0) / Double(values.count) }
    }

    // MARK: Categorical

    /// The share of each value in each sample, over the values of both.
    static func shares(
        _ reference: [String], _ current: [String]
    ) -> (reference: [Double], current: [Double], referenceCounts: [Double], currentCounts: [Double]) {
        let keys = Array(Set(reference).union(current)).sorted()
        var counts = [String: (Int, Int)]()
        for value in reference { counts[value, default: (0, 0)].0 += 1 }
        for value in current { counts[value, default: (0, 0)].1 += 1 }
        let r = keys.map { Double(counts[$0]?.0 ?? 0) }, c = keys.map { Double(counts[$0]?.1 ?? 0) }
        return (r.map { $0 / Double(reference.count) }, c.map { $0 / Double(current.count) }, r, c)
    }

    /// `jensenshannon` of categories. Drift at >= 0.1.
    public static func jensenShannon(reference: [String], current: [String]) -> Double {
        let found = shares(reference, current)
        return jensenShannonDistance(found.reference, found.current)
    }

    /// scipy's `jensenshannon(p, q)`: natural logarithm, both normalised.
    static func jensenShannonDistance(_ p: [Double], _ q: [Double]) -> Double {
        let ps = p.reduce(0, +), qs = q.reduce(0, +)
        var total = 0.0
        for (a, b) in zip(p, q) {
            let x = a / ps, y = b / qs, m = (x + y) / 2
            if x > 0 { total += x * log(x / m) }
            if y > 0 { total += y * log(y / m) }
        }
        return (max(0, total / 2)).squareRoot()
    }

    /// `chisquare`: Pearson's test of the current counts against the reference's shares scaled to the
    /// current sample; the p-value (drift at < 0.05).
    public static func chiSquarePValue(reference: [String], current: [String]) -> Double {
        chiSquare(reference: reference, current: current).pValue
    }

    /// The chi-squared statistic and its p-value (degrees of freedom: categories seen minus one).
    public static func chiSquare(reference: [String], current: [String]) -> (statistic: Double, pValue: Double) {
        let found = shares(reference, current)
        let scale = Double(current.count) / Double(reference.count)
        var statistic = 0.0
        for (r, c) in zip(found.referenceCounts, found.currentCounts) {
            let expected = r * scale
            statistic += expected == 0 ? (c == 0 ? .nan : .infinity) : (c - expected) * (c - expected) / expected
        }
        let freedom = Double(found.referenceCounts.count - 1)
        guard statistic.isFinite else { return (statistic, statistic.isNaN ? .nan : 0) }
        return (statistic, regularizedUpperGamma(freedom / 2, statistic / 2))
    }

    /// `z`: the two-proportion z-test of a two-valued column (the first value in sorted order against the
    /// other); the two-sided p-value (drift at < 0.05).
    public static func zTestPValue(reference: [String], current: [String]) -> Double {
        zTest(reference: reference, current: current).pValue
    }

    /// The z statistic (0 when both samples hold the same single value) and its two-sided p-value.
    public static func zTest(reference: [String], current: [String]) -> (statistic: Double, pValue: Double) {
        if Set(reference).count == 1, Set(current) == Set(reference) { return (0, 1) }
        guard let first = Set(reference).union(current).sorted().first else { return (.nan, .nan) }
        let n1 = Double(reference.count), n2 = Double(current.count)
        let p1 = Double(reference.filter { $0 != first }.count) / n1
        let p2 = Double(current.filter { $0 != first }.count) / n2
        let pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        let z = (p1 - p2) / (pooled * (1 - pooled) * (1 / n1 + 1 / n2)).squareRoot()
        return (z, 2 * (1 - 0.5 * erfc(-abs(z) / 2.0.squareRoot())))
    }

    // MARK: Special functions

    /// Q(a, x), the regularized upper incomplete gamma function: the chi-squared survival function is
    /// Q(k/2, x/2). A series below a + 1, a continued fraction above (relative error about 1e-15).
    static func regularizedUpperGamma(_ a: Double, _ x: Double) -> Double {
        guard x > 0 else { return 1 }
        let prefix = -x + a * log(x) - lgamma(a)
        if x < a + 1 {
            var term = 1 / a, sum = term, n = a
            for _ in 0..<10_000 {
                n += 1
                term *= x / n
                sum += term
                if abs(term) < abs(sum) * 1e-17 { break }
            }
            return 1 - sum * exp(prefix)
        }
        // Lentz's continued fraction.
        let tiny = 1e-300
        var b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d
        for i in 1..<10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-17 { break }
        }
        return exp(prefix) * h
    }
}
