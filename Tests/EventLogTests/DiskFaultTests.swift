import EventLog
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real file calls, with faults injected on demand: each rule fails (or shortens) the next
/// `count` calls of one kind, as the kernel would.
final class FaultyFileSystem: LogFileSystem {
    enum Call: Sendable, Hashable {
        case open, pwrite, fdatasync, fsyncDirectory, ftruncate
    }

    struct Rule: Sendable {
        var call: Call
        var errno: Int32
        var count: Int
        /// For `pwrite`: write this many bytes for real before failing (a short write first).
        var writeFirst: Int = 0
    }

    private let system = SystemFileSystem()
    private let rules = Mutex<[Rule]>([])
    private let counts = Mutex<[Call: Int]>([:])
    /// The most bytes one `pwrite` writes (short writes without an error), when set.
    let maxWriteChunk = Mutex<Int?>(nil)

    func inject(_ call: Call, errno: Int32, count: Int = 1, writeFirst: Int = 0) {
        rules.withLock { $0.append(Rule(call: call, errno: errno, count: count, writeFirst: writeFirst)) }
    }

    func clear() { rules.withLock { $0.removeAll() } }

    /// How many times each call was made.
    func calls(_ call: Call) -> Int { counts.withLock { $0[call, default: 0] } }

    /// The rule that applies to this call, used up by one.
    private func take(_ call: Call) -> Rule? {
        counts.withLock { $0[call, default: 0] += 1 }
        return rules.withLock { rules in
            guard let index = rules.firstIndex(where: { $0.call == call }) else { return nil }
            let rule = rules[index]
            rules[index].count -= 1
            if rules[index].count == 0 { rules.remove(at: index) }
            return rule
        }
    }

    /// Faults apply only to opens that create a file.
    func open(_ path: String, flags: Int32, mode: mode_t) -> Int32 {
        if flags & O_CREAT != 0, let rule = take(.open) {
            Glibc.errno = rule.errno
            return -1
        }
        return system.open(path, flags: flags, mode: mode)
    }

    func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        if let rule = take(.pwrite) {
            if rule.writeFirst > 0 {
                let written = system.pwrite(fd, UnsafeRawBufferPointer(rebasing: bytes[..<min(rule.writeFirst, bytes.count)]), at: offset)
                // The failure comes on the call after the short write, as from a filling disk.
                inject(.pwrite, errno: rule.errno)
                return written
            }
            Glibc.errno = rule.errno
            return -1
        }
        if let chunk = maxWriteChunk.withLock({ $0 }), bytes.count > chunk {
            return system.pwrite(fd, UnsafeRawBufferPointer(rebasing: bytes[..<chunk]), at: offset)
        }
        return system.pwrite(fd, bytes, at: offset)
    }

    func fdatasync(_ fd: Int32) -> Int32 {
        if let rule = take(.fdatasync) {
            Glibc.errno = rule.errno
            return -1
        }
        return system.fdatasync(fd)
    }

    func fsyncDirectory(_ fd: Int32) -> Int32 {
        if let rule = take(.fsyncDirectory) {
            Glibc.errno = rule.errno
            return -1
        }
        return system.fsyncDirectory(fd)
    }

    func ftruncate(_ fd: Int32, _ size: Int) -> Int32 {
        if let rule = take(.ftruncate) {
            Glibc.errno = rule.errno
            return -1
        }
        return system.ftruncate(fd, size)
    }
}

@Suite("Disk faults")
struct DiskFaultTests {
    static let topicName = "events"

    /// Opens a one-partition log over `fileSystem`, runs `body`, then closes it and checks, in a
    /// fresh open over the real file system, that the partition holds exactly `expected()`.
    static func withFaultyLog(
        configuration: LogConfiguration = LogConfiguration(), partitions: Int = 1,
        _ body: (EventLog, Topic, FaultyFileSystem) async throws -> [SentRecord]
    ) async throws {
        try await withTemporaryDirectory { directory in
            let fileSystem = FaultyFileSystem()
            let log = try EventLog(directory: directory, configuration: configuration, fileSystem: fileSystem, logger: testLogger)
            let topic = try log.createTopic(topicName, partitions: partitions)
            let acknowledged: [SentRecord]
            do {
                acknowledged = try await body(log, topic, fileSystem)
            } catch {
                log.close()
                throw error
            }
            log.close()
            let reopened = try EventLog(directory: directory, configuration: configuration, logger: testLogger)
            defer { reopened.close() }
            expectRecords(try readAll(try #require(reopened.topic(topicName)), partition: 0), equal: acknowledged)
        }
    }

    @Test("a full disk (a short write, then ENOSPC) answers disk_full, cuts the batch back, and the next append goes on")
    func diskFull() async throws {
        try await Self.withFaultyLog { _, topic, fileSystem in
            let first = variedRecords(count: 20, seed: 1)
            #expect(span(try await topic.append(makeBatch(first), to: 0)) == [0, 19])
            fileSystem.inject(.pwrite, errno: ENOSPC, writeFirst: 100)
            let lost = variedRecords(count: 10, seed: 2)
            let error = await #expect(throws: LogError.self) { try await topic.append(makeBatch(lost), to: 0) }
            #expect(error?.code == .diskFull)
            #expect(topic.endOffsets() == [20], "a failed batch takes no offsets")
            expectRecords(try readAll(topic, partition: 0), equal: first)
            // space freed: the same offsets are given again, with nothing stale after them
            let second = variedRecords(count: 5, seed: 3)
            #expect(span(try await topic.append(makeBatch(second), to: 0)) == [20, 24])
            expectRecords(try readAll(topic, partition: 0), equal: first + second)
            return first + second
        }
    }

    @Test("EIO on a write answers log_io and does not stop the partition")
    func writeError() async throws {
        try await Self.withFaultyLog { log, topic, fileSystem in
            let first = variedRecords(count: 3, seed: 4)
            _ = try await topic.append(makeBatch(first), to: 0)
            fileSystem.inject(.pwrite, errno: EIO)
            let error = await #expect(throws: LogError.self) { try await topic.append(makeBatch(variedRecords(count: 3, seed: 5)), to: 0) }
            #expect(error?.code == .io)
            #expect(log.failedPartitions.isEmpty)
            let second = variedRecords(count: 3, seed: 6)
            #expect(span(try await topic.append(makeBatch(second), to: 0)) == [3, 5])
            return first + second
        }
    }

    @Test("short writes without errors still write every byte")
    func shortWrites() async throws {
        try await Self.withFaultyLog { _, topic, fileSystem in
            fileSystem.maxWriteChunk.withLock { $0 = 7 }
            let records = variedRecords(count: 40, seed: 7)
            #expect(span(try await topic.append(makeBatch(records), to: 0)) == [0, 39])
            #expect(fileSystem.calls(.pwrite) > 100)
            expectRecords(try readAll(topic, partition: 0), equal: records)
            return records
        }
    }

    @Test("EIO on fdatasync fail-stops the partition: that append and every later one fail, other partitions go on")
    func syncError() async throws {
        try await Self.withFaultyLog(partitions: 2) { log, topic, fileSystem in
            let first = variedRecords(count: 4, seed: 8)
            _ = try await topic.append(makeBatch(first), to: 0)
            fileSystem.inject(.fdatasync, errno: EIO)
            let error = await #expect(throws: LogError.self) { try await topic.append(makeBatch(variedRecords(count: 2, seed: 9)), to: 0) }
            #expect(error?.code == .failStopped)
            #expect(error?.message.contains("fdatasync failed") == true)
            let syncs = fileSystem.calls(.fdatasync)
            // the disk "recovered", but the partition stays stopped until a restart
            let again = await #expect(throws: LogError.self) { try await topic.append(makeBatch(variedRecords(count: 1, seed: 10)), to: 0) }
            #expect(again?.code == .failStopped)
            #expect(log.failedPartitions.map(\.partition) == [0])
            #expect(log.failedPartitions.first?.topic == Self.topicName)
            #expect(fileSystem.calls(.fdatasync) == syncs, "a stopped partition makes no more calls")
            #expect(span(try await topic.append(makeBatch(variedRecords(count: 3, seed: 11)), to: 1)) == [0, 2])
            #expect(log.failedPartitions.map(\.partition) == [0])
            // Reads still answer what was acknowledged.
            expectRecords(try readAll(topic, partition: 0), equal: first)
            // The unsynced batch did reach this (healthy) file system, so recovery keeps it: it
            // was never acknowledged, and a client retry with an id field is not doubled.
            return first + variedRecords(count: 2, seed: 9)
        }
    }

    @Test("a failed write that cannot be cut back fail-stops the partition")
    func truncateError() async throws {
        try await Self.withFaultyLog { log, topic, fileSystem in
            let first = variedRecords(count: 2, seed: 12)
            _ = try await topic.append(makeBatch(first), to: 0)
            fileSystem.inject(.pwrite, errno: EIO, writeFirst: 40)
            fileSystem.inject(.ftruncate, errno: EIO)
            let error = await #expect(throws: LogError.self) { try await topic.append(makeBatch(variedRecords(count: 3, seed: 13)), to: 0) }
            #expect(error?.code == .failStopped)
            #expect(error?.message.contains("could not be cut back") == true)
            #expect(log.failedPartitions.count == 1)
            // 40 bytes of a record are a torn tail: recovery cuts them off
            return first
        }
    }

    @Test(
        "a roll whose directory sync fails, or whose new file cannot be created (ENOSPC): the append fails, the next one rolls",
        arguments: [FaultyFileSystem.Call.fsyncDirectory, .open])
    func failedRoll(fault: FaultyFileSystem.Call) async throws {
        // Each roll first writes the sealed segment's index (a file created, then its directory
        // synced): two calls of each kind, so the index fails first (only a warning) and then the
        // new segment.
        let injectFault = { (fileSystem: FaultyFileSystem) in fileSystem.inject(fault, errno: fault == .open ? ENOSPC : EIO, count: 2) }
        try await Self.withFaultyLog(configuration: LogConfiguration(segmentBytes: 1024)) { log, topic, fileSystem in
            var acknowledged: [SentRecord] = []
            let records = variedRecords(count: 200, seed: 14, maxPayload: 60)
            var failures = 0
            var index = 0
            injectFault(fileSystem)
            while index < records.count {
                let batch = Array(records[index..<min(index + 5, records.count)])
                do {
                    _ = try await topic.append(makeBatch(batch), to: 0)
                    acknowledged += batch
                    index += batch.count
                } catch let error as LogError {
                    failures += 1
                    #expect(error.code == (fault == .open ? .diskFull : .io), "\(error)")
                    #expect(failures <= 2)
                    if failures < 2 { injectFault(fileSystem) }
                }
            }
            #expect(failures == 2)
            #expect(log.failedPartitions.isEmpty, "a failed roll never stops the partition")
            #expect(topic.partitionInfo()[0].segments > 3)
            expectRecords(try readAll(topic, partition: 0), equal: acknowledged)
            return acknowledged
        }
    }

    @Test("a record larger than the cap is refused on append and takes no offset")
    func recordCap() async throws {
        try await Self.withFaultyLog { _, topic, _ in
            var batch = AppendBatch()
            batch.append(key: Array("k".utf8), payload: [UInt8](repeating: 1, count: EventLog.maxRecordBytes), eventTime: 0)
            #expect(batch.largestRecordBytes == EventLog.maxRecordBytes + 1)
            let error = await #expect(throws: LogError.self) { try await topic.append(batch, to: 0) }
            #expect(error?.code == .recordTooLarge)
            #expect(topic.endOffsets() == [0])
            return []
        }
    }

    @Test("a second open of a locked log directory fails at once, naming the owner; after close it opens")
    func directoryLock() async throws {
        try await withTemporaryDirectory { directory in
            let first = try EventLog(directory: directory, logger: testLogger)
            let error = #expect(throws: LogError.self) { try EventLog(directory: directory, logger: testLogger) }
            #expect(error?.code == .locked)
            #expect(error?.message.contains("pid \(getpid())") == true, "\(String(describing: error))")
            first.close()
            let second = try EventLog(directory: directory, logger: testLogger)
            second.close()
        }
    }
}
