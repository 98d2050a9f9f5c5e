import Events
import Foundation

/// Counts distinct values: exactly (a set of 64-bit hashes) while few, then as a HyperLogLog with
/// 2^precision one-byte registers. Merging is a set union or a register-wise maximum, so the state
/// is a commutative, associative monoid whatever the split of the data.
public struct DistinctSketch: Sendable, Equatable {
    /// Up to this many distinct hashes are kept exactly.
    public static let exactLimit = 256

    /// Registers: 4 bits of the hash pick a register... precision bits, in general.
    public let precision: Int
    private(set) var exact: Set<UInt64>? = []
    private(set) var registers: [UInt8] = []

    /// An empty sketch.
    public init(precision: Int) {
        self.precision = precision
    }

    /// The stated standard error of the estimate once it is no longer exact.
    /// An estimate of the heap memory held, in bytes.
    var heapBytes: Int { registers.count + (exact.map { $0.count * 16 + 32 } ?? 0) }

    public var standardError: Double { 1.04 / Double(1 << precision).squareRoot() }

    /// Adds a value.
    @inline(__always)
    public mutating func add(_ value: FieldValue) {
        addHash(Self.hash(value))
    }

    @inline(__always)
    mutating func addHash(_ hash: UInt64) {
        if exact != nil {
            exact!.insert(hash)
            if exact!.count > Self.exactLimit { densify() }
        } else {
            insertRegister(hash)
        }
    }

    @inline(__always)
    private mutating func insertRegister(_ hash: UInt64) {
        let index = Int(hash >> UInt64(64 - precision))
        let rest = hash << UInt64(precision)
        let rank = UInt8(min(rest.leadingZeroBitCount, 64 - precision) + 1)
        if registers[index] < rank { registers[index] = rank }
    }

    private mutating func densify() {
        let hashes = exact ?? []
        exact = nil
        registers = [UInt8](repeating: 0, count: 1 << precision)
        for hash in hashes { insertRegister(hash) }
    }

    /// Merges another sketch of the same precision.
    public mutating func merge(_ other: DistinctSketch) {
        precondition(other.precision == precision, "distinct sketches of different precision")
        if let otherExact = other.exact {
            for hash in otherExact { addHash(hash) }
            return
        }
        if exact != nil { densify() }
        for index in registers.indices where other.registers[index] > registers[index] { registers[index] = other.registers[index] }
    }

    /// The number of distinct values (exact while at most ``exactLimit``).
    public var estimate: Int64 {
        if let exact { return Int64(exact.count) }
        let m = Double(registers.count)
        var sum = 0.0
        var zeros = 0
        for register in registers {
            sum += 1 / Double(UInt64(1) << UInt64(register))
            if register == 0 { zeros += 1 }
        }
        let alpha: Double =
            switch registers.count {
            case 16: 0.673
            case 32: 0.697
            case 64: 0.709
            default: 0.7213 / (1 + 1.079 / m)
            }
        let raw = alpha * m * m / sum
        if raw <= 2.5 * m && zeros > 0 { return Int64((m * log(m / Double(zeros))).rounded()) }
        // Clamped: decoded registers are bounded, but an estimate must never trap.
        return Int64(exactly: raw.rounded()) ?? Int64.max
    }

    /// A stable 64-bit hash of a value (FNV-1a over a type tag and the value's bytes, then a
    /// SplitMix64 finaliser). Stable across processes and versions: states are stored.
    public static func hash(_ value: FieldValue) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        @inline(__always) func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        @inline(__always) func mix64(_ word: UInt64) {
            for shift in stride(from: 0, to: 64, by: 8) { mix(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        switch value {
        case .string(let text):
            mix(1)
            for byte in text.utf8 { mix(byte) }
        case .int(let number):
            mix(2)
            mix64(UInt64(bitPattern: number))
        case .double(let number):
            mix(3)
            mix64((number == 0 ? 0 : number).bitPattern)
        case .bool(let flag):
            mix(4)
            mix(flag ? 1 : 0)
        case .timestamp(let millis):
            mix(5)
            mix64(UInt64(bitPattern: millis))
        }
        var z = hash &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    func encode(into bytes: inout [UInt8]) {
        bytes.append(UInt8(precision))
        if let exact {
            bytes.append(0)
            Varint.append(UInt64(exact.count), to: &bytes)
            for hash in exact.sorted() { withUnsafeBytes(of: hash.littleEndian) { bytes.append(contentsOf: $0) } }
        } else {
            bytes.append(1)
            bytes.append(contentsOf: registers)
        }
    }

    static func decode(_ reader: inout ByteReader) throws -> DistinctSketch {
        let precision = Int(try reader.byte())
        guard (4...16).contains(precision) else { throw ByteReader.Failure(description: "bad distinct precision \(precision)") }
        var sketch = DistinctSketch(precision: precision)
        switch try reader.byte() {
        case 0:
            guard let count = Int(exactly: try reader.varint()), count <= exactLimit else {
                throw ByteReader.Failure(description: "too many exact hashes")
            }
            var set = Set<UInt64>(minimumCapacity: count)
            for _ in 0..<count {
                let raw = try reader.take(8)
                set.insert(raw.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
            }
            sketch.exact = set
        case 1:
            sketch.exact = nil
            let registers = Array(try reader.take(1 << precision))
            // A rank is at most 64 - p + 1; anything above is damage (found by fuzzing).
            guard registers.allSatisfy({ Int($0) <= 65 - precision }) else { throw ByteReader.Failure(description: "bad distinct register") }
            sketch.registers = registers
        default:
            throw ByteReader.Failure(description: "bad distinct mode")
        }
        return sketch
    }
}
