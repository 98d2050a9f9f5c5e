import Events

/// One generated pageview, before it is encoded.
public struct Pageview: Sendable {
    /// Event time, epoch milliseconds.
    public var time: Int64
    /// The page, `/page/RANK` (rank 1 is the most viewed).
    public var url: String
    /// The visitor, `uNUMBER`; also the partitioning key.
    public var userID: String
    /// A two-letter country code.
    public var country: String
    /// Page load time in milliseconds, one decimal.
    public var latency: Double

    /// The values in the stream's field order (``PageviewStream/definition``).
    public var values: [FieldValue?] { [.timestamp(time), .string(url), .string(userID), .string(country), .double(latency)] }

    /// The stored record's payload, as the ingest parser writes it.
    public func encoded(into bytes: inout [UInt8]) {
        RecordCodec.encode(values, schemaVersion: 1, into: &bytes)
    }
}
