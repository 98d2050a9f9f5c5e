import EventLog
import Foundation
import Logging
import Testing

@Suite("Concurrent appends")
struct ConcurrentAppendTests {
    struct Acknowledged: Sendable {
        var range: OffsetRange
        var records: [SentRecord]
    }

    static func hammer(_ topic: Topic, tasks: Int, appendsPerTask: Int, partition: Int = 0) async throws -> [Acknowledged] {
        try await withThrowingTaskGroup(of: [Acknowledged].self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var mine: [Acknowledged] = []
                    for i in 0..<appendsPerTask {
                        let count = 1 + (task + i) % 3
                        let records = (0..<count).map { j in
                            SentRecord(
                                "task \(task) append \(i) record \(j)", key: j == 1 ? nil : "t\(task)",
                                eventTime: Int64(task * 1_000_000 + i * 10 + j))
                        }
                        let range = try await topic.append(makeBatch(records), to: partition)
                        mine.append(Acknowledged(range: range, records: records))
                    }
                    return mine
                }
            }
            var all: [Acknowledged] = []
            for try await acknowledged in group { all += acknowledged }
            return all
        }
    }

    static func verify(_ acknowledged: [Acknowledged], topic: Topic, partition: Int = 0) throws {
        let total = acknowledged.reduce(0) { $0 + $1.records.count }
        #expect(topic.endOffsets()[partition] == Int64(total))
        // every range has its batch's size, and the ranges tile 0..<total with no gap or overlap
        for item in acknowledged { #expect(item.range.count == item.records.count) }
        let sorted = acknowledged.sorted { $0.range.first < $1.range.first }
        var expectedFirst: Int64 = 0
        for item in sorted {
            #expect(item.range.first == expectedFirst, "ranges must be disjoint and contiguous")
            expectedFirst = item.range.last + 1
        }
        #expect(expectedFirst == Int64(total))
        // each task reads back, at the offsets it was told, what it sent
        let stored = try readAll(topic, partition: partition)
        #expect(stored.count == total)
        #expect(stored.map(\.offset) == Array(0..<Int64(total)))
        guard stored.count == total else { return }
        for item in acknowledged {
            for (offset, record) in zip(item.range.first...item.range.last, item.records) {
                #expect(SentRecord(stored[Int(offset)]) == record)
            }
            // one batch is written in one group commit
            let times = Set((item.range.first...item.range.last).map { stored[Int($0)].ingestTime })
            #expect(times.count == 1)
        }
    }

    @Test("8 tasks × 200 appends to one partition get disjoint ranges covering 0..<total")
    func manyAppenders() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, logger: testLogger)
            defer { log.close() }
            let topic = try log.createTopic("busy", partitions: 1)
            let acknowledged = try await Self.hammer(topic, tasks: 8, appendsPerTask: 200)
            #expect(acknowledged.count == 1600)
            try Self.verify(acknowledged, topic: topic)
        }
    }

    @Test("concurrent appends while segments roll, then a reopen")
    func manyAppendersWithRolls() async throws {
        try await withTemporaryDirectory { directory in
            let configuration = LogConfiguration(segmentBytes: 4096, indexIntervalBytes: 256, maxWriteBytes: 1024)
            let acknowledged: [Acknowledged]
            do {
                let log = try EventLog(directory: directory, configuration: configuration, logger: testLogger)
                let topic = try log.createTopic("busy", partitions: 2)
                acknowledged = try await Self.hammer(topic, tasks: 6, appendsPerTask: 60, partition: 1)
                try Self.verify(acknowledged, topic: topic, partition: 1)
                #expect(topic.endOffsets()[0] == 0)
                #expect(try segmentFiles(directory, topic: "busy", partition: 1).count > 3)
                log.close()
            }
            let log = try EventLog(directory: directory, configuration: configuration, logger: testLogger)
            defer { log.close() }
            try Self.verify(acknowledged, topic: try #require(log.topic("busy")), partition: 1)
        }
    }
}
