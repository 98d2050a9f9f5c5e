import Events
import Foundation

/// A DDSketch: values fall into logarithmic bins of ratio γ = (1 + a) / (1 - a), so any quantile
/// is answered within a relative error `a` of the true value at that rank. Bins merge by adding
/// counts, so the sketch is a commutative, associative monoid; exact min and max are kept too.
public struct QuantileSketch: Sendable, Equatable {
    /// The relative accuracy `a`.
    public let relativeAccuracy: Double
    private let logGamma: Double
    private(set) var positive: [Int32: UInt64] = [:]
    private(set) var negative: [Int32: UInt64] = [:]
    private(set) var zeroCount: UInt64 = 0
    /// Values counted.
    public private(set) var count: UInt64 = 0
    /// The smallest value seen.
    public private(set) var min = Double.infinity
    /// The largest value seen.
    public private(set) var max = -Double.infinity

    /// An estimate of the heap memory held, in bytes.
    var heapBytes: Int { (positive.count + negative.count) * 24 + (positive.isEmpty ? 0 : 64) + (negative.isEmpty ? 0 : 64) }

    /// Values closer to zero than this count as zero.
    static let minIndexable = 1e-9

    /// An empty sketch.
    public init(relativeAccuracy: Double) {
        self.relativeAccuracy = relativeAccuracy
        self.logGamma = log((1 + relativeAccuracy) / (1 - relativeAccuracy))
    }

    @inline(__always)
    private func index(_ magnitude: Double) -> Int32 {
        // Accuracies are at least 0.0001 and magnitudes finite, so this stays within a few
        // million; clamped all the same, so that no state can make a conversion trap.
        let raw = (log(magnitude) / logGamma).rounded(.up)
        guard raw.isFinite else { return raw > 0 ? .max : .min }
        return Int32(Swift.min(Swift.max(raw, Double(Int32.min)), Double(Int32.max)))
    }

    /// Adds a value.
    @inline(__always)
    public mutating func add(_ value: Double) {
        guard value.isFinite else { return }
        count += 1
        if value < min { min = value }
        if value > max { max = value }
        if value > Self.minIndexable {
            positive[index(value), default: 0] += 1
        } else if value < -Self.minIndexable {
            negative[index(-value), default: 0] += 1
        } else {
            zeroCount += 1
        }
    }

    /// Merges a sketch of the same accuracy.
    public mutating func merge(_ other: QuantileSketch) {
        precondition(other.relativeAccuracy == relativeAccuracy, "quantile sketches of different accuracy")
        for (key, value) in other.positive { positive[key, default: 0] += value }
        for (key, value) in other.negative { negative[key, default: 0] += value }
        zeroCount += other.zeroCount
        count += other.count
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// The value at quantile `q` (0...1), or `nil` when empty.
    public func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        if q <= 0 { return min }
        if q >= 1 { return max }
        let rank = UInt64((q * Double(count - 1)).rounded(.down))
        var seen: UInt64 = 0
        func value(_ index: Int32) -> Double { 2 * exp(Double(index) * logGamma) / (1 + exp(logGamma)) }
        for key in negative.keys.sorted(by: >) {
            seen += negative[key]!
            if seen > rank { return clamp(-value(key)) }
        }
        seen += zeroCount
        if seen > rank { return clamp(0) }
        for key in positive.keys.sorted() {
            seen += positive[key]!
            if seen > rank { return clamp(value(key)) }
        }
        return max
    }

    private func clamp(_ value: Double) -> Double { Swift.min(Swift.max(value, min), max) }

    func encode(into bytes: inout [UInt8]) {
        bytes.appendDouble(relativeAccuracy)
        Varint.append(count, to: &bytes)
        Varint.append(zeroCount, to: &bytes)
        bytes.appendDouble(min)
        bytes.appendDouble(max)
        for store in [positive, negative] {
            Varint.append(UInt64(store.count), to: &bytes)
            for key in store.keys.sorted() {
                Varint.appendSigned(Int64(key), to: &bytes)
                Varint.append(store[key]!, to: &bytes)
            }
        }
    }

    static func decode(_ reader: inout ByteReader) throws -> QuantileSketch {
        let accuracy = try reader.double()
        guard ViewDefinition.relativeAccuracyRange.contains(accuracy) else { throw ByteReader.Failure(description: "bad quantile accuracy") }
        var sketch = QuantileSketch(relativeAccuracy: accuracy)
        sketch.count = try reader.varint()
        sketch.zeroCount = try reader.varint()
        sketch.min = try reader.double()
        sketch.max = try reader.double()
        var total = sketch.zeroCount
        for store in 0..<2 {
            guard let bins = Int(exactly: try reader.varint()), bins <= reader.bytes.count else {
                throw ByteReader.Failure(description: "bad quantile bin count")
            }
            var map: [Int32: UInt64] = [:]
            for _ in 0..<bins {
                let key = try reader.signed()
                guard let key32 = Int32(exactly: key) else { throw ByteReader.Failure(description: "bad quantile bin") }
                let binCount = try reader.varint()
                let (sum, overflow) = total.addingReportingOverflow(binCount)
                guard !overflow, map[key32] == nil else { throw ByteReader.Failure(description: "bad quantile bin") }
                total = sum
                map[key32] = binCount
            }
            if store == 0 { sketch.positive = map } else { sketch.negative = map }
        }
        // The bins must account for every value exactly: a damaged state is refused here rather
        // than overflowing a merge or a rank later.
        guard total == sketch.count, sketch.count < UInt64(1) << 62 else {
            throw ByteReader.Failure(description: "quantile bins do not add up to the count")
        }
        return sketch
    }
}
