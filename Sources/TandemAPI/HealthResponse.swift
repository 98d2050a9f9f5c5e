/// The answer of `/healthz` and `/readyz`.
public struct HealthResponse: Codable, Sendable, Equatable {
    /// A log partition that stopped taking writes after a failed sync (only a restart clears it).
    public struct FailedPartition: Codable, Sendable, Equatable {
        /// The stream.
        public var stream: String
        /// The partition.
        public var partition: Int
        /// What failed.
        public var reason: String

        /// Creates an entry.
        public init(stream: String, partition: Int, reason: String) {
            self.stream = stream
            self.partition = partition
            self.reason = reason
        }
    }

    /// `ok` or `failing` (`/healthz`, which answers 503 when a log partition fail-stopped or a
    /// view's consumer stopped), `ready`, `replaying` or `unready` (`/readyz`, 503 unless ready:
    /// also when the database cannot be reached or a consumer stopped).
    public var status: String
    /// Whether every view has replayed up to the log end seen at start.
    public var ready: Bool
    /// The speed layer's progress on each view.
    public var views: [SpeedViewStatus]
    /// Stored views that could not start, with their errors: the server answers without them.
    public var failedViews: [String: String]
    /// Log partitions that fail-stopped: ingest to them answers 503 `partition_failed`.
    public var failedPartitions: [FailedPartition]
    /// The batch layer's database (`/readyz` only): `"ok"`, `"none"` (run without one) or why it
    /// cannot be reached.
    public var database: String?
    /// The log (`/readyz` only): `"ok"`, or why it cannot be reached (a Kafka cluster whose
    /// brokers do not answer).
    public var log: String?

    enum CodingKeys: String, CodingKey {
        case status, ready, views, log
        case failedViews = "failed_views"
        case failedPartitions = "failed_partitions"
        case database
    }

    /// Creates an answer.
    public init(
        status: String, ready: Bool, views: [SpeedViewStatus], failedViews: [String: String], failedPartitions: [FailedPartition] = [],
        database: String? = nil, log: String? = nil
    ) {
        self.database = database
        self.log = log
        self.status = status
        self.ready = ready
        self.views = views
        self.failedViews = failedViews
        self.failedPartitions = failedPartitions
    }
}
