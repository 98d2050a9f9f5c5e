import Aggregation

/// What a query reads from the speed layer: the merged state of the segments at or after a cut,
/// and where the speed layer stood when it was read.
public struct SpeedSnapshot: Sendable {
    /// The merged state (restricted to the time range asked).
    public var state: ViewState
    /// The cut the state starts at.
    public var cut: [Int64]
    /// The offset each partition has consumed up to (exclusive).
    public var offsets: [Int64]
    /// The log's end offsets, read right after.
    public var logEnd: [Int64]
    /// The view's event-time watermark (windows ending at or before it are final), if any event
    /// was consumed.
    public var watermark: Int64?

    /// Records in the log that the speed layer has not consumed yet.
    public var lagRecords: Int64 { zip(logEnd, offsets).reduce(0) { $0 + max($1.0 - $1.1, 0) } }
}

/// The speed layer's progress on one view.
public struct SpeedViewStatus: Sendable, Codable, Equatable {
    /// The view.
    public var view: String
    /// Whether replay from the starting cut has reached the log end seen at start.
    public var caughtUp: Bool
    /// Records consumed since the view started.
    public var consumed: Int64
    /// Records to consume to catch up with the log end seen at start.
    public var replayTotal: Int64
    /// Offsets consumed per partition.
    public var offsets: [Int64]
    /// Rows of state held (all segments, all partitions).
    public var stateRows: Int
    /// Segments held per partition.
    public var segments: Int
    /// Undecodable records skipped.
    public var undecodable: Int64
    /// The consumer's error, if it stopped.
    public var failure: String?
    /// Whether ``stateRows`` is past the configured row limit (`batch.speed_state_row_limit`).
    public var overRowLimit = false

    enum CodingKeys: String, CodingKey {
        case view, consumed, offsets, segments, undecodable, failure
        case overRowLimit = "over_row_limit"
        case caughtUp = "caught_up"
        case replayTotal = "replay_total"
        case stateRows = "state_rows"
    }
}
