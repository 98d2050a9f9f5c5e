/// One problem with one event of a request body.
public struct EventIssue: Sendable, Equatable, Codable {
    /// Stable issue codes.
    public enum Code: String, Sendable, Codable {
        /// The body (or this NDJSON line) is not well-formed JSON.
        case invalidJSON = "invalid_json"
        /// The event is not a JSON object.
        case notAnObject = "not_an_object"
        /// A value does not have the field's type.
        case typeMismatch = "type_mismatch"
        /// A required field is absent or null.
        case missingField = "missing_field"
        /// A field the schema does not declare, on a stream that rejects them.
        case unknownField = "unknown_field"
        /// The same field twice in one event.
        case duplicateField = "duplicate_field"
        /// A number too large for an int field.
        case outOfRange = "out_of_range"
        /// The event time is outside the configured bounds.
        case eventTimeOutOfBounds = "event_time_out_of_bounds"
    }

    /// The 0-based position in the JSON array, or the 0-based line in NDJSON.
    public var index: Int
    /// The field at fault, when one is.
    public var field: String?
    /// The stable code.
    public var code: Code
    /// What is wrong, for a person.
    public var message: String

    /// Creates an issue.
    public init(index: Int, field: String?, code: Code, message: String) {
        self.index = index
        self.field = field
        self.code = code
        self.message = message
    }
}

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

/// How a request body frames its events.
public enum BodyFormat: Sendable {
    /// One JSON object, or a JSON array of objects.
    case json
    /// One JSON object per line.
    case ndjson
}
