/// The Mersenne Twister MT19937 (Matsumoto and Nishimura, 1998), the generator behind CPython's `random` and
/// numpy's legacy `RandomState`: their seeding differs (the callers do it), the state, twist and tempering are
/// these. Value type: copy it to restart from the same state.
public struct MT19937: Sendable {
    public static let stateSize = 624
    static let shift = 397

    private var state: [UInt32]
    private var index: Int

    /// A generator whose 624 words are `state` (the next draw twists them first).
    public init(state: [UInt32]) {
        precondition(state.count == Self.stateSize)
        self.state = state
        index = Self.stateSize
    }

    /// Knuth's initialisation from one 32-bit seed (`init_genrand`), as numpy's `seed(n)` uses.
    public init(seed: UInt32) {
        self.init(state: Self.knuthState(seed))
    }

    /// The state `init_genrand(seed)` makes, which `init_by_array` starts from.
    public static func knuthState(_ seed: UInt32) -> [UInt32] {
        var state = [UInt32](repeating: 0, count: stateSize)
        state[0] = seed
        for i in 1..<stateSize { state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i) }
        return state
    }

    private mutating func twist() {
        let n = Self.stateSize, m = Self.shift
        state.withUnsafeMutableBufferPointer { mt in
            for kk in 0..<n {
                let y = (mt[kk] & 0x8000_0000) | (mt[(kk + 1) % n] & 0x7FFF_FFFF)
                var v = mt[(kk + m) % n] ^ (y >> 1)
                if y & 1 != 0 { v ^= 0x9908_B0DF }
                mt[kk] = v
            }
        }
        index = 0
    }

    /// `genrand_uint32`.
    public mutating func nextUInt32() -> UInt32 {
        if index >= Self.stateSize { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// A double in [0, 1) from 27 + 26 bits of two draws (`random.random()`, numpy's `random_sample()`).
    public mutating func nextDouble() -> Double {
        let a = Double(nextUInt32() >> 5)
        let b = Double(nextUInt32() >> 6)
        return (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }
}
