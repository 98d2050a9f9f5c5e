/// The JSON answer of `POST /v1/query`: rows and where their data came from.
///
/// The server writes it with a hand-written encoder (a query can answer many rows); this type is
/// how clients read it.
public struct QueryResponse: Codable, Sendable, Equatable {
    /// Where an answer's data came from.
    public struct Provenance: Codable, Sendable, Equatable {
        /// The published batch version used, if any.
        public var batchVersion: Int64?
        /// The cut the speed state starts at, per partition.
        public var cut: PartitionMap<Int64>
        /// Offsets the speed layer had consumed, per partition.
        public var speedOffsets: PartitionMap<Int64>
        /// The log's end offsets.
        public var logEnd: PartitionMap<Int64>
        /// Records not consumed yet.
        public var lagRecords: Int64
        /// `speed` or `batch+speed`.
        public var source: String
        /// The view's event-time watermark (RFC 3339).
        public var watermark: String?
        /// Whether every record the answer should count is counted. Only a query with
        /// `"allow_partial": true` can get `false`, and then ``missing`` or ``missingPartitions``
        /// says what is left out.
        public var complete: Bool
        /// What a partial answer leaves out.
        public var missing: Missing?
        /// Milliseconds from when the log accepted the newest record the answer counts to when
        /// the answer was made (`null` when it counts none).
        public var freshnessMs: Int64?
        /// The records the answer counts whose event time was behind their partition's watermark
        /// when they arrived (each changed a window already final). Summed over the rows returned,
        /// as `count` would count them (a record in two hopping windows counts in both); `nil` when
        /// the answer includes a version built before versions kept late counts.
        public var lateRecords: Int64?
        /// Per partition, who computed its speed state, when partitions are divided among the
        /// servers on one Kafka cluster: `local`, or the owning server's address.
        public var speedSources: PartitionMap<String>?
        /// Partitions a partial answer leaves out (`allow_partial`, partitions divided among
        /// servers): their owner could not give their speed state within the query's deadline.
        public var missingPartitions: PartitionMap<String>?

        /// The records a partial answer does not count: those of a published version that could
        /// not be read, offsets `0..<below_cut` in each partition.
        public struct Missing: Codable, Sendable, Equatable {
            /// The version that could not be read.
            public var batchVersion: Int64
            /// Its cut, per partition.
            public var belowCut: PartitionMap<Int64>
            /// Why it could not be read.
            public var reason: String

            enum CodingKeys: String, CodingKey {
                case reason
                case batchVersion = "batch_version"
                case belowCut = "below_cut"
            }

            /// Creates a description of what is missing.
            public init(batchVersion: Int64, belowCut: PartitionMap<Int64>, reason: String) {
                self.batchVersion = batchVersion
                self.belowCut = belowCut
                self.reason = reason
            }
        }

        enum CodingKeys: String, CodingKey {
            case cut, source, watermark, complete, missing
            case batchVersion = "batch_version"
            case speedOffsets = "speed_offsets"
            case logEnd = "log_end"
            case lagRecords = "lag_records"
            case freshnessMs = "freshness_ms"
            case lateRecords = "late_records"
            case speedSources = "speed_sources"
            case missingPartitions = "missing_partitions"
        }

        /// Creates provenance.
        public init(
            batchVersion: Int64?, cut: PartitionMap<Int64>, speedOffsets: PartitionMap<Int64>, logEnd: PartitionMap<Int64>, lagRecords: Int64,
            source: String, watermark: String?, complete: Bool = true, missing: Missing? = nil, freshnessMs: Int64? = nil,
            lateRecords: Int64? = nil, speedSources: PartitionMap<String>? = nil, missingPartitions: PartitionMap<String>? = nil
        ) {
            self.speedSources = speedSources
            self.missingPartitions = missingPartitions
            self.freshnessMs = freshnessMs
            self.lateRecords = lateRecords
            self.complete = complete
            self.missing = missing
            self.batchVersion = batchVersion
            self.cut = cut
            self.speedOffsets = speedOffsets
            self.logEnd = logEnd
            self.lagRecords = lagRecords
            self.source = source
            self.watermark = watermark
        }
    }

    /// The rows: `time` (and `end` for sessions) as RFC 3339, then the dimensions and aggregates
    /// by name.
    public var rows: [[String: JSONValue]]
    /// Where the data came from.
    public var provenance: Provenance

    /// Creates an answer.
    public init(rows: [[String: JSONValue]], provenance: Provenance) {
        self.rows = rows
        self.provenance = provenance
    }
}
