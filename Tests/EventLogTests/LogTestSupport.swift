import EventLog
import Foundation
import Logging
import TandemTestSupport
import Testing

/// One record as a test sends it.
struct SentRecord: Equatable, Sendable, CustomStringConvertible {
    var key: [UInt8]?
    var payload: [UInt8]
    var eventTime: Int64

    init(key: [UInt8]?, payload: [UInt8], eventTime: Int64) {
        self.key = key
        self.payload = payload
        self.eventTime = eventTime
    }

    init(_ text: String, key: String? = nil, eventTime: Int64 = 0) {
        self.init(key: key.map { Array($0.utf8) }, payload: Array(text.utf8), eventTime: eventTime)
    }

    /// The record as read back from the log.
    init(_ record: LogRecord) {
        self.init(key: record.key.map(Array.init), payload: Array(record.payload), eventTime: record.eventTime)
    }

    /// Bytes the record takes in a segment file.
    var framedSize: Int { 36 + (key?.count ?? 0) + payload.count }

    var description: String {
        "SentRecord(key: \(key.map { String(decoding: $0, as: UTF8.self) } ?? "nil"), payload: \(payload.count) bytes, eventTime: \(eventTime))"
    }
}

func makeBatch(_ records: [SentRecord]) -> AppendBatch {
    var batch = AppendBatch()
    for record in records { batch.append(key: record.key, payload: record.payload, eventTime: record.eventTime) }
    return batch
}

let testLogger = Logger(label: "tandem.eventlog.tests")

/// A fresh directory under /tmp, removed when the body returns or throws.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = "/tmp/tandem-eventlog-tests/\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Reads a whole partition from `offset` with repeated reads of at most `maxRecords`.
func readAll(_ topic: Topic, partition: Int, from offset: Int64 = 0, maxRecords: Int = 10_000, maxBytes: Int = 4 << 20) throws -> [LogRecord] {
    var records: [LogRecord] = []
    var next = offset
    while true {
        let batch = try topic.read(partition: partition, from: next, maxRecords: maxRecords, maxBytes: maxBytes)
        guard let after = batch.nextOffset else { break }
        #expect(batch.count <= maxRecords)
        #expect(batch.first?.offset == next, "a read must start at the offset asked for")
        records.append(contentsOf: batch)
        next = after
    }
    return records
}

/// Checks that `records` are exactly `expected` at offsets `first...`.
func expectRecords(_ records: [LogRecord], equal expected: ArraySlice<SentRecord>, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(records.count == expected.count, "record count", sourceLocation: sourceLocation)
    for (record, (offset, sent)) in zip(records, zip(expected.indices, expected)) {
        #expect(record.offset == Int64(offset), sourceLocation: sourceLocation)
        #expect(SentRecord(record) == sent, "record at offset \(offset)", sourceLocation: sourceLocation)
    }
}

func expectRecords(_ records: [LogRecord], equal expected: [SentRecord], sourceLocation: SourceLocation = #_sourceLocation) {
    expectRecords(records, equal: expected[...], sourceLocation: sourceLocation)
}

// MARK: - Files

/// The directory holding one partition's segment files.
func partitionDirectory(_ logDirectory: String, topic: String, partition: Int) -> String {
    "\(logDirectory)/\(topic)/\(partition)"
}

/// The partition's `.log` files, in base-offset order (full paths).
func segmentFiles(_ logDirectory: String, topic: String, partition: Int) throws -> [String] {
    let directory = partitionDirectory(logDirectory, topic: topic, partition: partition)
    return try FileManager.default.contentsOfDirectory(atPath: directory)
        .filter { $0.hasSuffix(".log") }
        .sorted()
        .map { "\(directory)/\($0)" }
}

/// Where each record of a segment file starts, walking the length fields.
struct FramedRecord {
    var position: Int
    var size: Int
    var offset: Int64
    var keyLength: Int32
}

func framedRecords(inSegment path: String) throws -> [FramedRecord] {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
    func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
    var records: [FramedRecord] = []
    var position = 0
    while position + 36 <= bytes.count {
        let size = Int(u32(position)) + 4
        guard position + size <= bytes.count else { break }
        records.append(
            FramedRecord(
                position: position, size: size, offset: Int64(bitPattern: u64(position + 8)),
                keyLength: Int32(bitPattern: u32(position + 32))))
        position += size
    }
    #expect(position == bytes.count, "segment \(path) does not end on a record boundary")
    return records
}

func fileSize(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.size] as? NSNumber)?.intValue ?? -1
}

/// XORs one byte of a file.
func flipByte(_ path: String, at position: Int, mask: UInt8 = 0xFF) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(position))
    guard let old = try handle.read(upToCount: 1), old.count == 1 else {
        Issue.record("no byte at \(position) of \(path)")
        return
    }
    try handle.seek(toOffset: UInt64(position))
    try handle.write(contentsOf: Data([old[old.startIndex] ^ mask]))
}

/// Cuts the last `count` bytes off a file.
func chop(_ path: String, bytes count: Int) throws {
    let size = try fileSize(path)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.truncate(atOffset: UInt64(size - count))
}

/// `count` records with varied keys (nil, empty, text), payload sizes and event times.
func variedRecords(count: Int, seed: UInt64 = 1, maxPayload: Int = 120) -> [SentRecord] {
    var random = SplitMix64(seed: seed)
    let times: [Int64] = [0, -1, 1, Int64.min, Int64.max, 1_767_225_600_000, -86_400_000]
    return (0..<count).map { i in
        let key: [UInt8]?
        switch i % 4 {
        case 0: key = nil
        case 1: key = []
        default: key = Array("key-\(i % 7)".utf8)
        }
        let length = Int.random(in: 0...maxPayload, using: &random)
        let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
        let eventTime = i % 3 == 0 ? times[i % times.count] : Int64.random(in: -1 << 50...1 << 50, using: &random)
        return SentRecord(key: key, payload: payload, eventTime: eventTime)
    }
}

/// An offset range as `[first, last]` (OffsetRange has no public initializer).
func span(_ range: OffsetRange) -> [Int64] { [range.first, range.last] }
