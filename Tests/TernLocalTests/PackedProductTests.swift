import CTernKernels
import Foundation
@testable import TernLocal
import Testing

/// CTernKernels' packed F16 product (`tern_gemm_f16`) against a plain product in Double over the same
/// F16-rounded weights, and `Linear.apply`'s two paths (packed kernel, OpenBLAS) against each other.
@Suite("Packed F16 product")
struct PackedProductTests {
    static var available: Bool { tern_gemm_f16_available() != 0 }

    /// Deterministic values in [-1, 1) (a linear congruential generator), so a failure reproduces.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(state >> 40) - (1 << 23)) / Float(1 << 23)
        }
    }

    @Test("rounding to F16 keeps representable values and rounds the others to nearest even", .enabled(if: available))
    func rounding() {
        var data: [Float] = [1, -2.5, 0, 1 + 1.0 / 2048, 1 + 3.0 / 2048, 65504, 1e-8, 0.1]
        data.withUnsafeMutableBufferPointer { tern_round_f16($0.baseAddress!, $0.count) }
        #expect(data[0] == 1 && data[1] == -2.5 && data[2] == 0)
        #expect(data[3] == 1, "1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even, 1")
        #expect(data[4] == 1 + 1.0 / 512, "1 + 3·2^-11 is halfway between 1 + 2^-10 and 1 + 2^-9: ties to even, the latter")
        #expect(data[5] == 65504)
        #expect(data[6] == 0, "below F16's smallest subnormal")
        #expect(abs(data[7] - 0.1) < 0.1 / 1024 && data[7] != 0.1)
    }

    @Test(
        "the product matches a plain one for odd rows, columns off the 32-column panels and k off 16", .enabled(if: available),
        arguments: [
            (1, 1, 1), (1, 384, 384), (5, 45, 17), (12, 32, 16), (13, 70, 31), (23, 1152, 384), (23, 384, 1536),
            (25, 33, 100), (37, 97, 7),
        ])
    func matchesPlainProduct(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        let a = Self.values(m * k, seed: UInt64(m * 1_000_003 + n * 1009 + k))
        var w = Self.values(n * k, seed: UInt64(n * 7919 + k))
        let bias = Self.values(n, seed: UInt64(k * 31 + 5))
        var packed = [UInt16](repeating: 0xFFFF, count: tern_f16_panels_count(n, k))
        #expect(packed.count == (n + 31) / 32 * 32 * k)
        tern_pack_f16(w, n, k, &packed)
        w.withUnsafeMutableBufferPointer { tern_round_f16($0.baseAddress!, $0.count) }

        let panels = (n + 31) / 32
        // Whole range at once, and split in two parts the way the workers split it: same result.
        for split in Set([0, panels / 2]) {
            let sentinel: Float = 12345
            var c = [Float](repeating: sentinel, count: m * n)
            c.withUnsafeMutableBufferPointer { out in
                if split > 0 { tern_gemm_f16(a, m, k, packed, bias, n, 0, split, out.baseAddress!) }
                tern_gemm_f16(a, m, k, packed, bias, n, split, panels, out.baseAddress!)
            }
            var worst: Double = 0
            for row in 0..<m {
                for column in 0..<n {
                    var exact = Double(bias[column]), magnitude = abs(Double(bias[column]))
                    for i in 0..<k {
                        let term = Double(a[row * k + i]) * Double(w[column * k + i])
                        exact += term
                        magnitude += abs(term)
                    }
                    worst = max(worst, abs(Double(c[row * n + column]) - exact) / magnitude)
                }
            }
            #expect(worst < 1e-5, "m \(m) n \(n) k \(k) split \(split): largest relative error \(worst)")
        }
    }

    @Test("only the columns of the given panels are written", .enabled(if: available))
    func writesOnlyItsPanels() {
        let m = 3, n = 100, k = 20
        let a = Self.values(m * k, seed: 1), w = Self.values(n * k, seed: 2), bias = Self.values(n, seed: 3)
        var packed = [UInt16](repeating: 0, count: tern_f16_panels_count(n, k))
        tern_pack_f16(w, n, k, &packed)
        var c = [Float](repeating: .nan, count: m * n)
        c.withUnsafeMutableBufferPointer { tern_gemm_f16(a, m, k, packed, bias, n, 1, 3, $0.baseAddress!) }
        for row in 0..<m {
            for column in 0..<n {
                let written = !c[row * n + column].isNaN
                #expect(written == (32..<96).contains(column), "row \(row) column \(column)")
            }
        }
    }

    @Test("Linear.apply gives the same result through the packed kernel and through OpenBLAS")
    func linearPathsAgree() throws {
        _ = try BLAS.library()
        let k = 70, n = 90
        let layer = Linear(weight: Self.values(n * k, seed: 11), bias: Self.values(n, seed: 12), inFeatures: k, outFeatures: n)
        #expect(layer.packed.isEmpty == !Self.available)
        // A matrix taller than the packed kernel's limit goes to OpenBLAS; its first rows alone to the kernel.
        let rows = Linear.packedRowLimit + 9, few = 19
        let input = Self.values(rows * k, seed: 13)
        var tall = [Float](repeating: 0, count: rows * n), short = [Float](repeating: 0, count: few * n)
        tall.withUnsafeMutableBufferPointer { layer.apply(input, rows: rows, into: $0.baseAddress!) }
        short.withUnsafeMutableBufferPointer { layer.apply(input, rows: few, into: $0.baseAddress!) }
        let difference = zip(short, tall.prefix(few * n)).map { abs($0 - $1) }.max() ?? 0
        #expect(difference < 1e-5, "largest difference \(difference)")
        #expect(short.contains { $0 != 0 })
        // Both paths against a plain product in Double over the weights the layer holds (F16-rounded when the
        // kernel is in use), so neither can be wrong the same way as the other.
        var worst = 0.0
        for row in 0..<rows {
            for column in 0..<n {
                var sum = Double(layer.bias[column])
                for index in 0..<k { sum += Double(input[row * k + index]) * Double(layer.weight[column * k + index]) }
                worst = max(worst, abs(Double(tall[row * n + column]) - sum))
                if row < few { worst = max(worst, abs(Double(short[row * n + column]) - sum)) }
            }
        }
        #expect(worst < 1e-4, "largest difference from the plain product \(worst)")
    }
}
