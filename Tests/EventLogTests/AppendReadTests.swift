import EventLog
import Foundation
import Logging
import TandemTestSupport
import Testing

@Suite("Append and read")
struct AppendReadTests {
    @Test("a batch round-trips: keys, nil keys, event times, payload bytes, offsets")
    func roundTrip() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, logger: testLogger)
            defer { log.close() }
            let topic = try log.createTopic("orders", partitions: 1)
            #expect(topic.name == "orders")
            #expect(topic.partitionCount == 1)
            #expect(topic.endOffsets() == [0])
            #expect(try topic.read(partition: 0, from: 0).isEmpty)

            let sent = [
                SentRecord("first", key: "alice", eventTime: 1_767_225_600_000),
                SentRecord(key: nil, payload: Array("no key".utf8), eventTime: -5),
                SentRecord(key: [], payload: Array("empty key".utf8), eventTime: 0),
                SentRecord(key: [0, 255, 10], payload: [], eventTime: Int64.max),
                SentRecord(key: nil, payload: [], eventTime: Int64.min),
                SentRecord(key: Array("k".utf8), payload: (0..<256).map { UInt8($0) }, eventTime: 42),
            ]
            let range = try await topic.append(makeBatch(sent), to: 0)
            #expect(span(range) == [0, 5])
            #expect(range.count == 6)
            #expect(topic.endOffsets() == [6])

            let batch = try topic.read(partition: 0, from: 0)
            #expect(batch.count == 6)
            #expect(batch.nextOffset == 6)
            expectRecords(Array(batch), equal: sent)
            // nil and empty keys are different things
            #expect(batch[1].key == nil)
            #expect(batch[2].key != nil)
            #expect(batch[2].key?.isEmpty == true)
            // one append is one group commit: one ingest time for all its records
            #expect(Set(batch.map(\.ingestTime)).count == 1)
            #expect(batch[0].ingestTime > 0)
            #expect(batch.byteCount == sent.reduce(0) { $0 + ($1.key?.count ?? 0) + $1.payload.count })

            let next = try await topic.append(makeBatch([SentRecord("more")]), to: 0)
            #expect(span(next) == [6, 6])
            expectRecords(try readAll(topic, partition: 0), equal: sent + [SentRecord("more")])
        }
    }

    @Test("offsets are contiguous per partition and partitions are independent")
    func offsetsPerPartition() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, logger: testLogger)
            defer { log.close() }
            let topic = try log.createTopic("clicks", partitions: 3)
            var expected: [[SentRecord]] = [[], [], []]
            for round in 0..<10 {
                for partition in 0..<3 {
                    let count = 1 + (round + partition) % 4
                    let records = (0..<count).map { SentRecord("p\(partition) r\(round) #\($0)", key: "k\(partition)", eventTime: Int64(round)) }
                    let range = try await topic.append(makeBatch(records), to: partition)
                    #expect(range.first == Int64(expected[partition].count))
                    #expect(range.count == count)
                    expected[partition] += records
                }
            }
            #expect(topic.endOffsets() == expected.map { Int64($0.count) })
            for partition in 0..<3 {
                expectRecords(try readAll(topic, partition: partition), equal: expected[partition])
            }
            let info = topic.partitionInfo()
            #expect(info.map(\.partition) == [0, 1, 2])
            #expect(info.map(\.startOffset) == [0, 0, 0])
            #expect(info.map(\.endOffset) == expected.map { Int64($0.count) })
            #expect(info.map(\.segments) == [1, 1, 1])
            #expect(info.map(\.sizeBytes) == expected.map { $0.reduce(0) { $0 + $1.framedSize } })
        }
    }

    @Test("reads from any offset, with record and byte limits, and past the end")
    func readsFromArbitraryOffsets() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, logger: testLogger)
            defer { log.close() }
            let topic = try log.createTopic("t", partitions: 1)
            let sent = variedRecords(count: 60, seed: 7)
            var offset = 0
            for size in [1, 5, 10, 3, 20, 21] {
                let range = try await topic.append(makeBatch(Array(sent[offset..<offset + size])), to: 0)
                #expect(span(range) == [Int64(offset), Int64(offset + size - 1)])
                offset += size
            }
            for start in 0...sent.count {
                let all = try topic.read(partition: 0, from: Int64(start))
                expectRecords(Array(all), equal: sent[start...])
                let limited = try topic.read(partition: 0, from: Int64(start), maxRecords: 3)
                #expect(limited.count == min(3, sent.count - start))
                #expect(limited.first?.offset == (start < sent.count ? Int64(start) : nil))
                // one record is returned even when it is larger than maxBytes
                let tiny = try topic.read(partition: 0, from: Int64(start), maxBytes: 1)
                #expect(tiny.count == (start < sent.count ? 1 : 0))
                if start < sent.count { #expect(SentRecord(tiny[0]) == sent[start]) }
            }
            // a byte limit stops after the record that reaches it
            let bytes = try topic.read(partition: 0, from: 0, maxBytes: 300)
            #expect(bytes.count >= 1 && bytes.count < sent.count)
            let kept = sent.prefix(bytes.count).reduce(0) { $0 + ($1.key?.count ?? 0) + $1.payload.count }
            #expect(kept >= 300 || bytes.count == sent.count)
            let beforeLast = sent.prefix(bytes.count - 1).reduce(0) { $0 + ($1.key?.count ?? 0) + $1.payload.count }
            #expect(beforeLast < 300)
            // maxRecords 0 and far past the end give nothing
            #expect(try topic.read(partition: 0, from: 0, maxRecords: 0).isEmpty)
            #expect(try topic.read(partition: 0, from: 1_000_000).isEmpty)
            #expect(try topic.read(partition: 0, from: Int64.max).isEmpty)
        }
    }

    @Test("a record larger than a read chunk round-trips and reads around it work")
    func largeRecord() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, logger: testLogger)
            defer { log.close() }
            let topic = try log.createTopic("big", partitions: 1)
            var random = SplitMix64(seed: 99)
            let big = SentRecord(key: Array("big".utf8), payload: (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &random) }, eventTime: 9)
            let sent = [SentRecord("before")] + [big] + [SentRecord("after")]
            _ = try await topic.append(makeBatch(Array(sent[0..<1])), to: 0)
            _ = try await topic.append(makeBatch(Array(sent[1...])), to: 0)
            for start in 0..<3 {
                expectRecords(Array(try topic.read(partition: 0, from: Int64(start))), equal: sent[start...])
            }
            log.close()
            let reopened = try EventLog(directory: directory, logger: testLogger)
            defer { reopened.close() }
            let again = try #require(reopened.topic("big"))
            expectRecords(try readAll(again, partition: 0), equal: sent)
        }
    }

    @Test("errors: negative offset, unknown partition, topic conflict, closed log")
    func errors() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, logger: testLogger)
            let topic = try log.createTopic("t", partitions: 2)
            #expect(try log.createTopic("t", partitions: 2) === topic)
            let conflict = #expect(throws: LogError.self) { try log.createTopic("t", partitions: 3) }
            #expect(conflict?.code == .topicConflict)
            #expect(log.topicNames == ["t"])
            #expect(log.topic("t") === topic)
            #expect(log.topic("nope") == nil)

            let negative = #expect(throws: LogError.self) { try topic.read(partition: 0, from: -1) }
            #expect(negative?.code == .offsetOutOfRange)
            let unknownRead = #expect(throws: LogError.self) { try topic.read(partition: 2, from: 0) }
            #expect(unknownRead?.code == .unknownPartition)
            let unknownNegative = #expect(throws: LogError.self) { try topic.read(partition: -1, from: 0) }
            #expect(unknownNegative?.code == .unknownPartition)
            let unknownAppend = await #expect(throws: LogError.self) { try await topic.append(makeBatch([SentRecord("x")]), to: 5) }
            #expect(unknownAppend?.code == .unknownPartition)
            let unknownTail = #expect(throws: LogError.self) { try topic.tail(partition: 9, from: 0) }
            #expect(unknownTail?.code == .unknownPartition)

            _ = try await topic.append(makeBatch([SentRecord("kept")]), to: 1)
            log.close()
            let closed = await #expect(throws: LogError.self) { try await topic.append(makeBatch([SentRecord("late")]), to: 1) }
            #expect(closed?.code == .closed)
            // reading still works after close
            expectRecords(try readAll(topic, partition: 1), equal: [SentRecord("kept")])
            #expect(topic.endOffsets() == [0, 1])
        }
    }

    @Test("an empty batch takes no offsets")
    func emptyBatch() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, logger: testLogger)
            defer { log.close() }
            let topic = try log.createTopic("t", partitions: 1)
            _ = try await topic.append(makeBatch([SentRecord("a")]), to: 0)
            let empty = AppendBatch()
            #expect(empty.isEmpty)
            _ = try await topic.append(empty, to: 0)
            #expect(topic.endOffsets() == [1])
            let range = try await topic.append(makeBatch([SentRecord("b")]), to: 0)
            #expect(range.first == 1)
            expectRecords(try readAll(topic, partition: 0), equal: [SentRecord("a"), SentRecord("b")])
        }
    }

    @Test("AppendBatch counts records and bytes")
    func appendBatchCounts() {
        var batch = AppendBatch()
        #expect(batch.isEmpty && batch.count == 0 && batch.byteCount == 0)
        batch.append(key: Array("ab".utf8), payload: Array("cde".utf8), eventTime: 1)
        batch.append(key: nil, payload: [1], eventTime: 2)
        #expect(batch.count == 2)
        #expect(batch.byteCount == 6)
    }
}
