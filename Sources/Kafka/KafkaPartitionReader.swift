import CRdKafka
import Logging
import Synchronization

/// Reads one partition of a topic from an offset on, as the batch scan and the speed layer do.
///
/// The reader assigns the partition by hand (no consumer group, no committed offsets: a cut or a
/// view's published position says where to start), reads committed records only, and never
/// blocks a thread: when librdkafka has nothing buffered, ``next(maxMessages:)`` suspends until
/// librdkafka signals that its queue is no longer empty.
public final class KafkaPartitionReader: Sendable {
    /// The topic.
    public let topic: String
    /// The partition.
    public let partition: Int
    private let handle: KafkaHandle
    // librdkafka queues are thread-safe.
    private nonisolated(unsafe) let queue: OpaquePointer
    private let wakeup = Wakeup()
    private let logger: Logger

    private struct Position {
        var next: Int64
        var caughtUp = false
    }

    private let position: Mutex<Position>

    /// Starts reading `partition` of `topic` at `offset`.
    /// - Throws: ``KafkaError`` when the configuration is invalid or the assignment fails.
    public init(configuration: KafkaConfiguration, topic: String, partition: Int, from offset: Int64, logger: Logger) throws {
        let settings = configuration.settings(
            defaults: [("group.id", "tandem-reader")] + KafkaConfiguration.consumerDefaults, guarantees: KafkaConfiguration.consumerGuarantees)
        self.handle = try KafkaHandle(.consumer, settings: settings, logger: logger)
        self.topic = topic
        self.partition = partition
        self.logger = logger
        self.position = Mutex(Position(next: offset))
        rd_kafka_poll_set_consumer(handle.pointer)
        self.queue = rd_kafka_queue_get_consumer(handle.pointer)
        wakeup.signal(whenFilled: queue)
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, topic, Int32(partition)).pointee.offset = offset
        let error = rd_kafka_assign(handle.pointer, list)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaHandle.error(error, "reading partition \(partition) of \"\(topic)\"")
        }
    }

    deinit {
        Wakeup.stopSignalling(for: queue)
        rd_kafka_queue_destroy(queue)
        // The handle's own deinit closes the consumer on a thread of its own (rd_kafka_destroy
        // closes a consumer first): nothing here may block.
    }

    /// The offset the next message will have at the earliest: one past the last message returned.
    public var nextOffset: Int64 { position.withLock { $0.next } }

    /// Whether the broker said, since the last message returned, that nothing more is there yet.
    public var caughtUp: Bool { position.withLock { $0.caughtUp } }

    /// The next messages, in offset order, waiting for them when none are buffered.
    /// - Parameters:
    ///   - maxMessages: the most messages returned.
    ///   - untilCaughtUp: return an empty batch, instead of waiting, once the broker has said
    ///     that the partition holds nothing more (for one-shot reads).
    /// - Returns: a batch (non-empty unless `untilCaughtUp`), or `nil` when the task is cancelled.
    /// - Throws: ``KafkaError`` when the partition cannot be read (unknown topic or partition, an
    ///   offset outside the partition, refused authorization). Passing network trouble is logged
    ///   and retried by librdkafka.
    public func next(maxMessages: Int = 10_000, untilCaughtUp: Bool = false) async throws -> KafkaMessageBatch? {
        var messages = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: max(1, maxMessages))
        while !Task.isCancelled {
            let generation = wakeup.generation
            let received = rd_kafka_consume_batch_queue(queue, 0, &messages, messages.count)
            guard received >= 0 else { throw KafkaHandle.error(rd_kafka_last_error(), "reading partition \(partition) of \"\(topic)\"") }
            if received == 0 {
                if untilCaughtUp && caughtUp { return KafkaMessageBatch(nextOffset: nextOffset) }
                await wakeup.wait(after: generation)
                continue
            }
            var batch = KafkaMessageBatch(nextOffset: nextOffset)
            var caughtUp = false
            var failure: KafkaError?
            for message in messages[0..<received] {
                guard let message else { continue }
                defer { rd_kafka_message_destroy(message) }
                switch message.pointee.err {
                case RD_KAFKA_RESP_ERR_NO_ERROR:
                    var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
                    let timestamp = rd_kafka_message_timestamp(message, &type)
                    let key = message.pointee.key.map { UnsafeRawBufferPointer(start: $0, count: message.pointee.key_len) }
                    let value = UnsafeRawBufferPointer(
                        start: message.pointee.payload, count: message.pointee.payload == nil ? 0 : message.pointee.len)
                    batch.append(offset: message.pointee.offset, timestamp: timestamp, key: key, value: value)
                    caughtUp = false
                case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                    caughtUp = true
                case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
                    RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE, RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                    RD_KAFKA_RESP_ERR__FATAL:
                    failure = failure ?? KafkaHandle.error(message.pointee.err, "reading partition \(partition) of \"\(topic)\"")
                default:
                    logger.warning(
                        "kafka read trouble; librdkafka retries",
                        metadata: ["topic": "\(topic)", "partition": "\(partition)", "error": "\(KafkaHandle.name(message.pointee.err))"])
                }
            }
            if let failure { throw failure }
            let nextOffset = batch.nextOffset
            position.withLock { position in
                position.next = nextOffset
                position.caughtUp = caughtUp
            }
            if !batch.isEmpty || (untilCaughtUp && caughtUp) { return batch }
        }
        return nil
    }

    /// The high watermark of the partition as of the last fetch response (no request is sent),
    /// or `nil` before the first one.
    public var fetchedHighWatermark: Int64? {
        var low: Int64 = 0
        var high: Int64 = 0
        let error = rd_kafka_get_watermark_offsets(handle.pointer, topic, Int32(partition), &low, &high)
        return error == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    /// The batches of messages from the starting offset on, as an `AsyncSequence`; it ends when
    /// the task is cancelled.
    public var batches: Batches { Batches(reader: self) }

    /// The batches a reader returns, one ``KafkaPartitionReader/next(maxMessages:)`` call each.
    public struct Batches: AsyncSequence, Sendable {
        public typealias Element = KafkaMessageBatch
        let reader: KafkaPartitionReader

        /// Calls ``KafkaPartitionReader/next(maxMessages:untilCaughtUp:)`` once per element.
        public struct AsyncIterator: AsyncIteratorProtocol {
            let reader: KafkaPartitionReader
            public mutating func next() async throws -> KafkaMessageBatch? { try await reader.next() }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }
    }
}
