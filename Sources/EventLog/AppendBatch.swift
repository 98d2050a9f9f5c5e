/// Records to append to one partition, packed into one buffer (no allocation per record).
public struct AppendBatch: Sendable {
    struct Entry: Sendable {
        var keyStart: Int
        var keyCount: Int
        var payloadStart: Int
        var payloadCount: Int
        var eventTime: Int64
    }

    private(set) var bytes: [UInt8] = []
    private(set) var entries: [Entry] = []
    /// The key and payload bytes of the largest record, checked against ``EventLog/maxRecordBytes``.
    public private(set) var largestRecordBytes = 0

    /// Creates an empty batch.
    public init() {}

    /// How many records the batch holds.
    public var count: Int { entries.count }

    /// Whether the batch is empty.
    public var isEmpty: Bool { entries.isEmpty }

    /// The bytes of keys and payloads held.
    public var byteCount: Int { bytes.count }

    /// Adds a record.
    /// - Parameters:
    ///   - key: the partitioning key, or `nil`.
    ///   - payload: the record's payload.
    ///   - eventTime: the event time, epoch milliseconds.
    public mutating func append(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, eventTime: Int64) {
        let keyStart = key == nil ? -1 : bytes.count
        if let key { bytes.append(contentsOf: key) }
        let payloadStart = bytes.count
        bytes.append(contentsOf: payload)
        largestRecordBytes = max(largestRecordBytes, (key?.count ?? 0) + payload.count)
        entries.append(
            Entry(keyStart: keyStart, keyCount: key?.count ?? 0, payloadStart: payloadStart, payloadCount: payload.count, eventTime: eventTime))
    }

    /// Calls `body` with each record's position, key, payload and event time, in order; the bytes
    /// are valid only during the call.
    public func forEachRecord(
        _ body: (_ position: Int, _ key: UnsafeRawBufferPointer?, _ payload: UnsafeRawBufferPointer, _ eventTime: Int64) throws -> Void
    ) rethrows {
        try bytes.withUnsafeBytes { bytes in
            for (position, entry) in entries.enumerated() {
                let key = entry.keyStart < 0 ? nil : UnsafeRawBufferPointer(rebasing: bytes[entry.keyStart..<entry.keyStart + entry.keyCount])
                try body(
                    position, key, UnsafeRawBufferPointer(rebasing: bytes[entry.payloadStart..<entry.payloadStart + entry.payloadCount]),
                    entry.eventTime)
            }
        }
    }

    /// The batch without the records for which `keep` (given each record's position) is false.
    public func filter(_ keep: (Int) -> Bool) -> AppendBatch {
        var kept = AppendBatch()
        forEachRecord { position, key, payload, eventTime in
            if keep(position) { kept.append(key: key, payload: payload, eventTime: eventTime) }
        }
        return kept
    }

    /// Adds a record from arrays (convenient in tests and tools).
    public mutating func append(key: [UInt8]?, payload: [UInt8], eventTime: Int64) {
        payload.withUnsafeBytes { payloadBytes in
            if let key {
                key.withUnsafeBytes { append(key: $0, payload: payloadBytes, eventTime: eventTime) }
            } else {
                append(key: nil, payload: payloadBytes, eventTime: eventTime)
            }
        }
    }
}

/// The offsets a batch was given in one partition: `first...last`. In the embedded log they are
/// contiguous; in Kafka, messages of other producers may fall between them.
public struct OffsetRange: Sendable, Equatable, Hashable {
    /// The first record's offset.
    public var first: Int64
    /// The last record's offset.
    public var last: Int64
    /// The number of offsets in the range.
    public var count: Int { Int(last - first + 1) }

    /// Creates a range.
    public init(first: Int64, last: Int64) {
        self.first = first
        self.last = last
    }
}
