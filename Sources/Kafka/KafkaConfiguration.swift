/// How Tandem reaches a Kafka cluster.
///
/// `properties` pass through to librdkafka unchanged (see its `CONFIGURATION.md`): security
/// protocol, SASL mechanism and credentials, TLS files, timeouts. Tandem sets only what its
/// guarantees depend on, after the passed-through properties, so that a user cannot weaken them
/// by accident: the producer is idempotent with `acks=all`, consumers read committed records only
/// and never commit offsets on their own (cuts, not consumer offsets, say what was read).
public struct KafkaConfiguration: Sendable, Equatable {
    /// `host:port` pairs, comma-separated: the brokers to start from.
    public var bootstrapServers: String
    /// librdkafka properties, passed through (for example `security.protocol: SASL_SSL`).
    public var properties: [String: String]
    /// Replication factor of the topics Tandem creates; `nil` leaves it to the broker's default.
    public var replicationFactor: Int?
    /// How long an administrative call (metadata, topic creation, offsets) may take.
    public var requestTimeoutMilliseconds: Int

    /// Creates a configuration.
    public init(
        bootstrapServers: String, properties: [String: String] = [:], replicationFactor: Int? = nil,
        requestTimeoutMilliseconds: Int = 10_000
    ) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
        self.replicationFactor = replicationFactor
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
    }

    /// The librdkafka settings of one client, in the order that decides which wins: the bootstrap
    /// servers, then `defaults`, then the passed-through properties, then `guarantees`.
    func settings(defaults: [(String, String)] = [], guarantees: [(String, String)] = []) -> [(String, String)] {
        [("bootstrap.servers", bootstrapServers)] + defaults + properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } + guarantees
    }

    /// Defaults that passed-through properties may change.
    static let producerDefaults: [(String, String)] = [
        // A message that cannot be delivered fails the request within 30 s (503 log_unavailable)
        // instead of librdkafka's 5 minutes, which would hold clients and buffered events.
        ("message.timeout.ms", "30000")
    ]

    static let consumerDefaults: [(String, String)] = [
        // Each view's consumer of each partition has its own fetch queue: 16 MiB each, not 64.
        ("queued.max.messages.kbytes", "16384")
    ]

    /// Properties that Tandem's guarantees rest on; they win over passed-through ones.
    static let producerGuarantees: [(String, String)] = [
        ("enable.idempotence", "true"),
        ("acks", "all"),
        // Java's default partitioner: murmur2 of the key, so that Tandem and any other producer
        // put a key in the same partition.
        ("partitioner", "murmur2_random"),
    ]

    static let consumerGuarantees: [(String, String)] = [
        ("isolation.level", "read_committed"),
        ("enable.auto.commit", "false"),
        ("enable.auto.offset.store", "false"),
        ("enable.partition.eof", "true"),
    ]
}
