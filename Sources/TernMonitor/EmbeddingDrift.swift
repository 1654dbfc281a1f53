import CTernKernels
import Dispatch
import Foundation
import TernCore

/// Evidently's embedding drift methods (0.7.23: `evidently.legacy.metrics.data_drift.embedding_drift_methods`,
/// used by `EmbeddingsDrift` / `EmbeddingsDriftMetric`), computed as Evidently computes them on float64 data,
/// so results equal Evidently's on the same input (fixtures: scripts/drift/make_embedding_fixtures.py).
///
/// - `model` (the default): a domain classifier. Reference rows (label 1) and current rows (label 0) are split
///   in halves by `train_test_split(test_size=0.5, shuffle=True, random_state=42)`; scikit-learn's
///   `SGDClassifier(loss="log_loss", random_state=42)` (L2, alpha 1e-4, "optimal" learning rate, tol 1e-3,
///   5 epochs without improvement) is trained on one half; the statistic is the ROC AUC of its probabilities
///   on the other. Drift above 0.55; with `bootstrap`, above the 95th percentile of the AUCs of 100 random
///   classifiers (`np.random.seed(i); np.random.rand`). Evidently's metric bootstraps when the reference has
///   fewer than 1,000 rows (1,000 rows use the 0.55 threshold).
/// - `mmd`: the unbiased squared maximum mean discrepancy with the RBF kernel exp(-|x - y|² / σ²), σ the median
///   of the euclidean distances between (at most) 1,000 reference rows and 1,000 current rows sampled by
///   pandas (`sample(random_state=0)`); clipped at 0. Drift above 0.015; with `bootstrap`, above the 5th
///   percentile of 100 reference-vs-reference bootstrap values. Evidently's embedding MMD has no permutation
///   test and no p-value. Its kernel sums run over all pairs of rows: (m + n)² d / 2 multiply-adds (20,000
///   against 20,000 rows of 384: 3·10¹¹), where the other methods are linear in the rows.
/// - `ratio`: the share of components whose normed Wasserstein distance is at least 0.1; drift above 0.2.
/// - `distance`: the distance (euclidean, cosine, cityblock or chebyshev) between the mean embeddings; drift above
///   0.2; with `bootstrap`, above the 95th percentile of 100 distances between two bootstrap samples of the reference.
///
/// The random streams are numpy's legacy `RandomState` (MT19937 with its bounded-integer, permutation and
/// double rules) and scikit-learn's xorshift shuffle, reproduced here, so the classifier trains on the same
/// rows in the same order with the same floating-point operations as scikit-learn's.
/// Not supported: Evidently's `pca_components` option (its randomized PCA is not reproducible exactly).
public enum EmbeddingDriftMethod: String, Sendable, Codable, CaseIterable {
    case model, mmd, ratio, distance

    /// Evidently's default threshold of the method.
    public var defaultThreshold: Double {
        switch self {
        case .model: 0.55
        case .mmd: 0.015
        case .ratio, .distance: 0.2
        }
    }

    /// Evidently's default `quantile_probability` of the bootstrap (model and distance 0.95, mmd 0.05).
    public var defaultQuantile: Double { self == .mmd ? 0.05 : 0.95 }
}

/// The distances of Evidently's `distance` method (scipy's functions of the same names).
public enum EmbeddingDistanceMetric: String, Sendable, Codable, CaseIterable {
    case euclidean, cosine, cityblock, chebyshev
}

/// Evidently's parameters of the embedding drift methods; nil means Evidently's default.
public struct EmbeddingDriftOptions: Sendable, Codable, Equatable {
    /// The drift threshold when not bootstrapping (model 0.55, mmd 0.015, ratio and distance 0.2).
    public var threshold: Double?
    /// Compare with a bootstrap percentile instead of the threshold (model, mmd, distance). nil: Evidently's
    /// `EmbeddingsDriftMetric` default, which bootstraps the model method when the reference has fewer than
    /// 1,000 rows and nothing else.
    public var bootstrap: Bool?
    /// The bootstrap percentile, as a probability (model and distance 0.95, mmd 0.05).
    public var quantile: Double?
    /// The `distance` method's distance.
    public var distance: EmbeddingDistanceMetric
    /// The `ratio` method's per-component threshold of the normed Wasserstein distance.
    public var componentThreshold: Double
    /// `mmd` only: decide by the permutation test's p-value (drift when below `alpha`) instead of Evidently's
    /// threshold. The p-value is reported either way.
    public var permutationTest: Bool
    /// The permutation test's significance level.
    public var alpha: Double

    public init(
        threshold: Double? = nil, bootstrap: Bool? = nil, quantile: Double? = nil,
        distance: EmbeddingDistanceMetric = .euclidean, componentThreshold: Double = 0.1, permutationTest: Bool = false, alpha: Double = 0.05
    ) {
        self.threshold = threshold
        self.bootstrap = bootstrap
        self.quantile = quantile
        self.distance = distance
        self.componentThreshold = componentThreshold
        self.permutationTest = permutationTest
        self.alpha = alpha
    }
}

public struct EmbeddingDriftResult: Sendable, Codable, Equatable {
    public let method: EmbeddingDriftMethod
    /// Evidently's drift score: the ROC AUC (model), the MMD² clipped at 0 (mmd), the share of drifted
    /// components (ratio), the distance of the means (distance).
    public let statistic: Double
    /// What the statistic was compared with: the fixed threshold or the bootstrap percentile.
    public let threshold: Double
    public let bootstrap: Bool
    public let driftDetected: Bool
    /// `mmd` only: the p-value of a permutation test of MMD² (see `EmbeddingDrift.mmdPermutationTest`).
    public var pValue: Double? = nil
}

public enum EmbeddingDriftError: Error, Equatable, Sendable {
    case empty
    case raggedRows
    case dimensionMismatch(reference: Int, current: Int)
    /// Too few rows for the method: the model needs both samples in both halves, MMD two rows a side.
    case tooFewRows
}

extension DriftStatistics {
    /// Embedding drift as Evidently computes it (see `EmbeddingDriftMethod`). Float embeddings are widened to
    /// Double: Evidently's results are those of float64 data (float32 DataFrames take other code paths there).
    public static func embeddingDrift(
        reference: [[Float]], current: [[Float]], method: EmbeddingDriftMethod = .model,
        options: EmbeddingDriftOptions = EmbeddingDriftOptions()
    ) throws(EmbeddingDriftError) -> EmbeddingDriftResult {
        let r = try EmbeddingDrift.Matrix(reference), c = try EmbeddingDrift.Matrix(current)
        return try EmbeddingDrift.drift(reference: r, current: c, method: method, options: options)
    }

    public static func embeddingDrift(
        reference: [[Double]], current: [[Double]], method: EmbeddingDriftMethod = .model,
        options: EmbeddingDriftOptions = EmbeddingDriftOptions()
    ) throws(EmbeddingDriftError) -> EmbeddingDriftResult {
        let r = try EmbeddingDrift.Matrix(reference), c = try EmbeddingDrift.Matrix(current)
        return try EmbeddingDrift.drift(reference: r, current: c, method: method, options: options)
    }
}

enum EmbeddingDrift {
    /// Rows of equal length, stored row after row.
    struct Matrix: Sendable {
        let rows: Int
        let columns: Int
        var values: [Double]

        init(rows: Int, columns: Int, values: [Double]) {
            self.rows = rows
            self.columns = columns
            self.values = values
        }

        init<T: BinaryFloatingPoint>(_ rows: [[T]]) throws(EmbeddingDriftError) {
            guard let first = rows.first, !first.isEmpty else { throw .empty }
            var values = [Double]()
            values.reserveCapacity(rows.count * first.count)
            for row in rows {
                guard row.count == first.count else { throw .raggedRows }
                for value in row { values.append(Double(value)) }
            }
            self.init(rows: rows.count, columns: first.count, values: values)
        }

        func row(_ i: Int) -> ArraySlice<Double> { values[(i * columns)..<((i + 1) * columns)] }

        /// The rows at `indices`, in that order.
        func rows(_ indices: some Sequence<Int>) -> Matrix {
            var out = [Double]()
            var count = 0
            for i in indices {
                out.append(contentsOf: row(i))
                count += 1
            }
            return Matrix(rows: count, columns: columns, values: out)
        }

        /// The column means (pandas `mean(axis=0)`).
        func columnMeans() -> [Double] {
            var sums = [Double](repeating: 0, count: columns)
            for i in 0..<rows { for j in 0..<columns { sums[j] += values[i * columns + j] } }
            return sums.map { $0 / Double(rows) }
        }

        func column(_ j: Int) -> [Double] { (0..<rows).map { values[$0 * columns + j] } }

        static func stacked(_ a: Matrix, _ b: Matrix) -> Matrix {
            Matrix(rows: a.rows + b.rows, columns: a.columns, values: a.values + b.values)
        }
    }

    static func drift(
        reference: Matrix, current: Matrix, method: EmbeddingDriftMethod, options: EmbeddingDriftOptions
    ) throws(EmbeddingDriftError) -> EmbeddingDriftResult {
        guard reference.columns == current.columns else {
            throw .dimensionMismatch(reference: reference.columns, current: current.columns)
        }
        let threshold = options.threshold ?? method.defaultThreshold
        let quantile = options.quantile ?? method.defaultQuantile
        let bootstrap = options.bootstrap ?? (method == .model && reference.rows < 1000)
        let statistic: Double, compared: Double, drift: Bool
        var pValue: Double?
        switch method {
        case .model:
            let (auc, randomAUCs) = try domainClassifier(reference: reference, current: current, bootstrap: bootstrap)
            statistic = auc
            compared = bootstrap ? percentile(randomAUCs, quantile) : threshold
            drift = auc > compared
        case .mmd:
            guard reference.rows >= 2, current.rows >= 2 else { throw .tooFewRows }
            let value = mmd(reference: reference, current: current)
            statistic = max(value, 0)
            let p = mmdPermutationTest(reference: reference, current: current)
            pValue = p
            if options.permutationTest {
                compared = options.alpha
                drift = p < options.alpha
            } else {
                compared = bootstrap ? percentile(mmdBootstrap(reference: reference, currentRows: current.rows), quantile) : threshold
                drift = value > compared
            }
        case .ratio:
            statistic = ratio(reference: reference, current: current, componentThreshold: options.componentThreshold)
            compared = threshold
            drift = statistic > threshold
        case .distance:
            statistic = distance(reference.columnMeans(), current.columnMeans(), options.distance)
            compared =
                bootstrap
                ? percentile(distanceBootstrap(reference: reference, currentRows: current.rows, metric: options.distance), quantile)
                : threshold
            drift = statistic > compared
        }
        return EmbeddingDriftResult(
            method: method, statistic: statistic, threshold: compared, bootstrap: bootstrap && !(method == .mmd && options.permutationTest),
            driftDetected: drift, pValue: pValue)
    }

    // MARK: Percentiles

    /// `np.percentile(values, 100 * probability)` (linear interpolation).
    static func percentile(_ values: [Double], _ probability: Double) -> Double {
        let sorted = values.sorted()
        let position = probability * Double(sorted.count - 1)
        let below = Int(position.rounded(.down))
        guard below + 1 < sorted.count else { return sorted[sorted.count - 1] }
        let fraction = position - Double(below)
        let a = sorted[below], b = sorted[below + 1]
        // numpy's lerp: from the nearer end.
        return fraction >= 0.5 ? b - (b - a) * (1 - fraction) : a + (b - a) * fraction
    }

    /// `np.median`: the middle value, or the mean of the two middle values (found by quickselect: the inputs
    /// are the million distances of the MMD bandwidth).
    static func median(_ values: [Double]) -> Double {
        var values = values
        let n = values.count
        return values.withUnsafeMutableBufferPointer { v in
            let upper = select(v, n / 2)
            guard n % 2 == 0 else { return upper }
            // The largest value below the upper middle one: the maximum of the part quickselect left before it.
            var lower = v[0]
            for i in 1..<(n / 2) where v[i] > lower { lower = v[i] }
            return (lower + upper) / 2
        }
    }

    /// The value of rank `k` (from 0) in `v`, leaving smaller-or-equal values before position k and
    /// greater-or-equal ones after it (Hoare's selection, median-of-three pivots).
    static func select(_ v: UnsafeMutableBufferPointer<Double>, _ k: Int) -> Double {
        var low = 0, high = v.count - 1
        while low < high {
            let middle = low + (high - low) / 2
            if v[middle] < v[low] { v.swapAt(middle, low) }
            if v[high] < v[low] { v.swapAt(high, low) }
            if v[high] < v[middle] { v.swapAt(high, middle) }
            let pivot = v[middle]
            var i = low, j = high
            while i <= j {
                while v[i] < pivot { i += 1 }
                while v[j] > pivot { j -= 1 }
                if i <= j {
                    v.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j {
                high = j
            } else if k >= i {
                low = i
            } else {
                return v[k]
            }
        }
        return v[k]
    }

    // MARK: Domain classifier

    /// The ROC AUC of the domain classifier on the test half, and (with `bootstrap`) the AUCs of Evidently's
    /// 100 random classifiers on the same half.
    static func domainClassifier(
        reference: Matrix, current: Matrix, bootstrap: Bool
    ) throws(EmbeddingDriftError) -> (auc: Double, randomAUCs: [Double]) {
        let data = Matrix.stacked(reference, current)
        let n = data.rows
        // train_test_split(test_size=0.5, shuffle=True, random_state=42): the first ceil(n/2) of a permutation
        // are the test rows, the rest the training rows.
        var random = NumpyRandom(seed: 42)
        let permutation = random.permutation(n)
        let testCount = (n + 1) / 2
        let testRows = Array(permutation[..<testCount]), trainRows = Array(permutation[testCount...])
        let label = { (row: Int) -> Double in row < reference.rows ? 1 : 0 }
        let trainLabels = trainRows.map(label), testLabels = testRows.map(label)
        guard Set(trainLabels).count == 2, Set(testLabels).count == 2 else { throw .tooFewRows }
        let model = LogisticSGD.fit(data.rows(trainRows), labels: trainLabels)
        let test = data.rows(testRows)
        let probabilities = (0..<test.rows).map { i in
            var decision = 0.0
            for j in 0..<test.columns { decision += test.values[i * test.columns + j] * model.weights[j] }
            decision += model.intercept
            return 1 / (1 + exp(-decision))  // scipy's expit
        }
        let auc = rocAUC(labels: testLabels, scores: probabilities)
        guard bootstrap else { return (auc, []) }
        let randomAUCs = (0..<100).map { seed in
            var random = NumpyRandom(seed: UInt32(seed))
            return rocAUC(labels: testLabels, scores: (0..<testLabels.count).map { _ in random.nextDouble() })
        }
        return (auc, randomAUCs)
    }

    /// The area under the ROC curve (positives: label 1), ties counted half: the Mann-Whitney U over n₁n₀.
    static func rocAUC(labels: [Double], scores: [Double]) -> Double {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var positiveRanks = 0.0, positives = 0.0
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count, scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let rank = Double(start + end + 2) / 2  // the mean of ranks start+1...end+1
            for k in start...end where labels[order[k]] == 1 {
                positiveRanks += rank
                positives += 1
            }
            start = end + 1
        }
        let negatives = Double(labels.count) - positives
        return (positiveRanks - positives * (positives + 1) / 2) / (positives * negatives)
    }

    /// scikit-learn's `SGDClassifier(loss="log_loss", random_state=42)` fitted on dense float64 rows: plain SGD
    /// on the L2-regularised logistic loss, one row at a time; before every epoch the row order goes through
    /// the same Fisher-Yates pass (xorshift from one seed), so each epoch permutes the previous order; the
    /// weights are a vector times a scale (the L2 shrinkage is one multiplication); the "optimal" learning rate
    /// is 1 / (alpha (t0 + t - 1)) with Bottou's t0; training stops after 5 consecutive epochs whose mean
    /// objective (loss plus alpha/2 |w|²) is not below the best one minus tol, or after 1,000. The same
    /// operations in the same order as scikit-learn's, so the weights are the same to the last bit.
    enum LogisticSGD {
        static let alpha = 1e-4
        static let tol = 1e-3
        static let maxEpochs = 1000
        static let epochsWithoutImprovement = 5

        /// log(1 + e^x), piecewise as scikit-learn evaluates it.
        static func log1pexp(_ x: Double) -> Double {
            if x <= -37 { return exp(x) }
            if x <= -2 { return log1p(exp(x)) }
            if x <= 18 { return log(1 + exp(x)) }
            if x <= 33.3 { return x + exp(-x) }
            return x
        }

        /// The half binomial loss log(1 + e^p) - y p and its derivative in p, expit(p) - y.
        static func loss(_ y: Double, _ p: Double) -> Double { log1pexp(p) - y * p }

        static func gradient(_ y: Double, _ p: Double) -> Double {
            if p > -37 {
                let e = exp(-p)
                return ((1 - y) - y * e) / (1 + e)
            }
            return exp(p) - y
        }

        static func fit(_ x: Matrix, labels: [Double]) -> (weights: [Double], intercept: Double, epochs: Int) {
            let n = x.rows, d = x.columns
            // SGDClassifier(random_state=42) draws two integers from RandomState(42): the dataset's sampling
            // seed (unused by SGD) and the shuffling seed.
            var random = NumpyRandom(seed: 42)
            _ = random.integer(below: 2_147_483_647 - 1) + 1
            let shuffleSeed = UInt32(random.integer(below: 2_147_483_647))

            let typicalWeight = (1.0 / alpha.squareRoot()).squareRoot()
            let initialRate = typicalWeight / max(1.0, gradient(1.0, -typicalWeight))
            let optimalInit = 1.0 / (initialRate * alpha)

            var w = [Double](repeating: 0, count: d)
            var scale = 1.0, squaredNorm = 0.0, intercept = 0.0, t = 1.0
            var order = Array(0..<n)
            var best = Double.infinity, withoutImprovement = 0, epochs = 0
            x.values.withUnsafeBufferPointer { xs in
                w.withUnsafeMutableBufferPointer { w in
                    for _ in 0..<maxEpochs {
                        epochs += 1
                        var seed = shuffleSeed
                        for i in 0..<(n - 1) {
                            let j = i + Int(XorShift.next(&seed) % UInt32(n - i))
                            order.swapAt(i, j)
                        }
                        var objective = 0.0
                        for i in 0..<n {
                            let row = order[i] * d
                            let y = labels[order[i]]
                            var inner = 0.0
                            for j in 0..<d { inner += w[j] * xs[row + j] }
                            let p = inner * scale + intercept
                            let eta = 1.0 / (alpha * (optimalInit + t - 1))
                            objective += loss(y, p)
                            let norm = squaredNorm.squareRoot()
                            objective += alpha * (0.5 * (norm * norm))
                            let update = -eta * gradient(y, p)
                            let shrink = max(0, 1.0 - eta * alpha)
                            scale *= shrink
                            squaredNorm *= shrink * shrink
                            if scale < 1e-9 {
                                for j in 0..<d { w[j] *= scale }
                                scale = 1
                            }
                            if update != 0 {
                                let step = update / scale
                                var sum = 0.0
                                for j in 0..<d {
                                    w[j] += xs[row + j] * step
                                    sum += w[j] * w[j]
                                }
                                squaredNorm = sum * (scale * scale)
                                intercept += update
                            }
                            t += 1
                        }
                        let mean = objective / Double(n)
                        withoutImprovement = mean > best - tol ? withoutImprovement + 1 : 0
                        if mean < best { best = mean }
                        if withoutImprovement >= epochsWithoutImprovement { break }
                    }
                    for j in 0..<d { w[j] *= scale }
                }
            }
            return (w, intercept, epochs)
        }
    }

    // MARK: MMD

    /// Evidently's MMD²ᵤ of the reference and current rows with the RBF kernel exp(-γ|x - y|²), γ = 1/median²,
    /// the median over the distances between pandas samples of at most 1,000 rows of each side.
    static func mmd(reference: Matrix, current: Matrix) -> Double {
        let m = reference.rows, n = current.rows
        let xs = reference.rows(sampleIndices(m)), ys = current.rows(sampleIndices(n))
        let sigma = median(Pairwise(.stacked(xs, ys)).crossDistances(split: xs.rows))
        let sums = Pairwise(.stacked(reference, current)).kernelSums(split: m, gamma: 1 / (sigma * sigma))
        let dm = Double(m), dn = Double(n)
        return 1 / (dm * (dm - 1)) * sums.xx + 1 / (dn * (dn - 1)) * sums.yy - 2 / (dm * dn) * sums.xy
    }

    /// The p-value of a permutation test of MMD²ᵤ (Evidently's MMD has none): on the rows Evidently samples for
    /// the bandwidth (at most 1,000 a side, so the whole test is O(2,000²)), with the same bandwidth, the
    /// statistic of the observed split against that of `permutations` random relabellings of the pooled rows
    /// (SplitMix64 seeded with `seed`): (1 + the relabellings at least as large) / (1 + permutations).
    static func mmdPermutationTest(reference: Matrix, current: Matrix, permutations: Int = 100, seed: UInt64 = 0) -> Double {
        let xs = reference.rows(sampleIndices(reference.rows)), ys = current.rows(sampleIndices(current.rows))
        let m = xs.rows, n = ys.rows, total = m + n
        let pooled = Matrix.stacked(xs, ys)
        let sigma = median(Pairwise(pooled).crossDistances(split: m))
        guard sigma > 0, sigma.isFinite else { return 1 }
        let kernel = Pairwise(pooled).kernelMatrix(gamma: 1 / (sigma * sigma))
        // Row sums without the diagonal, and the sum over all ordered pairs of distinct rows.
        var rowSums = [Double](repeating: 0, count: total)
        for i in 0..<total {
            var sum = 0.0
            for j in 0..<total where j != i { sum += kernel[i * total + j] }
            rowSums[i] = sum
        }
        let all = rowSums.reduce(0, +)
        let dm = Double(m), dn = Double(n)
        func statistic(_ labels: [Int]) -> Double {
            // labels: the pooled rows playing the reference, m of them.
            var xx = 0.0, xRows = 0.0
            kernel.withUnsafeBufferPointer { k in
                for a in labels {
                    xRows += rowSums[a]
                    let row = a * total
                    for b in labels where b != a { xx += k[row + b] }
                }
            }
            let xy = xRows - xx
            let yy = all - xx - 2 * xy
            return xx / (dm * (dm - 1)) + yy / (dn * (dn - 1)) - 2 * xy / (dm * dn)
        }
        let observed = statistic(Array(0..<m))
        var random = SplitMix64(seed: seed)
        var order = Array(0..<total)
        var atLeast = 0
        for _ in 0..<permutations {
            for i in stride(from: total - 1, to: 0, by: -1) {
                let j = Int(random.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
            if statistic(Array(order[0..<m])) >= observed - 1e-12 { atLeast += 1 }
        }
        return Double(1 + atLeast) / Double(1 + permutations)
    }

    /// `DataFrame.sample(min(count, 1000), random_state=0)`: the first rows of RandomState(0)'s permutation.
    static func sampleIndices(_ count: Int) -> [Int] {
        var random = NumpyRandom(seed: 0)
        return Array(random.permutation(count).prefix(1000))
    }

    /// Evidently's MMD bootstrap: the kernel of the reference with its own median bandwidth (distances of a
    /// sample of at most 1,000 reference rows to themselves, zeros included), and for seeds 0..<100 the MMD²ᵤ of
    /// two samples drawn with replacement from the reference, of the sizes m²/(m+n) and mn/(m+n). The kernel
    /// matrix is held whole (m² doubles), as Evidently holds it.
    static func mmdBootstrap(reference: Matrix, currentRows n: Int) -> [Double] {
        let m = reference.rows
        let sigma = median(Pairwise(reference.rows(sampleIndices(m))).selfDistances())
        let kernel = Pairwise(reference).kernelMatrix(gamma: 1 / (sigma * sigma))
        let xSize = max(Int(Double(m * m) / Double(m + n)), 1), ySize = max(Int(Double(m * n) / Double(m + n)), 1)
        return kernel.withUnsafeBufferPointer { kernel in
            // The sum of the kernel over all pairs of two samples (repeats included), over their distinct rows.
            func sum(_ a: (rows: [Int], counts: [Double]), _ b: (rows: [Int], counts: [Double])) -> Double {
                var total = 0.0
                b.rows.withUnsafeBufferPointer { bRows in
                    b.counts.withUnsafeBufferPointer { bCounts in
                        for p in a.rows.indices {
                            let row = kernel.baseAddress! + a.rows[p] * m
                            var inner = 0.0
                            for q in 0..<bRows.count { inner += bCounts[q] * row[bRows[q]] }
                            total += a.counts[p] * inner
                        }
                    }
                }
                return total
            }
            return (0..<100).map { seed in
                var random = NumpyRandom(seed: UInt32(seed))
                let x = distinctCounts(random.choice(m, count: xSize)), y = distinctCounts(random.choice(m, count: ySize))
                // The diagonal terms (the kernel of each drawn row with itself, 1) are left out.
                let a = Double(xSize), b = Double(ySize)
                return 1 / (a * (a - 1)) * (sum(x, x) - a) + 1 / (b * (b - 1)) * (sum(y, y) - b) - 2 / (a * b) * sum(x, y)
            }
        }
    }

    /// The distinct values of `indices`, ascending, with how often each occurs.
    static func distinctCounts(_ indices: [Int]) -> (rows: [Int], counts: [Double]) {
        var rows = [Int](), counts = [Double]()
        for index in indices.sorted() {
            if rows.last == index {
                counts[counts.count - 1] += 1
            } else {
                rows.append(index)
                counts.append(1)
            }
        }
        return (rows, counts)
    }

    /// Squared euclidean distances between rows as scikit-learn computes them (|x|² + |y|² - 2x·y, at least 0),
    /// a tile of rows at a time, tiles in parallel.
    struct Pairwise: @unchecked Sendable {
        let rows: Int
        let columns: Int
        /// Rows padded to an even length, and 4 to 7 rows of zeros after the last (tiles read 4 x 2 rows).
        let stride: Int
        let data: [Double]
        let norms: [Double]
        static let tile = 256
        /// From this many columns on, dot products are taken 4 x 2 rows at a time by `tern_dots4x2_f64` (C, with
        /// AVX-512 or AVX2 FMA); below, one pair at a time.
        static let vectorColumns = 64

        init(_ matrix: Matrix) {
            rows = matrix.rows
            columns = matrix.columns
            stride = (columns + 1) / 2 * 2
            let paddedRows = (rows + 3) / 4 * 4 + 4
            var data = [Double](repeating: 0, count: paddedRows * stride)
            var norms = [Double](repeating: 0, count: paddedRows)
            for i in 0..<rows {
                var norm = 0.0
                for j in 0..<columns {
                    let v = matrix.values[i * columns + j]
                    data[i * stride + j] = v
                    norm += v * v
                }
                norms[i] = norm
            }
            self.data = data
            self.norms = norms
        }

        /// The squared distances between the rows in `iRange` and the rows in `jRange`, into
        /// out[(i - iRange.lowerBound) * width + j - jRange.lowerBound]. The sum of the dot products' order
        /// differs from scikit-learn's BLAS one: results differ in the last bits only.
        func squaredDistances(_ iRange: Range<Int>, _ jRange: Range<Int>, into out: UnsafeMutablePointer<Double>, width: Int) {
            data.withUnsafeBufferPointer { data in
                norms.withUnsafeBufferPointer { norms in
                    let base = data.baseAddress!
                    guard stride >= Self.vectorColumns else {
                        for i in iRange {
                            let a = base + i * stride
                            let line = out + (i - iRange.lowerBound) * width
                            for j in jRange {
                                let b = base + j * stride
                                var dot = 0.0
                                for k in 0..<columns { dot += a[k] * b[k] }
                                line[j - jRange.lowerBound] = max(-2 * dot + norms[i] + norms[j], 0)
                            }
                        }
                        return
                    }
                    let dots = UnsafeMutablePointer<Double>.allocate(capacity: 8)
                    defer { dots.deallocate() }
                    var i = iRange.lowerBound
                    while i < iRange.upperBound {
                        var j = jRange.lowerBound
                        while j < jRange.upperBound {
                            tern_dots4x2_f64(base + i * stride, base + j * stride, stride, dots)
                            for r in 0..<min(4, iRange.upperBound - i) {
                                let line = out + (i + r - iRange.lowerBound) * width + (j - jRange.lowerBound)
                                line[0] = max(-2 * dots[2 * r] + norms[i + r] + norms[j], 0)
                                if j + 1 < jRange.upperBound { line[1] = max(-2 * dots[2 * r + 1] + norms[i + r] + norms[j + 1], 0) }
                            }
                            j += 2
                        }
                        i += 4
                    }
                }
            }
        }

        var tileStarts: [Int] { Array(Swift.stride(from: 0, to: rows, by: Self.tile)) }

        /// Euclidean distances between the rows ..<split and the rows split... (`pairwise_distances(X, Y)`).
        func crossDistances(split: Int) -> [Double] {
            let width = rows - split
            var out = [Double](repeating: 0, count: split * width)
            out.withUnsafeMutableBufferPointer { out in
                let shared = Shared(out.baseAddress!)
                let starts = Array(Swift.stride(from: 0, to: split, by: Self.tile))
                DispatchQueue.concurrentPerform(iterations: starts.count) { k in
                    let range = starts[k]..<min(starts[k] + Self.tile, split)
                    let target = shared.pointer + range.lowerBound * width
                    squaredDistances(range, split..<rows, into: target, width: width)
                    for p in 0..<(range.count * width) { target[p] = target[p].squareRoot() }
                }
            }
            return out
        }

        /// `transform` of all the squared distances between rows, the diagonal set to `diagonal`
        /// (`pairwise_distances(X)`, `pairwise_kernels(X)`).
        func selfMatrix(diagonal: Double, _ transform: @escaping @Sendable (Double) -> Double) -> [Double] {
            var out = [Double](repeating: 0, count: rows * rows)
            out.withUnsafeMutableBufferPointer { out in
                let shared = Shared(out.baseAddress!)
                let starts = tileStarts
                DispatchQueue.concurrentPerform(iterations: starts.count) { k in
                    let range = starts[k]..<min(starts[k] + Self.tile, rows)
                    let target = shared.pointer + range.lowerBound * rows
                    squaredDistances(range, 0..<rows, into: target, width: rows)
                    for p in 0..<(range.count * rows) { target[p] = transform(target[p]) }
                    for i in range { shared.pointer[i * rows + i] = diagonal }
                }
            }
            return out
        }

        func selfDistances() -> [Double] { selfMatrix(diagonal: 0) { $0.squareRoot() } }

        /// The RBF kernel matrix exp(-γ d²) of the rows, 1 on the diagonal (`pairwise_kernels(X, metric="rbf")`).
        func kernelMatrix(gamma: Double) -> [Double] { selfMatrix(diagonal: 1) { exp($0 * -gamma) } }

        /// The sums of the RBF kernel over the pairs of distinct rows within ..<split (xx), within split... (yy),
        /// and across (xy), as the sums over the full kernel matrix count them.
        func kernelSums(split: Int, gamma: Double) -> (xx: Double, yy: Double, xy: Double) {
            let starts = tileStarts
            // Task k takes tile rows k and count-1-k of the upper triangle: equal shares of the work.
            let tasks = (starts.count + 1) / 2
            var partial = [Double](repeating: 0, count: tasks * 3)
            partial.withUnsafeMutableBufferPointer { partial in
                let shared = Shared(partial.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: tasks) { k in
                    let tile = UnsafeMutablePointer<Double>.allocate(capacity: Self.tile * Self.tile)
                    defer { tile.deallocate() }
                    var xx = 0.0, yy = 0.0, xy = 0.0
                    for a in Set([k, starts.count - 1 - k]).sorted() {
                        let iRange = starts[a]..<min(starts[a] + Self.tile, rows)
                        for b in a..<starts.count {
                            let jRange = starts[b]..<min(starts[b] + Self.tile, rows)
                            squaredDistances(iRange, jRange, into: tile, width: Self.tile)
                            for i in iRange {
                                let line = tile + (i - iRange.lowerBound) * Self.tile
                                for j in max(jRange.lowerBound, i + 1)..<jRange.upperBound {
                                    let value = exp(line[j - jRange.lowerBound] * -gamma)
                                    if j < split {
                                        xx += value
                                    } else if i >= split {
                                        yy += value
                                    } else {
                                        xy += value
                                    }
                                }
                            }
                        }
                    }
                    shared.pointer[3 * k] = xx
                    shared.pointer[3 * k + 1] = yy
                    shared.pointer[3 * k + 2] = xy
                }
            }
            var xx = 0.0, yy = 0.0, xy = 0.0
            for k in 0..<tasks {
                xx += partial[3 * k]
                yy += partial[3 * k + 1]
                xy += partial[3 * k + 2]
            }
            return (2 * xx, 2 * yy, xy)
        }
    }

    /// A buffer written by concurrent tasks at disjoint positions.
    struct Shared: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<Double>
        init(_ pointer: UnsafeMutablePointer<Double>) { self.pointer = pointer }
    }

    // MARK: Ratio

    /// The share of components whose normed Wasserstein distance (`DriftStatistics.wassersteinNormed`) is
    /// at least `componentThreshold`.
    static func ratio(reference: Matrix, current: Matrix, componentThreshold: Double) -> Double {
        let d = reference.columns
        var drifted = [Bool](repeating: false, count: d)
        drifted.withUnsafeMutableBufferPointer { drifted in
            let flags = SharedFlags(drifted.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: d) { j in
                let value = DriftStatistics.wassersteinNormed(reference: reference.column(j), current: current.column(j))
                flags.pointer[j] = value >= componentThreshold
            }
        }
        return Double(drifted.filter { $0 }.count) / Double(d)
    }

    struct SharedFlags: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<Bool>
        init(_ pointer: UnsafeMutablePointer<Bool>) { self.pointer = pointer }
    }

    // MARK: Distance

    /// scipy's `euclidean`, `cosine` (clipped to [0, 2]), `cityblock` and `chebyshev`.
    static func distance(_ u: [Double], _ v: [Double], _ metric: EmbeddingDistanceMetric) -> Double {
        switch metric {
        case .euclidean:
            return zip(u, v).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        case .cosine:
            var uv = 0.0, uu = 0.0, vv = 0.0
            for (a, b) in zip(u, v) {
                uv += a * b
                uu += a * a
                vv += b * b
            }
            return min(max(1.0 - uv / (uu * vv).squareRoot(), 0), 2)
        case .cityblock:
            return zip(u, v).reduce(0) { $0 + abs($1.0 - $1.1) }
        case .chebyshev:
            return zip(u, v).reduce(0) { max($0, abs($1.0 - $1.1)) }
        }
    }

    /// Evidently's distance bootstrap: for seeds 0..<100, the distance between the means of two samples drawn
    /// with replacement from the reference, of the sizes m²/(m+n) and mn/(m+n).
    static func distanceBootstrap(reference: Matrix, currentRows n: Int, metric: EmbeddingDistanceMetric) -> [Double] {
        let m = reference.rows
        let referenceSize = Int(Double(m * m) / Double(m + n)), currentSize = Int(Double(n * m) / Double(m + n))
        return (0..<100).map { seed in
            var random = NumpyRandom(seed: UInt32(seed))
            let a = reference.rows(random.choice(m, count: referenceSize))
            let b = reference.rows(random.choice(m, count: currentSize))
            return distance(a.columnMeans(), b.columnMeans(), metric)
        }
    }
}

/// numpy's legacy `RandomState` (what `np.random.seed`, `RandomState(seed)` and pandas' `random_state` use):
/// MT19937 seeded by Knuth's initialisation, with numpy's rules for bounded integers (a mask of the range's
/// bits, redrawn until in range), permutations (Fisher-Yates from the last element) and doubles (53 bits
/// from two draws).
struct NumpyRandom {
    private var generator: MT19937

    init(seed: UInt32) { generator = MT19937(seed: seed) }

    mutating func nextUInt32() -> UInt32 { generator.nextUInt32() }

    /// `random_sample()`: [0, 1) from 27 + 26 bits.
    mutating func nextDouble() -> Double { generator.nextDouble() }

    /// An integer in 0...maximum (< 2³²), by masked rejection.
    mutating func interval(_ maximum: Int) -> Int {
        guard maximum > 0 else { return 0 }
        var mask = UInt32(maximum)
        mask |= mask >> 1
        mask |= mask >> 2
        mask |= mask >> 4
        mask |= mask >> 8
        mask |= mask >> 16
        while true {
            let value = nextUInt32() & mask
            if value <= UInt32(maximum) { return Int(value) }
        }
    }

    /// `randint(0, bound)`.
    mutating func integer(below bound: Int) -> Int { interval(bound - 1) }

    /// `permutation(count)`.
    mutating func permutation(_ count: Int) -> [Int] {
        var values = Array(0..<count)
        var i = count - 1
        while i > 0 {
            values.swapAt(i, interval(i))
            i -= 1
        }
        return values
    }

    /// `choice(population, size)`: with replacement.
    mutating func choice(_ population: Int, count: Int) -> [Int] { (0..<count).map { _ in interval(population - 1) } }
}

/// scikit-learn's shuffling generator (`our_rand_r`): Marsaglia's xorshift32 (13, 17, 5), 0 replaced by 1, the
/// result taken modulo 2³¹.
enum XorShift {
    static func next(_ seed: inout UInt32) -> UInt32 {
        if seed == 0 { seed = 1 }
        seed ^= seed << 13
        seed ^= seed >> 17
        seed ^= seed << 5
        return seed % 0x8000_0000
    }
}
