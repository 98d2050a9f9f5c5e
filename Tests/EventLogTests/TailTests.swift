import EventLog
import Foundation
import Logging
import Testing

@Suite("Live tail", .timeLimit(.minutes(1)))
struct TailTests {
    /// Follows a tail, reporting each batch's next offset on `progress`, until the tail ends.
    static func follow(_ tail: PartitionTail, progress: AsyncStream<Int64>.Continuation) async throws -> [LogRecord] {
        defer { progress.finish() }
        var received: [LogRecord] = []
        for try await batch in tail {
            #expect(!batch.isEmpty)
            if let first = batch.first, let previous = received.last { #expect(first.offset == previous.offset + 1) }
            received.append(contentsOf: batch)
            progress.yield(try #require(batch.nextOffset))
        }
        return received
    }

    /// Waits until the follower has reported reaching `offset`; false if it ended first.
    static func wait(for offset: Int64, on progress: inout AsyncStream<Int64>.Iterator) async -> Bool {
        while let reached = await progress.next() {
            if reached >= offset { return true }
        }
        return false
    }

    @Test("a tail receives records appended after it started and ends when the log closes")
    func tailFollowsAppends() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(
                directory: directory, configuration: LogConfiguration(segmentBytes: 4096, indexIntervalBytes: 256), logger: testLogger)
            let topic = try log.createTopic("live", partitions: 2)
            let sent = variedRecords(count: 120, seed: 51)
            _ = try await topic.append(makeBatch(Array(sent[0..<3])), to: 1)

            let (stream, continuation) = AsyncStream.makeStream(of: Int64.self)
            let tail = try topic.tail(partition: 1, from: 0)
            async let followed = Self.follow(tail, progress: continuation)
            var progress = stream.makeAsyncIterator()
            // the tail is running and has caught up with what existed before
            #expect(await Self.wait(for: 3, on: &progress))

            var offset = 3
            var size = 1
            while offset < sent.count {
                let end = min(sent.count, offset + size)
                _ = try await topic.append(makeBatch(Array(sent[offset..<end])), to: 1)
                // appends to another partition do not reach this tail
                _ = try await topic.append(makeBatch([SentRecord("elsewhere")]), to: 0)
                #expect(await Self.wait(for: Int64(end), on: &progress), "the tail must see offset \(end - 1) while the log is open")
                offset = end
                size = size % 7 + 1
            }
            // the tail is now waiting at the end; closing ends it
            log.close()
            let received = try await followed
            expectRecords(received, equal: sent)
        }
    }

    @Test("a tail started past the end waits for that offset")
    func tailFromFutureOffset() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, logger: testLogger)
            let topic = try log.createTopic("live", partitions: 1)
            let sent = variedRecords(count: 10, seed: 52)
            _ = try await topic.append(makeBatch(Array(sent[0..<2])), to: 0)
            let (stream, continuation) = AsyncStream.makeStream(of: Int64.self)
            async let followed = Self.follow(try topic.tail(partition: 0, from: 5), progress: continuation)
            // Give the tail a moment to start waiting (nothing public tells when it has); the
            // expectations below hold however long this takes, the pause only makes the tail wait
            // through appends that do not yet reach offset 5.
            try await Task.sleep(for: .milliseconds(50))
            for record in sent[2...] { _ = try await topic.append(makeBatch([record]), to: 0) }
            var progress = stream.makeAsyncIterator()
            #expect(await Self.wait(for: 10, on: &progress))
            log.close()
            let received = try await followed
            expectRecords(received, equal: sent[5...])
        }
    }

    @Test("a tail over existing data drains it after close, then ends")
    func tailAfterClose() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, logger: testLogger)
            let topic = try log.createTopic("live", partitions: 1)
            let sent = variedRecords(count: 30, seed: 53)
            _ = try await topic.append(makeBatch(sent), to: 0)
            log.close()
            var received: [LogRecord] = []
            for try await batch in try topic.tail(partition: 0, from: 4, maxRecords: 4) {
                #expect(batch.count <= 4)
                received.append(contentsOf: batch)
            }
            expectRecords(received, equal: sent[4...])
            #expect(try await topic.waitForData(partition: 0, at: 30) == false)
        }
    }

    @Test("cancelling the task ends a waiting tail")
    func tailEndsOnCancel() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, logger: testLogger)
            defer { log.close() }
            let topic = try log.createTopic("live", partitions: 1)
            _ = try await topic.append(makeBatch([SentRecord("only")]), to: 0)
            let (stream, continuation) = AsyncStream.makeStream(of: Int64.self)
            let tail = try topic.tail(partition: 0, from: 0)
            let count = try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask { try await Self.follow(tail, progress: continuation).count }
                var progress = stream.makeAsyncIterator()
                #expect(await Self.wait(for: 1, on: &progress))
                group.cancelAll()
                return try await group.next()
            }
            #expect(count == 1)
            // the log is still open and usable
            #expect(try await topic.append(makeBatch([SentRecord("two")]), to: 0).first == 1)
        }
    }

    @Test("waitForData returns true once data exists, false once closed")
    func waitForData() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, logger: testLogger)
            let topic = try log.createTopic("live", partitions: 1)
            async let waited = topic.waitForData(partition: 0, at: 2)
            // as above: the pause lets the waiter start before the appends that do not reach offset 2
            try await Task.sleep(for: .milliseconds(50))
            for i in 0..<3 { _ = try await topic.append(makeBatch([SentRecord("r\(i)")]), to: 0) }
            #expect(try await waited == true)
            #expect(try await topic.waitForData(partition: 0, at: 0) == true)
            async let never = topic.waitForData(partition: 0, at: 3)
            log.close()
            #expect(try await never == false)
        }
    }
}
