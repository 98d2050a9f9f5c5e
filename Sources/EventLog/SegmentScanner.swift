/// Walks the records of a segment file from a position, checking each one, reading in large chunks.
///
/// Used on open to find where valid data ends and to rebuild sparse indexes.
struct SegmentScanner {
    /// Where a scan stopped early.
    struct Problem {
        var position: Int
        var reason: String
        /// The record the damaged one claims to be followed by is whole and carries the next
        /// offset: the damage is in the middle of the data, not a torn tail.
        var validDataFollows: Bool
    }

    struct Result {
        var endPosition: Int
        var nextOffset: Int64
        var newIndexEntries: [Segment.IndexEntry]
        var problem: Problem?
    }

    let segment: Segment
    let fileSize: Int
    let indexIntervalBytes: Int

    func scan(from start: Int, expectedOffset: Int64, lastIndexedPosition: Int) throws -> Result {
        var result = Result(endPosition: start, nextOffset: expectedOffset, newIndexEntries: [], problem: nil)
        var lastIndexed = lastIndexedPosition
        var chunk = [UInt8](repeating: 0, count: min(4 << 20, max(fileSize - start, RecordFormat.headerSize)))
        while result.endPosition < fileSize {
            let chunkStart = result.endPosition
            let want = min(chunk.count, fileSize - chunkStart)
            let got = try chunk.withUnsafeMutableBytes { (raw) throws -> Int in
                try FileIO.read(segment.fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: chunkStart, path: segment.path)
            }
            var consumed = 0
            var stop = false
            var needed = 0
            chunk.withUnsafeBytes { raw in
                let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<got])
                while consumed < got {
                    let position = chunkStart + consumed
                    switch RecordFormat.check(bytes, at: consumed) {
                    case .valid(let size, let offset):
                        guard offset == result.nextOffset else {
                            result.problem = Problem(
                                position: position, reason: "offset \(offset) where \(result.nextOffset) was expected", validDataFollows: true)
                            stop = true
                            return
                        }
                        if position - lastIndexed >= indexIntervalBytes {
                            result.newIndexEntries.append(Segment.IndexEntry(offset: offset, position: position))
                            lastIndexed = position
                        }
                        consumed += size
                        result.nextOffset += 1
                    case .incomplete:
                        let claimed = got - consumed >= 4 ? Int(RecordFormat.load(bytes, consumed, as: UInt32.self)) + 4 : RecordFormat.headerSize
                        if position + claimed > fileSize || claimed < RecordFormat.headerSize {
                            result.problem = Problem(position: position, reason: "partial record", validDataFollows: false)
                            stop = true
                        } else {
                            needed = claimed
                        }
                        return
                    case .corrupt(let reason, let claimedSize):
                        var follows = false
                        if let claimedSize, position + claimedSize < fileSize {
                            follows = validRecord(at: position + claimedSize, offset: result.nextOffset + 1)
                        }
                        result.problem = Problem(position: position, reason: reason, validDataFollows: follows)
                        stop = true
                        return
                    }
                }
            }
            result.endPosition = chunkStart + consumed
            if stop { return result }
            if consumed == 0 && needed > chunk.count { chunk = [UInt8](repeating: 0, count: needed) }
        }
        return result
    }

    /// Whether a valid record with `offset` starts at `position`. A read error counts as "no"
    /// here: this only decides where a damaged region ends.
    private func validRecord(at position: Int, offset: Int64) -> Bool {
        var header = [UInt8](repeating: 0, count: 4)
        guard
            let got = try? header.withUnsafeMutableBytes({ (raw) throws -> Int in
                try FileIO.read(segment.fd, into: raw, at: position, path: segment.path)
            }), got == 4
        else { return false }
        let length = header.withUnsafeBytes { RecordFormat.load($0, 0, as: UInt32.self) }
        guard length >= RecordFormat.minimumLength, length <= RecordFormat.maximumLength, position + Int(length) + 4 <= fileSize else {
            return false
        }
        var record = [UInt8](repeating: 0, count: Int(length) + 4)
        guard
            let read = try? record.withUnsafeMutableBytes({ (raw) throws -> Int in
                try FileIO.read(segment.fd, into: raw, at: position, path: segment.path)
            }), read == record.count
        else { return false }
        return record.withUnsafeBytes { raw in
            if case .valid(_, let found) = RecordFormat.check(raw, at: 0) { return found == offset }
            return false
        }
    }

    /// The first whole, valid record that starts after `position` with an offset of at least
    /// `minimumOffset`, trying every byte position: a damaged length field says nothing about
    /// where the next record is. Read errors are thrown, never taken for damage.
    func firstValidRecord(after position: Int, minimumOffset: Int64) throws -> (position: Int, offset: Int64)? {
        let start = position + 1
        guard fileSize - start >= RecordFormat.headerSize else { return nil }
        var bytes = [UInt8](repeating: 0, count: fileSize - start)
        let got = try bytes.withUnsafeMutableBytes { (raw) throws -> Int in try FileIO.read(segment.fd, into: raw, at: start, path: segment.path) }
        // A record after the damage has an offset past it, and no more records fit than there are
        // headers' worth of bytes: checking that first skips the CRC almost everywhere.
        let maximumOffset = minimumOffset + Int64(got / RecordFormat.headerSize)
        return bytes.withUnsafeBytes { raw -> (position: Int, offset: Int64)? in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<got])
            var at = 0
            while at + RecordFormat.headerSize <= bytes.count {
                let offset = Int64(bitPattern: RecordFormat.load(bytes, at + 8, as: UInt64.self))
                if offset >= minimumOffset && offset <= maximumOffset, case .valid(_, let found) = RecordFormat.check(bytes, at: at) {
                    return (start + at, found)
                }
                at += 1
            }
            return nil
        }
    }
}
