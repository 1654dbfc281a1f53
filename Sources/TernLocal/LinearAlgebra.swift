import COpenBLAS
import Dispatch
import Foundation

/// The parallelism of the local model: every matrix product and element-wise pass is split in
/// `Compute.workers` parts run by `DispatchQueue.concurrentPerform`, each part calling OpenBLAS's
/// single-threaded kernels (AVX2/AVX-512 chosen at run time). OpenBLAS's own thread pool is switched off:
/// its workers spin after each call and would steal the cores from the next step.
enum Compute {
    static let workers: Int = {
        openblas_set_num_threads(1)
        return max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
    }()

    static var backend: String {
        _ = workers
        return openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    }

    /// Runs `body` for each part of `0..<count` split in at most `workers` contiguous ranges of whole
    /// multiples of `granularity` (the last range takes the rest); in parallel when there is more than one.
    static func parallelRanges(_ count: Int, granularity: Int = 1, minimumPerPart: Int = 1, _ body: (Range<Int>) -> Void) {
        let units = (count + granularity - 1) / granularity
        let parts = max(1, min(workers, units, count / max(1, minimumPerPart)))
        if parts == 1 { return body(0..<count) }
        // The parts write disjoint ranges and concurrentPerform returns when all are done.
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let lower = min(count, (units * part / parts) * granularity)
            let upper = part == parts - 1 ? count : min(count, (units * (part + 1) / parts) * granularity)
            if lower < upper { body(lower..<upper) }
        }
    }

    /// Runs `body(i)` for every i in `0..<count`, spread over the workers.
    static func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        parallelRanges(count) { range in for index in range { body(index) } }
    }
}

/// A fully connected layer in PyTorch's layout: `y = x Wᵀ + b` with `W` of shape [out, in].
struct Linear: Sendable {
    let weight: [Float]
    let bias: [Float]
    let inFeatures: Int
    let outFeatures: Int

    init(weight: [Float], bias: [Float], inFeatures: Int, outFeatures: Int) {
        precondition(weight.count == inFeatures * outFeatures && bias.count == outFeatures, "layer shapes disagree")
        self.weight = weight
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// Stacks layers that read the same input (query, key and value) into one wider layer.
    init(stacking layers: [Linear]) {
        self.init(weight: layers.flatMap(\.weight), bias: layers.flatMap(\.bias),
                  inFeatures: layers[0].inFeatures, outFeatures: layers.reduce(0) { $0 + $1.outFeatures })
    }

    /// `output[rows, outFeatures] = input[rows, inFeatures] Wᵀ + b`, the output columns split over the workers.
    func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        guard rows > 0 else { return }
        let n = outFeatures, k = inFeatures
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                let weights = w.baseAddress!, biases = b.baseAddress!
                Compute.parallelRanges(n, granularity: 16) { columns in
                    for row in 0..<rows {
                        (output + row * n + columns.lowerBound).update(from: biases + columns.lowerBound, count: columns.count)
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                                Int32(rows), Int32(columns.count), Int32(k),
                                1, input, Int32(k),
                                weights + columns.lowerBound * k, Int32(k),
                                1, output + columns.lowerBound, Int32(n))
                }
            }
        }
    }
}

/// Layer normalisation over the last dimension, PyTorch's formula (biased variance).
struct LayerNorm: Sendable {
    let gamma: [Float]
    let beta: [Float]
    let epsilon: Float

    /// `data[row] = LayerNorm(data[row] + residual[row])` for every row (`residual` may be nil).
    func apply(_ data: UnsafeMutablePointer<Float>, adding residual: UnsafePointer<Float>?, rows: Int) {
        let width = gamma.count
        gamma.withUnsafeBufferPointer { g in
            beta.withUnsafeBufferPointer { b in
                Compute.parallelRanges(rows, minimumPerPart: 16) { range in
                    for row in range {
                        let x = data + row * width
                        if let residual {
                            let r = residual + row * width
                            for i in 0..<width { x[i] += r[i] }
                        }
                        var sum: Float = 0
                        for i in 0..<width { sum += x[i] }
                        let mean = sum / Float(width)
                        var squares: Float = 0
                        for i in 0..<width { let d = x[i] - mean; squares += d * d }
                        let scale = 1 / (squares / Float(width) + epsilon).squareRoot()
                        for i in 0..<width { x[i] = (x[i] - mean) * scale * g[i] + b[i] }
                    }
                }
            }
        }
    }
}

enum Activation {
    /// GELU with the exact error function, `x/2 (1 + erf(x/√2))`, as BERT's "gelu".
    static func gelu(_ data: UnsafeMutablePointer<Float>, count: Int) {
        let invSqrt2: Float = 0.70710678118654752440
        Compute.parallelRanges(count, granularity: 1024) { range in
            for i in range {
                let x = data[i]
                data[i] = 0.5 * x * (1 + erff(x * invSqrt2))
            }
        }
    }
}
