/// A stream definition that cannot be used, with a stable code and the field at fault.
public struct SchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable error codes.
    public enum Code: String, Sendable {
        /// The definition itself is malformed (bad name, bad type, missing time field...).
        case invalidStream = "invalid_stream"
        /// The definition conflicts with the stream as it exists (changed type, partitions...).
        case streamConflict = "stream_conflict"
        /// The server already has as many streams as `limits.max_streams` allows.
        case tooManyStreams = "too_many_streams"
        /// The new stream's partitions would take the server past `limits.max_partitions`.
        case tooManyPartitions = "too_many_partitions"
    }

    /// The stable code.
    public var code: Code
    /// What is wrong, for a person.
    public var message: String
    /// The definition's field that is at fault (`partitions`, `fields.ts`, ...), if one is.
    public var field: String?

    /// Creates a schema error.
    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
