import Aggregation

/// A view version that has been published: its catalog id, the cut it was computed to, the table
/// that holds its rows, and, when it fits the serving cache, its rows in memory.
public struct PublishedVersion: Sendable, Equatable {
    /// The view.
    public var view: String
    /// The version's id (`tandem_view_versions.id`), increasing.
    public var id: Int64
    /// The cut: for every partition, the end offset it covers (exclusive).
    public var cut: [Int64]
    /// The identity of the log topic the cut was taken from (``EventLog/Topic/id``); `nil` for
    /// versions built before cuts carried it.
    public var logID: String?
    /// The version table.
    public var table: String
    /// The view definition it was computed for (JSON), to ignore versions of a replaced view.
    public var definition: String
    /// Per partition, the largest event time below the cut (`nil` where the partition has no
    /// record there), from which an incremental job and a speed layer starting at the cut go on
    /// judging lateness (``Lateness``). `nil` for versions built before versions kept it: their
    /// rows carry no late counts either, so answers over them cannot say how many records were
    /// late, and the next job is a full one.
    public var maxEventTimes: [Int64?]?
    /// Whether its table has typed columns (``TypedColumns``), so that a dimension filter can be
    /// pushed down to it; tables built before them hold only the states.
    public var typed: Bool
    /// The version's rows in columnar form (the serving cache), or `nil` while it is being
    /// loaded or when it does not fit `serving.cache_max_bytes`: queries then read the table.
    public var columns: ColumnarState?

    /// Creates a version.
    public init(
        view: String, id: Int64, cut: [Int64], logID: String? = nil, maxEventTimes: [Int64?]? = nil, table: String, definition: String,
        typed: Bool = false, columns: ColumnarState? = nil
    ) {
        self.view = view
        self.id = id
        self.cut = cut
        self.logID = logID
        self.maxEventTimes = maxEventTimes
        self.table = table
        self.definition = definition
        self.typed = typed
        self.columns = columns
    }

    /// Whether the version's rows carry late counts, so that answers over it can say how many
    /// of their records were late.
    public var countsLateRecords: Bool { maxEventTimes != nil }

    public static func == (lhs: PublishedVersion, rhs: PublishedVersion) -> Bool {
        lhs.view == rhs.view && lhs.id == rhs.id && lhs.cut == rhs.cut && lhs.logID == rhs.logID && lhs.maxEventTimes == rhs.maxEventTimes
            && lhs.table == rhs.table
            && lhs.definition == rhs.definition
            && lhs.typed == rhs.typed && lhs.columns === rhs.columns
    }
}
