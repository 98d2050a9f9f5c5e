import Logging
import Synchronization

/// Opens a partition directory after a clean stop or a crash.
///
/// Sealed segments are checked at their end (the last index entry onwards), or record by record
/// with `verifySealedSegments`, and must hold exactly the offsets up to the next segment's base.
/// The active (last) segment is checked record by record. A damaged tail is cut off (and logged)
/// only when it cannot hold an acknowledged record: no valid record starts anywhere after the
/// damage (every byte position is tried, so a damaged length field cannot hide what follows),
/// and it is no longer than `maxTornTailBytes`. That is what a write cut short by a crash
/// leaves. Anything else stops the open, naming the file and byte: ``LogRepair`` lets an
/// operator decide.
struct Recovery {
    struct Outcome {
        var segments: [Segment]
        var activeSize: Int
        var nextOffset: Int64
    }

    let directory: String
    let configuration: LogConfiguration
    let fileSystem: any LogFileSystem
    let logger: Logger

    func run() throws -> Outcome {
        try FileIO.makeDirectories(directory)
        let bases = try Segment.baseOffsets(in: directory)
        guard !bases.isEmpty else {
            let segment = try Segment(directory: directory, baseOffset: 0, create: true, fileSystem: fileSystem)
            try FileIO.syncDirectory(directory, using: fileSystem)
            return Outcome(segments: [segment], activeSize: 0, nextOffset: 0)
        }
        var segments: [Segment] = []
        for (i, base) in bases.enumerated() {
            let segment = try Segment(directory: directory, baseOffset: base, create: false)
            if i + 1 < bases.count {
                try checkSealed(segment, nextBase: bases[i + 1])
            }
            segments.append(segment)
        }
        let active = segments.last!
        let size = try FileIO.size(active.fd, path: active.path)
        let scanner = SegmentScanner(segment: active, fileSize: size, indexIntervalBytes: configuration.indexIntervalBytes)
        let result = try scanner.scan(from: 0, expectedOffset: active.baseOffset, lastIndexedPosition: 0)
        if let problem = result.problem {
            let dropped = size - problem.position
            let follower =
                problem.validDataFollows || dropped > configuration.maxTornTailBytes
                ? nil : try scanner.firstValidRecord(after: problem.position, minimumOffset: result.nextOffset)
            if problem.validDataFollows || follower != nil || dropped > configuration.maxTornTailBytes {
                var what = "\(dropped) bytes follow it"
                if let follower {
                    what += ", with a valid record (offset \(follower.offset)) at byte \(follower.position)"
                } else if problem.validDataFollows {
                    what += ", starting with valid records"
                } else {
                    what += ", more than a write cut short by a crash can leave (log.max_torn_tail_bytes)"
                }
                throw LogError(
                    .corrupt,
                    "record at byte \(problem.position) is damaged (\(problem.reason)) and is not a torn tail: \(what); "
                        + "refusing to start rather than drop acknowledged records. `tandem log repair` shows the damage and can move "
                        + "everything from that byte on aside (nothing is deleted)",
                    path: active.path)
            }
            try FileIO.truncate(active.fd, to: problem.position, path: active.path, using: fileSystem)
            try FileIO.sync(active.fd, path: active.path, using: fileSystem)
            logger.warning(
                "truncated a torn tail",
                metadata: [
                    "file": "\(active.path)", "dropped_bytes": "\(dropped)", "reason": "\(problem.reason)",
                    "next_offset": "\(result.nextOffset)",
                ])
        }
        active.commit(size: result.endPosition, nextOffset: result.nextOffset, newIndexEntries: result.newIndexEntries)
        FileIO.remove(active.indexPath)
        return Outcome(segments: segments, activeSize: result.endPosition, nextOffset: result.nextOffset)
    }

    private func checkSealed(_ segment: Segment, nextBase: Int64) throws {
        let size = try FileIO.size(segment.fd, path: segment.path)
        let scanner = SegmentScanner(segment: segment, fileSize: size, indexIntervalBytes: configuration.indexIntervalBytes)
        let result: SegmentScanner.Result
        if !configuration.verifySealedSegments, let index = segment.loadIndex(size: size), let last = index.last {
            segment.commit(size: 0, nextOffset: segment.baseOffset, newIndexEntries: index)
            result = try scanner.scan(from: last.position, expectedOffset: last.offset, lastIndexedPosition: last.position)
        } else {
            result = try scanner.scan(from: 0, expectedOffset: segment.baseOffset, lastIndexedPosition: 0)
            segment.commit(size: 0, nextOffset: segment.baseOffset, newIndexEntries: result.newIndexEntries)
            // The index file only saves the next start a scan; without it, the next recovery scans
            // this segment again (`loadIndex` refuses a missing or torn index).
            try? segment.writeIndex()
        }
        if let problem = result.problem {
            throw LogError(
                .corrupt,
                "sealed segment is damaged at byte \(problem.position): \(problem.reason); refusing to start. "
                    + "`tandem log repair` shows the damage and what moving it aside would cost",
                path: segment.path)
        }
        guard result.nextOffset == nextBase else {
            throw LogError(
                .corrupt,
                "sealed segment ends at offset \(result.nextOffset) but the next segment starts at \(nextBase); refusing to start. "
                    + "`tandem log repair` shows the damage",
                path: segment.path)
        }
        segment.state.withLock {
            $0.size = size
            $0.nextOffset = nextBase
        }
    }
}
