import Aggregation

/// Where the speed layer stood when a query read it: the cut its segments start at, the offsets
/// consumed, the log's end and the watermark.
public struct SpeedProgress: Sendable {
    /// The cut the state read starts at.
    public var cut: [Int64]
    /// The offset each partition has consumed up to (exclusive).
    public var offsets: [Int64]
    /// The log's end offsets, read right after.
    public var logEnd: [Int64]
    /// The view's event-time watermark (windows ending at or before it are final), if any event
    /// was consumed.
    public var watermark: Int64?
    /// Per partition: when the log accepted the record just below ``offsets`` (epoch ms), or
    /// `nil` when that partition has none.
    public var lastIngestTimes: [Int64?] = []
    /// Per partition: the largest event time consumed (`nil`: none).
    public var maxEventTimes: [Int64?] = []
    /// Per partition: who computed its state, when partitions are divided among servers (the
    /// owner's address); empty when this server computes every partition.
    public var sources: [String] = []
    /// Per partition: whether this server computes it.
    public var owned: [Bool] = []
    /// Per partition: whether a segment starts at the cut's offset, so that what was read from
    /// it is exact (a partition computed again from a newer cut is not, for an older one).
    public var aligned: [Bool] = []
    /// Partitions left out of a partial read (their owner could not give their state in time),
    /// with why; empty for a complete read.
    public var missing: [Int: String] = [:]

    /// Records in the log that the speed layer has not consumed yet.
    public var lagRecords: Int64 { zip(logEnd, offsets).reduce(0) { $0 + max($1.0 - $1.1, 0) } }
}

/// What a query reads from the speed layer as one state: the merged state of the segments at or
/// after a cut, and where the speed layer stood when it was read.
public struct SpeedSnapshot: Sendable {
    /// The merged state (restricted to the time range asked).
    public var state: ViewState
    /// Where the speed layer stood.
    public var progress: SpeedProgress

    /// The cut the state starts at.
    public var cut: [Int64] { progress.cut }
    /// The offset each partition has consumed up to (exclusive).
    public var offsets: [Int64] { progress.offsets }
    /// The view's event-time watermark, if any event was consumed.
    public var watermark: Int64? { progress.watermark }
}

/// Where one running view stands in the speed layer, partition by partition (for metrics and
/// the dashboard).
public struct ViewProgress: Sendable {
    /// One partition's consumer.
    public struct Partition: Sendable {
        /// The partition.
        public var partition: Int
        /// The next offset to consume.
        public var position: Int64
        /// The largest event time consumed.
        public var maxEventTime: Int64?
        /// When the log accepted the last record consumed (epoch ms).
        public var lastIngestTime: Int64?
        /// Records consumed whose event time was behind the partition's watermark on arrival.
        public var lateRecords: Int64
        /// The latest buckets (by start, epoch ms) that late records reached, with their counts.
        public var lateBuckets: [Int64: Int64]
        /// Records skipped as undecodable.
        public var undecodable: Int64
        /// Rows of state held.
        public var stateRows: Int
        /// Estimated bytes of state held.
        public var stateBytes: Int
    }

    /// The view.
    public var view: String
    /// Its stream.
    public var stream: String
    /// Each partition, in order.
    public var partitions: [Partition]
    /// The log's end offsets when the partitions were read.
    public var logEnd: [Int64]
    /// The view's event-time watermark.
    public var watermark: Int64?
}
