/// The on-disk framing of one log record (all integers little-endian):
///
/// ```
/// u32 length     bytes after this field
/// u32 crc32c     of every byte after this field
/// u64 offset
/// i64 event time (epoch ms)
/// i64 ingest time (epoch ms)
/// i32 key length (-1: no key)
///     key, then payload (the rest)
/// ```
enum RecordFormat {
    static let headerSize = 36
    /// `length` counts everything after itself: the CRC and the fixed fields.
    static let minimumLength = UInt32(headerSize - 4)
    /// No single record may exceed this; a longer length field is corruption.
    static let maximumLength = UInt32(64 << 20)

    /// Appends one framed record to `buffer`.
    static func append(
        offset: Int64, eventTime: Int64, ingestTime: Int64, key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer,
        to buffer: inout [UInt8]
    ) {
        let start = buffer.count
        let keyLength = key?.count ?? 0
        let length = UInt32(headerSize - 4 + keyLength + payload.count)
        appendInteger(length, to: &buffer)
        appendInteger(UInt32(0), to: &buffer)
        appendInteger(UInt64(bitPattern: offset), to: &buffer)
        appendInteger(UInt64(bitPattern: eventTime), to: &buffer)
        appendInteger(UInt64(bitPattern: ingestTime), to: &buffer)
        appendInteger(UInt32(bitPattern: key.map { Int32($0.count) } ?? -1), to: &buffer)
        if let key { buffer.append(contentsOf: key) }
        buffer.append(contentsOf: payload)
        let crc = buffer.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + 8)...])) }
        buffer.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: start + 4, as: UInt32.self) }
    }

    @inline(__always)
    static func appendInteger<T: FixedWidthInteger>(_ value: T, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    @inline(__always)
    static func load<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ at: Int, as: T.Type) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self))
    }

    /// The outcome of looking at the bytes at a position.
    enum Check {
        /// A whole, valid record of `size` bytes.
        case valid(size: Int, offset: Int64)
        /// Not enough bytes for the record the header announces.
        case incomplete
        /// The bytes are not a valid record (bad length or CRC).
        case corrupt(String, claimedSize: Int?)
    }

    /// Checks the record that starts at `position` of `bytes`.
    static func check(_ bytes: UnsafeRawBufferPointer, at position: Int) -> Check {
        guard bytes.count - position >= headerSize else { return .incomplete }
        let length = load(bytes, position, as: UInt32.self)
        guard length >= minimumLength, length <= maximumLength else {
            return .corrupt("record length \(length) is impossible", claimedSize: nil)
        }
        let size = Int(length) + 4
        guard bytes.count - position >= size else { return .incomplete }
        let stored = load(bytes, position + 4, as: UInt32.self)
        let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[(position + 8)..<(position + size)]))
        guard stored == actual else { return .corrupt("CRC mismatch", claimedSize: size) }
        let keyLength = Int32(bitPattern: load(bytes, position + 32, as: UInt32.self))
        guard keyLength >= -1, Int(keyLength) <= size - headerSize else {
            return .corrupt("key length \(keyLength) is impossible", claimedSize: size)
        }
        return .valid(size: size, offset: Int64(bitPattern: load(bytes, position + 8, as: UInt64.self)))
    }
}
