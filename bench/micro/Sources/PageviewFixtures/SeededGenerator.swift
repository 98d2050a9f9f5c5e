import Foundation

/// SplitMix64: a small seeded generator, so that every run measures the same events.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose whole sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A standard normal draw (Box–Muller; the second value of each pair is thrown away, which
    /// costs nothing that matters here).
    public mutating func normal() -> Double {
        let u = 1 - unit()  // in (0, 1]: the logarithm stays finite
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * unit())
    }
}
