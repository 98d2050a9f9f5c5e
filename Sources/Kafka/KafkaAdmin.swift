import CRdKafka
import Logging

/// Topics and offsets of a Kafka cluster: what Tandem checks and creates at start.
///
/// Every call runs librdkafka's blocking request on a thread of its own (see `onOwnThread`), with
/// the configuration's request timeout.
public final class KafkaAdmin: Sendable {
    private let handle: KafkaHandle
    private let configuration: KafkaConfiguration

    /// Connects to the cluster (lazily: the first call reaches the brokers).
    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        // Asking about a topic must never create it.
        let settings = configuration.settings(guarantees: [("allow.auto.create.topics", "false")])
        self.handle = try KafkaHandle(.producer, settings: settings, logger: logger)
        self.configuration = configuration
    }

    /// Every topic of the cluster with its partition count.
    public func topics() async throws -> [String: Int] {
        let handle = self.handle
        let timeout = Int32(clamping: configuration.requestTimeoutMilliseconds)
        return try await onOwnThread {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let error = rd_kafka_metadata(handle.pointer, 1, nil, &metadata, timeout)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                throw KafkaHandle.error(error, "reading the cluster's metadata")
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            var topics: [String: Int] = [:]
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[index]
                guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR, let name = topic.topic else { continue }
                topics[String(cString: name)] = Int(topic.partition_cnt)
            }
            return topics
        }
    }

    /// The cluster's id, as its brokers report it (`nil` from brokers too old to have one).
    public func clusterID() async throws -> String? {
        let handle = self.handle
        let timeout = Int32(clamping: configuration.requestTimeoutMilliseconds)
        return try await onOwnThread {
            guard let id = rd_kafka_clusterid(handle.pointer, timeout) else { return nil }
            defer { rd_kafka_mem_free(handle.pointer, id) }
            return String(cString: id)
        }
    }

    /// How many partitions `topic` has, or `nil` when it does not exist.
    public func partitionCount(_ topic: String) async throws -> Int? {
        try await topics()[topic]
    }

    /// Creates `topic` with `partitions` partitions, or checks that the existing one has that many.
    /// - Returns: whether the topic was created.
    /// - Throws: ``KafkaError`` `topic_conflict` when it exists with another partition count.
    @discardableResult
    public func ensureTopic(_ topic: String, partitions: Int) async throws -> Bool {
        if let existing = try await partitionCount(topic) {
            try Self.check(topic, existing: existing, wanted: partitions)
            return false
        }
        let handle = self.handle
        let timeout = Int32(clamping: configuration.requestTimeoutMilliseconds)
        let replication = Int32(clamping: configuration.replicationFactor ?? -1)
        let created = try await onOwnThread { () throws -> Bool in
            var errorText = [CChar](repeating: 0, count: 512)
            guard let newTopic = rd_kafka_NewTopic_new(topic, Int32(partitions), replication, &errorText, errorText.count) else {
                throw KafkaError(.configuration, "topic \"\(topic)\": \(KafkaHandle.text(errorText))")
            }
            defer { rd_kafka_NewTopic_destroy(newTopic) }
            let queue = rd_kafka_queue_new(handle.pointer)
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(handle.pointer, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout, &errorText, errorText.count)
            var topics: [OpaquePointer?] = [newTopic]
            rd_kafka_CreateTopics(handle.pointer, &topics, 1, options, queue)
            // The answer, or an error event, comes within the request timeout; allow a margin.
            guard let event = rd_kafka_queue_poll(queue, Int32(clamping: Int(timeout) + 5_000)) else {
                throw KafkaError(.unavailable, "creating topic \"\(topic)\": no answer within \(timeout) ms")
            }
            defer { rd_kafka_event_destroy(event) }
            let eventError = rd_kafka_event_error(event)
            guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR, let result = rd_kafka_event_CreateTopics_result(event) else {
                throw KafkaHandle.error(eventError, "creating topic \"\(topic)\"")
            }
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count), count == 1, let first = results[0] else {
                throw KafkaError(.refused, "creating topic \"\(topic)\": the cluster gave no result")
            }
            let error = rd_kafka_topic_result_error(first)
            if error == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS { return false }
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                let detail = rd_kafka_topic_result_error_string(first).map { String(cString: $0) } ?? KafkaHandle.describe(error)
                throw KafkaError(.refused, "creating topic \"\(topic)\": \(detail)", kafkaCode: KafkaHandle.name(error))
            }
            return true
        }
        if !created, let existing = try await partitionCount(topic) {
            // Someone else created it in between.
            try Self.check(topic, existing: existing, wanted: partitions)
        }
        return created
    }

    private static func check(_ topic: String, existing: Int, wanted: Int) throws {
        guard existing == wanted else {
            throw KafkaError(
                .topicConflict,
                "topic \"\(topic)\" exists with \(existing) partitions, but the stream has \(wanted); change the stream's partition count or use another topic prefix"
            )
        }
    }

    /// The earliest offset of a partition whose message timestamp is `time` or later (every
    /// message stamped `time` or later is at or after it), or `nil` when no message is. A broker
    /// without a time index may answer an earlier offset (Tansu 0.6 answers the first one).
    public func offset(atOrAfterTime time: Int64, topic: String, partition: Int) async throws -> Int64? {
        let handle = self.handle
        let timeout = Int32(clamping: configuration.requestTimeoutMilliseconds)
        return try await onOwnThread {
            let list = rd_kafka_topic_partition_list_new(1)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let entry = rd_kafka_topic_partition_list_add(list, topic, Int32(partition))!
            entry.pointee.offset = time
            let error = rd_kafka_offsets_for_times(handle.pointer, list, timeout)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR, entry.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                let failure = error != RD_KAFKA_RESP_ERR_NO_ERROR ? error : entry.pointee.err
                throw KafkaHandle.error(failure, "looking up partition \(partition) of \"\(topic)\" by time")
            }
            return entry.pointee.offset >= 0 ? entry.pointee.offset : nil
        }
    }

    /// The low and high watermarks of a partition: its first offset and the offset after its last
    /// committed message, as the broker reports them.
    public func watermarks(_ topic: String, partition: Int) async throws -> (low: Int64, high: Int64) {
        let handle = self.handle
        let timeout = Int32(clamping: configuration.requestTimeoutMilliseconds)
        return try await onOwnThread {
            var low: Int64 = 0
            var high: Int64 = 0
            let error = rd_kafka_query_watermark_offsets(handle.pointer, topic, Int32(partition), &low, &high, timeout)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaHandle.error(error, "reading the offsets of partition \(partition) of \"\(topic)\"")
            }
            return (low, high)
        }
    }
}
