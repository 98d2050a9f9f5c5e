#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Damage found in one partition: the first byte from which its records cannot be trusted.
public struct LogDamage: Sendable, Equatable {
    /// The topic.
    public var topic: String
    /// The partition.
    public var partition: Int
    /// The damaged segment file.
    public var file: String
    /// The byte of `file` where the damage starts.
    public var position: Int
    /// What is wrong there.
    public var reason: String
    /// The offset the damaged record should have had: the first one a repair gives up.
    public var firstOffsetLost: Int64
    /// Bytes from `position` to the end of `file`.
    public var bytesAfter: Int
    /// The first valid record after the damage in `file` (its byte and offset), when one is there:
    /// then the damage is not a torn tail, and moving it aside gives up acknowledged records.
    public var nextValidRecord: (position: Int, offset: Int64)?
    /// Later segment files of the partition, which a repair moves aside too.
    public var laterSegments: [String]
    /// Their bytes.
    public var laterSegmentBytes: Int

    public static func == (a: LogDamage, b: LogDamage) -> Bool {
        a.topic == b.topic && a.partition == b.partition && a.file == b.file && a.position == b.position && a.reason == b.reason
            && a.firstOffsetLost == b.firstOffsetLost && a.bytesAfter == b.bytesAfter
            && a.nextValidRecord?.position == b.nextValidRecord?.position && a.nextValidRecord?.offset == b.nextValidRecord?.offset
            && a.laterSegments == b.laterSegments && a.laterSegmentBytes == b.laterSegmentBytes
    }

    /// Whether a repair gives up records that may have been acknowledged: valid records after the
    /// damage, later segments, or more than a torn write.
    public var losesRecords: Bool { nextValidRecord != nil || !laterSegments.isEmpty }
}

/// What an operator runs when the log refuses to open: ``inspect(directory:)`` reads every record
/// of every segment and reports, per partition, where damage starts and what follows it;
/// ``repair(directory:damage:)`` moves everything from there on into a quarantine directory
/// (`.quarantine/<time>/<topic>/<partition>/` under the log) and cuts the segment back, so the log
/// opens again with every record before the damage. Nothing is deleted: the moved bytes can be
/// examined or restored by hand.
///
/// Both need the log closed; they take its lock, so a running server makes them fail with
/// `log_locked`.
public enum LogRepair {
    /// Reads every record of the log in `directory` and reports the damage in each partition.
    public static func inspect(directory: String) throws -> [LogDamage] {
        let lock = try DirectoryLock(directory: directory)
        defer { lock.release() }
        return try findDamage(directory: directory)
    }

    private static func findDamage(directory: String) throws -> [LogDamage] {
        var found: [LogDamage] = []
        for topic in try FileIO.list(directory).sorted() where FileIO.exists("\(directory)/\(topic)/topic.meta") {
            let partitions = try FileIO.list("\(directory)/\(topic)").compactMap { Int($0) }.sorted()
            for partition in partitions {
                if let damage = try inspectPartition(topic: topic, partition: partition, directory: "\(directory)/\(topic)/\(partition)") {
                    found.append(damage)
                }
            }
        }
        return found
    }

    private static func inspectPartition(topic: String, partition: Int, directory: String) throws -> LogDamage? {
        let bases = try Segment.baseOffsets(in: directory)
        var expected = bases.first ?? 0
        for (i, base) in bases.enumerated() {
            let segment = try Segment(directory: directory, baseOffset: base, create: false)
            let size = try FileIO.size(segment.fd, path: segment.path)
            let scanner = SegmentScanner(segment: segment, fileSize: size, indexIntervalBytes: 1 << 30)
            let later = bases[(i + 1)...].map { directory + "/" + Segment.fileName(base: $0, suffix: ".log") }
            func damage(at position: Int, _ reason: String, offset: Int64) throws -> LogDamage {
                LogDamage(
                    topic: topic, partition: partition, file: segment.path, position: position, reason: reason, firstOffsetLost: offset,
                    bytesAfter: size - position, nextValidRecord: try scanner.firstValidRecord(after: position, minimumOffset: offset),
                    laterSegments: later, laterSegmentBytes: later.reduce(0) { $0 + fileSize($1) })
            }
            guard base == expected else {
                return try damage(at: 0, "the segment starts at offset \(base) where \(expected) was expected", offset: expected)
            }
            let result = try scanner.scan(from: 0, expectedOffset: base, lastIndexedPosition: 0)
            if let problem = result.problem {
                return try damage(at: problem.position, problem.reason, offset: result.nextOffset)
            }
            expected = result.nextOffset
        }
        return nil
    }

    /// The UTC time as `20261129T013000Z`, for quarantine directory names.
    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var text = [CChar](repeating: 0, count: 32)
        let count = strftime(&text, text.count, "%Y%m%dT%H%M%SZ", &parts)
        return String(decoding: text[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Moves each damaged tail and the later segments into `.quarantine/<time>/` and cuts the
    /// segments back. Damage found again at the time of the repair must be what was inspected
    /// (`damage`), so a repair never acts on a report that went stale.
    /// - Returns: the quarantine directory.
    @discardableResult
    public static func repair(directory: String, damage: [LogDamage]) throws -> String {
        let lock = try DirectoryLock(directory: directory)
        defer { lock.release() }
        let current = try findDamage(directory: directory)
        guard current == damage else {
            throw LogError(.corrupt, "the log changed since it was inspected; inspect it again", path: directory)
        }
        let quarantine = "\(directory)/.quarantine/\(timestamp())"
        for item in damage {
            let target = "\(quarantine)/\(item.topic)/\(item.partition)"
            try FileIO.makeDirectories(target)
            let name = String(item.file.split(separator: "/").last!)
            // The damaged tail, byte for byte, then the later segments whole.
            let fd = try FileIO.open(item.file, flags: O_RDWR)
            defer { close(fd) }
            var tail = [UInt8](repeating: 0, count: item.bytesAfter)
            let got = try tail.withUnsafeMutableBytes { (raw) throws -> Int in try FileIO.read(fd, into: raw, at: item.position, path: item.file) }
            try FileIO.writeFileAtomically("\(target)/\(name).from-byte-\(item.position)", Array(tail[0..<got]))
            let partitionDirectory = FileIO.parent(of: item.file)
            for file in item.laterSegments {
                let fileName = String(file.split(separator: "/").last!)
                guard rename(file, "\(target)/\(fileName)") == 0 else { throw FileIO.fail("rename", file) }
                let index = String(file.dropLast(4)) + ".index"
                if FileIO.exists(index) { _ = rename(index, "\(target)/\(fileName.dropLast(4)).index") }
            }
            try FileIO.truncate(fd, to: item.position, path: item.file)
            try FileIO.sync(fd, path: item.file)
            // The cut segment is the active one now; its index (if sealed before) is stale.
            FileIO.remove(String(item.file.dropLast(4)) + ".index")
            try FileIO.syncDirectory(partitionDirectory)
            try FileIO.syncDirectory(target)
        }
        return quarantine
    }
}
