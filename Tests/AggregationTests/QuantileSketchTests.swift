import Aggregation
import Events
import Foundation
import TandemTestSupport
import Testing

/// `QuantileSketch` (DDSketch): every answer within `relativeAccuracy` of the exact value at rank
/// floor(q * (n - 1)) of the sorted data; q = 0 and q = 1 answer the exact min and max.
@Suite("QuantileSketch")
struct QuantileSketchTests {
    enum Distribution: String, CaseIterable, Sendable {
        case uniform, exponential, signed, withZeros, tiny, constant, wide
    }

    static let quantiles: [Double] = [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1]

    static func data(_ distribution: Distribution, count: Int, _ random: inout SplitMix64) -> [Double] {
        (0..<count).map { _ in
            switch distribution {
            case .uniform: random.unit() * 1000
            case .exponential: -log(1 - random.unit()) * 50
            case .signed: (random.unit() - 0.5) * 2e4
            case .withZeros: random.chance(0.3) ? 0 : (random.unit() - 0.3) * 100
            case .tiny: random.unit() * 1e-6 - 2e-7
            case .constant: 42.25
            case .wide: (random.chance(0.5) ? -1 : 1) * pow(10, random.unit() * 24 - 12)
            }
        }
    }

    static func sketch(_ values: [Double], accuracy: Double) -> QuantileSketch {
        var sketch = QuantileSketch(relativeAccuracy: accuracy)
        for value in values { sketch.add(value) }
        return sketch
    }

    /// Checks every quantile of `sketch` against the sorted data.
    static func check(
        _ sketch: QuantileSketch, _ values: [Double], accuracy: Double, _ label: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let sorted = values.sorted()
        #expect(sketch.count == UInt64(values.count), sourceLocation: sourceLocation)
        for q in quantiles {
            guard let answer = sketch.quantile(q) else {
                Issue.record("\(label): no answer for q \(q)", sourceLocation: sourceLocation)
                continue
            }
            let exact = sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
            if q == 0 || q == 1 {
                #expect(answer == exact, "\(label) q \(q): \(answer) vs exact \(exact)", sourceLocation: sourceLocation)
            } else {
                #expect(
                    abs(answer - exact) <= accuracy * abs(exact) * (1 + 1e-9) + 1e-9,
                    "\(label) q \(q): \(answer) vs exact \(exact)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("answers are within the relative accuracy", arguments: Distribution.allCases, [0.01, 0.001, 0.05])
    func accuracy(distribution: Distribution, accuracy: Double) {
        var random = SplitMix64(seed: 0x9A17)
        for count in [1, 2, 3, 10, 101, 5000] {
            let values = Self.data(distribution, count: count, &random)
            Self.check(Self.sketch(values, accuracy: accuracy), values, accuracy: accuracy, "\(distribution) n \(count)")
        }
    }

    @Test("merged split sketches answer like one sketch", arguments: Distribution.allCases)
    func merged(distribution: Distribution) {
        var random = SplitMix64(seed: 0x3E26)
        for _ in 0..<5 {
            let values = Self.data(distribution, count: random.int(1...3000), &random)
            let whole = Self.sketch(values, accuracy: 0.01)
            let parts = random.split(values, into: random.int(2...8)).map { Self.sketch($0, accuracy: 0.01) }
            var total = QuantileSketch(relativeAccuracy: 0.01)
            for part in random.shuffled(parts) { total.merge(part) }
            #expect(total == whole)
            Self.check(total, values, accuracy: 0.01, "\(distribution) merged from \(parts.count)")
        }
    }

    @Test("an empty sketch answers nothing; non-finite values are ignored")
    func emptyAndNonFinite() {
        var sketch = QuantileSketch(relativeAccuracy: 0.01)
        #expect(sketch.quantile(0.5) == nil)
        sketch.add(.nan)
        sketch.add(.infinity)
        sketch.add(-.infinity)
        #expect(sketch.count == 0)
        #expect(sketch.quantile(0) == nil)
        sketch.add(3)
        for q in Self.quantiles { #expect(sketch.quantile(q) == 3) }
    }

    @Test("q outside [0, 1] answers the min or max")
    func outOfRange() {
        let sketch = Self.sketch([-4, 1, 2, 8], accuracy: 0.01)
        #expect(sketch.quantile(-0.5) == -4)
        #expect(sketch.quantile(1.5) == 8)
        #expect(sketch.min == -4)
        #expect(sketch.max == 8)
    }
}
