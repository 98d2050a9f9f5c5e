/// A named, partitioned log: one ``PartitionLog`` per partition.
public final class Topic: Sendable {
    /// The topic's name.
    public let name: String
    /// The topic's identity: random, set when the topic was created, kept in `topic.meta`. A cut
    /// carries it, so that a version is never merged with a log it was not built from (a log
    /// restored from elsewhere, or deleted and created again).
    public let id: String
    let partitions: [PartitionLog]

    init(name: String, id: String, partitions: [PartitionLog]) {
        self.name = name
        self.id = id
        self.partitions = partitions
    }

    /// Syncs every partition's writes to disk now (with `durability: interval`; a no-op with
    /// `batch`, where every acknowledged write is synced): every offset below the end offsets
    /// read before this call is durable when it returns.
    /// - Throws: ``LogError`` when a sync fails (the partition fail-stops) or a partition had.
    public func syncAll() throws {
        for partition in partitions { try partition.syncNow() }
    }

    /// How many partitions the topic has.
    public var partitionCount: Int { partitions.count }

    private func partition(_ index: Int) throws -> PartitionLog {
        guard partitions.indices.contains(index) else {
            throw LogError(.unknownPartition, "topic \"\(name)\" has no partition \(index) (it has \(partitions.count))")
        }
        return partitions[index]
    }

    /// Appends a batch to a partition and returns the offsets it was given, once it is durable
    /// (see ``LogConfiguration/Durability``).
    public func append(_ batch: AppendBatch, to partition: Int) async throws -> OffsetRange {
        try await self.partition(partition).append(batch)
    }

    /// Reads records of a partition from `offset` on.
    /// - Parameters:
    ///   - partition: the partition.
    ///   - offset: the first offset wanted; records before it are skipped.
    ///   - maxRecords: the most records returned.
    ///   - maxBytes: about the most bytes returned (one record is returned even when larger).
    /// - Returns: records in offset order; empty when `offset` is at the end.
    public func read(partition: Int, from offset: Int64, maxRecords: Int = 10_000, maxBytes: Int = 4 << 20) throws -> RecordBatch {
        try self.partition(partition).read(from: offset, maxRecords: maxRecords, maxBytes: maxBytes)
    }

    /// The live records of a partition from `offset` on, waking on each append.
    public func tail(partition: Int, from offset: Int64, maxRecords: Int = 10_000, maxBytes: Int = 4 << 20) throws -> PartitionTail {
        PartitionTail(log: try self.partition(partition), start: offset, maxRecords: maxRecords, maxBytes: maxBytes)
    }

    /// Waits up to when a record at `offset` or later exists in `partition`; `false` if the log
    /// closed or the task was cancelled.
    public func waitForData(partition: Int, at offset: Int64) async throws -> Bool {
        try await self.partition(partition).waitForData(at: offset)
    }

    /// An offset of `partition` from which every record with an ingest time of `time` or later
    /// follows: the base of the last segment whose first record is older than `time`. (Ingest
    /// times grow with offsets, except when the wall clock steps back; a caller that needs
    /// exactly the records from `time` on filters by each record's ingest time.)
    public func startOffset(partition: Int, ingestTimeAtLeast time: Int64) throws -> Int64 {
        try self.partition(partition).startOffset(ingestTimeAtLeast: time)
    }

    /// The end offset of every partition: the offset its next record will get.
    public func endOffsets() -> [Int64] { partitions.map(\.endOffset) }

    /// Offsets and sizes of every partition.
    public func partitionInfo() -> [PartitionInfo] { partitions.map(\.info) }
}
