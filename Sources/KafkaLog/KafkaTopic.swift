import EventLog
import Events
import Kafka
import Logging
import Synchronization

/// A stream's log held in a Kafka topic (`<prefix><stream>`), behind the same surface as the
/// embedded log's topics, so that neither the speed nor the batch layer knows which one runs.
///
/// - Appending renders each validated record as the event's JSON (any Kafka client can write the
///   same), keyed by the stream's key field, to the partition Kafka's own partitioner (murmur2)
///   would choose, and returns once every message is acknowledged by all in-sync replicas.
/// - Reading validates and encodes each message with the stream's current schema
///   (``KafkaRecordDecoder``); messages that fail are left out, counted once per stream, logged,
///   and copied to the dead-letter topic when one is configured.
/// - Offsets are Kafka's. End offsets are what this process last learned (its own deliveries, its
///   readers' fetches, and a periodic query of the brokers), never a blocking request.
public final class KafkaTopic: LogTopic {
    /// The stream's name (the layers look topics up by stream).
    public let name: String
    /// The Kafka topic's name.
    public let kafkaName: String
    /// `kafka:<cluster id>:<topic>`: a cut taken from another cluster is never merged.
    public let id: String
    /// The stream's partition count, which the topic's was checked to equal.
    public let partitionCount: Int
    private let configuration: KafkaConfiguration
    private let producer: KafkaProducer
    private let admin: KafkaAdmin
    private let schemas: any StreamSchemas
    private let deadLetterTopic: String?
    private let logger: Logger

    private struct State {
        var starts: [Int64]
        var ends: [Int64]
        /// Per partition, the offset below which rejected messages were already counted.
        var rejectedThrough: [Int64]
        var rejected = 0
        /// Readers left where a read ended, so that the next sequential read goes on with them.
        var idle: [Int: [KafkaPartitionReader]] = [:]
    }

    private let state: Mutex<State>
    /// Readers kept per partition for sequential reads (a batch scan, the records route).
    private static let idleReadersPerPartition = 2

    init(
        stream: String, kafkaName: String, id: String, partitions: Int, configuration: KafkaConfiguration, producer: KafkaProducer,
        admin: KafkaAdmin, schemas: any StreamSchemas, deadLetterTopic: String?, logger: Logger
    ) {
        self.admin = admin
        self.name = stream
        self.kafkaName = kafkaName
        self.id = id
        self.partitionCount = partitions
        self.configuration = configuration
        self.producer = producer
        self.schemas = schemas
        self.deadLetterTopic = deadLetterTopic
        self.logger = logger
        let zeros = [Int64](repeating: 0, count: partitions)
        self.state = Mutex(State(starts: zeros, ends: zeros, rejectedThrough: zeros))
    }

    /// Messages that failed validation, each counted once, since the process started.
    public var invalidMessages: Int? { state.withLock { $0.rejected } }

    public func partition(forKey key: UnsafeRawBufferPointer) -> Int {
        KafkaPartitioner.partition(of: key, partitions: partitionCount)
    }

    private func schema() throws -> StreamDefinition {
        guard let schema = schemas.schema(of: name) else { throw LogError(.unknownTopic, "stream \"\(name)\" has no schema") }
        return schema
    }

    private func check(_ partition: Int) throws {
        guard (0..<partitionCount).contains(partition) else {
            throw LogError(.unknownPartition, "topic \"\(kafkaName)\" has no partition \(partition) (it has \(partitionCount))")
        }
    }

    // MARK: Appending

    public func append(_ batch: AppendBatch, to partition: Int) async throws -> OffsetRange {
        try check(partition)
        let definition = try schema()
        var messages = KafkaOutgoingBatch()
        try batch.forEachRecord { _, key, payload, _ in
            try messages.append(key: key, partition: partition) { try RecordCodec.appendJSON(payload, definition: definition, to: &$0) }
        }
        let deliveries: [KafkaDelivery]
        do {
            deliveries = try await producer.send(messages, to: kafkaName)
        } catch let error as KafkaError {
            // The log's own error, so that ingest answers it as it answers the embedded log's.
            throw LogError(error.code == .closed ? .closed : .io, "Kafka did not take the events: \(error)")
        }
        let offsets = deliveries.compactMap(\.offset)
        guard let first = offsets.min(), let last = offsets.max() else {
            throw LogError(.io, "Kafka acknowledged the messages without their offsets")
        }
        learnEnd(partition, last + 1)
        return OffsetRange(first: first, last: last)
    }

    // MARK: Reading

    private func reader(_ partition: Int, at offset: Int64) throws -> KafkaPartitionReader {
        let idle = state.withLock { state -> KafkaPartitionReader? in
            guard let index = state.idle[partition]?.firstIndex(where: { $0.nextOffset == offset }) else { return nil }
            return state.idle[partition]!.remove(at: index)
        }
        return try idle ?? newReader(partition, at: offset)
    }

    private func newReader(_ partition: Int, at offset: Int64) throws -> KafkaPartitionReader {
        try KafkaPartitionReader(configuration: configuration, topic: kafkaName, partition: partition, from: offset, logger: logger)
    }

    /// The records of `messages`, read by `reader`; learns the end and handles the rejected ones.
    fileprivate func records(_ messages: KafkaMessageBatch, from reader: KafkaPartitionReader, decoder: inout KafkaRecordDecoder) async -> RecordBatch
    {
        var batch = RecordBatch()
        let rejections = decoder.decode(messages, into: &batch)
        learn(reader, messages)
        await handle(rejections, partition: reader.partition, messages: messages)
        return batch
    }

    private func keep(_ reader: KafkaPartitionReader) {
        state.withLock { state in
            var readers = state.idle[reader.partition] ?? []
            readers.append(reader)
            if readers.count > Self.idleReadersPerPartition { readers.removeFirst() }
            state.idle[reader.partition] = readers
        }
    }

    public func read(partition: Int, from offset: Int64, maxRecords: Int, maxBytes: Int) async throws -> RecordBatch {
        try check(partition)
        var decoder = KafkaRecordDecoder(definition: try schema())
        let reader = try reader(partition, at: offset)
        // Below the known end, records exist: wait for them rather than take an early "caught up".
        let known = state.withLock { $0.ends[partition] }
        guard let messages = try await reader.next(maxMessages: maxRecords, untilCaughtUp: offset >= known) else {
            throw CancellationError()
        }
        keep(reader)
        return await records(messages, from: reader, decoder: &decoder)
    }

    public func tail(partition: Int, from offset: Int64, maxRecords: Int, maxBytes: Int) throws -> Tail {
        try check(partition)
        return Tail(topic: self, reader: try newReader(partition, at: offset), maxRecords: maxRecords)
    }

    /// The records of a partition as they arrive, decoded; a batch may be empty when every message
    /// in it failed validation (it still moves the position on).
    public struct Tail: AsyncSequence, Sendable {
        public typealias Element = RecordBatch
        let topic: KafkaTopic
        let reader: KafkaPartitionReader
        let maxRecords: Int

        /// Reads and decodes the next messages.
        public struct AsyncIterator: AsyncIteratorProtocol {
            let topic: KafkaTopic
            let reader: KafkaPartitionReader
            let maxRecords: Int
            /// Kept from batch to batch while the stream's schema stays the same.
            var decoder: (definition: StreamDefinition, decoder: KafkaRecordDecoder)?

            public mutating func next() async throws -> RecordBatch? {
                guard let messages = try await reader.next(maxMessages: maxRecords) else { return nil }
                let definition = try topic.schema()
                var current = decoder?.definition == definition ? decoder!.decoder : KafkaRecordDecoder(definition: definition)
                let batch = await topic.records(messages, from: reader, decoder: &current)
                decoder = (definition, current)
                return batch
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(topic: topic, reader: reader, maxRecords: maxRecords) }
    }

    public func waitForData(partition: Int, at offset: Int64) async throws -> Bool {
        try check(partition)
        if offset < state.withLock({ $0.ends[partition] }) { return true }
        let reader = try newReader(partition, at: offset)
        guard let messages = try await reader.next(maxMessages: 1) else { return false }
        learn(reader, messages)
        return true
    }

    // MARK: Offsets

    public func endOffsets() -> [Int64] { state.withLock { $0.ends } }

    public func partitionInfo() -> [PartitionInfo] {
        state.withLock { state in
            (0..<partitionCount).map {
                PartitionInfo(partition: $0, startOffset: state.starts[$0], endOffset: state.ends[$0], sizeBytes: 0, segments: 0)
            }
        }
    }

    /// Where the messages stamped `time` or later start, by the brokers' time index (a record's
    /// ingest time is its message's timestamp); the partition's first offset when the brokers
    /// cannot say, which is always safe for a caller that filters by ingest time.
    public func startOffset(partition: Int, ingestTimeAtLeast time: Int64) async throws -> Int64 {
        try check(partition)
        let (start, end) = state.withLock { ($0.starts[partition], $0.ends[partition]) }
        do {
            guard let found = try await admin.offset(atOrAfterTime: time, topic: kafkaName, partition: partition) else { return max(start, end) }
            return max(start, found)
        } catch {
            logger.warning(
                "kafka: could not look a partition up by time; reading it from its first offset",
                metadata: ["topic": "\(kafkaName)", "partition": "\(partition)", "error": "\(error)"])
            return start
        }
    }

    /// Nothing to do: a message is acknowledged only once every in-sync replica has it.
    public func syncAll() async throws {}

    /// Learns a partition's offsets from the brokers (``KafkaLog`` calls it periodically). Some
    /// brokers (Tansu 0.6) answer a high watermark below the real end; end offsets only grow, so
    /// such an answer never moves them back.
    func refresh() async throws {
        for partition in 0..<partitionCount {
            let (low, high) = try await admin.watermarks(kafkaName, partition: partition)
            state.withLock { state in
                state.starts[partition] = max(state.starts[partition], low)
                state.ends[partition] = max(state.ends[partition], high)
            }
        }
    }

    /// Learns each partition's end by reading from the broker's answer on to the last message
    /// (``KafkaLog`` calls it when it opens the topic, after ``refresh()``). A broker whose
    /// high watermark lags the real end (Tansu 0.6, after a multi-record batch) would otherwise
    /// make a published cut look past the log's end at start, and the version be recomputed.
    func readToEnd() async throws {
        for partition in 0..<partitionCount {
            let start = state.withLock { $0.ends[partition] }
            let reader = try newReader(partition, at: start)
            while let messages = try await reader.next(maxMessages: 10_000, untilCaughtUp: true) {
                learn(reader, messages)
                if messages.isEmpty { break }
            }
        }
    }

    private func learnEnd(_ partition: Int, _ end: Int64) {
        state.withLock { $0.ends[partition] = max($0.ends[partition], end) }
    }

    fileprivate func learn(_ reader: KafkaPartitionReader, _ messages: KafkaMessageBatch) {
        learnEnd(reader.partition, max(messages.nextOffset, reader.fetchedHighWatermark ?? 0))
    }

    /// Counts, logs and copies to the dead-letter topic the rejected messages not seen before.
    fileprivate func handle(_ rejections: [KafkaRecordDecoder.Rejection], partition: Int, messages: KafkaMessageBatch) async {
        guard !rejections.isEmpty else { return }
        let fresh = state.withLock { state -> [KafkaRecordDecoder.Rejection] in
            let fresh = rejections.filter { $0.offset >= state.rejectedThrough[partition] }
            state.rejectedThrough[partition] = max(state.rejectedThrough[partition], messages.nextOffset)
            state.rejected += fresh.count
            return fresh
        }
        guard !fresh.isEmpty else { return }
        for rejection in fresh.prefix(5) {
            logger.warning(
                "kafka: skipped a message that is not a valid event",
                metadata: ["topic": "\(kafkaName)", "partition": "\(partition)", "offset": "\(rejection.offset)", "problem": "\(rejection.problem)"])
        }
        guard let deadLetterTopic else { return }
        let wanted = Set(fresh.map(\.offset))
        var copies = KafkaOutgoingBatch()
        for message in messages where wanted.contains(message.offset) {
            copies.append(key: message.key, value: message.value)
        }
        do {
            _ = try await producer.send(copies, to: deadLetterTopic)
        } catch {
            // Reading goes on: the dead-letter copy is a convenience, the count and the log stay.
            logger.error(
                "kafka: could not copy rejected messages to the dead-letter topic",
                metadata: ["topic": "\(deadLetterTopic)", "messages": "\(copies.count)", "error": "\(error)"])
        }
    }
}
