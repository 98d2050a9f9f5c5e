import Events

/// Reads the binary encodings of aggregate states, group keys and rows.
public struct ByteReader {
    let bytes: [UInt8]
    var position = 0

    /// Bytes that do not decode.
    public struct Failure: Error, CustomStringConvertible {
        /// What is wrong.
        public var description: String
        /// Describes a failure.
        public init(description: String) { self.description = description }
    }

    /// A reader at the start of `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Whether every byte was read.
    public var atEnd: Bool { position >= bytes.count }

    /// One byte.
    public mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw Failure(description: "truncated state") }
        defer { position += 1 }
        return bytes[position]
    }

    /// An unsigned LEB128 integer.
    public mutating func varint() throws -> UInt64 {
        let value = bytes.withUnsafeBytes { Varint.read($0, at: &position) }
        guard let value else { throw Failure(description: "truncated varint") }
        return value
    }

    /// A zigzag LEB128 integer.
    public mutating func signed() throws -> Int64 {
        let value = bytes.withUnsafeBytes { Varint.readSigned($0, at: &position) }
        guard let value else { throw Failure(description: "truncated varint") }
        return value
    }

    /// A little-endian IEEE double.
    public mutating func double() throws -> Double {
        guard bytes.count - position >= 8 else { throw Failure(description: "truncated double") }
        let bits = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: UInt64.self)) }
        position += 8
        return Double(bitPattern: bits)
    }

    /// The next `count` bytes.
    public mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        // `count <= remaining`, not `position + count <= bytes.count`: a forged length near
        // Int.max must not overflow the sum (found by fuzzing).
        guard count >= 0, count <= bytes.count - position else { throw Failure(description: "truncated bytes") }
        defer { position += count }
        return bytes[position..<position + count]
    }
}

extension Array where Element == UInt8 {
    mutating func appendDouble(_ value: Double) {
        Swift.withUnsafeBytes(of: value.bitPattern.littleEndian) { append(contentsOf: $0) }
    }
}
