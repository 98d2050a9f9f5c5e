/// The bounds an event time must fall in: an absolute range, and optionally a distance from the
/// ingest time.
public struct EventTimeBounds: Sendable, Equatable {
    /// How far in the past an event time may be, in milliseconds; `nil` for no bound.
    public var maxAgeMilliseconds: Int64?
    /// How far in the future an event time may be, in milliseconds; `nil` for no bound.
    public var maxFutureMilliseconds: Int64?
    /// The absolute range every event time and timestamp value must fall in (epoch milliseconds);
    /// by default ``Timestamp/supportedRange`` (years 0001 to 9999), which keeps every bucket and
    /// window computation far from 64-bit overflow.
    public var range: ClosedRange<Int64>

    /// Creates bounds; the defaults accept any past time in the supported range and up to one day
    /// ahead.
    public init(
        maxAgeMilliseconds: Int64? = nil, maxFutureMilliseconds: Int64? = 86_400_000,
        range: ClosedRange<Int64> = Timestamp.supportedRange
    ) {
        self.maxAgeMilliseconds = maxAgeMilliseconds
        self.maxFutureMilliseconds = maxFutureMilliseconds
        self.range = range.clamped(to: Timestamp.supportedRange)
    }
}
