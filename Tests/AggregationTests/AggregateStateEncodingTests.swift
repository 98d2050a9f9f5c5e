import Aggregation
import Events
import TandemTestSupport
import Testing

/// States are stored by the batch layer and read back by the serving layer: the encoding must
/// round-trip every kind exactly, and bad bytes must throw, never crash the server.
@Suite("AggregateState encoding")
struct AggregateStateEncodingTests {
    @Test("decode(encoded) is the identity for empty and filled states", arguments: AggregateKind.allCases)
    func roundTrip(kind: AggregateKind) throws {
        var random = SplitMix64(seed: 0xE4C0DE)
        var states = [kind.empty]
        for _ in 0..<30 { states.append(kind.fold(kind.values(&random))) }
        for state in states {
            let decoded = try AggregateState.decode(state.encoded)
            #expect(decoded == state)
            #expect(kind.result(decoded) == kind.result(state))
            #expect(decoded.encoded == state.encoded, "encoding is deterministic")
        }
    }

    @Test("distinct sketches round-trip in exact and dense mode at several precisions", arguments: [4, 10, 12, 16])
    func distinctModes(precision: Int) throws {
        let spec = AggregateSpec(.distinct, field: "x", precision: precision)
        for count in [0, 1, 256, 257, 3000] {
            var state = AggregateState.empty(spec, fieldType: .int)
            for n in 0..<count { state.add(.int(Int64(n))) }
            let decoded = try AggregateState.decode(state.encoded)
            #expect(decoded == state, "precision \(precision), \(count) values")
            #expect(decoded.result(spec, fieldType: .int) == state.result(spec, fieldType: .int))
        }
    }

    @Test("quantile sketches with negative, zero and positive values round-trip", arguments: [0.001, 0.01, 0.05])
    func quantileValues(accuracy: Double) throws {
        let spec = AggregateSpec(.quantile, field: "x", quantiles: [0, 0.25, 0.5, 0.75, 1], quantilesAsList: true, relativeAccuracy: accuracy)
        let lists: [[Double]] = [
            [], [0], [-0.0], [-5], [7.5], [0, 0, 0], [-1e9, -3, -1e-12, 0, 1e-12, 2, 1e12],
            (0..<500).map { Double($0 - 250) * 0.37 },
        ]
        for values in lists {
            var state = AggregateState.empty(spec, fieldType: .double)
            for value in values { state.add(.double(value)) }
            let decoded = try AggregateState.decode(state.encoded)
            #expect(decoded == state, "\(values.prefix(8))")
            #expect(decoded.result(spec, fieldType: .double) == state.result(spec, fieldType: .double))
        }
    }

    @Test("every proper prefix of an encoding throws", arguments: AggregateKind.allCases)
    func truncated(kind: AggregateKind) throws {
        var random = SplitMix64(seed: 0x7255)
        for state in [kind.empty, kind.fold(kind.values(&random, maxCount: 40)), kind.fold(kind.values(&random, maxCount: 400))] {
            let bytes = state.encoded
            for length in 0..<bytes.count {
                #expect(throws: (any Error).self, "prefix of \(length) of \(bytes.count) bytes") {
                    try AggregateState.decode(Array(bytes.prefix(length)))
                }
            }
            #expect(throws: (any Error).self, "trailing byte") { try AggregateState.decode(bytes + [0]) }
        }
    }

    @Test("unknown versions, kinds, flags and modes throw")
    func badHeaders() {
        let cases: [[UInt8]] = [
            [], [0], [2, 1, 0], [1], [1, 0], [1, 11], [1, 255],
            [1, 4, 2],  // optional flag 2
            [1, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0],
            [1, 9, 3, 0, 0],  // precision 3
            [1, 9, 17, 0, 0],  // precision 17
            [1, 9, 12, 2],  // distinct mode 2
            [1, 9, 12, 0, 0x81, 0x02],  // 257 exact hashes
            [1, 9, 4, 1] + [UInt8](repeating: 1, count: 15),  // 15 of 16 registers
            [1, 10] + [UInt8](repeating: 0, count: 8),  // accuracy 0
            [1, 10] + withUnsafeBytes(of: Double.nan.bitPattern.littleEndian, Array.init),
            [1, 10] + withUnsafeBytes(of: (1.5).bitPattern.littleEndian, Array.init),
            [1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // varint too long
        ]
        for bytes in cases {
            #expect(throws: (any Error).self, "\(bytes)") { try AggregateState.decode(bytes) }
        }
    }

    /// A count varint of 2^64 - 1 passes `Varint.read` (ten bytes) and must be rejected, not
    /// converted with `Int(_:)`, which traps. Runs in a child process so a crash fails only this test.
    @Test("a huge exact-hash count throws instead of trapping")
    func hugeDistinctCount() async {
        await #expect(processExitsWith: .success) {
            let bytes: [UInt8] = [1, 9, 12, 0] + [UInt8](repeating: 0xFF, count: 9) + [0x01]
            _ = try? AggregateState.decode(bytes)
        }
    }

    @Test("a huge quantile bin count throws instead of trapping")
    func hugeQuantileBinCount() async {
        await #expect(processExitsWith: .success) {
            var bytes: [UInt8] = [1, 10]
            withUnsafeBytes(of: (0.01).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            bytes += [1, 0]  // count, zero count
            withUnsafeBytes(of: (1.0).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: (1.0).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            bytes += [UInt8](repeating: 0xFF, count: 9) + [0x01]  // positive bins: 2^64 - 1
            _ = try? AggregateState.decode(bytes)
        }
    }

    /// Random corruption of valid encodings: decode either throws or returns a state; it never
    /// crashes. In a child process, so that a crash is reported as this test's failure.
    @Test("corrupted and random bytes never crash decode")
    func fuzz() async {
        await #expect(processExitsWith: .success) {
            var random = SplitMix64(seed: 0xF022)
            for round in 0..<3000 {
                let kind = AggregateKind.allCases[round % AggregateKind.allCases.count]
                var bytes = kind.fold(kind.values(&random, maxCount: 300)).encoded
                for _ in 0..<random.int(1...4) {
                    guard !bytes.isEmpty else { break }
                    let index = random.int(0...bytes.count - 1)
                    switch random.int(0...3) {
                    case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
                    case 1: bytes[index] ^= 1 << UInt8(random.int(0...7))
                    case 2: bytes.removeSubrange(index...)
                    default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: index)
                    }
                }
                _ = try? AggregateState.decode(bytes)
                let garbage = (0..<random.int(0...64)).map { _ in UInt8.random(in: 0...255, using: &random) }
                _ = try? AggregateState.decode([1] + garbage)
            }
        }
    }
}
