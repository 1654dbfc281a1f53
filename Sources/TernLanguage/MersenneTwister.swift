import Foundation
import TernCore

// Deterministic pseudo-random numbers for the language detector (part of the Swift port of
// langdetect 1.0.9, Apache-2.0, see third_party/langdetect/).
//
// langdetect draws its random numbers from Python's `random.Random` seeded with
// `DetectorFactory.seed` (0 when deterministic results are wanted). To reproduce its
// answers exactly, this is the same generator: MT19937 seeded like CPython's
// `random.seed(0)` (init_by_array([0])), with CPython's `random()`, `getrandbits()`,
// `_randbelow()` (used by `choice`) and `gauss()` (Box-Muller with a cached second value).

/// CPython-compatible Mersenne Twister (`random.Random`). Value type: copy it to
/// restart from the same state.
struct PythonRandom {
    private var generator: MT19937
    /// `Random.gauss_next`.
    private var gaussNext: Double?

    /// The state after `random.seed(0)`; computed once per process.
    static let seededZero = PythonRandom(seedKey: [0])

    /// `init_by_array(key)`, as CPython's `random_seed` does for a non-negative int.
    init(seedKey key: [UInt32]) {
        let n = MT19937.stateSize
        var mt = MT19937.knuthState(19_650_218)
        var i = 1
        var j = 0
        var k = max(n, key.count)
        while k > 0 {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1
            j += 1
            if i >= n { mt[0] = mt[n - 1]; i = 1 }
            if j >= key.count { j = 0 }
            k -= 1
        }
        k = n - 1
        while k > 0 {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= n { mt[0] = mt[n - 1]; i = 1 }
            k -= 1
        }
        mt[0] = 0x8000_0000
        generator = MT19937(state: mt)
        gaussNext = nil
    }

    /// `genrand_uint32`.
    mutating func nextUInt32() -> UInt32 { generator.nextUInt32() }

    /// `random.random()`: 53-bit double in [0, 1).
    mutating func random() -> Double { generator.nextDouble() }

    /// `random._randbelow(n)` for 0 < n < 2^32 (what `random.choice` uses).
    mutating func below(_ upper: Int) -> Int {
        precondition(upper > 0 && upper <= Int(UInt32.max))
        let k = Int.bitWidth - upper.leadingZeroBitCount  // int.bit_length()
        var r = Int(nextUInt32() >> UInt32(32 - k))
        while r >= upper {
            r = Int(nextUInt32() >> UInt32(32 - k))
        }
        return r
    }

    /// `random.gauss(0.0, 1.0)`.
    mutating func gauss() -> Double {
        if let z = gaussNext {
            gaussNext = nil
            return z
        }
        let x2pi = random() * (2.0 * Double.pi)
        let g2rad = (-2.0 * log(1.0 - random())).squareRoot()
        gaussNext = sin(x2pi) * g2rad
        return cos(x2pi) * g2rad
    }
}
