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

    /// The server's version.
    public var version: String
    /// Seconds since the server started.
    public var uptimeSeconds: Int
    /// Every stream.
    public var streams: [Stream]

    enum CodingKeys: String, CodingKey {
        case version, streams
        case uptimeSeconds = "uptime_seconds"
    }

    /// Creates an answer.
    public init(version: String, uptimeSeconds: Int, streams: [Stream]) {
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.streams = streams
    }
}
