/// A view definition or a query that cannot be used, with a stable code and the field at fault.
public struct ViewError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable codes.
    public enum Code: String, Sendable {
        case invalidView = "invalid_view"
        case unknownStream = "unknown_stream"
        case unknownView = "unknown_view"
        case unknownField = "unknown_field"
        case unknownAggregate = "unknown_aggregate"
        case invalidFilter = "invalid_filter"
        case invalidAggregate = "invalid_aggregate"
        case invalidGranularity = "invalid_granularity"
        case invalidRange = "invalid_range"
        case invalidWindow = "invalid_window"
        case tooManyGroups = "too_many_groups"
        case queryTooLarge = "query_too_large"
        case queryTimeout = "query_timeout"
        /// The published batch version an exact answer needs cannot be read (PostgreSQL is
        /// unreachable and the version is not in the serving cache).
        case batchUnavailable = "batch_unavailable"
        /// A partition's speed state lives on another server (partitions are divided among the
        /// servers on one Kafka cluster) that could not give it in time: it is unreachable, or
        /// the partition is moving between servers.
        case partitionUnavailable = "partition_unavailable"
        case viewConflict = "view_conflict"
        case tooManyViews = "too_many_views"
    }

    /// The stable code.
    public var code: Code
    /// What is wrong.
    public var message: String
    /// The field of the request at fault.
    public var field: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
