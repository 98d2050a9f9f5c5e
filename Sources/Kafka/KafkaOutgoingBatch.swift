/// Messages to produce to one topic, packed in one buffer (no allocation per message).
public struct KafkaOutgoingBatch: Sendable {
    struct Entry: Sendable {
        var key: Range<Int>?
        var value: Range<Int>
        var partition: Int32
    }

    var bytes: [UInt8] = []
    var entries: [Entry] = []

    /// An empty batch.
    public init() {}

    /// How many messages the batch holds.
    public var count: Int { entries.count }

    /// Whether the batch holds no message.
    public var isEmpty: Bool { entries.isEmpty }

    /// Adds a message.
    /// - Parameters:
    ///   - key: the message key; `nil` for none.
    ///   - value: the message value.
    ///   - partition: the partition; `nil` lets the producer's partitioner choose (murmur2 of the
    ///     key, as Java clients do; a random partition without a key).
    public mutating func append(key: (some Collection<UInt8>)?, value: some Collection<UInt8>, partition: Int? = nil) {
        append(key: key, partition: partition) { $0.append(contentsOf: value) }
    }

    /// Adds a message whose value `writeValue` appends to the batch's buffer in place (no copy).
    public mutating func append(
        key: (some Collection<UInt8>)?, partition: Int? = nil, writeValue: (inout [UInt8]) throws -> Void
    ) rethrows {
        let keyStart = bytes.count
        if let key { bytes.append(contentsOf: key) }
        let valueStart = bytes.count
        try writeValue(&bytes)
        entries.append(
            Entry(key: key == nil ? nil : keyStart..<valueStart, value: valueStart..<bytes.count, partition: partition.map(Int32.init) ?? -1))
    }

    /// Adds a message without a key.
    public mutating func append(value: some Collection<UInt8>, partition: Int? = nil) {
        append(key: [UInt8]?.none, value: value, partition: partition)
    }
}

/// Where the cluster put a message.
public struct KafkaDelivery: Sendable, Equatable {
    /// The partition.
    public var partition: Int
    /// The message's offset, or `nil` when the broker did not say (librdkafka reports no offset
    /// for some messages that an idempotent producer had to retry).
    public var offset: Int64?

    /// Creates a delivery.
    public init(partition: Int, offset: Int64?) {
        self.partition = partition
        self.offset = offset
    }
}
