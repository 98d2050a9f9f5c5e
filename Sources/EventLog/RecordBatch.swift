/// One stored record, as read back from the log.
public struct LogRecord: Sendable {
    /// The record's position in its partition.
    public var offset: Int64
    /// Event time, epoch milliseconds.
    public var eventTime: Int64
    /// When the log accepted it, epoch milliseconds.
    public var ingestTime: Int64
    /// The partitioning key, if the record has one.
    public var key: ArraySlice<UInt8>?
    /// The payload bytes.
    public var payload: ArraySlice<UInt8>
}

/// Consecutive records of one partition, read in one go and held in one buffer.
public struct RecordBatch: Sendable, RandomAccessCollection {
    @usableFromInline
    struct Reference: Sendable {
        @usableFromInline var offset: Int64
        @usableFromInline var eventTime: Int64
        var ingestTime: Int64
        var keyStart: Int
        var keyCount: Int
        @usableFromInline var payloadStart: Int
        @usableFromInline var payloadCount: Int
    }

    @usableFromInline var storage: [UInt8] = []
    @usableFromInline var references: [Reference] = []

    /// An empty batch.
    public init() {}

    public var startIndex: Int { 0 }
    public var endIndex: Int { references.count }

    public subscript(position: Int) -> LogRecord {
        let reference = references[position]
        return LogRecord(
            offset: reference.offset,
            eventTime: reference.eventTime,
            ingestTime: reference.ingestTime,
            key: reference.keyStart < 0 ? nil : storage[reference.keyStart..<reference.keyStart + reference.keyCount],
            payload: storage[reference.payloadStart..<reference.payloadStart + reference.payloadCount]
        )
    }

    /// Calls `body` with each record's offset, event time and payload, in order, over the
    /// batch's buffer: the hot path of the consumers, with no slice (and no reference count)
    /// per record. The payload is valid only during its call.
    @inlinable
    public func forEachPayload(_ body: (_ offset: Int64, _ eventTime: Int64, _ payload: UnsafeRawBufferPointer) throws -> Void) rethrows {
        try storage.withUnsafeBytes { bytes in
            for reference in references {
                try body(
                    reference.offset, reference.eventTime,
                    UnsafeRawBufferPointer(rebasing: bytes[reference.payloadStart..<reference.payloadStart + reference.payloadCount]))
            }
        }
    }

    /// When the log accepted the batch's last record (epoch ms), if the batch is not empty.
    public var lastIngestTime: Int64? { references.last?.ingestTime }

    /// Where reading goes on past records that a backend dropped from the batch (Kafka messages
    /// that fail validation); `nil` when the batch dropped none after its last record.
    @usableFromInline var coveredEnd: Int64?

    /// The offset after the last record, or after the last offset the batch covers when its
    /// trailing records were dropped; `nil` for an empty batch that covers nothing.
    public var nextOffset: Int64? {
        let afterLast = references.last.map { $0.offset + 1 }
        guard let coveredEnd else { return afterLast }
        return Swift.max(afterLast ?? coveredEnd, coveredEnd)
    }

    /// Appends a record that a backend decoded itself (the embedded log copies framed records
    /// instead). Offsets must grow.
    public mutating func append(
        offset: Int64, eventTime: Int64, ingestTime: Int64, key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer
    ) {
        let keyStart = key == nil ? -1 : storage.count
        if let key { storage.append(contentsOf: key) }
        let payloadStart = storage.count
        storage.append(contentsOf: payload)
        references.append(
            Reference(
                offset: offset, eventTime: eventTime, ingestTime: ingestTime, keyStart: keyStart, keyCount: key?.count ?? 0,
                payloadStart: payloadStart, payloadCount: payload.count))
    }

    /// Marks every offset below `end` as read, though records there were dropped from the batch:
    /// ``nextOffset`` is then at least `end`.
    public mutating func cover(upTo end: Int64) {
        coveredEnd = Swift.max(coveredEnd ?? end, end)
    }

    /// The bytes of record data held.
    public var byteCount: Int { storage.count }

    /// Copies one framed record (checked by the caller) from `bytes` at `position`.
    mutating func appendFramed(_ bytes: UnsafeRawBufferPointer, at position: Int, size: Int) {
        if storage.isEmpty { storage.reserveCapacity(Swift.max(size, Swift.min(bytes.count - position, 1 << 20))) }
        let base = storage.count
        storage.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[(position + RecordFormat.headerSize)..<(position + size)]))
        let keyLength = Int(Int32(bitPattern: RecordFormat.load(bytes, position + 32, as: UInt32.self)))
        let keyCount = Swift.max(keyLength, 0)
        references.append(
            Reference(
                offset: Int64(bitPattern: RecordFormat.load(bytes, position + 8, as: UInt64.self)),
                eventTime: Int64(bitPattern: RecordFormat.load(bytes, position + 16, as: UInt64.self)),
                ingestTime: Int64(bitPattern: RecordFormat.load(bytes, position + 24, as: UInt64.self)),
                keyStart: keyLength < 0 ? -1 : base,
                keyCount: keyCount,
                payloadStart: base + keyCount,
                payloadCount: size - RecordFormat.headerSize - keyCount
            )
        )
    }
}
