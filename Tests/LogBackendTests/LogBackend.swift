import EventLog
import Events
import Foundation
import Kafka
import KafkaLog
import Logging
import TandemTestSupport
import Testing

/// The stream the backend tests write: keyed by `user`, 3 partitions.
let clicksStream = StreamDefinition(
    name: "clicks", partitions: 3,
    fields: [
        FieldDefinition(name: "ts", type: .timestamp, required: true),
        FieldDefinition(name: "url", type: .string, required: true),
        FieldDefinition(name: "user", type: .string),
        FieldDefinition(name: "n", type: .int),
    ],
    timeField: "ts", keyField: "user")

struct FixedSchemas: StreamSchemas {
    let definitions: [String: StreamDefinition]
    func schema(of stream: String) -> StreamDefinition? { definitions[stream] }
}

/// Each backend the layers can run on.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case embedded
    case kafka

    var testDescription: String { rawValue }

    /// Runs `body` with the `clicks` topic of a fresh log of this backend, served while it runs.
    func withTopic<T: Sendable>(
        deadLetters: Bool = false, _ body: @Sendable (any LogTopic, KafkaLog?) async throws -> T
    ) async throws -> T {
        let logger = Logger(label: "log-backend-test")
        switch self {
        case .embedded:
            let directory = try TemporaryDirectory()
            let log = try EventLog(directory: directory.path, logger: logger)
            defer { log.close() }
            let topic = try log.createTopic(clicksStream.name, partitions: clicksStream.partitions)
            return try await body(topic, nil)
        case .kafka:
            let kafka = try TestKafka.current()
            let log = try KafkaLog(
                configuration: .init(
                    client: KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, replicationFactor: 1),
                    topicPrefix: TestKafka.uniqueTopic("tandem") + ".", deadLetterTopics: deadLetters),
                schemas: FixedSchemas(definitions: [clicksStream.name: clicksStream]), logger: logger)
            let topic = try await log.openTopic(stream: clicksStream.name, partitions: clicksStream.partitions)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await log.run() }
                defer { group.cancelAll() }
                return try await body(topic, log)
            }
        }
    }
}

/// One event of the `clicks` stream.
struct Click: Sendable, Equatable {
    var time: Int64
    var url: String
    var user: String?
    var n: Int64

    var json: String {
        let user = self.user.map { "\"\($0)\"" } ?? "null"
        return "{\"ts\":\"\(Timestamp.format(time))\",\"url\":\"\(url)\",\"user\":\(user),\"n\":\(n)}"
    }

    /// Validates and encodes clicks as HTTP ingest does, into one batch per partition.
    static func batches(_ clicks: [Click], for topic: any LogTopic) -> [AppendBatch] {
        var batches = [AppendBatch](repeating: AppendBatch(), count: topic.partitionCount)
        var parser = EventParser(definition: clicksStream)
        var spread = 0
        for click in clicks {
            let body = Array(click.json.utf8)
            _ = body.withUnsafeBytes { bytes in
                parser.parse(bytes, format: .json, ingestTime: click.time, maxEvents: 1) { event in
                    let partition: Int
                    if let key = event.key {
                        partition = topic.partition(forKey: key)
                    } else {
                        partition = spread % topic.partitionCount
                        spread += 1
                    }
                    batches[partition].append(key: event.key, payload: event.payload, eventTime: event.eventTime)
                }
            }
        }
        return batches
    }

    /// The click a record holds.
    init(_ record: LogRecord) throws {
        let values = try record.payload.withUnsafeBytes { try RecordCodec.decode($0, definition: clicksStream) }
        guard case .timestamp(let time)? = values[0], case .string(let url)? = values[1], case .int(let n)? = values[3] else {
            throw Unexpected(description: "unexpected record \(values)")
        }
        var user: String?
        if case .string(let text)? = values[2] { user = text }
        self.init(time: time, url: url, user: user, n: n)
        guard record.eventTime == time else { throw Unexpected(description: "event time \(record.eventTime), field \(time)") }
    }

    init(time: Int64, url: String, user: String?, n: Int64) {
        self.time = time
        self.url = url
        self.user = user
        self.n = n
    }
}

/// A record that is not what a test wrote.
struct Unexpected: Error, CustomStringConvertible {
    var description: String
}
