/// A recompute job, as `GET /v1/jobs/{id}` shows it. Absent values are written as `null`.
public struct JobResponse: Codable, Sendable, Equatable {
    /// How far a job has scanned.
    public struct Progress: Codable, Sendable, Equatable {
        /// Records scanned.
        public var scanned: Int64
        /// Records to scan (below the cut).
        public var total: Int64
        /// Records that could not be applied to the view (poison records), skipped.
        public var skipped: Int64

        /// Creates progress.
        public init(scanned: Int64, total: Int64, skipped: Int64) {
            self.scanned = scanned
            self.total = total
            self.skipped = skipped
        }
    }

    /// The job id, `j_000042`.
    public var id: String
    /// The view it recomputes.
    public var view: String
    /// `full` or `incremental`.
    public var mode: String
    /// What asked for it: `api`, `schedule`, `new_view`, `size`, `cli`.
    public var trigger: String
    /// `queued`, `running`, `succeeded` or `failed`.
    public var state: String
    /// How far it has scanned.
    public var progress: Progress
    /// The offsets it reads below, per partition, once it has cut.
    public var cut: PartitionMap<Int64>?
    /// The view version it published.
    public var version: Int64?
    /// State rows written to the version table.
    public var rowsWritten: Int64?
    /// Attempts so far.
    public var attempts: Int
    /// When it was submitted (RFC 3339).
    public var createdAt: String
    /// When its last attempt started.
    public var startedAt: String?
    /// When it finished.
    public var finishedAt: String?
    /// Why it failed.
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case id, view, mode, trigger, state, progress, cut, version, attempts, error
        case rowsWritten = "rows_written"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    /// Creates a job answer.
    public init(
        id: String, view: String, mode: String, trigger: String, state: String, progress: Progress, cut: PartitionMap<Int64>?,
        version: Int64?, rowsWritten: Int64?, attempts: Int, createdAt: String, startedAt: String?, finishedAt: String?, error: String?
    ) {
        self.id = id
        self.view = view
        self.mode = mode
        self.trigger = trigger
        self.state = state
        self.progress = progress
        self.cut = cut
        self.version = version
        self.rowsWritten = rowsWritten
        self.attempts = attempts
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.error = error
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(view, forKey: .view)
        try container.encode(mode, forKey: .mode)
        try container.encode(trigger, forKey: .trigger)
        try container.encode(state, forKey: .state)
        try container.encode(progress, forKey: .progress)
        try container.encode(cut, forKey: .cut)
        try container.encode(version, forKey: .version)
        try container.encode(rowsWritten, forKey: .rowsWritten)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        try container.encode(error, forKey: .error)
    }
}
