/// The speed layer's progress on one view, as view answers and `/healthz` show it.
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

    /// Creates a status.
    public init(
        view: String, caughtUp: Bool, consumed: Int64, replayTotal: Int64, offsets: [Int64], stateRows: Int, segments: Int, undecodable: Int64,
        failure: String? = nil, overRowLimit: Bool = false
    ) {
        self.view = view
        self.caughtUp = caughtUp
        self.consumed = consumed
        self.replayTotal = replayTotal
        self.offsets = offsets
        self.stateRows = stateRows
        self.segments = segments
        self.undecodable = undecodable
        self.failure = failure
        self.overRowLimit = overRowLimit
    }

    enum CodingKeys: String, CodingKey {
        case view, consumed, offsets, segments, undecodable, failure
        case overRowLimit = "over_row_limit"
        case caughtUp = "caught_up"
        case replayTotal = "replay_total"
        case stateRows = "state_rows"
    }
}
