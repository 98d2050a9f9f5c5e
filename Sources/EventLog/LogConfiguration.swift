/// How the event log stores and syncs data.
public struct LogConfiguration: Sendable, Equatable {
    /// When appended data is forced to disk.
    public enum Durability: Sendable, Equatable {
        /// fsync every group-commit batch before acknowledging it (the default): an acknowledged
        /// record survives a power cut.
        case everyBatch
        /// Acknowledge after the write, fsync at most this many milliseconds later: faster, but a
        /// power cut (not a process crash) can lose that window.
        case interval(milliseconds: Int)
    }

    /// A segment file is closed and a new one started once it reaches this size.
    public var segmentBytes: Int
    /// One sparse index entry per this many bytes of records.
    public var indexIntervalBytes: Int
    /// When data is synced.
    public var durability: Durability
    /// The most bytes one group commit writes at once.
    public var maxWriteBytes: Int
    /// On open, a damaged tail longer than this is treated as corruption rather than a torn write.
    public var maxTornTailBytes: Int
    /// Whether opening checks every record of sealed segments (`true`) or only their ends (`false`,
    /// the default: opening stays fast however large the log; damage elsewhere is still caught by
    /// the CRC on every read, never served). The active segment is always checked in full.
    public var verifySealedSegments: Bool

    /// Creates a configuration; the defaults suit a production server.
    public init(
        segmentBytes: Int = 256 << 20,
        indexIntervalBytes: Int = 4096,
        durability: Durability = .everyBatch,
        maxWriteBytes: Int = 16 << 20,
        maxTornTailBytes: Int = 64 << 20,
        verifySealedSegments: Bool = false
    ) {
        self.segmentBytes = min(max(segmentBytes, 1024), 1 << 30)
        self.indexIntervalBytes = max(indexIntervalBytes, 64)
        self.durability = durability
        self.maxWriteBytes = max(maxWriteBytes, 1024)
        self.maxTornTailBytes = maxTornTailBytes
        self.verifySealedSegments = verifySealedSegments
    }
}
