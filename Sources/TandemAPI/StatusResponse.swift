/// The answer of `GET /v1/status`.
public struct StatusResponse: Codable, Sendable, Equatable {
    /// One stream's size.
    public struct Stream: Codable, Sendable, Equatable {
        /// The stream.
        public var name: String
        /// Its partition count.
        public var partitions: Int
        /// The offset the next record will get, per partition.
        public var endOffsets: PartitionMap<Int64>
        /// Bytes stored.
        public var sizeBytes: Int
        /// Ingest requests since the server started: all, refused, and refused by error code.
        public var ingest: IngestCounts?
        /// Messages in the stream's Kafka topic that are not valid events (written by another
        /// producer), skipped by both layers, since the server started; `nil` on the embedded log,
        /// which takes only validated events.
        public var invalidMessages: Int?

        enum CodingKeys: String, CodingKey {
            case name, partitions, ingest
            case endOffsets = "end_offsets"
            case sizeBytes = "size_bytes"
            case invalidMessages = "invalid_messages"
        }

        /// Creates an entry.
        public init(
            name: String, partitions: Int, endOffsets: PartitionMap<Int64>, sizeBytes: Int, ingest: IngestCounts? = nil, invalidMessages: Int? = nil
        ) {
            self.invalidMessages = invalidMessages
            self.ingest = ingest
            self.name = name
            self.partitions = partitions
            self.endOffsets = endOffsets
            self.sizeBytes = sizeBytes
        }
    }

    /// The serving cache (published versions held in memory), when the server has a batch layer.
    public struct ServingCache: Codable, Sendable, Equatable {
        /// One view's published version in the cache.
        public struct View: Codable, Sendable, Equatable {
            /// The view.
            public var view: String
            /// Its published version.
            public var version: Int64
            /// Whether the version is in memory; when not, queries read its table.
            public var cached: Bool
            /// Rows held.
            public var rows: Int
            /// Estimated bytes held.
            public var bytes: Int

            /// Creates an entry.
            public init(view: String, version: Int64, cached: Bool, rows: Int, bytes: Int) {
                self.view = view
                self.version = version
                self.cached = cached
                self.rows = rows
                self.bytes = bytes
            }
        }

        /// The limit (`serving.cache_max_bytes`).
        public var maxBytes: Int
        /// Estimated bytes held over all views.
        public var usedBytes: Int
        /// Each view's published version.
        public var views: [View]

        enum CodingKeys: String, CodingKey {
            case views
            case maxBytes = "max_bytes"
            case usedBytes = "used_bytes"
        }

        /// Creates a report.
        public init(maxBytes: Int, usedBytes: Int, views: [View]) {
            self.maxBytes = maxBytes
            self.usedBytes = usedBytes
            self.views = views
        }
    }

    /// A stream's ingest requests since the server started.
    public struct IngestCounts: Codable, Sendable, Equatable {
        /// Every request.
        public var requests: Int
        /// Requests refused (4xx and 5xx).
        public var failed: Int
        /// Refused requests by error code.
        public var failures: [String: Int]

        /// Creates counts.
        public init(requests: Int, failed: Int, failures: [String: Int]) {
            self.requests = requests
            self.failed = failed
            self.failures = failures
        }
    }

    /// A running view: its speed layer's lag, state and late records, and its batch version's
    /// staleness.
    public struct View: Codable, Sendable, Equatable {
        /// One partition's consumer.
        public struct Partition: Codable, Sendable, Equatable {
            /// The partition.
            public var partition: Int
            /// The next offset the speed layer consumes.
            public var consumed: Int64
            /// Records in the log not consumed yet.
            public var lagRecords: Int64
            /// How long the oldest record not consumed yet has been in the log (0 when none).
            public var lagSeconds: Double

            enum CodingKeys: String, CodingKey {
                case partition, consumed
                case lagRecords = "lag_records"
                case lagSeconds = "lag_seconds"
            }

            /// Creates an entry.
            public init(partition: Int, consumed: Int64, lagRecords: Int64, lagSeconds: Double) {
                self.partition = partition
                self.consumed = consumed
                self.lagRecords = lagRecords
                self.lagSeconds = lagSeconds
            }
        }

        /// The view.
        public var view: String
        /// Its stream.
        public var stream: String
        /// Each partition's consumer.
        public var partitions: [Partition]
        /// The event-time watermark (RFC 3339).
        public var watermark: String?
        /// Seconds from the watermark to now.
        public var watermarkAgeSeconds: Double?
        /// Rows of speed state.
        public var stateRows: Int
        /// Estimated bytes of speed state.
        public var stateBytes: Int
        /// Records whose event time was behind their partition's watermark when they arrived
        /// (counted like every record; each changed a window that was already final), since the
        /// view started in this process.
        public var lateRecords: Int64
        /// The latest buckets (RFC 3339 starts) that late records reached, with their counts.
        public var lateBuckets: [LateBucket]
        /// Undecodable records skipped.
        public var poisonRecords: Int64
        /// Milliseconds since the log accepted the newest record the view has consumed.
        public var freshnessMs: Int64?
        /// The published batch version, if any.
        public var batchVersion: Int64?
        /// Seconds since the log accepted the newest record below the published version's cut.
        public var stalenessSeconds: Double?
        /// The event time of the newest record below the cut (the batch/speed boundary in
        /// event time, RFC 3339).
        public var cutEventTime: String?

        enum CodingKeys: String, CodingKey {
            case view, stream, partitions, watermark
            case watermarkAgeSeconds = "watermark_age_seconds"
            case stateRows = "state_rows"
            case stateBytes = "state_bytes"
            case lateRecords = "late_records"
            case lateBuckets = "late_buckets"
            case poisonRecords = "poison_records"
            case freshnessMs = "freshness_ms"
            case batchVersion = "batch_version"
            case stalenessSeconds = "staleness_seconds"
            case cutEventTime = "cut_event_time"
        }

        /// Creates an entry.
        public init(
            view: String, stream: String, partitions: [Partition], watermark: String?, watermarkAgeSeconds: Double?, stateRows: Int, stateBytes: Int,
            lateRecords: Int64, lateBuckets: [LateBucket], poisonRecords: Int64, freshnessMs: Int64?, batchVersion: Int64?, stalenessSeconds: Double?,
            cutEventTime: String?
        ) {
            self.lateBuckets = lateBuckets
            self.view = view
            self.stream = stream
            self.partitions = partitions
            self.watermark = watermark
            self.watermarkAgeSeconds = watermarkAgeSeconds
            self.stateRows = stateRows
            self.stateBytes = stateBytes
            self.lateRecords = lateRecords
            self.poisonRecords = poisonRecords
            self.freshnessMs = freshnessMs
            self.batchVersion = batchVersion
            self.stalenessSeconds = stalenessSeconds
            self.cutEventTime = cutEventTime
        }
    }

    /// A bucket that late records reached.
    public struct LateBucket: Codable, Sendable, Equatable {
        /// The bucket's start (RFC 3339).
        public var time: String
        /// Late records in it.
        public var records: Int64

        /// Creates an entry.
        public init(time: String, records: Int64) {
            self.time = time
            self.records = records
        }
    }

    /// A threshold that is crossed now (`alerts.*` in the configuration).
    public struct Alert: Codable, Sendable, Equatable {
        /// The rule: `lag_seconds`, `staleness`, `error_rate`, `failed_jobs` or `late_records`.
        public var rule: String
        /// What crossed it: a view, a view's partition (`view/partition`), or `server`.
        public var subject: String
        /// The value now.
        public var value: Double
        /// The threshold.
        public var threshold: Double
        /// When it was first seen crossed (RFC 3339).
        public var since: String
        /// A sentence for people.
        public var message: String

        /// Creates an alert.
        public init(rule: String, subject: String, value: Double, threshold: Double, since: String, message: String) {
            self.rule = rule
            self.subject = subject
            self.value = value
            self.threshold = threshold
            self.since = since
            self.message = message
        }
    }

    /// The process.
    public struct Process: Codable, Sendable, Equatable {
        /// Resident memory in bytes.
        public var residentBytes: Int?
        /// CPU seconds used.
        public var cpuSeconds: Double?
        /// Open file descriptors.
        public var openFiles: Int?

        enum CodingKeys: String, CodingKey {
            case residentBytes = "resident_bytes"
            case cpuSeconds = "cpu_seconds"
            case openFiles = "open_files"
        }

        /// Creates figures.
        public init(residentBytes: Int?, cpuSeconds: Double?, openFiles: Int?) {
            self.residentBytes = residentBytes
            self.cpuSeconds = cpuSeconds
            self.openFiles = openFiles
        }
    }

    /// A server registered on the database (`tandem_instances`).
    public struct Instance: Codable, Sendable, Equatable {
        /// Its id (stable for its data directory).
        public var id: String
        /// Where clients reach it.
        public var address: String
        /// Its process id.
        public var pid: Int
        /// Its data directory.
        public var dataDir: String
        /// Seconds since its last heartbeat.
        public var heartbeatAgeSeconds: Double
        /// Whether it is the server that answered.
        public var current: Bool
        /// Whether it is the batch runner (the one server that runs jobs, elected when several
        /// share the database).
        public var runner: Bool
        /// Per stream, the partitions it computes, when the servers divide them
        /// (`kafka.divide_partitions`); absent otherwise.
        public var partitions: [String: [Int]]?

        enum CodingKeys: String, CodingKey {
            case id, address, pid, current, runner, partitions
            case dataDir = "data_dir"
            case heartbeatAgeSeconds = "heartbeat_age_seconds"
        }

        /// Creates an entry.
        public init(
            id: String, address: String, pid: Int, dataDir: String, heartbeatAgeSeconds: Double, current: Bool, runner: Bool = false,
            partitions: [String: [Int]]? = nil
        ) {
            self.runner = runner
            self.partitions = partitions
            self.id = id
            self.address = address
            self.pid = pid
            self.dataDir = dataDir
            self.heartbeatAgeSeconds = heartbeatAgeSeconds
            self.current = current
        }
    }

    /// The server's version.
    public var version: String
    /// Seconds since the server started.
    public var uptimeSeconds: Int
    /// Every stream.
    public var streams: [Stream]
    /// The serving cache, when the server has a batch layer.
    public var servingCache: ServingCache?
    /// Every running view.
    public var views: [View]
    /// Jobs this process queued or ran since it started, by state.
    public var jobs: [String: Int]
    /// The latest jobs, newest first (at most 20): from PostgreSQL's job history (earlier runs
    /// too) when it answers, else those this process queued or ran.
    public var recentJobs: [JobResponse]
    /// Thresholds crossed now.
    public var alerts: [Alert]
    /// The process.
    public var process: Process?
    /// The servers registered on the database, when it answers (`nil` without one).
    public var instances: [Instance]?

    enum CodingKeys: String, CodingKey {
        case version, streams, views, jobs, alerts, process, instances
        case uptimeSeconds = "uptime_seconds"
        case servingCache = "serving_cache"
        case recentJobs = "recent_jobs"
    }

    /// Creates an answer.
    public init(
        version: String, uptimeSeconds: Int, streams: [Stream], servingCache: ServingCache? = nil, views: [View] = [], jobs: [String: Int] = [:],
        recentJobs: [JobResponse] = [], alerts: [Alert] = [], process: Process? = nil
    ) {
        self.recentJobs = recentJobs
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.streams = streams
        self.servingCache = servingCache
        self.views = views
        self.jobs = jobs
        self.alerts = alerts
        self.process = process
    }
}
