import Foundation

/// Draws ranks 1...n with probability proportional to rank^-s, by binary search in the
/// cumulative weights.
public struct ZipfDistribution: Sendable {
    private let cumulative: [Double]

    /// The distribution over `count` ranks with exponent `exponent`.
    public init(count: Int, exponent: Double) {
        var total = 0.0
        var cumulative: [Double] = []
        cumulative.reserveCapacity(count)
        for rank in 1...count {
            total += pow(Double(rank), -exponent)
            cumulative.append(total)
        }
        self.cumulative = cumulative.map { $0 / total }
    }

    /// A rank, 1...count.
    public func sample(_ generator: inout SeededGenerator) -> Int {
        let u = generator.unit()
        var low = 0, high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < u { low = middle + 1 } else { high = middle }
        }
        return low + 1
    }
}
