/// The compact binary format of a stored event (the log record's payload).
///
/// ```
/// u8      format version (1)
/// varint  schema version the record was written with
/// varint  n: how many schema fields the writer knew
/// bytes   presence bitmap, ceil(n / 8) bytes, bit i set when field i has a value
/// values  for each present field in schema order:
///         string: varint length + UTF-8; int, timestamp: zigzag varint;
///         double: 8 bytes little-endian; bool: 1 byte
/// ```
/// A reader whose schema has more fields than `n` sees the extra fields as absent, which is how a
/// field added later reads on old records.
public enum RecordCodec {
    /// The current format version byte.
    public static let formatVersion: UInt8 = 1

    /// A record that does not decode.
    public struct DecodingError: Error, Sendable, CustomStringConvertible {
        /// What is wrong.
        public var message: String
        public var description: String { "undecodable record: \(message)" }
    }

    /// Encodes `values` (one per schema field, `nil` for absent) after `bytes`.
    public static func encode(_ values: [FieldValue?], schemaVersion: Int, into bytes: inout [UInt8]) {
        var writer = RecordWriter(fieldCount: values.count, schemaVersion: schemaVersion, into: &bytes)
        for (index, value) in values.enumerated() {
            guard let value else { continue }
            switch value {
            case .string(let text):
                var text = text
                text.withUTF8 { writer.writeString(UnsafeRawBufferPointer($0), field: index, into: &bytes) }
            case .int(let number): writer.writeInt(number, field: index, into: &bytes)
            case .timestamp(let millis): writer.writeInt(millis, field: index, into: &bytes)
            case .double(let number): writer.writeDouble(number, field: index, into: &bytes)
            case .bool(let flag): writer.writeBool(flag, field: index, into: &bytes)
            }
        }
    }

    /// Decodes a record into one value per field of `definition` (`nil` for absent).
    public static func decode(_ bytes: UnsafeRawBufferPointer, definition: StreamDefinition) throws -> [FieldValue?] {
        var values = [FieldValue?](repeating: nil, count: definition.fields.count)
        try forEachField(bytes, definition: definition) { index, value in values[index] = value }
        return values
    }

    /// Calls `body` with each present field's index and value, in schema order.
    public static func forEachField(
        _ bytes: UnsafeRawBufferPointer,
        definition: StreamDefinition,
        _ body: (Int, FieldValue) throws -> Void
    ) throws {
        func fail(_ message: String) -> DecodingError { DecodingError(message: message) }
        guard bytes.count >= 1, bytes[0] == formatVersion else { throw fail("unknown format version") }
        var position = 1
        guard Varint.read(bytes, at: &position) != nil, let count = Self.fieldCount(bytes, at: &position) else {
            throw fail("truncated header")
        }
        let fieldCount = count
        let bitmapStart = position
        position += (fieldCount + 7) / 8
        guard position <= bytes.count else { throw fail("truncated presence bitmap") }
        for index in 0..<fieldCount where bytes[bitmapStart + index / 8] & (1 << UInt8(index % 8)) != 0 {
            guard index < definition.fields.count else { throw fail("field \(index) is not in the schema") }
            let value: FieldValue
            switch definition.fields[index].type {
            case .string:
                guard let length = Self.length(bytes, at: &position) else { throw fail("truncated string") }
                value = .string(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<position + length]), as: UTF8.self))
                position += length
            case .int:
                guard let number = Varint.readSigned(bytes, at: &position) else { throw fail("truncated int") }
                value = .int(number)
            case .timestamp:
                guard let number = Varint.readSigned(bytes, at: &position) else { throw fail("truncated timestamp") }
                value = .timestamp(number)
            case .double:
                guard position + 8 <= bytes.count else { throw fail("truncated double") }
                value = .double(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))))
                position += 8
            case .bool:
                guard position < bytes.count else { throw fail("truncated bool") }
                value = .bool(bytes[position] != 0)
                position += 1
            }
            try body(index, value)
        }
    }

    /// Decodes only the `wanted` fields of a record into `values` (one slot per schema field; the
    /// others are set to `nil`), skipping the rest without building strings. Fields beyond the
    /// reader's schema (written by a newer version of the stream) are ignored.
    ///
    /// This is the read path of the aggregation layers: `values` is reused from record to record.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, fieldTypes: [FieldType], wanted: [Bool], into values: inout [FieldValue?]
    ) throws {
        var spans: [Int] = []
        try decode(bytes, fieldTypes: fieldTypes, wanted: wanted, spanned: [], into: &values, spans: &spans)
    }

    /// Decodes as ``decode(_:fieldTypes:wanted:into:)``, except that a string field marked in
    /// `spanned` is not built: `spans` gets its position in `bytes` (shifted left 32 bits) and its
    /// length, or -1 when absent, and `values` holds `nil` for it. `spanned` is empty or has one
    /// flag per schema field, as has `spans` then.
    @inline(__always)
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, fieldTypes: [FieldType], wanted: [Bool], spanned: [Bool], into values: inout [FieldValue?],
        spans: inout [Int]
    ) throws {
        func fail(_ message: String) -> DecodingError { DecodingError(message: message) }
        for index in values.indices { values[index] = nil }
        for index in spans.indices { spans[index] = -1 }
        guard bytes.count >= 1, bytes[0] == formatVersion else { throw fail("unknown format version") }
        var position = 1
        guard Varint.read(bytes, at: &position) != nil, let count = Self.fieldCount(bytes, at: &position) else {
            throw fail("truncated header")
        }
        let fieldCount = min(count, fieldTypes.count)
        let bitmapStart = position
        position += (count + 7) / 8
        guard position <= bytes.count else { throw fail("truncated presence bitmap") }
        for index in 0..<fieldCount where bytes[bitmapStart + index / 8] & (1 << UInt8(index % 8)) != 0 {
            let keep = wanted[index]
            switch fieldTypes[index] {
            case .string:
                guard let length = Self.length(bytes, at: &position) else { throw fail("truncated string") }
                if !spanned.isEmpty && spanned[index] {
                    spans[index] = position << 32 | length
                } else if keep {
                    values[index] = .string(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<position + length]), as: UTF8.self))
                }
                position += length
            case .int, .timestamp:
                guard let number = Varint.readSigned(bytes, at: &position) else { throw fail("truncated int") }
                if keep { values[index] = fieldTypes[index] == .int ? .int(number) : .timestamp(number) }
            case .double:
                guard position + 8 <= bytes.count else { throw fail("truncated double") }
                if keep {
                    values[index] = .double(
                        Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))))
                }
                position += 8
            case .bool:
                guard position < bytes.count else { throw fail("truncated bool") }
                if keep { values[index] = .bool(bytes[position] != 0) }
                position += 1
            }
        }
    }

    /// A string's length, read at `position`, when that many bytes follow it. Never traps: a
    /// damaged record can hold any varint (found by fuzzing).
    @inline(__always)
    static func length(_ bytes: UnsafeRawBufferPointer, at position: inout Int) -> Int? {
        guard let length = Varint.read(bytes, at: &position), length <= UInt64(bytes.count - position) else { return nil }
        return Int(length)
    }

    /// A record's field count, when its presence bitmap can fit in the bytes that follow.
    @inline(__always)
    static func fieldCount(_ bytes: UnsafeRawBufferPointer, at position: inout Int) -> Int? {
        guard let count = Varint.read(bytes, at: &position), count <= UInt64(bytes.count - position) * 8 else { return nil }
        return Int(count)
    }

    /// The schema version a record was written with.
    public static func schemaVersion(of bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 1, bytes[0] == formatVersion else { return nil }
        var position = 1
        // `Int(exactly:)`: a damaged record can hold any varint here (found by fuzzing).
        return Varint.read(bytes, at: &position).flatMap { Int(exactly: $0) }
    }
}

/// Writes one record field by field, in schema order, with no intermediate values.
///
/// Used by the ingest parser, which writes straight from the request body into the record.
public struct RecordWriter {
    private let bitmapStart: Int

    /// Starts a record after the current end of `bytes`.
    public init(fieldCount: Int, schemaVersion: Int, into bytes: inout [UInt8]) {
        bytes.append(RecordCodec.formatVersion)
        Varint.append(UInt64(schemaVersion), to: &bytes)
        Varint.append(UInt64(fieldCount), to: &bytes)
        bitmapStart = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: (fieldCount + 7) / 8))
    }

    @inline(__always)
    private func mark(_ field: Int, _ bytes: inout [UInt8]) {
        bytes[bitmapStart + field / 8] |= 1 << UInt8(field % 8)
    }

    /// Writes a string field from UTF-8 bytes.
    @inline(__always)
    public func writeString(_ utf8: UnsafeRawBufferPointer, field: Int, into bytes: inout [UInt8]) {
        mark(field, &bytes)
        Varint.append(UInt64(utf8.count), to: &bytes)
        bytes.append(contentsOf: utf8)
    }

    /// Writes an int or timestamp field.
    @inline(__always)
    public func writeInt(_ value: Int64, field: Int, into bytes: inout [UInt8]) {
        mark(field, &bytes)
        Varint.appendSigned(value, to: &bytes)
    }

    /// Writes a double field.
    @inline(__always)
    public func writeDouble(_ value: Double, field: Int, into bytes: inout [UInt8]) {
        mark(field, &bytes)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Writes a bool field.
    @inline(__always)
    public func writeBool(_ value: Bool, field: Int, into bytes: inout [UInt8]) {
        mark(field, &bytes)
        bytes.append(value ? 1 : 0)
    }
}
