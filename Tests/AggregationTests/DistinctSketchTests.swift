import Aggregation
import Events
import TandemTestSupport
import Testing

/// `DistinctSketch`: exact while small, then a HyperLogLog within its stated error.
@Suite("DistinctSketch")
struct DistinctSketchTests {
    static func sketch(precision: Int, _ values: some Sequence<FieldValue>) -> DistinctSketch {
        var sketch = DistinctSketch(precision: precision)
        for value in values { sketch.add(value) }
        return sketch
    }

    @Test("counts exactly up to the exact limit, duplicates included", arguments: [4, 12, 16])
    func exact(precision: Int) {
        var random = SplitMix64(seed: 0xD15)
        #expect(DistinctSketch(precision: precision).estimate == 0)
        for distinct in [1, 2, 17, 100, 255, 256] {
            // Each value several times, in random order, over mixed types.
            let base: [FieldValue] = (0..<distinct).map { n in
                switch n % 4 {
                case 0: .string("user-\(n)")
                case 1: .int(Int64(n) * 1_000_003)
                case 2: .double(Double(n) + 0.5)
                default: .timestamp(1_700_000_000_000 + Int64(n))
                }
            }
            let values = random.shuffled(base + base + base.prefix(distinct / 2))
            #expect(Self.sketch(precision: precision, values).estimate == Int64(distinct), "\(distinct) distinct")
        }
        #expect(DistinctSketch.exactLimit == 256)
    }

    /// Relative error within 4 standard errors of the HyperLogLog (about 1.6 % at precision 12).
    @Test(
        "estimates large cardinalities within 4 standard errors",
        arguments: [(12, 257), (12, 1000), (12, 10_000), (12, 100_000), (14, 1000), (14, 10_000), (14, 100_000)])
    func estimate(precision: Int, distinct: Int) {
        let sketch = Self.sketch(precision: precision, (0..<distinct).map { FieldValue.string("u\($0)") })
        let error = abs(Double(sketch.estimate) - Double(distinct)) / Double(distinct)
        #expect(error <= 4 * sketch.standardError, "estimate \(sketch.estimate) for \(distinct) (error \(error))")
        #expect(abs(sketch.standardError - 1.04 / Double(1 << precision).squareRoot()) < 1e-15)
    }

    @Test("estimates large int cardinalities too", arguments: [12, 14])
    func estimateInts(precision: Int) {
        var random = SplitMix64(seed: 0x1177)
        let values = Set((0..<20_000).map { _ in random.int64(Int64.min...Int64.max) })
        let sketch = Self.sketch(precision: precision, values.map(FieldValue.int))
        let error = abs(Double(sketch.estimate) - Double(values.count)) / Double(values.count)
        #expect(error <= 4 * sketch.standardError, "estimate \(sketch.estimate) for \(values.count)")
    }

    @Test(
        "merging sketches of overlapping sets estimates the union",
        arguments: [(12, 100, 150), (12, 200, 200), (12, 5000, 8000), (14, 40_000, 70_000)])
    func union(precision: Int, a: Int, b: Int) {
        // Set A is [0, a), set B is [a / 2, a / 2 + b): they overlap by a / 2 (or fewer).
        let first = Self.sketch(precision: precision, (0..<a).map { FieldValue.string("k\($0)") })
        let second = Self.sketch(precision: precision, (a / 2..<a / 2 + b).map { FieldValue.string("k\($0)") })
        let truth = Double(Set(0..<a).union(a / 2..<a / 2 + b).count)
        var ab = first
        ab.merge(second)
        var ba = second
        ba.merge(first)
        #expect(ab == ba)
        #expect(ab.estimate == ba.estimate)
        let whole = Self.sketch(precision: precision, (0..<Int(truth)).map { FieldValue.string("k\($0)") })
        #expect(ab == whole, "merged sketch equals the sketch of the union")
        if truth <= 256 {
            #expect(ab.estimate == Int64(truth))
        } else {
            #expect(abs(Double(ab.estimate) - truth) <= 4 * ab.standardError * truth, "estimate \(ab.estimate) for \(truth)")
        }
    }

    @Test("merging two exact sketches past the limit switches to registers correctly")
    func exactToDense() {
        let a = Self.sketch(precision: 12, (0..<200).map { FieldValue.int(Int64($0)) })
        let b = Self.sketch(precision: 12, (100..<300).map { FieldValue.int(Int64($0)) })
        var merged = a
        merged.merge(b)
        #expect(merged == Self.sketch(precision: 12, (0..<300).map { FieldValue.int(Int64($0)) }))
        #expect(abs(Double(merged.estimate) - 300) <= 4 * merged.standardError * 300)
    }

    @Test("equal values hash equal; different values and types hash differently")
    func hashes() {
        let samples: [FieldValue] = [
            .string("a"), .string("b"), .string(""), .string("é"), .int(0), .int(1), .int(-1), .int(97),
            .double(1), .double(-1), .double(0.5), .bool(true), .bool(false), .timestamp(0), .timestamp(1), .timestamp(97),
        ]
        for value in samples {
            #expect(DistinctSketch.hash(value) == DistinctSketch.hash(value))
        }
        #expect(Set(samples.map(DistinctSketch.hash)).count == samples.count, "distinct samples hash apart")
        // Same payload bytes, different types.
        #expect(DistinctSketch.hash(.int(1)) != DistinctSketch.hash(.timestamp(1)))
        #expect(DistinctSketch.hash(.int(0)) != DistinctSketch.hash(.timestamp(0)))
        #expect(DistinctSketch.hash(.int(0)) != DistinctSketch.hash(.double(0)))
        #expect(DistinctSketch.hash(.int(Int64(bitPattern: (1.0).bitPattern))) != DistinctSketch.hash(.double(1.0)))
        #expect(DistinctSketch.hash(.string("\u{1}")) != DistinctSketch.hash(.bool(true)))
        #expect(DistinctSketch.hash(.string("a")) != DistinctSketch.hash(.int(97)))
        // Strings with equal contents built differently.
        let built = String(["a", "b", "c"].joined())
        #expect(DistinctSketch.hash(.string(built)) == DistinctSketch.hash(.string("abc")))
        // Minus zero and zero are one value.
        #expect(DistinctSketch.hash(.double(-0.0)) == DistinctSketch.hash(.double(0.0)))
        #expect(Self.sketch(precision: 12, [.double(-0.0), .double(0.0)]).estimate == 1)
        // A type tag keeps an int and a timestamp apart in the count.
        #expect(Self.sketch(precision: 12, [.int(5), .timestamp(5), .double(5), .string("5")]).estimate == 4)
    }

    @Test("hashes spread over the registers")
    func spread() {
        // The top 4 bits of the hash of 16 * 64 strings fill every one of 16 buckets.
        var buckets = [Int](repeating: 0, count: 16)
        for n in 0..<1024 { buckets[Int(DistinctSketch.hash(.string("s\(n)")) >> 60)] += 1 }
        #expect(buckets.allSatisfy { $0 > 32 && $0 < 100 }, "\(buckets)")
    }
}
