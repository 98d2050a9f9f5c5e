import EventLog
import Foundation
import Testing

/// Damage that recovery must not take for a torn tail, and the operator's repair.
@Suite("Log repair")
struct RepairTests {
    static let topicName = RecoveryTests.topicName

    /// Overwrites the 4-byte length field of a record with `length`.
    static func setLength(_ file: String, record: FramedRecord, to length: UInt32) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(record.position))
        try handle.write(contentsOf: withUnsafeBytes(of: length.littleEndian) { Data($0) })
    }

    @Test(
        "a damaged length field in the middle of the active segment refuses to open, naming the file and byte",
        arguments: [
            // past the end of the file: looks like a partial record
            UInt32(1 << 20),
            // an impossible length
            UInt32(3),
            // plausible, but lands in the middle of the next record
            UInt32(50),
        ])
    func damagedLength(length: UInt32) async throws {
        try await withTemporaryDirectory { directory in
            let sent = RecoveryTests.records(40)
            let files = try await RecoveryTests.prepare(directory, sent, batchSize: 8)
            let file = try #require(files.last)
            let record = try #require(try framedRecords(inSegment: file).first { $0.offset == 30 })
            try Self.setLength(file, record: record, to: length)
            let sizeBefore = try fileSize(file)
            let error = #expect(throws: LogError.self) { try EventLog(directory: directory, logger: testLogger) }
            #expect(error?.code == .corrupt)
            #expect(error?.path == file)
            #expect(error?.message.contains("byte \(record.position)") == true, "\(String(describing: error))")
            #expect(error?.message.contains("offset 31") == true, "names the valid record after the damage: \(String(describing: error))")
            #expect(error?.message.contains("tandem log repair") == true)
            #expect(try fileSize(file) == sizeBefore, "nothing was truncated")
        }
    }

    @Test("repair reports the damage, moves the tail aside byte for byte, and the log opens with every record before it")
    func repairActiveSegment() async throws {
        try await withTemporaryDirectory { directory in
            let sent = RecoveryTests.records(40)
            let files = try await RecoveryTests.prepare(directory, sent, batchSize: 8)
            let file = try #require(files.last)
            let records = try framedRecords(inSegment: file)
            let record = try #require(records.first { $0.offset == 30 })
            try Self.setLength(file, record: record, to: 1 << 20)
            let originalTail = try Data(contentsOf: URL(fileURLWithPath: file))[record.position...]
            let damage = try LogRepair.inspect(directory: directory)
            #expect(damage.count == 1)
            let found = try #require(damage.first)
            #expect(found.topic == Self.topicName && found.partition == 0 && found.file == file)
            #expect(found.position == record.position)
            #expect(found.firstOffsetLost == 30)
            #expect(found.bytesAfter == originalTail.count)
            #expect(found.nextValidRecord?.offset == 31)
            #expect(found.nextValidRecord?.position == record.position + record.size)
            #expect(found.laterSegments.isEmpty)
            #expect(found.losesRecords)
            // inspecting changed nothing, and the log still refuses
            #expect(throws: LogError.self) { try EventLog(directory: directory, logger: testLogger) }

            let quarantine = try LogRepair.repair(directory: directory, damage: damage)
            let moved = "\(quarantine)/\(Self.topicName)/0/00000000000000000000.log.from-byte-\(record.position)"
            #expect(try Data(contentsOf: URL(fileURLWithPath: moved)) == originalTail)
            try await RecoveryTests.expectRecovered(directory, sent, count: 30)
            #expect(try LogRepair.inspect(directory: directory).isEmpty)
        }
    }

    @Test("damage in a sealed segment: repair moves the later segments aside too")
    func repairSealedSegment() async throws {
        try await withTemporaryDirectory { directory in
            let (files, sent) = try await RecoveryTests.prepareRolled(directory)
            let records = try framedRecords(inSegment: files[1])
            let damaged = records[records.count / 2]
            try flipByte(files[1], at: damaged.position + damaged.size - 1)
            let damage = try LogRepair.inspect(directory: directory)
            let found = try #require(damage.first)
            #expect(found.file == files[1])
            #expect(found.position == damaged.position)
            #expect(found.reason == "CRC mismatch")
            #expect(found.firstOffsetLost == damaged.offset)
            #expect(found.nextValidRecord?.offset == damaged.offset + 1)
            #expect(found.laterSegments == Array(files[2...]))
            let quarantine = try LogRepair.repair(directory: directory, damage: damage)
            for file in files[2...] {
                let name = String(file.split(separator: "/").last!)
                #expect(FileManager.default.fileExists(atPath: "\(quarantine)/\(Self.topicName)/0/\(name)"))
                #expect(!FileManager.default.fileExists(atPath: file))
            }
            try await RecoveryTests.expectRecovered(directory, sent, count: Int(damaged.offset), configuration: SegmentRollTests.configuration)
        }
    }

    @Test("a torn tail is reported as one, and repair refuses a report that went stale")
    func tornTailAndStaleReport() async throws {
        try await withTemporaryDirectory { directory in
            let sent = RecoveryTests.records(10)
            let files = try await RecoveryTests.prepare(directory, sent)
            let file = try #require(files.last)
            try chop(file, bytes: 5)
            let damage = try LogRepair.inspect(directory: directory)
            #expect(damage.count == 1)
            #expect(damage.first?.losesRecords == false)
            #expect(damage.first?.firstOffsetLost == 9)
            try chop(file, bytes: 1)
            let error = #expect(throws: LogError.self) { try LogRepair.repair(directory: directory, damage: damage) }
            #expect(error?.message.contains("changed since it was inspected") == true)
        }
    }

    @Test("inspect and repair refuse to run on a log that is open")
    func lockedWhileOpen() async throws {
        try await withTemporaryDirectory { directory in
            let log = try EventLog(directory: directory, logger: testLogger)
            defer { log.close() }
            let error = #expect(throws: LogError.self) { try LogRepair.inspect(directory: directory) }
            #expect(error?.code == .locked)
        }
    }
}
