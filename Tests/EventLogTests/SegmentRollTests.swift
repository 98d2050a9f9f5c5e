import EventLog
import Foundation
import Logging
import Testing

@Suite("Segment roll")
struct SegmentRollTests {
    static let configuration = LogConfiguration(segmentBytes: 4096, indexIntervalBytes: 256)

    /// Appends `records` in batches of 1...9 and returns the ranges given.
    static func appendInBatches(_ records: [SentRecord], to topic: Topic, partition: Int = 0) async throws -> [OffsetRange] {
        var ranges: [OffsetRange] = []
        var start = 0
        var size = 1
        while start < records.count {
            let end = min(records.count, start + size)
            ranges.append(try await topic.append(makeBatch(Array(records[start..<end])), to: partition))
            start = end
            size = size % 9 + 1
        }
        return ranges
    }

    @Test("a small segmentBytes rolls into several .log files named by base offset, each sealed one indexed")
    func rollsSegments() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, configuration: Self.configuration, logger: testLogger)
            defer { log.close() }
            let topic = try log.createTopic("rolled", partitions: 1)
            let sent = variedRecords(count: 400, seed: 3)
            let ranges = try await Self.appendInBatches(sent, to: topic)
            #expect(ranges.first?.first == 0)
            for (previous, next) in zip(ranges, ranges.dropFirst()) { #expect(next.first == previous.last + 1) }
            #expect(ranges.last?.last == 399)

            let files = try segmentFiles(directory, topic: "rolled", partition: 0)
            #expect(files.count >= 4, "expected several segments, got \(files.count)")
            let info = try #require(topic.partitionInfo().first)
            #expect(info.segments == files.count)
            #expect(info.startOffset == 0)
            #expect(info.endOffset == 400)
            #expect(info.sizeBytes == sent.reduce(0) { $0 + $1.framedSize })
            #expect(try files.reduce(0) { $0 + (try fileSize($1)) } == info.sizeBytes)

            var nextOffset: Int64 = 0
            for (i, file) in files.enumerated() {
                let name = String(file.split(separator: "/").last!)
                #expect(name.count == 24)
                let base = try #require(Int64(name.dropLast(4)))
                #expect(name == String(repeating: "0", count: 20 - String(base).count) + String(base) + ".log")
                #expect(base == nextOffset, "segment \(name) should start where the previous one ended")
                #expect(ranges.contains { $0.first == base }, "a segment starts with a group commit")
                let records = try framedRecords(inSegment: file)
                #expect(!records.isEmpty)
                #expect(records.map(\.offset) == Array(base..<base + Int64(records.count)))
                nextOffset = base + Int64(records.count)
                let size = try fileSize(file)
                if i + 1 < files.count {
                    // sealed: it was rolled once it reached segmentBytes (checked before each
                    // group commit, so the last write may take it past the limit), and it has an index
                    #expect(size >= 4096)
                    let lastWrite = try #require(ranges.first { $0.first <= records.last!.offset && records.last!.offset <= $0.last })
                    let beforeLastWrite = records.filter { $0.offset < lastWrite.first }.reduce(0) { $0 + $1.size }
                    #expect(beforeLastWrite < 4096)
                    #expect(FileManager.default.fileExists(atPath: String(file.dropLast(4)) + ".index"))
                } else {
                    #expect(!FileManager.default.fileExists(atPath: String(file.dropLast(4)) + ".index"))
                }
            }
            #expect(nextOffset == 400)
        }
    }

    @Test("reads across segment boundaries from every offset")
    func readsAcrossBoundaries() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, configuration: Self.configuration, logger: testLogger)
            defer { log.close() }
            let topic = try log.createTopic("rolled", partitions: 1)
            let sent = variedRecords(count: 300, seed: 11)
            _ = try await Self.appendInBatches(sent, to: topic)
            #expect(try segmentFiles(directory, topic: "rolled", partition: 0).count >= 4)

            expectRecords(Array(try topic.read(partition: 0, from: 0)), equal: sent)
            for start in 0...sent.count {
                // a window that usually straddles a boundary
                let window = try topic.read(partition: 0, from: Int64(start), maxRecords: 17)
                expectRecords(Array(window), equal: sent[start..<min(sent.count, start + 17)])
            }
            for start in stride(from: 0, to: sent.count, by: 23) {
                expectRecords(try readAll(topic, partition: 0, from: Int64(start), maxRecords: 13), equal: sent[start...])
            }
        }
    }

    @Test("segments survive a reopen and reads from every offset still work; appends continue and roll")
    func reopenAfterRoll() async throws {
        try await withTemporaryDirectory { directory in
            var sent = variedRecords(count: 250, seed: 5)
            do {
                let log = try EventLog(directory: directory, configuration: Self.configuration, logger: testLogger)
                let topic = try log.createTopic("rolled", partitions: 1)
                _ = try await Self.appendInBatches(sent, to: topic)
                log.close()
            }
            let filesBefore = try segmentFiles(directory, topic: "rolled", partition: 0)
            let log = try EventLog(directory: directory, configuration: Self.configuration, logger: testLogger)
            defer { log.close() }
            let topic = try #require(log.topic("rolled"))
            #expect(topic.endOffsets() == [250])
            #expect(topic.partitionInfo().first?.segments == filesBefore.count)
            #expect(try segmentFiles(directory, topic: "rolled", partition: 0) == filesBefore)
            for start in 0...sent.count {
                expectRecords(Array(try topic.read(partition: 0, from: Int64(start), maxRecords: 9)), equal: sent[start..<min(sent.count, start + 9)])
            }
            let more = variedRecords(count: 100, seed: 6)
            let ranges = try await Self.appendInBatches(more, to: topic)
            #expect(ranges.first?.first == 250)
            sent += more
            expectRecords(try readAll(topic, partition: 0), equal: sent)
            #expect(try segmentFiles(directory, topic: "rolled", partition: 0).count > filesBefore.count)
            #expect(topic.partitionInfo().first?.sizeBytes == sent.reduce(0) { $0 + $1.framedSize })
        }
    }
}
