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
