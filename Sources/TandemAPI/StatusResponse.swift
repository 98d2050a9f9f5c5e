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

        enum CodingKeys: String, CodingKey {
            case name, partitions
            case endOffsets = "end_offsets"
            case sizeBytes = "size_bytes"
        }

        /// Creates an entry.
        public init(name: String, partitions: Int, endOffsets: PartitionMap<Int64>, sizeBytes: Int) {
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

    /// The server's version.
    public var version: String
    /// Seconds since the server started.
    public var uptimeSeconds: Int
    /// Every stream.
    public var streams: [Stream]
    /// The serving cache, when the server has a batch layer.
    public var servingCache: ServingCache?

    enum CodingKeys: String, CodingKey {
        case version, streams
        case uptimeSeconds = "uptime_seconds"
        case servingCache = "serving_cache"
    }

    /// Creates an answer.
    public init(version: String, uptimeSeconds: Int, streams: [Stream], servingCache: ServingCache? = nil) {
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.streams = streams
        self.servingCache = servingCache
    }
}
