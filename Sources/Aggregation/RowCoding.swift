import Events

/// Binary encodings of group keys and rows of states, for storing a view version in PostgreSQL
/// (`bytea` columns). Deterministic: equal keys and equal states encode to equal bytes.
public enum RowCoding {
    /// The format version written first.
    public static let version: UInt8 = 1

    /// Encodes a group key: version, count, then per value a tag (0 absent, then the field type's
    /// tag) and the value.
    public static func encode(_ key: GroupKey) -> [UInt8] {
        var bytes: [UInt8] = []
        appendKeyHeader(count: key.values.count, to: &bytes)
        for value in key.values { appendKeyValue(value, to: &bytes) }
        return bytes
    }

    /// Appends what comes before the values of a group key of `count` values.
    public static func appendKeyHeader(count: Int, to bytes: inout [UInt8]) {
        bytes.append(version)
        Varint.append(UInt64(count), to: &bytes)
    }

    /// Appends one value of a group key: a tag (0 absent, then the field type's tag) and the
    /// value. A key is its header then its values in order.
    public static func appendKeyValue(_ value: FieldValue?, to bytes: inout [UInt8]) {
        switch value {
        case nil: bytes.append(0)
        case .string(let text)?:
            bytes.append(1)
            Varint.append(UInt64(text.utf8.count), to: &bytes)
            bytes.append(contentsOf: text.utf8)
        case .int(let number)?:
            bytes.append(2)
            Varint.appendSigned(number, to: &bytes)
        case .double(let number)?:
            bytes.append(3)
            bytes.appendDouble(number)
        case .bool(let flag)?:
            bytes.append(4)
            bytes.append(flag ? 1 : 0)
        case .timestamp(let millis)?:
            bytes.append(5)
            Varint.appendSigned(millis, to: &bytes)
        }
    }

    /// Decodes a group key written by ``encode(_:)-(GroupKey)``.
    public static func decodeKey(_ bytes: [UInt8]) throws -> GroupKey {
        var reader = ByteReader(bytes)
        guard try reader.byte() == version else { throw ByteReader.Failure(description: "unknown group key version") }
        guard let count = Int(exactly: try reader.varint()), count <= bytes.count else { throw ByteReader.Failure(description: "bad group key") }
        var values: [FieldValue?] = []
        for _ in 0..<count {
            switch try reader.byte() {
            case 0: values.append(nil)
            case 1:
                guard let length = Int(exactly: try reader.varint()) else { throw ByteReader.Failure(description: "bad string") }
                values.append(.string(String(decoding: try reader.take(length), as: UTF8.self)))
            case 2: values.append(.int(try reader.signed()))
            case 3: values.append(.double(try reader.double()))
            case 4: values.append(.bool(try reader.byte() != 0))
            case 5: values.append(.timestamp(try reader.signed()))
            default: throw ByteReader.Failure(description: "bad group key value tag")
            }
        }
        guard reader.atEnd else { throw ByteReader.Failure(description: "trailing bytes after group key") }
        return GroupKey(values)
    }

    /// Encodes a row of states: version, count, then each state's encoding with its length.
    public static func encode(_ row: [AggregateState]) -> [UInt8] {
        var bytes: [UInt8] = [], scratch: [UInt8] = []
        append(row[...], to: &bytes, scratch: &scratch)
        return bytes
    }

    /// Appends the encoding of a row of states (as ``encode(_:)-([AggregateState])``), using
    /// `scratch` for each state so that a caller encoding many rows allocates nothing per row.
    ///
    /// With `then`, that state is written after the row's, as its last.
    public static func append(
        _ row: ArraySlice<AggregateState>, then last: AggregateState? = nil, to bytes: inout [UInt8], scratch: inout [UInt8]
    ) {
        bytes.append(version)
        Varint.append(UInt64(row.count + (last == nil ? 0 : 1)), to: &bytes)
        func append(_ state: AggregateState) {
            scratch.removeAll(keepingCapacity: true)
            state.encode(into: &scratch)
            Varint.append(UInt64(scratch.count), to: &bytes)
            bytes.append(contentsOf: scratch)
        }
        for index in row.indices { append(row[index]) }
        if let last { append(last) }
    }

    /// Decodes a row written by ``encode(_:)-([AggregateState])``.
    public static func decodeRow(_ bytes: [UInt8]) throws -> [AggregateState] {
        var reader = ByteReader(bytes)
        guard try reader.byte() == version else { throw ByteReader.Failure(description: "unknown row version") }
        guard let count = Int(exactly: try reader.varint()), count <= bytes.count else { throw ByteReader.Failure(description: "bad row") }
        var row: [AggregateState] = []
        for _ in 0..<count {
            guard let length = Int(exactly: try reader.varint()) else { throw ByteReader.Failure(description: "bad state length") }
            row.append(try AggregateState.decode(Array(try reader.take(length))))
        }
        guard reader.atEnd else { throw ByteReader.Failure(description: "trailing bytes after row") }
        return row
    }
}
