/// A 128-bit fingerprint of an event's id (the value of its stream's `id_field`), by which ingest
/// recognises an event it has already accepted.
///
/// The two halves are SipHash values under the process's random seed (Swift's `Hasher`), so ids
/// chosen to collide cannot be crafted from outside, and two different ids share a fingerprint
/// with a probability of about n² / 2¹²⁹ (10⁻²⁴ for 10M ids): an event is never taken for a
/// duplicate of another. Fingerprints are meaningful only within one process; a restarted server
/// computes them again from the log.
public struct EventFingerprint: Hashable, Sendable {
    /// The first half; never 0, so that 0 can mark an empty slot in a table.
    public var high: UInt64
    /// The second half.
    public var low: UInt64

    /// Creates a fingerprint from its halves (`high` 0 is mapped to 1).
    public init(high: UInt64, low: UInt64) {
        self.high = high == 0 ? 1 : high
        self.low = low
    }

    @inline(__always)
    private static func make(tag: UInt8, _ feed: (inout Hasher) -> Void) -> EventFingerprint {
        var first = Hasher()
        first.combine(tag)
        first.combine(UInt8(0))
        feed(&first)
        var second = Hasher()
        second.combine(tag)
        second.combine(UInt8(1))
        feed(&second)
        return EventFingerprint(high: UInt64(truncatingIfNeeded: first.finalize()), low: UInt64(truncatingIfNeeded: second.finalize()))
    }

    /// The fingerprint of a string id, by its UTF-8 bytes.
    public init(string utf8: UnsafeRawBufferPointer) {
        self = Self.make(tag: 1) { $0.combine(bytes: utf8) }
    }

    /// The fingerprint of an `int` or `timestamp` id.
    public init(integer: Int64) {
        self = Self.make(tag: 2) { $0.combine(integer) }
    }

    /// The fingerprint of a `double` id (0.0 and -0.0 are one id).
    public init(double: Double) {
        self = Self.make(tag: 3) { $0.combine(double == 0 ? 0 : double.bitPattern) }
    }

    /// The fingerprint of a `bool` id.
    public init(bool: Bool) {
        self = Self.make(tag: 4) { $0.combine(bool) }
    }
}

/// Reads the fingerprint of the id field of encoded records (``RecordCodec``), reusing its
/// buffers from record to record: how a restarted server remembers the ids in its log.
public struct EventIDReader {
    private let field: Int
    private let fieldTypes: [FieldType]
    private let wanted: [Bool]
    private let spanned: [Bool]
    private var values: [FieldValue?]
    private var spans: [Int]

    /// A reader for `definition`'s id field, or `nil` when the stream has none.
    public init?(definition: StreamDefinition) {
        guard let name = definition.idField, let field = definition.fieldIndex(name) else { return nil }
        self.field = field
        fieldTypes = definition.fields.map(\.type)
        var wanted = [Bool](repeating: false, count: fieldTypes.count)
        wanted[field] = true
        self.wanted = wanted
        spanned = fieldTypes[field] == .string ? wanted : []
        values = [FieldValue?](repeating: nil, count: fieldTypes.count)
        spans = [Int](repeating: -1, count: fieldTypes.count)
    }

    /// The fingerprint of the record's id, or `nil` when it has no value for the id field.
    /// - Throws: ``RecordCodec/DecodingError`` for a damaged record.
    public mutating func fingerprint(of record: UnsafeRawBufferPointer) throws -> EventFingerprint? {
        try RecordCodec.decode(record, fieldTypes: fieldTypes, wanted: wanted, spanned: spanned, into: &values, spans: &spans)
        if !spanned.isEmpty {
            let span = spans[field]
            guard span >= 0 else { return nil }
            let start = span >> 32, count = span & 0xFFFF_FFFF
            return EventFingerprint(string: UnsafeRawBufferPointer(rebasing: record[start..<start + count]))
        }
        switch values[field] {
        case .int(let value)?, .timestamp(let value)?: return EventFingerprint(integer: value)
        case .double(let value)?: return EventFingerprint(double: value)
        case .bool(let value)?: return EventFingerprint(bool: value)
        case .string?, nil: return nil
        }
    }
}
