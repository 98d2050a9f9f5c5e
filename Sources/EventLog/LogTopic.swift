/// One stream's partitioned log, as the layers use it, whichever backend holds it: the embedded
/// log (``Topic``) or a Kafka topic.
///
/// Offsets are the backend's own: dense from 0 in the embedded log; Kafka's offsets, which may
/// skip numbers (transaction markers, messages that failed validation), in Kafka. A cut is a list
/// of such offsets, one per partition.
public protocol LogTopic: AnyObject, Sendable {
    /// The topic's name.
    var name: String { get }
    /// The topic's identity, carried by every cut taken from it (see ``Topic/id``).
    var id: String { get }
    /// How many partitions the topic has.
    var partitionCount: Int { get }

    /// The partition a keyed record goes to. Records without a key are spread by the caller.
    func partition(forKey key: UnsafeRawBufferPointer) -> Int

    /// Appends a batch to a partition and returns the offsets it was given, once it is durable.
    func append(_ batch: AppendBatch, to partition: Int) async throws -> OffsetRange

    /// Reads records of a partition from `offset` on: at most `maxRecords`, about `maxBytes`.
    /// - Returns: records in offset order; empty when `offset` is at the end.
    func read(partition: Int, from offset: Int64, maxRecords: Int, maxBytes: Int) async throws -> RecordBatch

    /// The type of ``tail(partition:from:maxRecords:maxBytes:)``.
    associatedtype Tail: AsyncSequence<RecordBatch, any Error>

    /// The records of a partition from `offset` on, batch by batch, waiting at the end for more;
    /// it finishes when the log closes or the task is cancelled.
    func tail(partition: Int, from offset: Int64, maxRecords: Int, maxBytes: Int) throws -> Tail

    /// Waits until a record at `offset` or later exists in `partition`; `false` if the log closed
    /// or the task was cancelled.
    func waitForData(partition: Int, at offset: Int64) async throws -> Bool

    /// The offset each partition's next record will get, as far as this process knows; exact for
    /// the embedded log, which is the only writer of its partitions.
    func endOffsets() -> [Int64]

    /// Offsets and sizes of every partition, as far as this process knows.
    func partitionInfo() -> [PartitionInfo]

    /// An offset of `partition` from which every record with an ingest time of `time` or later
    /// follows (it may be earlier than the first such record).
    func startOffset(partition: Int, ingestTimeAtLeast time: Int64) async throws -> Int64

    /// Makes every record below the end offsets read before this call durable.
    func syncAll() async throws

    /// Messages found in the topic that are not valid events, each counted once, since the
    /// process started; `nil` for a backend that holds validated records only.
    var invalidMessages: Int? { get }
}

/// The log as the layers see it: the topic of each stream, whichever backend holds them.
public protocol SharedLog: Sendable {
    /// The topic of a stream, if it exists.
    func logTopic(_ name: String) -> (any LogTopic)?
    /// Partitions that stopped taking writes, with the reason (health reports them).
    var failedPartitions: [FailedPartition] { get }
    /// Why the log cannot be reached now, or `nil` when it can (readiness reports it).
    var unavailable: String? { get }
}

extension EventLog: SharedLog {
    public func logTopic(_ name: String) -> (any LogTopic)? { topic(name) }
    /// The embedded log is in this process; its failures are partitions that fail-stop.
    public var unavailable: String? { nil }
}

extension Topic: LogTopic {
    /// The embedded log holds only records that HTTP ingest validated.
    public var invalidMessages: Int? { nil }

    /// 64-bit FNV-1a of the key's bytes, modulo the partition count: a key always lands in the
    /// same partition (the partition count of a stream never changes).
    @inline(__always)
    public func partition(forKey key: UnsafeRawBufferPointer) -> Int {
        Self.partition(forKey: key, partitions: partitionCount)
    }

    /// The embedded log's partition of a key among `partitions`.
    @inline(__always)
    public static func partition(forKey key: UnsafeRawBufferPointer, partitions: Int) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return Int(hash % UInt64(partitions))
    }
}
