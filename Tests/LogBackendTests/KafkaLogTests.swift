import EventLog
import Events
import Foundation
import Kafka
import KafkaLog
import Logging
import TandemTestSupport
import Testing

/// What only the Kafka backend does: events produced straight to the topic by another client,
/// messages that are not valid events, topic creation and conflicts.
@Suite(.timeLimit(.minutes(3))) struct KafkaLogTests {
    let kafka: TestKafka
    init() throws { kafka = try TestKafka.current() }

    @Test func eventsProducedByAnotherClientAreReadAsRecordsAndBadMessagesAreSkippedOnce() async throws {
        try await Backend.kafka.withTopic(deadLetters: true) { topic, log in
            let kafkaTopic = try #require(log?.kafkaTopic(clicksStream.name))
            // confluent-kafka writes straight to partition 1: good events, and messages that are
            // not valid events (not JSON, an array, a missing field, a wrong type).
            let output = try kafka.runPython(
                """
                import os
                from confluent_kafka import Producer
                p = Producer({'bootstrap.servers': os.environ['KAFKA'], 'enable.idempotence': True})
                values = [
                    b'{"ts":"2026-01-01T00:00:01Z","url":"/a","user":"x","n":1}',
                    b'not json',
                    b'{"ts":"2026-01-01T00:00:02Z","url":"/b","user":"y","n":2}',
                    b'[{"ts":"2026-01-01T00:00:03Z","url":"/c","n":3}]',
                    b'{"ts":"2026-01-01T00:00:04Z","user":"z","n":4}',
                    b'{"ts":"2026-01-01T00:00:05Z","url":"/e","n":"five"}',
                    b'{"ts":"2026-01-01T00:00:06Z","url":"/f","n":6}',
                ]
                for v in values:
                    p.produce('\(kafkaTopic.kafkaName)', partition=1, value=v)
                p.flush(30)
                print(len(values))
                """)
            #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "7")
            // Read twice, as the speed and batch layers both do: the bad messages count once.
            for _ in 0..<2 {
                var records: [LogRecord] = []
                var offset: Int64 = 0
                while offset < 7 {
                    let batch = try await topic.read(partition: 1, from: offset, maxRecords: 2, maxBytes: 1 << 20)
                    let next = try #require(batch.nextOffset)
                    records += batch
                    offset = next
                }
                #expect(records.map(\.offset) == [0, 2, 6])
                #expect(try records.map { try Click($0).url } == ["/a", "/b", "/f"])
                #expect(records.map(\.eventTime) == [1, 2, 6].map { LogBackendTests.start + $0 * 1_000 })
                #expect(records.map { $0.key.map { String(decoding: $0, as: UTF8.self) } } == ["x", "y", nil])
            }
            #expect(kafkaTopic.invalidMessages == 4)
            // The four copies are in the dead-letter topic, as they were written.
            let dlq = try KafkaPartitionReader(
                configuration: KafkaConfiguration(bootstrapServers: kafka.bootstrapServers), topic: kafkaTopic.kafkaName + ".dlq", partition: 0,
                from: 0, logger: Logger(label: "dlq"))
            var copies: [String] = []
            for try await batch in dlq.batches {
                copies += batch.map { String(decoding: $0.value, as: UTF8.self) }
                if copies.count >= 4 { break }
            }
            #expect(copies.first == "not json")
            #expect(copies.count == 4)
        }
    }

    @Test func aTailMovesPastMessagesThatAreNotEvents() async throws {
        try await Backend.kafka.withTopic { topic, log in
            let kafkaTopic = try #require(log?.kafkaTopic(clicksStream.name))
            _ = try kafka.runPython(
                """
                import os
                from confluent_kafka import Producer
                p = Producer({'bootstrap.servers': os.environ['KAFKA']})
                for v in [b'{}', b'{"ts":"2026-01-01T00:00:09Z","url":"/ok","n":9}', b'nope']:
                    p.produce('\(kafkaTopic.kafkaName)', partition=2, value=v)
                p.flush(30)
                """)
            var position: Int64 = 0
            var urls: [String] = []
            for try await batch in try topic.tail(partition: 2, from: 0, maxRecords: 10, maxBytes: 1 << 20) {
                urls += try batch.map { try Click($0).url }
                position = batch.nextOffset ?? position
                if position >= 3 { break }
            }
            #expect(urls == ["/ok"])
            #expect(position == 3)
        }
    }

    @Test func anExistingTopicWithAnotherPartitionCountIsAClearError() async throws {
        let prefix = TestKafka.uniqueTopic("tandem") + "."
        let configuration = KafkaLog.Configuration(
            client: KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, replicationFactor: 1), topicPrefix: prefix)
        let admin = try KafkaAdmin(configuration: configuration.client, logger: Logger(label: "admin"))
        try await admin.ensureTopic(prefix + "clicks", partitions: 5)
        let log = try KafkaLog(
            configuration: configuration, schemas: FixedSchemas(definitions: [clicksStream.name: clicksStream]), logger: Logger(label: "log"))
        let error = await #expect(throws: KafkaError.self) { try await log.openTopic(stream: "clicks", partitions: 3) }
        #expect(error?.code == .topicConflict)
        #expect(error?.message.contains("5 partitions") == true)
        // The same count is taken as it is.
        let topic = try await log.openTopic(stream: "clicks", partitions: 5)
        #expect(topic.id.hasPrefix("kafka:"))
        #expect(topic.id.hasSuffix(":" + prefix + "clicks"))
    }

    @Test func aTopicOpensAtItsRealEndEvenWhenTheBrokerSaysLess() async throws {
        let prefix = TestKafka.uniqueTopic("tandem") + "."
        let configuration = KafkaLog.Configuration(
            client: KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, replicationFactor: 1), topicPrefix: prefix)
        let admin = try KafkaAdmin(configuration: configuration.client, logger: Logger(label: "admin"))
        try await admin.ensureTopic(prefix + "clicks", partitions: 3)
        // Multi-record batches (lingering producer): Tansu then reports a high watermark below
        // the end to ListOffsets.
        _ = try kafka.runPython(
            """
            import os
            from confluent_kafka import Producer
            p = Producer({'bootstrap.servers': os.environ['KAFKA'], 'linger.ms': 200})
            for i in range(10):
                p.produce('\(prefix)clicks', partition=0, value=b'{}')
            for i in range(3):
                p.produce('\(prefix)clicks', partition=1, value=b'{}')
            p.flush(30)
            """)
        let log = try KafkaLog(
            configuration: configuration, schemas: FixedSchemas(definitions: [clicksStream.name: clicksStream]), logger: Logger(label: "log"))
        let topic = try await log.openTopic(stream: "clicks", partitions: 3)
        #expect(topic.endOffsets() == [10, 3, 0])
    }

    @Test func keyedAppendsGoWhereJavaProducersPutTheKey() async throws {
        try await Backend.kafka.withTopic { topic, _ in
            for user in ["alice", "bob", "carol", "dave"] {
                let partition = Array(user.utf8).withUnsafeBytes { topic.partition(forKey: $0) }
                #expect(partition == KafkaPartitioner.partition(of: Array(user.utf8), partitions: 3))
            }
        }
    }
}
