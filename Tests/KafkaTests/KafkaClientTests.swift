import Foundation
import Kafka
import Logging
import Synchronization
import TandemTestSupport
import Testing

/// The Kafka client against a real Kafka-protocol broker (Tansu, started by `scripts/test.sh`).
@Suite(.timeLimit(.minutes(3))) struct KafkaClientTests {
    let kafka: TestKafka
    let configuration: KafkaConfiguration
    let logger = Logger(label: "kafka-test")

    init() throws {
        kafka = try TestKafka.current()
        configuration = KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, replicationFactor: 1)
    }

    /// Runs `body` with a producer whose delivery reports are served, then stops it.
    func withProducer<T: Sendable>(
        _ configuration: KafkaConfiguration? = nil, _ body: @Sendable (KafkaProducer) async throws -> T
    ) async throws -> T {
        let producer = try KafkaProducer(configuration: configuration ?? self.configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            return try await body(producer)
        }
    }

    /// Reads `partition` of `topic` from `offset` until `count` messages came.
    func read(_ topic: String, partition: Int, from offset: Int64 = 0, count: Int) async throws -> [KafkaMessage] {
        let reader = try KafkaPartitionReader(configuration: configuration, topic: topic, partition: partition, from: offset, logger: logger)
        var messages: [KafkaMessage] = []
        for try await batch in reader.batches {
            messages += batch
            if messages.count >= count { break }
        }
        return messages
    }

    @Test func createsATopicOnceAndRefusesAnotherPartitionCount() async throws {
        let admin = try KafkaAdmin(configuration: configuration, logger: logger)
        let topic = TestKafka.uniqueTopic()
        #expect(try await admin.partitionCount(topic) == nil)
        #expect(try await admin.ensureTopic(topic, partitions: 3))
        #expect(try await admin.partitionCount(topic) == 3)
        #expect(try await admin.ensureTopic(topic, partitions: 3) == false)
        let error = await #expect(throws: KafkaError.self) { try await admin.ensureTopic(topic, partitions: 4) }
        #expect(error?.code == .topicConflict)
        #expect(error?.message.contains("3 partitions") == true)
    }

    @Test func keyedMessagesLandWhereJavaClientsPutThemAndReadBackInOrder() async throws {
        let admin = try KafkaAdmin(configuration: configuration, logger: logger)
        let topic = TestKafka.uniqueTopic()
        try await admin.ensureTopic(topic, partitions: 8)
        var batch = KafkaOutgoingBatch()
        let keys = (0..<300).map { "user-\($0 * 7919 % 1000)" }
        for (index, key) in keys.enumerated() {
            batch.append(key: Array(key.utf8), value: Array("{\"n\":\(index)}".utf8))
        }
        let outgoing = batch
        let deliveries = try await withProducer { try await $0.send(outgoing, to: topic) }
        #expect(deliveries.count == keys.count)
        var expected: [Int: [(offset: Int64, key: String, index: Int)]] = [:]
        for (index, (key, delivery)) in zip(keys, deliveries).enumerated() {
            #expect(delivery.partition == KafkaPartitioner.partition(of: Array(key.utf8), partitions: 8), "key \(key)")
            let offset = try #require(delivery.offset)
            expected[delivery.partition, default: []].append((offset, key, index))
        }
        for (partition, sent) in expected {
            // One send keeps its order within a partition, from offset 0 of a new topic.
            #expect(sent.map(\.offset) == Array(0..<Int64(sent.count)))
            let messages = try await read(topic, partition: partition, count: sent.count)
            #expect(messages.map(\.offset) == sent.map(\.offset))
            #expect(messages.map { String(decoding: $0.key ?? [], as: UTF8.self) } == sent.map(\.key))
            #expect(messages.map { String(decoding: $0.value, as: UTF8.self) } == sent.map { "{\"n\":\($0.index)}" })
            #expect(messages.allSatisfy { $0.timestamp != nil })
        }
    }

    @Test func readsWhatAnotherClientProducedStraightToTheTopic() async throws {
        let admin = try KafkaAdmin(configuration: configuration, logger: logger)
        let topic = TestKafka.uniqueTopic()
        try await admin.ensureTopic(topic, partitions: 4)
        // confluent-kafka's own default partitioner is CRC32-based; Java's is murmur2, which
        // Tandem follows. A producer that sets murmur2_random agrees with Tandem.
        let output = try kafka.runPython(
            """
            import os, json
            from confluent_kafka import Producer
            p = Producer({'bootstrap.servers': os.environ['KAFKA'], 'partitioner': 'murmur2_random', 'enable.idempotence': True})
            out = []
            for i in range(40):
                p.produce('\(topic)', key=('k%d' % i).encode(), value=json.dumps({'i': i}).encode(),
                          on_delivery=lambda e, m: out.append((m.key().decode(), m.partition(), m.offset())))
            p.flush(30)
            print(json.dumps(out))
            """)
        let delivered = try JSONDecoder().decode([[JSONScalar]].self, from: Data(output.utf8))
        #expect(delivered.count == 40)
        var perPartition: [Int: [String]] = [:]
        for row in delivered {
            guard case .string(let key) = row[0], case .number(let partition) = row[1] else { Issue.record("bad row \(row)"); continue }
            #expect(Int(partition) == KafkaPartitioner.partition(of: Array(key.utf8), partitions: 4), "key \(key)")
            perPartition[Int(partition), default: []].append(key)
        }
        for (partition, keys) in perPartition {
            let messages = try await read(topic, partition: partition, count: keys.count)
            #expect(Set(messages.map { String(decoding: $0.key ?? [], as: UTF8.self) }) == Set(keys))
        }
    }

    @Test func aReaderWaitsForMessagesAndStopsWhenCancelled() async throws {
        let admin = try KafkaAdmin(configuration: configuration, logger: logger)
        let topic = TestKafka.uniqueTopic()
        try await admin.ensureTopic(topic, partitions: 1)
        let reader = try KafkaPartitionReader(configuration: configuration, topic: topic, partition: 0, from: 0, logger: logger)
        let waiting = Task { try await reader.next() }
        try await Task.sleep(for: .milliseconds(300))
        var batch = KafkaOutgoingBatch()
        batch.append(value: Array("late".utf8), partition: 0)
        let outgoing = batch
        _ = try await withProducer { try await $0.send(outgoing, to: topic) }
        let received = try await waiting.value
        #expect(received?.map { String(decoding: $0.value, as: UTF8.self) } == ["late"])
        #expect(reader.nextOffset == 1)

        let idle = Task { try await reader.next() }
        try await Task.sleep(for: .milliseconds(200))
        idle.cancel()
        #expect(try await idle.value == nil)
    }

    @Test func aReaderStartsAtTheOffsetItIsGiven() async throws {
        let admin = try KafkaAdmin(configuration: configuration, logger: logger)
        let topic = TestKafka.uniqueTopic()
        try await admin.ensureTopic(topic, partitions: 1)
        var batch = KafkaOutgoingBatch()
        for index in 0..<20 { batch.append(value: Array("\(index)".utf8), partition: 0) }
        let outgoing = batch
        _ = try await withProducer { try await $0.send(outgoing, to: topic) }
        let messages = try await read(topic, partition: 0, from: 13, count: 7)
        #expect(messages.map(\.offset) == Array(13..<20))
        #expect(messages.map { String(decoding: $0.value, as: UTF8.self) } == (13..<20).map { "\($0)" })
    }

    /// Waits until `member` owns exactly what `expected` says, or fails after 30 s.
    func waitForAssignment(
        _ member: KafkaGroupMembership, _ expected: @Sendable (Set<KafkaTopicPartition>) -> Bool, _ what: String
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !expected(member.assignment) {
            guard ContinuousClock.now < deadline else {
                Issue.record("\(what): still \(member.assignment.sorted())")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test func groupMembersDivideThePartitionsAndTakeBackThoseOfOneThatLeaves() async throws {
        let admin = try KafkaAdmin(configuration: configuration, logger: logger)
        let topics = [TestKafka.uniqueTopic(), TestKafka.uniqueTopic()]
        try await admin.ensureTopic(topics[0], partitions: 4)
        try await admin.ensureTopic(topics[1], partitions: 2)
        let all = Set(topics.flatMap { topic in (0..<(topic == topics[0] ? 4 : 2)).map { KafkaTopicPartition(topic: topic, partition: $0) } })
        let group = TestKafka.uniqueTopic("group")
        let first = try KafkaGroupMembership(configuration: configuration, group: group, topics: [topics[0]], logger: logger)
        let firstRun = Task { await first.run() }
        defer { firstRun.cancel() }
        let seen = Mutex<[Set<KafkaTopicPartition>]>([])
        Task { for await change in first.changes { seen.withLock { $0.append(change) } } }
        try await waitForAssignment(first, { $0.count == 4 && $0.allSatisfy { $0.topic == topics[0] } }, "the only member owns the first topic")
        // A topic added to the subscription is divided too.
        try first.subscribe(topics)
        try await waitForAssignment(first, { $0 == all }, "the only member owns both topics")

        let second = try KafkaGroupMembership(configuration: configuration, group: group, topics: topics, logger: logger)
        let secondRun = Task { await second.run() }
        try await waitForAssignment(
            second, { [first] owned in !owned.isEmpty && owned.union(first.assignment) == all && owned.isDisjoint(with: first.assignment) },
            "two members divide the partitions")
        let kept = first.assignment
        #expect(kept.count >= 2 && kept.count <= 4, "\(kept.sorted())")
        // Nothing is consumed through the group: a message produced now reaches no member's queue
        // (they are paused), and the assignment stays put.
        var batch = KafkaOutgoingBatch()
        for partition in 0..<4 { batch.append(value: Array("x".utf8), partition: partition) }
        let outgoing = batch
        _ = try await withProducer { try await $0.send(outgoing, to: topics[0]) }
        try await Task.sleep(for: .milliseconds(500))
        #expect(first.assignment == kept)

        // The second leaves: every partition goes back to the first, and `changes` said so.
        secondRun.cancel()
        await secondRun.value
        #expect(second.assignment.isEmpty)
        try await waitForAssignment(first, { $0 == all }, "the remaining member owns everything again")
        try await Task.sleep(for: .milliseconds(300))
        #expect(seen.withLock { $0.last } == all)
        #expect(seen.withLock { $0.count } >= 4)
    }

    @Test func anUnreachableClusterFailsTheSendWithAClearError() async throws {
        let unreachable = KafkaConfiguration(
            bootstrapServers: "127.0.0.1:1", properties: ["message.timeout.ms": "1500"], requestTimeoutMilliseconds: 1_000)
        var batch = KafkaOutgoingBatch()
        batch.append(key: Array("k".utf8), value: Array("v".utf8), partition: 0)
        let outgoing = batch
        let error = await #expect(throws: KafkaError.self) {
            try await withProducer(unreachable) { try await $0.send(outgoing, to: "nowhere") }
        }
        #expect(error?.code == .unavailable)
        #expect(error?.kafkaCode == "_MSG_TIMED_OUT")
    }

    @Test func anUnknownPropertyIsAConfigurationError() throws {
        let bad = KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, properties: ["no.such.property": "1"])
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: bad, logger: logger) }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("no.such.property") == true)
    }
}

/// A JSON array element as the Python script prints it.
enum JSONScalar: Decodable, Sendable {
    case string(String)
    case number(Double)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) { self = .string(text) } else { self = .number(try container.decode(Double.self)) }
    }
}
