/// An error from the Kafka client, with a stable code and, when librdkafka gave one, its own error
/// name (for example `_TRANSPORT` or `TOPIC_AUTHORIZATION_FAILED`).
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// Stable error codes.
    public enum Code: String, Sendable {
        /// A librdkafka property was unknown or had an invalid value.
        case configuration = "kafka_configuration"
        /// The cluster could not be reached, or did not answer in time.
        case unavailable = "kafka_unavailable"
        /// A message was not delivered (after librdkafka's own retries).
        case delivery = "kafka_delivery"
        /// A topic exists with another partition count than the one asked for.
        case topicConflict = "topic_conflict"
        /// The topic does not exist.
        case unknownTopic = "unknown_topic"
        /// The partition does not exist in the topic.
        case unknownPartition = "unknown_partition"
        /// The broker or client refused an operation (authorization, invalid request, fatal
        /// producer state).
        case refused = "kafka_refused"
        /// The client was closed.
        case closed = "kafka_closed"
    }

    /// The stable code.
    public var code: Code
    /// What went wrong.
    public var message: String
    /// librdkafka's name for the underlying error, when there was one.
    public var kafkaCode: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, kafkaCode: String? = nil) {
        self.code = code
        self.message = message
        self.kafkaCode = kafkaCode
    }

    public var description: String {
        kafkaCode.map { "\(code.rawValue): \(message) (\($0))" } ?? "\(code.rawValue): \(message)"
    }
}
