/// A small seeded generator (SplitMix64) so every random test is reproducible: no wall-clock seeds.
/// Shared by every test target.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator that starts from `seed`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An integer in `range`.
    public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    /// An Int64 in `range`.
    public mutating func int64(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &self) }

    /// A double in `[0, 1)`.
    public mutating func unit() -> Double { Double.random(in: 0..<1, using: &self) }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// A random element of a non-empty array.
    public mutating func pick<T>(_ items: [T]) -> T { items[int(0...items.count - 1)] }

    /// A multiple of 1/8 with magnitude below `limit` (sums of these are exact in any order while
    /// they stay below 2^49).
    public mutating func eighths(limit: Int64) -> Double { Double(int64(-limit * 8 + 1...limit * 8 - 1)) / 8 }

    /// `items` shuffled.
    public mutating func shuffled<T>(_ items: [T]) -> [T] { items.shuffled(using: &self) }

    /// Splits `items` into `parts` random (possibly empty) parts, keeping no order.
    public mutating func split<T>(_ items: [T], into parts: Int) -> [[T]] {
        var result = [[T]](repeating: [], count: parts)
        for item in items { result[int(0...parts - 1)].append(item) }
        return result
    }
}
