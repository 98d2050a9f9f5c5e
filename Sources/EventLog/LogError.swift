/// An error from the event log, with a stable code and the file it concerns.
public struct LogError: Error, Sendable, CustomStringConvertible {
    /// Stable error codes.
    public enum Code: String, Sendable {
        /// A system call failed.
        case io = "log_io"
        /// The disk (or the user's quota) is full: nothing was written; retry once space is freed.
        case diskFull = "disk_full"
        /// A sync to disk failed earlier, so the partition refuses writes until the process
        /// restarts and recovery re-reads what is really on disk (fail-stop, as PostgreSQL does).
        case failStopped = "partition_failed"
        /// A record is larger than the log's cap (``EventLog/maxRecordBytes``).
        case recordTooLarge = "record_too_large"
        /// Another process has the log directory open.
        case locked = "log_locked"
        /// Stored data is damaged somewhere other than a torn tail; the log refuses to open.
        case corrupt = "log_corrupt"
        /// The topic does not exist.
        case unknownTopic = "unknown_topic"
        /// The partition does not exist.
        case unknownPartition = "unknown_partition"
        /// The topic exists with a different partition count.
        case topicConflict = "topic_conflict"
        /// The log is closed.
        case closed = "log_closed"
        /// The requested offset is outside the partition.
        case offsetOutOfRange = "offset_out_of_range"
    }

    /// The stable code.
    public var code: Code
    /// What went wrong.
    public var message: String
    /// The file or directory concerned, if any.
    public var path: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, path: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
    }

    public var description: String {
        path.map { "\(code.rawValue): \(message) (\($0))" } ?? "\(code.rawValue): \(message)"
    }
}
