import CRdKafka
import Logging
import Synchronization

/// One partition of one topic.
public struct KafkaTopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The topic.
    public var topic: String
    /// The partition.
    public var partition: Int

    /// Names a partition.
    public init(topic: String, partition: Int) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (a: Self, b: Self) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }

    public var description: String { "\(topic)[\(partition)]" }
}

/// Membership of a Kafka consumer group, used only to divide partitions among servers.
///
/// The group's coordinator assigns each partition of the subscribed topics to one member, with
/// `cooperative-sticky` assignment: when a member joins or leaves, only the partitions that must
/// move are revoked, and a member keeps the rest. The member never consumes through the group:
/// every partition it is assigned is paused at once (fetching, if any, starts at the end), and
/// no offset is ever committed. Whoever owns a partition reads it with its own
/// ``KafkaPartitionReader``s from the cut it needs. ``assignment`` says what it owns now, and
/// ``changes`` yields each new assignment.
///
/// librdkafka does the incremental assign and unassign itself (no rebalance callback), so a
/// rebalance never waits for Tandem. ``run()`` polls the group's queue every 100 ms, which keeps
/// the member within `max.poll.interval.ms`, and leaves the group when cancelled.
public final class KafkaGroupMembership: Sendable {
    /// The group's id.
    public let group: String
    private let handle: KafkaHandle
    private let logger: Logger
    private let state = Mutex<(assignment: Set<KafkaTopicPartition>, subscribed: [String])>(([], []))
    private let sink: AsyncStream<Set<KafkaTopicPartition>>.Continuation
    /// Each new assignment, in order (the latest is also ``assignment``).
    public let changes: AsyncStream<Set<KafkaTopicPartition>>

    /// Defaults that passed-through properties may change: how soon a member that died without
    /// leaving (a killed server) loses its partitions, and how often members heartbeat.
    static let defaults: [(String, String)] = [
        ("session.timeout.ms", "6000"),
        ("heartbeat.interval.ms", "1000"),
    ]

    /// What the membership depends on: cooperative assignment, no consumption worth the name
    /// (a paused partition fetches nothing; before it is paused, at most one small fetch from
    /// the end), and no offsets committed.
    static let guarantees: [(String, String)] = [
        ("partition.assignment.strategy", "cooperative-sticky"),
        ("enable.auto.commit", "false"),
        ("enable.auto.offset.store", "false"),
        ("auto.offset.reset", "latest"),
        ("queued.max.messages.kbytes", "64"),
        ("max.partition.fetch.bytes", "65536"),
        ("enable.partition.eof", "false"),
    ]

    /// Joins `group` (lazily: the first poll in ``run()`` reaches the coordinator).
    /// - Parameter topics: the topics whose partitions the group divides; see
    ///   ``subscribe(_:)``.
    /// - Throws: ``KafkaError`` when the configuration is invalid.
    public init(configuration: KafkaConfiguration, group: String, topics: [String], logger: Logger) throws {
        let settings = configuration.settings(defaults: Self.defaults, guarantees: [("group.id", group)] + Self.guarantees)
        self.handle = try KafkaHandle(.consumer, settings: settings, logger: logger)
        self.group = group
        self.logger = logger
        (changes, sink) = AsyncStream.makeStream(of: Set<KafkaTopicPartition>.self, bufferingPolicy: .bufferingNewest(16))
        rd_kafka_poll_set_consumer(handle.pointer)
        try subscribe(topics)
    }

    /// The partitions this member owns now.
    public var assignment: Set<KafkaTopicPartition> { state.withLock { $0.assignment } }

    /// Sets the topics the group divides (all of them, replacing the previous list). Every member
    /// should subscribe to the same topics; a topic that does not exist yet is divided once it
    /// does.
    /// - Throws: ``KafkaError`` when librdkafka refuses the subscription.
    public func subscribe(_ topics: [String]) throws {
        let topics = Array(Set(topics)).sorted()
        guard state.withLock({ $0.subscribed }) != topics else { return }
        let error: rd_kafka_resp_err_t
        if topics.isEmpty {
            error = rd_kafka_unsubscribe(handle.pointer)
        } else {
            let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
            error = rd_kafka_subscribe(handle.pointer, list)
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaHandle.error(error, "joining consumer group \"\(group)\"") }
        state.withLock { $0.subscribed = topics }
    }

    /// Stays in the group until cancelled, then leaves it (so that its partitions move at once,
    /// not after the session timeout).
    public func run() async {
        while !Task.isCancelled {
            poll()
            try? await Task.sleep(for: .milliseconds(100))  // cancellation ends the loop
        }
        let handle = self.handle
        _ = try? await onOwnThread { rd_kafka_consumer_close(handle.pointer) }
        state.withLock { $0.assignment = [] }
        sink.yield([])
        sink.finish()
    }

    /// Serves the group's queue once: drops whatever was fetched, logs errors, and publishes the
    /// assignment when it changed, pausing the partitions it gained.
    private func poll() {
        while let message = rd_kafka_consumer_poll(handle.pointer, 0) {
            defer { rd_kafka_message_destroy(message) }
            let error = message.pointee.err
            if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.warning("kafka group trouble; librdkafka retries", metadata: ["group": "\(group)", "error": "\(KafkaHandle.name(error))"])
            }
        }
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle.pointer, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        var now = Set<KafkaTopicPartition>()
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            now.insert(KafkaTopicPartition(topic: String(cString: element.topic), partition: Int(element.partition)))
        }
        let gained = state.withLock { state -> Set<KafkaTopicPartition>? in
            guard state.assignment != now else { return nil }
            defer { state.assignment = now }
            return now.subtracting(state.assignment)
        }
        guard let gained else { return }
        if !gained.isEmpty { _ = rd_kafka_pause_partitions(handle.pointer, list) }
        logger.info(
            "kafka group: assignment changed",
            metadata: ["group": "\(group)", "partitions": "\(now.sorted().map(\.description).joined(separator: ","))"])
        sink.yield(now)
    }
}
