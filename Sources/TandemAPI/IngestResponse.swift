/// The answer of `POST /v1/streams/{name}/events`: every event durable, with the offsets given per
/// partition.
///
/// The server writes it with ``json``, a hand-written encoder (it answers every ingest request;
/// `tandem bench encode` compares it with `JSONEncoder`); clients decode it as any Codable type.
public struct IngestResponse: Codable, Sendable, Equatable {
    /// The first and last offset given in one partition.
    public struct Offsets: Codable, Sendable, Equatable {
        /// The first offset given.
        public var first: Int64
        /// The last offset given.
        public var last: Int64

        enum CodingKeys: String, CodingKey {
            case first = "first_offset"
            case last = "last_offset"
        }

        /// Creates a range.
        public init(first: Int64, last: Int64) {
            self.first = first
            self.last = last
        }
    }

    /// How many events were appended.
    public var accepted: Int
    /// How many were recognised as duplicates and skipped.
    public var duplicates: Int
    /// The offsets given, by partition.
    public var partitions: PartitionMap<Offsets>

    /// Creates an answer.
    public init(accepted: Int, duplicates: Int, partitions: PartitionMap<Offsets>) {
        self.accepted = accepted
        self.duplicates = duplicates
        self.partitions = partitions
    }

    /// The answer as JSON, the same document `JSONEncoder` writes (partitions in order).
    public var json: String {
        var text = "{\"accepted\":\(accepted),\"duplicates\":\(duplicates),\"partitions\":{"
        var first = true
        for partition in partitions.values.keys.sorted() {
            let range = partitions.values[partition]!
            if !first { text += "," }
            first = false
            text += "\"\(partition)\":{\"first_offset\":\(range.first),\"last_offset\":\(range.last)}"
        }
        return text + "}}"
    }
}
