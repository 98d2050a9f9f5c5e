/// A limit on the events a request may append, which the server's access control sets for the
/// request's token (`events_per_second`). The ingest path takes the request's events from it
/// once they are parsed and valid, before anything is appended: a request past the limit is
/// refused whole (429) and the log is untouched.
public protocol EventQuota: Sendable {
    /// Takes `events` from the quota, or throws the 429 that refuses the request.
    func take(_ events: Int) throws
}

/// The event quota of the request being served, if its token has one.
public enum IngestQuota {
    /// Set by the access control around a request's handling.
    @TaskLocal public static var current: (any EventQuota)?
}
