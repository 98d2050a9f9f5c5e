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
    /// How long, in milliseconds of ingest time, a stream with an `id_field` remembers the ids it
    /// accepted: an event whose id it remembers is not appended again (it counts in
    /// `duplicates`). See ``IDIndex`` for the memory this takes.
    public var dedupWindowMilliseconds: Int64 = 3_600_000

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
