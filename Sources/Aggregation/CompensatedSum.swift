/// A floating-point sum with a running compensation term (Neumaier), so that sums of many values,
/// and merges of partial sums in any order, keep nearly all the precision of an exact sum.
public struct CompensatedSum: Sendable, Equatable {
    /// The rounded sum.
    public private(set) var sum: Double = 0
    /// What rounding has lost so far.
    public private(set) var compensation: Double = 0

    /// An empty sum.
    public init() {}

    init(sum: Double, compensation: Double) {
        self.sum = sum
        self.compensation = compensation
    }

    /// Adds a value.
    @inline(__always)
    public mutating func add(_ value: Double) {
        let total = sum + value
        if abs(sum) >= abs(value) {
            compensation += (sum - total) + value
        } else {
            compensation += (value - total) + sum
        }
        sum = total
    }

    /// Adds another partial sum.
    public mutating func merge(_ other: CompensatedSum) {
        add(other.sum)
        compensation += other.compensation
    }

    /// The best estimate of the exact sum.
    public var value: Double { sum + compensation }
}
