import EventLog
import Foundation
import Logging
import Testing

@Suite("Recovery")
struct RecoveryTests {
    static let topicName = "events"

    /// Creates a log with `records` appended one batch of `batchSize` at a time, closes it, and
    /// returns the partition's segment files.
    @discardableResult
    static func prepare(
        _ directory: String, _ records: [SentRecord], configuration: LogConfiguration = LogConfiguration(), batchSize: Int = 1
    ) async throws -> [String] {
        let log = try EventLog(directory: directory, configuration: configuration, logger: testLogger)
        let topic = try log.createTopic(topicName, partitions: 1)
        var start = 0
        while start < records.count {
            let end = min(records.count, start + batchSize)
            _ = try await topic.append(makeBatch(Array(records[start..<end])), to: 0)
            start = end
        }
        log.close()
        return try segmentFiles(directory, topic: topicName, partition: 0)
    }

    static func records(_ count: Int) -> [SentRecord] {
        (0..<count).map { i in
            SentRecord(
                key: i % 2 == 0 ? Array("key\(i)".utf8) : nil,
                payload: Array(String(repeating: "payload \(i) ", count: 1 + i % 5).utf8),
                eventTime: Int64(1_767_225_600_000 + i))
        }
    }

    /// Reopens, checks the first `count` records survive, then checks appends continue at `count`.
    static func expectRecovered(_ directory: String, _ sent: [SentRecord], count: Int, configuration: LogConfiguration = LogConfiguration())
        async throws
    {
        let log = try EventLog(directory: directory, configuration: configuration, logger: testLogger)
        defer { log.close() }
        let topic = try #require(log.topic(topicName))
        #expect(topic.endOffsets() == [Int64(count)])
        expectRecords(try readAll(topic, partition: 0), equal: sent[..<count])
        let extra = SentRecord("appended after recovery", key: "again", eventTime: 7)
        let range = try await topic.append(makeBatch([extra]), to: 0)
        #expect(span(range) == [Int64(count), Int64(count)])
        expectRecords(try readAll(topic, partition: 0), equal: Array(sent[..<count]) + [extra])
        log.close()
        // and the repaired partition opens cleanly again
        let again = try EventLog(directory: directory, configuration: configuration, logger: testLogger)
        defer { again.close() }
        expectRecords(try readAll(try #require(again.topic(topicName)), partition: 0), equal: Array(sent[..<count]) + [extra])
    }

    @Test("a clean close and reopen keeps every record and appends continue")
    func reopenAfterCleanClose() async throws {
        try await withTemporaryDirectory { directory in
            let sent = variedRecords(count: 50, seed: 21)
            let files = try await Self.prepare(directory, sent, batchSize: 7)
            #expect(files.count == 1)
            #expect(files.first?.hasSuffix("/\(Self.topicName)/0/00000000000000000000.log") == true)
            let log = try EventLog(directory: directory, logger: testLogger)
            defer { log.close() }
            #expect(log.topicNames == [Self.topicName])
            let topic = try #require(log.topic(Self.topicName))
            #expect(topic.partitionCount == 1)
            let info = try #require(topic.partitionInfo().first)
            #expect(info.endOffset == 50)
            #expect(info.sizeBytes == sent.reduce(0) { $0 + $1.framedSize })
            expectRecords(try readAll(topic, partition: 0), equal: sent)
            // createTopic with the same count returns the recovered topic
            #expect(try log.createTopic(Self.topicName, partitions: 1) === topic)
            let more = variedRecords(count: 5, seed: 22)
            #expect(span(try await topic.append(makeBatch(more), to: 0)) == [50, 54])
            expectRecords(try readAll(topic, partition: 0), equal: sent + more)
        }
    }

    @Test("a multi-partition topic reopens with each partition's records")
    func reopenManyPartitions() async throws {
        try await withTemporaryDirectory { directory in
            var expected: [[SentRecord]] = [[], [], [], []]
            do {
                let log = try EventLog(directory: directory, logger: testLogger)
                let topic = try log.createTopic("multi", partitions: 4)
                _ = try log.createTopic("other", partitions: 1)
                for partition in 0..<4 {
                    expected[partition] = variedRecords(count: partition * 3, seed: UInt64(partition))
                    if !expected[partition].isEmpty { _ = try await topic.append(makeBatch(expected[partition]), to: partition) }
                }
                log.close()
            }
            let log = try EventLog(directory: directory, logger: testLogger)
            defer { log.close() }
            #expect(log.topicNames == ["multi", "other"])
            let topic = try #require(log.topic("multi"))
            #expect(topic.partitionCount == 4)
            #expect(topic.endOffsets() == [0, 3, 6, 9])
            for partition in 0..<4 { expectRecords(try readAll(topic, partition: partition), equal: expected[partition]) }
            let conflict = #expect(throws: LogError.self) { try log.createTopic("multi", partitions: 2) }
            #expect(conflict?.code == .topicConflict)
        }
    }

    @Test("a truncated tail is cut back to the last whole record", arguments: [1, 2, 4, 20, 35, 36, 37, 60])
    func truncatedTail(chopped: Int) async throws {
        try await withTemporaryDirectory { directory in
            var sent = Self.records(10)
            sent[9] = SentRecord(key: Array("last".utf8), payload: [UInt8](repeating: 0xAB, count: 100), eventTime: 99)
            let files = try await Self.prepare(directory, sent)
            let file = try #require(files.last)
            let lastSize = try #require(try framedRecords(inSegment: file).last).size
            #expect(lastSize == 140)
            #expect(chopped < lastSize)
            try chop(file, bytes: chopped)
            try await Self.expectRecovered(directory, sent, count: 9)
        }
    }

    @Test("a tail cut to the first byte of the last record is cut back")
    func truncatedToOneByte() async throws {
        try await withTemporaryDirectory { directory in
            let sent = Self.records(6)
            let files = try await Self.prepare(directory, sent)
            let file = try #require(files.last)
            let last = try #require(try framedRecords(inSegment: file).last)
            try chop(file, bytes: last.size - 1)
            try await Self.expectRecovered(directory, sent, count: 5)
        }
    }

    @Test(
        "a corrupted last record is cut off",
        arguments: [
            "length", "crc", "offset", "event time", "key length", "key", "payload start", "payload end",
        ])
    func corruptedTail(part: String) async throws {
        try await withTemporaryDirectory { directory in
            let sent = Self.records(13)
            let files = try await Self.prepare(directory, sent, batchSize: 5)
            let file = try #require(files.last)
            let last = try #require(try framedRecords(inSegment: file).last)
            #expect(last.offset == 12)
            let keyLength = max(Int(last.keyLength), 0)
            let position: Int
            var mask: UInt8 = 0xFF
            switch part {
            case "length": position = last.position; mask = 0x01
            case "crc": position = last.position + 4
            case "offset": position = last.position + 8
            case "event time": position = last.position + 16
            case "key length": position = last.position + 32
            case "key": position = last.position + 36
            case "payload start": position = last.position + 36 + keyLength
            default: position = last.position + last.size - 1
            }
            #expect(keyLength > 0)
            try flipByte(file, at: position, mask: mask)
            try await Self.expectRecovered(directory, sent, count: 12)
        }
    }

    @Test("a torn tail longer than maxTornTailBytes is refused as corruption")
    func tornTailTooLong() async throws {
        try await withTemporaryDirectory { directory in
            let sent = [SentRecord("small")] + [SentRecord(key: nil, payload: [UInt8](repeating: 1, count: 500), eventTime: 1)]
            let configuration = LogConfiguration(maxTornTailBytes: 100)
            let files = try await Self.prepare(directory, sent, configuration: configuration)
            let file = try #require(files.last)
            try chop(file, bytes: 10)
            let sizeBefore = try fileSize(file)
            let error = #expect(throws: LogError.self) {
                try EventLog(directory: directory, configuration: configuration, logger: testLogger)
            }
            #expect(error?.code == .corrupt)
            #expect(try fileSize(file) == sizeBefore, "a refused open must not touch the file")
            // with the default limit it is a torn tail
            try await Self.expectRecovered(directory, sent, count: 1)
        }
    }

    @Test("damage before the tail of the active segment refuses to open", arguments: [1, 4, 8])
    func corruptionBeforeTail(damaged: Int) async throws {
        try await withTemporaryDirectory { directory in
            let sent = Self.records(10)
            let files = try await Self.prepare(directory, sent)
            let file = try #require(files.last)
            let record = try #require(try framedRecords(inSegment: file).first { $0.offset == Int64(damaged) })
            try flipByte(file, at: record.position + record.size - 1)
            let sizeBefore = try fileSize(file)
            let error = #expect(throws: LogError.self) { try EventLog(directory: directory, logger: testLogger) }
            #expect(error?.code == .corrupt)
            #expect(error?.path == file)
            #expect(try fileSize(file) == sizeBefore, "valid records after the damage must not be dropped")
            #expect(try framedRecords(inSegment: file).count == 10)
        }
    }

    /// Builds a rolled partition and returns its files and what was sent.
    static func prepareRolled(_ directory: String) async throws -> (files: [String], sent: [SentRecord]) {
        let sent = variedRecords(count: 200, seed: 31, maxPayload: 100)
        let files = try await prepare(directory, sent, configuration: SegmentRollTests.configuration, batchSize: 4)
        #expect(files.count >= 3)
        return (files, sent)
    }

    @Test("damage at the end of a sealed segment refuses to open")
    func corruptionAtEndOfSealedSegment() async throws {
        try await withTemporaryDirectory { directory in
            let (files, _) = try await Self.prepareRolled(directory)
            let last = try #require(try framedRecords(inSegment: files[0]).last)
            try flipByte(files[0], at: last.position + last.size - 1)
            let error = #expect(throws: LogError.self) {
                try EventLog(directory: directory, configuration: SegmentRollTests.configuration, logger: testLogger)
            }
            #expect(error?.code == .corrupt)
            #expect(error?.path == files[0])
        }
    }

    @Test("damage in the middle of a sealed segment is never served as data")
    func corruptionInMiddleOfSealedSegment() async throws {
        try await withTemporaryDirectory { directory in
            let (files, sent) = try await Self.prepareRolled(directory)
            let records = try framedRecords(inSegment: files[0])
            let damaged = records[records.count / 2]
            try flipByte(files[0], at: damaged.position + damaged.size - 1)
            let log: EventLog
            do {
                log = try EventLog(directory: directory, configuration: SegmentRollTests.configuration, logger: testLogger)
            } catch let error as LogError {
                // refusing to open is the strictest answer
                #expect(error.code == .corrupt)
                return
            }
            // Recovery checks sealed segments only from their last index entry on (see
            // Recovery.swift), so the open may succeed; a read over the damage must then fail.
            defer { log.close() }
            let topic = try #require(log.topic(Self.topicName))
            #expect(topic.endOffsets() == [Int64(sent.count)])
            let error = #expect(throws: LogError.self) {
                try topic.read(partition: 0, from: damaged.offset, maxRecords: 1)
            }
            #expect(error?.code == .corrupt)
            let fromStart = #expect(throws: LogError.self) { try readAll(topic, partition: 0) }
            #expect(fromStart?.code == .corrupt)
            // records in the other segments still read
            let secondBase = try #require(try framedRecords(inSegment: files[1]).first).offset
            expectRecords(try readAll(topic, partition: 0, from: secondBase), equal: sent[Int(secondBase)...])
        }
    }

    @Test("with verifySealedSegments, damage in the middle of a sealed segment refuses to open")
    func corruptionInSealedSegmentWithFullVerification() async throws {
        try await withTemporaryDirectory { directory in
            let (files, _) = try await Self.prepareRolled(directory)
            let records = try framedRecords(inSegment: files[0])
            let damaged = records[records.count / 2]
            try flipByte(files[0], at: damaged.position + damaged.size - 1)
            var configuration = SegmentRollTests.configuration
            configuration.verifySealedSegments = true
            let error = #expect(throws: LogError.self) {
                try EventLog(directory: directory, configuration: configuration, logger: testLogger)
            }
            #expect(error?.code == .corrupt)
            #expect(error?.path == files[0])
        }
    }

    @Test("damage in the middle of a sealed segment whose index is gone refuses to open")
    func corruptionInSealedSegmentWithoutIndex() async throws {
        try await withTemporaryDirectory { directory in
            let (files, _) = try await Self.prepareRolled(directory)
            let records = try framedRecords(inSegment: files[0])
            let damaged = records[records.count / 2]
            try flipByte(files[0], at: damaged.position + damaged.size - 1)
            try FileManager.default.removeItem(atPath: String(files[0].dropLast(4)) + ".index")
            let error = #expect(throws: LogError.self) {
                try EventLog(directory: directory, configuration: SegmentRollTests.configuration, logger: testLogger)
            }
            #expect(error?.code == .corrupt)
        }
    }

    @Test("a sealed segment whose .index was deleted still reads correctly, and its index is rebuilt")
    func missingIndex() async throws {
        try await withTemporaryDirectory { directory in
            let (files, sent) = try await Self.prepareRolled(directory)
            let indexes = files.dropLast().map { String($0.dropLast(4)) + ".index" }
            for index in indexes {
                #expect(FileManager.default.fileExists(atPath: index))
                try FileManager.default.removeItem(atPath: index)
            }
            do {
                let log = try EventLog(directory: directory, configuration: SegmentRollTests.configuration, logger: testLogger)
                defer { log.close() }
                let topic = try #require(log.topic(Self.topicName))
                #expect(topic.endOffsets() == [Int64(sent.count)])
                #expect(topic.partitionInfo().first?.segments == files.count)
                for start in 0...sent.count {
                    expectRecords(
                        Array(try topic.read(partition: 0, from: Int64(start), maxRecords: 11)), equal: sent[start..<min(sent.count, start + 11)])
                }
                for index in indexes { #expect(FileManager.default.fileExists(atPath: index)) }
            }
            // a damaged index file is ignored too
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: indexes[0]))
            let log = try EventLog(directory: directory, configuration: SegmentRollTests.configuration, logger: testLogger)
            defer { log.close() }
            let topic = try #require(log.topic(Self.topicName))
            expectRecords(try readAll(topic, partition: 0, maxRecords: 7), equal: sent)
        }
    }

    @Test("a truncated tail after rolls only touches the active segment")
    func truncatedTailAfterRoll() async throws {
        try await withTemporaryDirectory { directory in
            let (files, sent) = try await Self.prepareRolled(directory)
            let sealedSizes = try files.dropLast().map(fileSize)
            try chop(files.last!, bytes: 3)
            try await Self.expectRecovered(directory, sent, count: sent.count - 1, configuration: SegmentRollTests.configuration)
            #expect(try files.dropLast().map(fileSize) == sealedSizes)
        }
    }

    @Test("interval durability round-trips, and run() closes the log when cancelled")
    func intervalDurability() async throws {
        try await withTemporaryDirectory { directory in
            let configuration = LogConfiguration(durability: .interval(milliseconds: 50))
            #expect(configuration.durability == .interval(milliseconds: 50))
            let sent = variedRecords(count: 40, seed: 41)
            do {
                let log = try EventLog(directory: directory, configuration: configuration, logger: testLogger)
                let topic = try log.createTopic("lazy", partitions: 2)
                let runner = Task { try await log.run() }
                for (i, record) in sent.enumerated() {
                    let range = try await topic.append(makeBatch([record]), to: i % 2)
                    #expect(range.first == Int64(i / 2))
                }
                expectRecords(try readAll(topic, partition: 0), equal: stride(from: 0, to: 40, by: 2).map { sent[$0] })
                expectRecords(try readAll(topic, partition: 1), equal: stride(from: 1, to: 40, by: 2).map { sent[$0] })
                runner.cancel()
                try await runner.value
                let closed = await #expect(throws: LogError.self) { try await topic.append(makeBatch([SentRecord("late")]), to: 0) }
                #expect(closed?.code == .closed)
            }
            let log = try EventLog(directory: directory, configuration: configuration, logger: testLogger)
            defer { log.close() }
            let topic = try #require(log.topic("lazy"))
            #expect(topic.endOffsets() == [20, 20])
            expectRecords(try readAll(topic, partition: 0), equal: stride(from: 0, to: 40, by: 2).map { sent[$0] })
            expectRecords(try readAll(topic, partition: 1), equal: stride(from: 1, to: 40, by: 2).map { sent[$0] })
            #expect(span(try await topic.append(makeBatch([SentRecord("next")]), to: 1)) == [20, 20])
        }
    }

    @Test("LogConfiguration clamps its limits")
    func configurationClamps() {
        let tiny = LogConfiguration(segmentBytes: 1, indexIntervalBytes: 1, maxWriteBytes: 1)
        #expect(tiny.segmentBytes == 1024)
        #expect(tiny.indexIntervalBytes == 64)
        #expect(tiny.maxWriteBytes == 1024)
        #expect(LogConfiguration(segmentBytes: Int.max).segmentBytes == 1 << 30)
        #expect(LogConfiguration().durability == .everyBatch)
    }
}
