import Events

/// Limits and policies of the ingest path.
public struct IngestConfiguration: Sendable, Equatable {
    /// The largest request body accepted, in bytes (413 `body_too_large` beyond).
    public var maxBodyBytes: Int
    /// The most events in one request (413 `too_many_events` beyond).
    public var maxEventsPerRequest: Int
    /// The most bytes of accepted events waiting for the log at once; past it requests are refused
    /// with 503 `log_queue_full` and `Retry-After` instead of queueing without bound.
    public var maxInFlightBytes: Int
    /// The bounds event times must fall in.
    public var eventTimeBounds: EventTimeBounds
    /// The most `GET .../records?wait_ms=` requests waiting for data at once; past it such a
    /// request is answered at once with 429 `too_many_long_polls`.
    public var maxLongPolls: Int = 256

    /// Creates a configuration with production defaults.
    public init(
        maxBodyBytes: Int = 32 << 20,
        maxEventsPerRequest: Int = 100_000,
        maxInFlightBytes: Int = 256 << 20,
        eventTimeBounds: EventTimeBounds = EventTimeBounds()
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxEventsPerRequest = maxEventsPerRequest
        self.maxInFlightBytes = maxInFlightBytes
        self.eventTimeBounds = eventTimeBounds
    }
}
