import CTernKernels
import Foundation
@testable import TernLocal
import Testing

@Suite("Activations")
struct ActivationTests {
    @Test("erf stays within 1e-6 of libm's erff over [-7, 7]; GELU over any length (vector blocks and tail) matches the formula")
    func erfAndGELU() {
        var worst: Float = 0
        for step in -70_000...70_000 {
            let x = Float(step) * 1e-4
            worst = max(worst, abs(tern_erf(x) - erff(x)))
        }
        #expect(worst < 1e-6, "largest error \(worst)")

        for count in [1, 15, 16, 37, 1024 + 7] {
            let values = (0..<count).map { Float($0 % 97) * 0.13 - 6 }
            var data = values
            data.withUnsafeMutableBufferPointer { Activation.gelu($0.baseAddress!, count: $0.count) }
            for (input, output) in zip(values, data) {
                let exact = 0.5 * Double(input) * (1 + Foundation.erf(Double(input) / 2.0.squareRoot()))
                #expect(abs(Double(output) - exact) < 2e-6, "gelu(\(input)) = \(output), expected \(exact) (count \(count))")
            }
        }
        #expect(["avx512f", "avx2", "baseline"].contains(Activation.instructionSet))
    }

    @Test("every GELU variant this CPU runs (AVX-512, AVX2, baseline) matches the formula, not only the one picked")
    func everyVariant() {
        let level = Int(tern_kernels_level())
        #expect((0...2).contains(level))
        #expect(["baseline", "avx2", "avx512f"][level] == Activation.instructionSet)
        var checked: [Int] = []
        for variant in 0...2 {
            for count in [1, 7, 16, 33, 1024 + 5] {
                let values = (0..<count).map { Float(($0 * 37) % 211) * 0.05 - 5.3 }
                var data = values
                let ran = data.withUnsafeMutableBufferPointer { tern_gelu_variant(Int32(variant), $0.baseAddress!, $0.count) }
                guard ran == 0 else {
                    #expect(variant > level, "variant \(variant) refused although the CPU runs level \(level)")
                    continue
                }
                if !checked.contains(variant) { checked.append(variant) }
                for (input, output) in zip(values, data) {
                    let exact = 0.5 * Double(input) * (1 + Foundation.erf(Double(input) / 2.0.squareRoot()))
                    #expect(abs(Double(output) - exact) < 2e-6, "variant \(variant): gelu(\(input)) = \(output), expected \(exact)")
                }
            }
        }
        #expect(checked == Array(0...level), "every variant up to the CPU's level ran: \(checked)")
    }
}
