/// Why the batch layer refused a request.
public struct BatchError: Error, Sendable, CustomStringConvertible {
    /// Stable codes.
    public enum Code: String, Sendable {
        case jobRunning = "job_running"
        case unknownView = "unknown_view"
        case unknownJob = "unknown_job"
        case unavailable = "database_unavailable"
        /// Another server uses the database (see `InstanceRegistry`).
        case anotherInstance = "another_instance"
        /// Another server was elected batch runner while this one ran a job (see `RunnerLease`).
        case notRunner = "not_runner"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
