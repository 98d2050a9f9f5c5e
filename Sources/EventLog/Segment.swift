import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One file of a partition: records from `baseOffset` on, with a sparse offset index.
///
/// The partition's writer is the only one that appends; readers see the committed prefix.
final class Segment: Sendable {
    /// A sparse index entry: the record at `offset` starts at byte `position`.
    struct IndexEntry: Sendable, Equatable {
        var offset: Int64
        var position: Int
    }

    struct State: Sendable {
        /// Bytes of whole, durable-as-configured records.
        var size: Int
        /// One past the last record's offset.
        var nextOffset: Int64
        var index: [IndexEntry]
    }

    let baseOffset: Int64
    let path: String
    let fd: Int32
    let state: Mutex<State>

    static func fileName(base: Int64, suffix: String) -> String {
        let digits = String(base)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    var indexPath: String { String(path.dropLast(4)) + ".index" }

    /// The base offsets of the segment files in a partition directory, in order.
    static func baseOffsets(in directory: String) throws -> [Int64] {
        try FileIO.list(directory).compactMap { name -> Int64? in
            guard name.hasSuffix(".log"), name.count == 24 else { return nil }
            return Int64(name.dropLast(4))
        }.sorted()
    }

    /// Opens the segment file, or creates it (`create`).
    ///
    /// Creating finds an empty file of that name when an earlier roll created it but failed after
    /// (its directory sync, say): that file is taken over, so a failed roll can be retried. A
    /// non-empty one is an error, never overwritten.
    init(directory: String, baseOffset: Int64, create: Bool, fileSystem: any LogFileSystem = FileIO.system) throws {
        self.baseOffset = baseOffset
        let path = directory + "/" + Self.fileName(base: baseOffset, suffix: ".log")
        self.path = path
        if create {
            do {
                self.fd = try FileIO.open(path, flags: O_RDWR | O_CREAT | O_EXCL, using: fileSystem)
            } catch let error as LogError where FileIO.exists(path) {
                let fd = try FileIO.open(path, flags: O_RDWR, using: fileSystem)
                guard (try? FileIO.size(fd, path: path)) == 0 else {
                    close(fd)
                    throw LogError(.corrupt, "a new segment's file already exists and is not empty (\(error.message))", path: path)
                }
                self.fd = fd
            }
        } else {
            self.fd = try FileIO.open(path, flags: O_RDWR, using: fileSystem)
        }
        self.state = Mutex(State(size: 0, nextOffset: baseOffset, index: []))
    }

    deinit { close(fd) }

    var snapshot: State { state.withLock { $0 } }

    /// Publishes what the writer has appended.
    func commit(size: Int, nextOffset: Int64, newIndexEntries: [IndexEntry]) {
        state.withLock {
            $0.size = size
            $0.nextOffset = nextOffset
            $0.index.append(contentsOf: newIndexEntries)
        }
    }

    /// Writes the index to its file (done when the segment is sealed).
    func writeIndex(using fileSystem: any LogFileSystem = FileIO.system) throws {
        let index = snapshot.index
        var bytes: [UInt8] = []
        bytes.reserveCapacity(index.count * 16)
        for entry in index {
            RecordFormat.appendInteger(UInt64(bitPattern: entry.offset), to: &bytes)
            RecordFormat.appendInteger(UInt64(entry.position), to: &bytes)
        }
        try FileIO.writeFileAtomically(indexPath, bytes, using: fileSystem)
    }

    /// Reads the index file, if present and consistent with a file of `size` bytes.
    func loadIndex(size: Int) -> [IndexEntry]? {
        // An unreadable index is no index: the caller scans the segment instead.
        guard FileIO.exists(indexPath), let bytes = try? FileIO.readFile(indexPath), bytes.count % 16 == 0 else { return nil }
        var entries: [IndexEntry] = []
        var previous = IndexEntry(offset: baseOffset, position: 0)
        bytes.withUnsafeBytes { raw in
            for i in stride(from: 0, to: raw.count, by: 16) {
                entries.append(
                    IndexEntry(
                        offset: Int64(bitPattern: RecordFormat.load(raw, i, as: UInt64.self)),
                        position: Int(RecordFormat.load(raw, i + 8, as: UInt64.self))))
            }
        }
        for entry in entries {
            guard entry.offset > previous.offset, entry.position > previous.position, entry.position < size else { return nil }
            previous = entry
        }
        return entries
    }

    /// Where to start scanning for `offset`: the last index entry at or before it.
    static func startPosition(for offset: Int64, in state: State, baseOffset: Int64) -> (offset: Int64, position: Int) {
        var low = 0, high = state.index.count
        while low < high {
            let mid = (low + high) / 2
            if state.index[mid].offset <= offset { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? (baseOffset, 0) : (state.index[low - 1].offset, state.index[low - 1].position)
    }

    /// The ingest time of the segment's first record, or `nil` when it has none yet.
    func firstIngestTime() throws -> Int64? {
        guard snapshot.size >= RecordFormat.headerSize else { return nil }
        var header = [UInt8](repeating: 0, count: RecordFormat.headerSize)
        let got = try header.withUnsafeMutableBytes { (raw) throws -> Int in try FileIO.read(fd, into: raw, at: 0, path: path) }
        guard got == header.count else { return nil }
        return header.withUnsafeBytes { Int64(bitPattern: RecordFormat.load($0, 24, as: UInt64.self)) }
    }

    /// A buffer of `count` bytes whose contents are unspecified (they are read into before use).
    private static func uninitialized(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            // Bytes are plain integers: any bit pattern is a valid value.
            initialized = count
        }
    }

    /// Appends records with `offset >= from` and `< limit` to `batch`, until a limit is reached.
    /// - Returns: whether the batch is full.
    func read(from offset: Int64, limit: Int64, maxRecords: Int, maxBytes: Int, into batch: inout RecordBatch) throws -> Bool {
        let state = self.snapshot
        var position = Self.startPosition(for: offset, in: state, baseOffset: baseOffset).position
        // Reads of 1 MiB at most: a read of 10,000 pageviews (about 1 MB) then uses most of what
        // it copies, where 4 MiB chunks copied four times the bytes used. The buffer is not
        // zeroed, since the read overwrites what is used.
        let chunkSize = max(64 << 10, min(maxBytes, 1 << 20))
        var buffer = Self.uninitialized(chunkSize)
        while position < state.size {
            let want = min(buffer.count, state.size - position)
            let got = try buffer.withUnsafeMutableBytes { (raw) throws -> Int in
                try FileIO.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: position, path: path)
            }
            guard got == want else { throw LogError(.corrupt, "segment is shorter than its committed size", path: path) }
            var consumed = 0
            var full = false
            var needed = 0
            try buffer.withUnsafeBytes { (raw) throws in
                let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<got])
                while consumed < got {
                    switch RecordFormat.check(bytes, at: consumed) {
                    case .valid(let size, let recordOffset):
                        if recordOffset >= limit {
                            full = true
                            return
                        }
                        if recordOffset >= offset {
                            batch.appendFramed(bytes, at: consumed, size: size)
                            if batch.count >= maxRecords || batch.byteCount >= maxBytes {
                                full = true
                                consumed += size
                                return
                            }
                        }
                        consumed += size
                    case .incomplete:
                        needed =
                            bytes.count - consumed >= RecordFormat.headerSize
                            ? Int(RecordFormat.load(bytes, consumed, as: UInt32.self)) + 4 : RecordFormat.headerSize
                        return
                    case .corrupt(let reason, _):
                        throw LogError(.corrupt, "record at byte \(position + consumed): \(reason)", path: path)
                    }
                }
            }
            if full { return true }
            if consumed == 0 {
                guard position + needed <= state.size else {
                    throw LogError(.corrupt, "record at byte \(position) runs past the segment's end", path: path)
                }
                buffer = Self.uninitialized(needed)
            }
            position += consumed
        }
        return false
    }
}
