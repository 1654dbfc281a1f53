// Single-thread GFLOP/s of the model's largest matrix product (tokens x 384 times 384 x 1536), a blocked
// Swift GEMM (SIMD16<Float> accumulators, B packed in 16-column panels, 4x16 register tiles) against
// OpenBLAS's cblas_sgemm. Why TernLocal uses OpenBLAS: bench/embeddings/run.sh prints this comparison.
// Build: swiftc -O bench/embeddings/gemm-compare.swift -lopenblas -o gemm-compare   (the default target CPU,
// x86-64 baseline, as a SwiftPM release build compiles Swift code)
import Foundation

@_silgen_name("cblas_sgemm")
func cblas_sgemm(_ order: Int32, _ transA: Int32, _ transB: Int32, _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Float,
                 _ a: UnsafePointer<Float>, _ lda: Int32, _ b: UnsafePointer<Float>, _ ldb: Int32, _ beta: Float,
                 _ c: UnsafeMutablePointer<Float>, _ ldc: Int32)
@_silgen_name("openblas_set_num_threads") func openblas_set_num_threads(_ n: Int32)

/// C[m x n] = A[m x k] * W^T where W is [n x k] (PyTorch layout); W is packed once into 16-column panels.
func packPanels(_ w: [Float], n: Int, k: Int) -> [Float] {
    var packed = [Float](repeating: 0, count: n * k)
    for panel in 0..<(n / 16) {
        for kk in 0..<k { for j in 0..<16 { packed[(panel * k + kk) * 16 + j] = w[(panel * 16 + j) * k + kk] } }
    }
    return packed
}

func swiftGEMM(_ a: UnsafePointer<Float>, _ packed: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int) {
    let raw = UnsafeRawPointer(packed)
    for panel in 0..<(n / 16) {
        let b = raw + panel * k * 16 * 4
        var row = 0
        while row + 4 <= m {
            var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>()
            let a0 = a + row * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k
            for kk in 0..<k {
                let bv = b.loadUnaligned(fromByteOffset: kk * 64, as: SIMD16<Float>.self)
                c0 += bv * a0[kk]; c1 += bv * a1[kk]; c2 += bv * a2[kk]; c3 += bv * a3[kk]
            }
            for (i, acc) in [c0, c1, c2, c3].enumerated() {
                UnsafeMutableRawPointer(c + (row + i) * n + panel * 16).storeBytes(of: acc, as: SIMD16<Float>.self)
            }
            row += 4
        }
    }
}

let m = 800, n = 1536, k = 384
let a = (0..<(m * k)).map { _ in Float.random(in: -1...1) }
let w = (0..<(n * k)).map { _ in Float.random(in: -1...1) }
var c1 = [Float](repeating: 0, count: m * n), c2 = c1
let packed = packPanels(w, n: n, k: k)
openblas_set_num_threads(1)
func time(_ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<5 { let t = Date(); body(); best = min(best, Date().timeIntervalSince(t)) }
    return best
}
let flops = 2.0 * Double(m * n * k)
let swiftSeconds = time { a.withUnsafeBufferPointer { a in packed.withUnsafeBufferPointer { p in c1.withUnsafeMutableBufferPointer { c in
    swiftGEMM(a.baseAddress!, p.baseAddress!, c.baseAddress!, m: m, n: n, k: k) } } } }
let blasSeconds = time { a.withUnsafeBufferPointer { a in w.withUnsafeBufferPointer { w in c2.withUnsafeMutableBufferPointer { c in
    cblas_sgemm(101, 111, 112, Int32(m), Int32(n), Int32(k), 1, a.baseAddress!, Int32(k), w.baseAddress!, Int32(k), 0, c.baseAddress!, Int32(n)) } } } }
let maxDiff = zip(c1, c2).map { abs($0 - $1) }.max()!
print(String(format: "GEMM %dx%dx%d, one thread: Swift SIMD %.1f GFLOP/s, OpenBLAS %.1f GFLOP/s (%.1fx); max |difference| %.2e",
             m, n, k, flops / swiftSeconds / 1e9, flops / blasSeconds / 1e9, swiftSeconds / blasSeconds, maxDiff))
