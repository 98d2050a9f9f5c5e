import Dispatch
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One partition: an ordered list of segments, a group-committing writer, and readers.
///
/// Appends from any number of tasks are queued; whichever append finds the writer idle starts a
/// flush loop on the partition's serial queue, which takes everything queued, frames it, writes
/// it with one `pwrite` and one `fdatasync`, then acknowledges every caller. Callers queued while
/// a sync runs are written by the next round, so the cost of a sync is shared by all of them.
///
/// Faults: a failed write (a full disk, EIO) is cut back and answered with its error, and later
/// appends are tried again; a failed roll is retried by the next append. A failed sync, or a
/// failed write that cannot be cut back, stops the partition (``LogError/Code/failStopped``): the
/// kernel may have dropped the unsynced pages, so only a restart, whose recovery re-reads what is
/// really on disk, can tell what the file holds.
final class PartitionLog: @unchecked Sendable {
    // @unchecked: `writer` is touched only on `queue`; everything else shared is in `state`.

    struct PendingAppend {
        var batch: AppendBatch
        var continuation: CheckedContinuation<OffsetRange, any Error>
    }

    struct State {
        var segments: [Segment]
        var endOffset: Int64
        var pending: [PendingAppend] = []
        var flushing = false
        var closed = false
        /// Set when the partition fail-stopped; every later append gets it.
        var failure: LogError?
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    /// What only the writer (on `queue`) reads and writes.
    struct Writer {
        var active: Segment
        var size: Int
        var nextOffset: Int64
        var lastIndexedPosition: Int
        var buffer: [UInt8] = []
        var dirty = false
    }

    let topic: String
    let partition: Int
    let directory: String
    let configuration: LogConfiguration
    let logger: Logger
    let fileSystem: any LogFileSystem
    private let queue: DispatchQueue
    let state: Mutex<State>
    private var writer: Writer

    /// Opens (recovering) or creates the partition in `directory`.
    init(
        topic: String, partition: Int, directory: String, configuration: LogConfiguration, fileSystem: any LogFileSystem, logger: Logger
    ) throws {
        self.topic = topic
        self.fileSystem = fileSystem
        self.partition = partition
        self.directory = directory
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "topic"] = "\(topic)"
        logger[metadataKey: "partition"] = "\(partition)"
        self.logger = logger
        self.queue = DispatchQueue(label: "tandem.log.\(topic).\(partition)")
        let recovered = try Recovery(directory: directory, configuration: configuration, fileSystem: fileSystem, logger: logger).run()
        self.state = Mutex(State(segments: recovered.segments, endOffset: recovered.nextOffset))
        self.writer = Writer(
            active: recovered.segments.last!, size: recovered.activeSize, nextOffset: recovered.nextOffset,
            lastIndexedPosition: recovered.segments.last!.snapshot.index.last?.position ?? 0)
    }

    // MARK: Appending

    /// Appends a batch; returns once it is written (and synced, per the durability setting).
    func append(_ batch: AppendBatch) async throws -> OffsetRange {
        guard batch.largestRecordBytes <= EventLog.maxRecordBytes else {
            throw LogError(
                .recordTooLarge,
                "a record of \(batch.largestRecordBytes) bytes is larger than the log's cap of \(EventLog.maxRecordBytes) bytes; nothing was appended"
            )
        }
        return try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state -> Result<Bool, LogError> in
                if state.closed { return .failure(LogError(.closed, "the log is closed")) }
                if let failure = state.failure { return .failure(failure) }
                state.pending.append(PendingAppend(batch: batch, continuation: continuation))
                if state.flushing { return .success(false) }
                state.flushing = true
                return .success(true)
            }
            switch start {
            case .failure(let error): continuation.resume(throwing: error)
            case .success(true): queue.async { self.flushLoop() }
            case .success(false): break
            }
        }
    }

    /// Why the partition stopped taking writes, if it did.
    var failure: LogError? { state.withLock { $0.failure } }

    /// Stops the partition for good (until restart) and returns the error every append now gets.
    private func failStop(_ what: String, _ error: any Error) -> LogError {
        let failure = LogError(
            .failStopped,
            "partition \(partition) of \"\(topic)\" stopped taking writes: \(what) (\(error)). Records acknowledged before are safe; "
                + "restart the server once the disk is healthy, and recovery will re-read what is on disk",
            path: writer.active.path)
        let queued = state.withLock { state -> [PendingAppend] in
            if state.failure == nil { state.failure = failure }
            let queued = state.pending
            state.pending.removeAll()
            return queued
        }
        logger.critical("partition fail-stopped", metadata: ["reason": "\(what)", "error": "\(error)"])
        for item in queued { item.continuation.resume(throwing: failure) }
        return failure
    }

    private func takePending() -> [PendingAppend] {
        state.withLock { state in
            guard !state.pending.isEmpty else {
                state.flushing = false
                return []
            }
            var bytes = 0
            var count = 0
            for item in state.pending {
                if count > 0 && bytes + item.batch.byteCount > configuration.maxWriteBytes { break }
                bytes += item.batch.byteCount
                count += 1
            }
            let taken = Array(state.pending[0..<count])
            state.pending.removeFirst(count)
            return taken
        }
    }

    private func flushLoop() {
        while true {
            let work = takePending()
            if work.isEmpty { return }
            do {
                let ranges = try write(work)
                let waiters = state.withLock { state in
                    state.endOffset = writer.nextOffset
                    let waiters = Array(state.waiters.values)
                    state.waiters.removeAll()
                    return waiters
                }
                for waiter in waiters { waiter.resume() }
                for (item, range) in zip(work, ranges) { item.continuation.resume(returning: range) }
            } catch {
                logger.error("append failed", metadata: ["error": "\(error)"])
                for item in work { item.continuation.resume(throwing: error) }
                let stopped = state.withLock { state -> Bool in
                    if state.failure != nil { state.flushing = false }
                    return state.failure != nil
                }
                if stopped { return }
            }
        }
    }

    /// Frames, writes and syncs `work`; on failure the segment is cut back to where it was.
    private func write(_ work: [PendingAppend]) throws -> [OffsetRange] {
        if writer.size >= configuration.segmentBytes { try roll() }
        let startSize = writer.size
        let startOffset = writer.nextOffset
        var offset = startOffset
        var indexEntries: [Segment.IndexEntry] = []
        var lastIndexed = writer.lastIndexedPosition
        var ranges: [OffsetRange] = []
        ranges.reserveCapacity(work.count)
        let ingestTime = Self.nowMilliseconds()
        writer.buffer.removeAll(keepingCapacity: true)
        for item in work {
            let first = offset
            item.batch.bytes.withUnsafeBytes { bytes in
                for entry in item.batch.entries {
                    let position = startSize + writer.buffer.count
                    if position - lastIndexed >= configuration.indexIntervalBytes {
                        indexEntries.append(Segment.IndexEntry(offset: offset, position: position))
                        lastIndexed = position
                    }
                    let key = entry.keyStart < 0 ? nil : UnsafeRawBufferPointer(rebasing: bytes[entry.keyStart..<entry.keyStart + entry.keyCount])
                    let payload = UnsafeRawBufferPointer(rebasing: bytes[entry.payloadStart..<entry.payloadStart + entry.payloadCount])
                    RecordFormat.append(
                        offset: offset, eventTime: entry.eventTime, ingestTime: ingestTime, key: key, payload: payload, to: &writer.buffer)
                    offset += 1
                }
            }
            ranges.append(OffsetRange(first: first, last: offset - 1))
        }
        let active = writer.active
        do {
            try writer.buffer.withUnsafeBytes { try FileIO.write(active.fd, $0, at: startSize, path: active.path, using: fileSystem) }
        } catch {
            // Part of the batch may be in the file: cut it back, so that the next batch starts at
            // `startSize` with nothing stale after it. If even that fails, the file's end is
            // unknown, and only recovery can settle it.
            do {
                try FileIO.truncate(active.fd, to: startSize, path: active.path, using: fileSystem)
            } catch let truncation {
                throw failStop("a failed write could not be cut back (\(truncation))", error)
            }
            throw error
        }
        if configuration.durability == .everyBatch {
            do {
                try FileIO.sync(active.fd, path: active.path, using: fileSystem)
            } catch {
                throw failStop("fdatasync failed", error)
            }
        } else {
            writer.dirty = true
        }
        writer.size = startSize + writer.buffer.count
        writer.nextOffset = offset
        writer.lastIndexedPosition = lastIndexed
        active.commit(size: writer.size, nextOffset: offset, newIndexEntries: indexEntries)
        if writer.buffer.capacity > 4 * configuration.maxWriteBytes { writer.buffer = [] }
        return ranges
    }

    /// Seals the active segment (sync, index file) and starts a new one at the next offset.
    ///
    /// Creating the new file and syncing the directory may fail (a full disk, EIO): the append
    /// that rolled gets the error and the next one tries again, taking over the empty file left
    /// behind. A failed sync of the old segment fail-stops the partition.
    private func roll() throws {
        let old = writer.active
        do {
            try FileIO.sync(old.fd, path: old.path, using: fileSystem)
        } catch {
            throw failStop("fdatasync of the segment being sealed failed", error)
        }
        writer.dirty = false
        do {
            try old.writeIndex(using: fileSystem)
        } catch {
            // The index only spares the next start a scan of this segment.
            FileIO.remove(old.indexPath)
            logger.warning("could not write a sealed segment's index; the next start rebuilds it", metadata: ["error": "\(error)"])
        }
        let segment = try Segment(directory: directory, baseOffset: writer.nextOffset, create: true, fileSystem: fileSystem)
        try FileIO.syncDirectory(directory, using: fileSystem)
        writer.active = segment
        writer.size = 0
        writer.lastIndexedPosition = 0
        state.withLock { $0.segments.append(segment) }
        logger.debug("rolled segment", metadata: ["base_offset": "\(segment.baseOffset)"])
    }

    /// Syncs data written since the last sync (interval durability).
    func syncIfDirty() {
        queue.async {
            guard self.writer.dirty, self.failure == nil else { return }
            do {
                try FileIO.sync(self.writer.active.fd, path: self.writer.active.path, using: self.fileSystem)
                self.writer.dirty = false
            } catch {
                _ = self.failStop("the periodic fdatasync failed", error)
            }
        }
    }

    /// Syncs what was written since the last sync, on the writer's queue.
    func syncNow() throws {
        try queue.sync {
            if let failure { throw failure }
            guard writer.dirty else { return }
            do {
                try FileIO.sync(writer.active.fd, path: writer.active.path, using: fileSystem)
                writer.dirty = false
            } catch {
                throw failStop("an fdatasync asked for by a cut failed", error)
            }
        }
    }

    /// Refuses new appends, lets queued ones finish, syncs, and wakes every tail.
    func close() {
        let waiters = state.withLock { state in
            state.closed = true
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            return waiters
        }
        queue.sync {
            // At close, every acknowledged batch was already synced (every_batch) or is in the
            // interval's window of loss that the configuration accepts; nothing is waiting.
            guard failure == nil else { return }
            do {
                try FileIO.sync(writer.active.fd, path: writer.active.path, using: fileSystem)
            } catch {
                logger.critical("the final fdatasync failed; records since the last sync may be lost", metadata: ["error": "\(error)"])
            }
            writer.dirty = false
        }
        for waiter in waiters { waiter.resume() }
    }

    static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    // MARK: Reading

    /// The offset the next record will get; everything below it is readable.
    var endOffset: Int64 { state.withLock { $0.endOffset } }

    /// Reads records from `offset`, at most `maxRecords` and about `maxBytes` (always at least one
    /// record when one is there).
    func read(from offset: Int64, maxRecords: Int, maxBytes: Int) throws -> RecordBatch {
        let (segments, end) = state.withLock { ($0.segments, $0.endOffset) }
        guard offset >= 0 else { throw LogError(.offsetOutOfRange, "offset \(offset) is negative") }
        var batch = RecordBatch()
        guard offset < end, maxRecords > 0 else { return batch }
        var low = 0, high = segments.count
        while low < high {
            let mid = (low + high) / 2
            if segments[mid].baseOffset <= offset { low = mid + 1 } else { high = mid }
        }
        var next = offset
        for segment in segments[max(low - 1, 0)...] {
            if try segment.read(from: next, limit: end, maxRecords: maxRecords, maxBytes: maxBytes, into: &batch) { break }
            next = max(next, batch.nextOffset ?? next)
            if next >= end { break }
        }
        return batch
    }

    /// The base offset of the last segment whose first record's ingest time is before `time`.
    func startOffset(ingestTimeAtLeast time: Int64) throws -> Int64 {
        let segments = state.withLock { $0.segments }
        for segment in segments.reversed() {
            guard let first = try segment.firstIngestTime() else { continue }
            if first < time { return segment.baseOffset }
        }
        return segments.first?.baseOffset ?? 0
    }

    /// Waits until a record at `offset` or later exists. Returns `false` when the log closed or the
    /// task was cancelled first.
    func waitForData(at offset: Int64) async -> Bool {
        // Every append wakes every waiter, so wait again until the offset exists.
        while true {
            let id = state.withLock { state -> UInt64 in
                state.nextWaiterID += 1
                return state.nextWaiterID
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state -> Bool in
                        if state.closed || state.endOffset > offset || Task.isCancelled { return true }
                        state.waiters[id] = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
            }
            let (closed, end) = state.withLock { ($0.closed, $0.endOffset) }
            if end > offset { return !closed }
            if closed || Task.isCancelled { return false }
        }
    }

    /// Sizes and offsets, for operators.
    var info: PartitionInfo {
        let (segments, end) = state.withLock { ($0.segments, $0.endOffset) }
        return PartitionInfo(
            partition: partition, startOffset: segments.first?.baseOffset ?? 0, endOffset: end,
            sizeBytes: segments.reduce(0) { $0 + $1.snapshot.size }, segments: segments.count)
    }
}

/// A partition's offsets and size.
/// (The HTTP API answers it as `TandemAPI.PartitionsResponse.Partition`.)
public struct PartitionInfo: Sendable, Equatable {
    /// The partition number.
    public var partition: Int
    /// The first offset still stored.
    public var startOffset: Int64
    /// The offset the next record will get.
    public var endOffset: Int64
    /// Bytes stored.
    public var sizeBytes: Int
    /// Segment files (0 for a backend without local files).
    public var segments: Int

    /// Creates partition figures.
    public init(partition: Int, startOffset: Int64, endOffset: Int64, sizeBytes: Int, segments: Int) {
        self.partition = partition
        self.startOffset = startOffset
        self.endOffset = endOffset
        self.sizeBytes = sizeBytes
        self.segments = segments
    }
}
