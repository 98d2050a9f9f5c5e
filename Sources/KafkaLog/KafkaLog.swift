import EventLog
import Events
import Kafka
import Logging
import ServiceLifecycle
import Synchronization

/// The log on a Kafka cluster: one topic per stream, `<prefix><stream>`, with the stream's
/// partition count.
///
/// As a `Service`, it serves the producer's delivery reports and refreshes every topic's offsets
/// from the brokers until graceful shutdown, then flushes what is still queued.
public final class KafkaLog: SharedLog, Service, Sendable {
    /// How Tandem uses the cluster.
    public struct Configuration: Sendable, Equatable {
        /// The cluster and librdkafka properties.
        public var client: KafkaConfiguration
        /// Put before each stream's name to name its topic.
        public var topicPrefix: String
        /// Whether messages that fail validation are copied to `<prefix><stream>.dlq`.
        public var deadLetterTopics: Bool
        /// How often every topic's offsets are asked of the brokers.
        public var offsetRefreshMilliseconds: Int
        /// Whether the servers sharing the cluster (and a database) divide the partitions among
        /// themselves, each computing the speed layer over its own (`kafka.divide_partitions`),
        /// rather than each computing every partition.
        public var dividePartitions: Bool

        /// Creates a configuration.
        public init(
            client: KafkaConfiguration, topicPrefix: String = "tandem.", deadLetterTopics: Bool = false, offsetRefreshMilliseconds: Int = 1_000,
            dividePartitions: Bool = false
        ) {
            self.dividePartitions = dividePartitions
            self.client = client
            self.topicPrefix = topicPrefix
            self.deadLetterTopics = deadLetterTopics
            self.offsetRefreshMilliseconds = offsetRefreshMilliseconds
        }
    }

    /// The configuration.
    public let configuration: Configuration
    private let admin: KafkaAdmin
    private let producer: KafkaProducer
    private let schemas: any StreamSchemas
    private let logger: Logger
    private let topics = Mutex<[String: KafkaTopic]>([:])
    private let problem = Mutex<String?>(nil)

    /// Connects to the cluster (lazily: the first topic opened reaches the brokers).
    /// - Throws: ``KafkaError`` `kafka_configuration` when a property is unknown or invalid.
    public init(configuration: Configuration, schemas: any StreamSchemas, logger: Logger) throws {
        self.configuration = configuration
        self.admin = try KafkaAdmin(configuration: configuration.client, logger: logger)
        self.producer = try KafkaProducer(configuration: configuration.client, logger: logger)
        self.schemas = schemas
        self.logger = logger
    }

    /// The topic of a stream: `<prefix><stream>`.
    public func topicName(_ stream: String) -> String { configuration.topicPrefix + stream }

    /// Creates the stream's topic when it is missing (and its dead-letter topic, when configured),
    /// or checks the existing one, and starts serving it.
    /// - Throws: ``KafkaError`` `topic_conflict` when the topic exists with another partition
    ///   count, or when the cluster cannot be reached.
    @discardableResult
    public func openTopic(stream: String, partitions: Int) async throws -> KafkaTopic {
        if let open = topics.withLock({ $0[stream] }) {
            guard open.partitionCount == partitions else {
                throw KafkaError(.topicConflict, "topic \"\(open.kafkaName)\" has \(open.partitionCount) partitions, not \(partitions)")
            }
            return open
        }
        let name = topicName(stream)
        if try await admin.ensureTopic(name, partitions: partitions) {
            logger.info("kafka: created topic", metadata: ["topic": "\(name)", "partitions": "\(partitions)"])
        }
        let deadLetters = configuration.deadLetterTopics ? name + ".dlq" : nil
        if let deadLetters { try await admin.ensureTopic(deadLetters, partitions: 1) }
        // A cut carries the cluster and topic it was taken from; a version from another cluster
        // is never merged.
        let cluster = try await admin.clusterID() ?? configuration.client.bootstrapServers
        let topic = KafkaTopic(
            stream: stream, kafkaName: name, id: "kafka:\(cluster):\(name)", partitions: partitions, configuration: configuration.client,
            producer: producer, admin: admin, schemas: schemas, deadLetterTopic: deadLetters, logger: logger)
        try await topic.refresh()
        try await topic.readToEnd()
        return topics.withLock { topics in
            if let raced = topics[stream] { return raced }
            topics[stream] = topic
            return topic
        }
    }

    public func logTopic(_ name: String) -> (any LogTopic)? { topics.withLock { $0[name] } }

    /// The open topic of a stream, if any.
    public func kafkaTopic(_ stream: String) -> KafkaTopic? { topics.withLock { $0[stream] } }

    /// Kafka partitions do not fail-stop in this process; a cluster that cannot be reached shows
    /// in ``unavailable`` and as failed appends instead.
    public var failedPartitions: [FailedPartition] { [] }

    /// Why the cluster could not be reached at the last offset refresh (every
    /// `offsetRefreshMilliseconds`), or `nil` when it answered.
    public var unavailable: String? { problem.withLock { $0 } }

    /// Serves delivery reports and refreshes offsets until graceful shutdown, then flushes.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.producer.run() }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(self.configuration.offsetRefreshMilliseconds))
                        await self.refreshOffsets()
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Asks the brokers for every open topic's offsets now; the cluster counts as unreachable
    /// when no topic's offsets could be read.
    public func refreshOffsets() async {
        let open = topics.withLock { Array($0.values) }
        // While the cluster is known to be away, one line says so (below), not one per topic and second.
        let wasAway = problem.withLock { $0 != nil }
        var failure: String?
        var answered = open.isEmpty
        for topic in open {
            do {
                try await topic.refresh()
                answered = true
            } catch {
                failure = "\(error)"
                if !wasAway {
                    logger.warning("kafka: could not refresh offsets", metadata: ["topic": "\(topic.kafkaName)", "error": "\(error)"])
                }
            }
        }
        let now = answered ? nil : failure.map { "the Kafka cluster does not answer: \($0)" }
        let before = problem.withLock { problem in
            defer { problem = now }
            return problem
        }
        if now != nil && before == nil {
            logger.error("kafka: the cluster does not answer; not ready until it does", metadata: ["error": "\(failure ?? "")"])
        } else if now == nil && before != nil {
            logger.info("kafka: the cluster answers again")
        }
    }
}
