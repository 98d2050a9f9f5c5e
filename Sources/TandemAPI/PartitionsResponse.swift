/// The answer of `GET /v1/streams/{name}/partitions`.
public struct PartitionsResponse: Codable, Sendable, Equatable {
    /// One partition's offsets and size.
    public struct Partition: Codable, Sendable, Equatable {
        /// The partition number.
        public var partition: Int
        /// The first offset still stored.
        public var startOffset: Int64
        /// The offset the next record will get.
        public var endOffset: Int64
        /// Bytes stored.
        public var sizeBytes: Int
        /// Segment files.
        public var segments: Int

        enum CodingKeys: String, CodingKey {
            case partition, segments
            case startOffset = "start_offset"
            case endOffset = "end_offset"
            case sizeBytes = "size_bytes"
        }

        /// Creates an entry.
        public init(partition: Int, startOffset: Int64, endOffset: Int64, sizeBytes: Int, segments: Int) {
            self.partition = partition
            self.startOffset = startOffset
            self.endOffset = endOffset
            self.sizeBytes = sizeBytes
            self.segments = segments
        }
    }

    /// The stream.
    public var stream: String
    /// Its partitions, in order.
    public var partitions: [Partition]

    /// Creates an answer.
    public init(stream: String, partitions: [Partition]) {
        self.stream = stream
        self.partitions = partitions
    }
}
