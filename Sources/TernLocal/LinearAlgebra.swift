import CTernKernels
import Dispatch
import Foundation
import TernCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// OpenBLAS, loaded with dlopen rather than linked, so that its kernel family can be chosen before its
/// constructor runs: OpenBLAS picks kernels by CPU model at load time, and releases older than the CPU
/// fall back to generic SSE3 code ("Prescott") on processors they do not know (Debian 12's 0.3.21 on this
/// project's Xeon machines: 6 GFLOP/s instead of 140 for one core). Unless `OPENBLAS_CORETYPE` is already set,
/// it is set from the CPU's flags: AVX-512 (F, BW, DQ, VL) -> SkylakeX, else AVX2 + FMA -> Haswell.
/// Debian/Ubuntu: `apt-get install libopenblas-dev` (scripts/test and scripts/serve do it).
enum BLAS {
    typealias SGEMM =
        @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
            UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
        ) -> Void
    static let rowMajor: Int32 = 101, noTrans: Int32 = 111, trans: Int32 = 112

    struct Library: @unchecked Sendable {
        let sgemm: SGEMM
        let coreName: String
    }

    static let loaded: Result<Library, TernError> = load()

    static func load() -> Result<Library, TernError> {
        if getenv("OPENBLAS_CORETYPE") == nil, let core = preferredCore() { setenv("OPENBLAS_CORETYPE", core, 0) }
        var handle: UnsafeMutableRawPointer? = nil
        for name in ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"] where handle == nil {
            handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)
        }
        guard let handle, let sgemm = dlsym(handle, "cblas_sgemm") else {
            return .failure(
                TernError(
                    .unavailable, code: "openblas_missing",
                    message: "the local models need OpenBLAS (libopenblas.so.0); install it: apt-get install libopenblas-dev"))
        }
        if let setThreads = dlsym(handle, "openblas_set_num_threads") {
            unsafeBitCast(setThreads, to: (@convention(c) (Int32) -> Void).self)(1)
        }
        var coreName = "unknown"
        if let corename = dlsym(handle, "openblas_get_corename") {
            coreName = unsafeBitCast(corename, to: (@convention(c) () -> UnsafePointer<CChar>?).self)().map { String(cString: $0) } ?? coreName
        }
        return .success(Library(sgemm: unsafeBitCast(sgemm, to: SGEMM.self), coreName: coreName))
    }

    /// The kernel family for this CPU, from /proc/cpuinfo's flags (Linux); nil elsewhere or when unsure.
    static func preferredCore() -> String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(line.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    static func library() throws -> Library { try loaded.get() }

    /// `cblas_sgemm` in row-major order. Only called after `library()` succeeded (the model's init checks it).
    @inline(__always)
    static func sgemm(
        transB: Bool, _ m: Int, _ n: Int, _ k: Int, alpha: Float, _ a: UnsafePointer<Float>, lda: Int,
        _ b: UnsafePointer<Float>, ldb: Int, beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard case .success(let library) = loaded else { preconditionFailure("OpenBLAS is not loaded") }
        library.sgemm(
            rowMajor, noTrans, transB ? trans : noTrans, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
            b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// The parallelism of the local model: every matrix product and element-wise pass is split in
/// `Compute.workers` parts run by CTernKernels' `tern_parallel` (the calling thread and a pool of helper
/// threads that spin briefly between the steps of a pass, then sleep), each part calling single-threaded
/// kernels. OpenBLAS's own thread pool is switched off: its workers spin after each call and would steal
/// the cores from the next step.
enum Compute {
    static let workers: Int = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))

    static var backend: String { (try? BLAS.library().coreName).map { "OpenBLAS \($0)" } ?? "OpenBLAS missing" }

    /// Runs `body` for each part of `0..<count` split in at most `workers` contiguous ranges of whole
    /// multiples of `granularity` (the last range takes the rest); in parallel when there is more than one.
    static func parallelRanges(_ count: Int, granularity: Int = 1, minimumPerPart: Int = 1, _ body: (Range<Int>) -> Void) {
        let units = (count + granularity - 1) / granularity
        let parts = max(1, min(workers, units, count / max(1, minimumPerPart)))
        if parts == 1 { return body(0..<count) }
        // The parts write disjoint ranges and tern_parallel returns when all are done.
        withoutActuallyEscaping({ (part: Int) in
            let lower = min(count, (units * part / parts) * granularity)
            let upper = part == parts - 1 ? count : min(count, (units * (part + 1) / parts) * granularity)
            if lower < upper { body(lower..<upper) }
        }) { task in
            var task = task
            withUnsafeMutablePointer(to: &task) { context in
                tern_parallel(
                    parts, workers,
                    { context, part in
                        context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(part)
                    }, context)
            }
        }
    }

    /// Runs `body(i)` for every i in `0..<count`, spread over the workers.
    static func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        parallelRanges(count) { range in for index in range { body(index) } }
    }
}

/// A fully connected layer in PyTorch's layout: `y = x Wᵀ + b` with `W` of shape [out, in].
///
/// Two ways to compute it. Few rows (one or a few sentences, up to `Linear.packedRowLimit` tokens): on CPUs
/// with AVX-512, CTernKernels' `tern_gemm_f16` over the weights packed once at load time as F16 panels of 32
/// output columns (a single sentence is memory-bound: every pass reads all the weights for few FLOPs, and
/// OpenBLAS re-packs them on every call). More rows: OpenBLAS's sgemm, which is faster there. Both see the
/// same weights: when the F16 kernel is in use, `weight` holds the F16-rounded values (as Float), so the two
/// differ only in summation order and a batch gives the same vectors as one text at a time.
struct Linear: Sendable {
    let weight: [Float]
    let bias: [Float]
    let inFeatures: Int
    let outFeatures: Int
    /// `weight` as `tern_pack_f16` packs it; empty when the CPU has no AVX-512 (then OpenBLAS does every product).
    let packed: [UInt16]

    /// Products of at most this many rows use the packed F16 kernel (measured: it beats OpenBLAS at 128
    /// rows and loses about 15% at 740, one batch of 32 sentences).
    static let packedRowLimit = 192
    static let packedKernel = tern_gemm_f16_available() != 0
    static let panelWidth = 32

    init(weight: [Float], bias: [Float], inFeatures: Int, outFeatures: Int) {
        precondition(weight.count == inFeatures * outFeatures && bias.count == outFeatures, "layer shapes disagree")
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        if Self.packedKernel {
            var rounded = weight
            rounded.withUnsafeMutableBufferPointer { tern_round_f16($0.baseAddress!, $0.count) }
            self.weight = rounded
            packed = [UInt16](unsafeUninitializedCapacity: tern_f16_panels_count(outFeatures, inFeatures)) { buffer, count in
                weight.withUnsafeBufferPointer { tern_pack_f16($0.baseAddress!, outFeatures, inFeatures, buffer.baseAddress!) }
                count = buffer.count
            }
        } else {
            self.weight = weight
            packed = []
        }
    }

    /// Stacks layers that read the same input (query, key and value) into one wider layer.
    init(stacking layers: [Linear]) {
        self.init(
            weight: layers.flatMap(\.weight), bias: layers.flatMap(\.bias),
            inFeatures: layers[0].inFeatures, outFeatures: layers.reduce(0) { $0 + $1.outFeatures })
    }

    /// `output[rows, outFeatures] = input[rows, inFeatures] Wᵀ + b`, the output columns split over the workers.
    func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        guard rows > 0 else { return }
        let n = outFeatures, k = inFeatures
        if !packed.isEmpty && rows <= Self.packedRowLimit {
            packed.withUnsafeBufferPointer { p in
                bias.withUnsafeBufferPointer { b in
                    let panels = p.baseAddress!, biases = b.baseAddress!
                    Compute.parallelRanges((n + Self.panelWidth - 1) / Self.panelWidth) { range in
                        tern_gemm_f16(input, rows, k, panels, biases, n, range.lowerBound, range.upperBound, output)
                    }
                }
            }
            return
        }
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                let weights = w.baseAddress!, biases = b.baseAddress!
                Compute.parallelRanges(n, granularity: 16) { columns in
                    for row in 0..<rows {
                        (output + row * n + columns.lowerBound).update(from: biases + columns.lowerBound, count: columns.count)
                    }
                    BLAS.sgemm(
                        transB: true, rows, columns.count, k, alpha: 1, input, lda: k,
                        weights + columns.lowerBound * k, ldb: k, beta: 1, output + columns.lowerBound, ldc: n)
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
    /// GELU, `x/2 (1 + erf(x/√2))`, as BERT's "gelu": CTernKernels' vector form (erf as a rational
    /// function, within 5e-7 of libm's erff; one erff call per value was a fifth of the model's CPU time).
    static func gelu(_ data: UnsafeMutablePointer<Float>, count: Int) {
        Compute.parallelRanges(count, granularity: 1024) { range in
            tern_gelu(data + range.lowerBound, range.count)
        }
    }

    /// The instruction set the element-wise kernels use here ("avx512f", "avx2" or "baseline").
    static var instructionSet: String { String(cString: tern_kernels_isa()) }
}
