import CRdKafka
import Logging
import ServiceLifecycle
import Synchronization

/// Produces messages to Kafka and reports where each one landed, once the cluster has it.
///
/// The producer is idempotent with `acks=all` (see ``KafkaConfiguration``): a message that
/// ``send(_:to:)`` reports as delivered is on every in-sync replica, and librdkafka's retries never
/// write it twice. As a `Service`, it serves delivery reports until graceful shutdown and then
/// flushes what is still queued.
public final class KafkaProducer: Service, Sendable {
    private let handle: KafkaHandle
    // librdkafka queues are thread-safe.
    private nonisolated(unsafe) let reports: OpaquePointer
    private let wakeup = Wakeup()
    private let topics = Mutex<[String: TopicHandle]>([:])
    private let flushMilliseconds: Int32
    private let logger: Logger

    /// A librdkafka topic handle, destroyed with the producer.
    private final class TopicHandle: @unchecked Sendable {
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit { rd_kafka_topic_destroy(pointer) }
    }

    /// Creates a producer.
    /// - Throws: ``KafkaError`` `kafka_configuration` when a property is unknown or invalid.
    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        let settings = configuration.settings(defaults: KafkaConfiguration.producerDefaults, guarantees: KafkaConfiguration.producerGuarantees)
        self.handle = try KafkaHandle(.producer, settings: settings, logger: logger) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                guard let message, let opaque = message.pointee._private else { return }
                let slot = opaque.assumingMemoryBound(to: DeliveryReports.Slot.self)
                slot.pointee.partition = message.pointee.partition
                slot.pointee.offset = message.pointee.offset
                slot.pointee.error = message.pointee.err
                slot.pointee.owner.takeUnretainedValue().reportOne()
            }
        }
        self.reports = rd_kafka_queue_get_main(handle.pointer)
        self.flushMilliseconds = Int32(clamping: configuration.requestTimeoutMilliseconds)
        self.logger = logger
        wakeup.signal(whenFilled: reports)
    }

    deinit {
        Wakeup.stopSignalling(for: reports)
        rd_kafka_queue_destroy(reports)
        topics.withLock { $0.removeAll() }
    }

    private func topicHandle(_ name: String) throws -> OpaquePointer {
        try topics.withLock { topics in
            if let existing = topics[name] { return existing.pointer }
            guard let pointer = rd_kafka_topic_new(handle.pointer, name, nil) else {
                throw KafkaHandle.error(rd_kafka_last_error(), "topic \"\(name)\"")
            }
            topics[name] = TopicHandle(pointer)
            return pointer
        }
    }

    /// Produces every message of `batch` to `topic` and returns, in the batch's order, where each
    /// one landed, once all are acknowledged by the cluster.
    ///
    /// The call does not give up when its task is cancelled: a message handed to librdkafka is
    /// delivered or fails within `message.timeout.ms`, and the caller learns which.
    /// - Throws: ``KafkaError`` when any message was not delivered; the others may have been.
    public func send(_ batch: KafkaOutgoingBatch, to topic: String) async throws -> [KafkaDelivery] {
        guard !batch.isEmpty else { return [] }
        let topicPointer = try topicHandle(topic)
        let reports = DeliveryReports(count: batch.count)
        reports.prepare()
        var index = 0
        while index < batch.count {
            let generation = wakeup.generation
            let queued = batch.bytes.withUnsafeBytes { bytes -> rd_kafka_resp_err_t in
                let base = UnsafeMutableRawPointer(mutating: bytes.baseAddress!)
                let entry = batch.entries[index]
                let key = entry.key.map { base + $0.lowerBound }
                let result = rd_kafka_produce(
                    topicPointer, entry.partition, RD_KAFKA_MSG_F_COPY, base + entry.value.lowerBound, entry.value.count,
                    key, entry.key?.count ?? 0, reports.slots + index)
                return result == 0 ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_last_error()
            }
            switch queued {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                index += 1
            case RD_KAFKA_RESP_ERR__QUEUE_FULL:
                // Back-pressure: wait until reports free room in librdkafka's queue.
                await wakeup.wait(after: generation)
            default:
                reports.refuse(index, queued)
                index += 1
            }
        }
        return try await reports.wait()
    }

    /// Serves delivery reports until graceful shutdown, then flushes what is still queued.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let generation = self.wakeup.generation
                while rd_kafka_poll(self.handle.pointer, 0) > 0 {}
                await self.wakeup.wait(after: generation)
            }
        }
        try await flush()
    }

    /// Waits until every queued message is delivered or failed (at most the request timeout).
    public func flush() async throws {
        let handle = self.handle
        let milliseconds = flushMilliseconds
        let result = try await onOwnThread { rd_kafka_flush(handle.pointer, milliseconds) }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("kafka producer flush ended with messages still queued", metadata: ["error": "\(KafkaHandle.name(result))"])
        }
    }
}
