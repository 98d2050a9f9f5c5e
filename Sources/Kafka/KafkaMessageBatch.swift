/// One message read from a partition.
public struct KafkaMessage: Sendable {
    /// The message's offset in its partition.
    public var offset: Int64
    /// The message's timestamp (milliseconds since 1970), or `nil` when it has none.
    public var timestamp: Int64?
    /// The key, or `nil` when the message has none.
    public var key: ArraySlice<UInt8>?
    /// The value.
    public var value: ArraySlice<UInt8>
}

/// Consecutive messages of one partition, copied out of librdkafka into one buffer.
public struct KafkaMessageBatch: Sendable, RandomAccessCollection {
    struct Reference: Sendable {
        var offset: Int64
        var timestamp: Int64
        var key: Range<Int>?
        var value: Range<Int>
    }

    var storage: [UInt8] = []
    var references: [Reference] = []
    /// The offset after the last message of the batch: where reading goes on.
    public internal(set) var nextOffset: Int64

    init(nextOffset: Int64) { self.nextOffset = nextOffset }

    public var startIndex: Int { 0 }
    public var endIndex: Int { references.count }

    public subscript(position: Int) -> KafkaMessage {
        let reference = references[position]
        return KafkaMessage(
            offset: reference.offset, timestamp: reference.timestamp >= 0 ? reference.timestamp : nil,
            key: reference.key.map { storage[$0] }, value: storage[reference.value])
    }

    mutating func append(offset: Int64, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) {
        let keyRange = key.map { key -> Range<Int> in
            let start = storage.count
            storage.append(contentsOf: key)
            return start..<storage.count
        }
        let start = storage.count
        storage.append(contentsOf: value)
        references.append(Reference(offset: offset, timestamp: timestamp, key: keyRange, value: start..<storage.count))
        nextOffset = offset + 1
    }
}
