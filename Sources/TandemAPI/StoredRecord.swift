/// One line of `GET /v1/streams/{name}/records` (NDJSON): a stored event with its place in the log.
public struct StoredRecord: Codable, Sendable, Equatable {
    /// The partition.
    public var partition: Int
    /// Its offset in the partition.
    public var offset: Int64
    /// The event time (RFC 3339).
    public var eventTime: String
    /// When the server accepted it (RFC 3339).
    public var ingestTime: String
    /// The partitioning key, when the stream has one.
    public var key: String?
    /// The event, as stored (typed by the stream's schema).
    public var event: [String: JSONValue]

    /// Creates a record.
    public init(partition: Int, offset: Int64, eventTime: String, ingestTime: String, key: String?, event: [String: JSONValue]) {
        self.partition = partition
        self.offset = offset
        self.eventTime = eventTime
        self.ingestTime = ingestTime
        self.key = key
        self.event = event
    }

    enum CodingKeys: String, CodingKey {
        case partition, offset, key, event
        case eventTime = "event_time"
        case ingestTime = "ingest_time"
    }
}
