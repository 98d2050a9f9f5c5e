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
    private let queue: DispatchQueue
    let state: Mutex<State>
    private var writer: Writer

    /// Opens (recovering) or creates the partition in `directory`.
    init(topic: String, partition: Int, directory: String, configuration: LogConfiguration, logger: Logger) throws {
        self.topic = topic
        self.partition = partition
        self.directory = directory
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "topic"] = "\(topic)"
        logger[metadataKey: "partition"] = "\(partition)"
        self.logger = logger
        self.queue = DispatchQueue(label: "tandem.log.\(topic).\(partition)")
        let recovered = try Recovery(directory: directory, configuration: configuration, logger: logger).run()
        self.state = Mutex(State(segments: recovered.segments, endOffset: recovered.nextOffset))
        self.writer = Writer(
            active: recovered.segments.last!, size: recovered.activeSize, nextOffset: recovered.nextOffset,
            lastIndexedPosition: recovered.segments.last!.snapshot.index.last?.position ?? 0)
    }

    // MARK: Appending

    /// Appends a batch; returns once it is written (and synced, per the durability setting).
    func append(_ batch: AppendBatch) async throws -> OffsetRange {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state -> Bool? in
                if state.closed { return nil }
                state.pending.append(PendingAppend(batch: batch, continuation: continuation))
                if state.flushing { return false }
                state.flushing = true
                return true
            }
            switch start {
            case nil: continuation.resume(throwing: LogError(.closed, "the log is closed"))
            case true?: queue.async { self.flushLoop() }
            case false?: break
            }
        }
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
            try writer.buffer.withUnsafeBytes { try FileIO.write(active.fd, $0, at: startSize, path: active.path) }
            if configuration.durability == .everyBatch {
                try FileIO.sync(active.fd, path: active.path)
            } else {
                writer.dirty = true
            }
        } catch {
            // Best effort: `writer.size` stays at `startSize`, so the next batch overwrites these
            // bytes, and recovery cuts an unacknowledged torn tail. The write's own error is what
            // the caller must see. (Refusing writes after a failed fsync is issue 11.)
            try? FileIO.truncate(active.fd, to: startSize, path: active.path)
            throw error
        }
        writer.size = startSize + writer.buffer.count
        writer.nextOffset = offset
        writer.lastIndexedPosition = lastIndexed
        active.commit(size: writer.size, nextOffset: offset, newIndexEntries: indexEntries)
        if writer.buffer.capacity > 4 * configuration.maxWriteBytes { writer.buffer = [] }
        return ranges
    }

    /// Seals the active segment (sync, index file) and starts a new one at the next offset.
    private func roll() throws {
        let old = writer.active
        try FileIO.sync(old.fd, path: old.path)
        writer.dirty = false
        try old.writeIndex()
        let segment = try Segment(directory: directory, baseOffset: writer.nextOffset, create: true)
        try FileIO.syncDirectory(directory)
        writer.active = segment
        writer.size = 0
        writer.lastIndexedPosition = 0
        state.withLock { $0.segments.append(segment) }
        logger.debug("rolled segment", metadata: ["base_offset": "\(segment.baseOffset)"])
    }

    /// Syncs data written since the last sync (interval durability).
    func syncIfDirty() {
        queue.async {
            guard self.writer.dirty else { return }
            do {
                try FileIO.sync(self.writer.active.fd, path: self.writer.active.path)
                self.writer.dirty = false
            } catch {
                self.logger.error("periodic sync failed", metadata: ["error": "\(error)"])
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
            try? FileIO.sync(writer.active.fd, path: writer.active.path)
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
    /// Segment files.
    public var segments: Int
}
