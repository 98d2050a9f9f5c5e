import EventLog
import Events
import Foundation
import Kafka
import KafkaLog
import TandemTestSupport
import Testing

/// The surface the speed and batch layers use, against every backend: what holds for the
/// embedded log holds for Kafka (Kafka through a real Kafka-protocol broker).
@Suite(.timeLimit(.minutes(3))) struct LogBackendTests {
    static let start: Int64 = 1_767_225_600_000  // 2026-01-01

    static func sample(_ count: Int, from first: Int = 0) -> [Click] {
        (first..<first + count).map { index in
            Click(
                time: start + Int64(index) * 1_000, url: "/p\(index % 7)", user: index % 5 == 0 ? nil : "u\(index % 11)", n: Int64(index))
        }
    }

    /// Appends clicks, as HTTP ingest does; returns what each partition got, in order.
    static func append(_ clicks: [Click], to topic: any LogTopic) async throws -> [Int: [Click]] {
        var sent: [Int: [Click]] = [:]
        let batches = Click.batches(clicks, for: topic)
        for (partition, batch) in batches.enumerated() where !batch.isEmpty {
            let range = try await topic.append(batch, to: partition)
            #expect(range.last >= range.first)
            #expect(range.count >= batch.count)
        }
        // Where each click went, by the same rule.
        var spread = 0
        for click in clicks {
            let partition: Int
            if let user = click.user {
                partition = Array(user.utf8).withUnsafeBytes { topic.partition(forKey: $0) }
            } else {
                partition = spread % topic.partitionCount
                spread += 1
            }
            sent[partition, default: []].append(click)
        }
        return sent
    }

    /// Reads a partition from `offset` up to `end` with one-shot reads, as the batch scan does.
    static func readAll(_ topic: any LogTopic, partition: Int, from offset: Int64 = 0, to end: Int64) async throws -> [LogRecord] {
        var records: [LogRecord] = []
        var offset = offset
        while offset < end {
            let batch = try await topic.read(partition: partition, from: offset, maxRecords: 7, maxBytes: 1 << 20)
            guard let next = batch.nextOffset else { break }
            records += batch
            offset = next
        }
        return records
    }

    @Test(arguments: Backend.allCases)
    func appendedRecordsReadBackWholeAndInOrder(backend: Backend) async throws {
        try await backend.withTopic { topic, _ in
            let clicks = Self.sample(60)
            let sent = try await Self.append(clicks, to: topic)
            let ends = topic.endOffsets()
            #expect(ends.count == 3)
            for partition in 0..<3 {
                let records = try await Self.readAll(topic, partition: partition, to: ends[partition])
                #expect(try records.map(Click.init) == sent[partition] ?? [], "partition \(partition)")
                #expect(records.map(\.offset) == records.map(\.offset).sorted())
                for record in records {
                    let click = try Click(record)
                    #expect(record.key.map { String(decoding: $0, as: UTF8.self) } == click.user)
                }
                // At the end, a read returns nothing and says where the end is.
                let atEnd = try await topic.read(partition: partition, from: ends[partition], maxRecords: 10, maxBytes: 1 << 20)
                #expect(atEnd.isEmpty)
                #expect(atEnd.nextOffset == nil, "an empty read at the end says there is no next offset")
            }
            #expect(topic.partitionInfo().map(\.endOffset) == ends)
        }
    }

    @Test(arguments: Backend.allCases)
    func aTailSeesRecordsAppendedAfterItStartedFromItsOffset(backend: Backend) async throws {
        try await backend.withTopic { topic, _ in
            let first = try await Self.append(Self.sample(30), to: topic)
            let partition = try #require(first.keys.min())
            let skip = 2
            let start = try await Self.readAll(topic, partition: partition, to: topic.endOffsets()[partition])[skip].offset
            let tail = try topic.tail(partition: partition, from: start, maxRecords: 5, maxBytes: 1 << 20)
            let later = try await Self.append(Self.sample(30, from: 100), to: topic)
            let expected = Array((first[partition] ?? []).dropFirst(skip)) + (later[partition] ?? [])
            var seen: [Click] = []
            for try await batch in tail {
                seen += try batch.map(Click.init)
                if seen.count >= expected.count { break }
            }
            #expect(seen == expected)
        }
    }

    @Test(arguments: Backend.allCases)
    func waitingForDataEndsWhenARecordArrives(backend: Backend) async throws {
        try await backend.withTopic { topic, _ in
            let end = topic.endOffsets()
            let batches = Click.batches(Self.sample(1, from: 5), for: topic)
            let partition = try #require(batches.firstIndex { !$0.isEmpty })
            let waiting = Task { try await topic.waitForData(partition: partition, at: end[partition]) }
            try await Task.sleep(for: .milliseconds(200))
            _ = try await topic.append(batches[partition], to: partition)
            #expect(try await waiting.value)
        }
    }

    @Test(arguments: Backend.allCases)
    func startOffsetsByIngestTimeNeverSkipALaterRecord(backend: Backend) async throws {
        try await backend.withTopic { topic, _ in
            _ = try await Self.append(Self.sample(40), to: topic)
            let ends = topic.endOffsets()
            for partition in 0..<3 {
                let records = try await Self.readAll(topic, partition: partition, to: ends[partition])
                #expect(try await topic.startOffset(partition: partition, ingestTimeAtLeast: 0) == 0)
                // Far in the future: nothing is left to read, and the offset is within the partition.
                let future = try await topic.startOffset(partition: partition, ingestTimeAtLeast: Int64.max / 2)
                #expect((0...ends[partition]).contains(future))
                for record in records {
                    // Every record stamped at or after a record's time is at or after the answer.
                    let offset = try await topic.startOffset(partition: partition, ingestTimeAtLeast: record.ingestTime)
                    #expect(records.filter { $0.ingestTime >= record.ingestTime }.allSatisfy { $0.offset >= offset })
                }
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aKeyAlwaysGoesToOnePartitionInRange(backend: Backend) async throws {
        try await backend.withTopic { topic, _ in
            for user in (0..<200).map({ "user-\($0)" }) {
                let partition = Array(user.utf8).withUnsafeBytes { topic.partition(forKey: $0) }
                #expect((0..<3).contains(partition))
                #expect(Array(user.utf8).withUnsafeBytes { topic.partition(forKey: $0) } == partition)
            }
        }
    }
}
