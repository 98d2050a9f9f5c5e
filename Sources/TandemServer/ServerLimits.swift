/// Bounds on what clients may hold of the HTTP server (the `server` section of the
/// configuration), so that slow or numerous clients cannot exhaust connections or file
/// descriptors.
public struct ServerLimits: Sendable, Equatable {
    /// A connection with nothing to read or write for this long is closed (`server.idle_timeout`).
    public var idleTimeout: Duration = .seconds(60)
    /// A request must arrive whole, head and body, within this long of the connection opening or
    /// of the previous answer (`server.read_timeout`); a client that trickles bytes is
    /// disconnected.
    public var readTimeout: Duration = .seconds(30)
    /// The most connections served at once (`server.max_connections`); further connections wait
    /// in the listen backlog until one closes.
    public var maxConnections: Int = 1024
    /// On SIGTERM or SIGINT, requests in flight get this long to finish before they are cancelled
    /// (`server.shutdown_timeout`); the log is flushed and closed either way.
    public var shutdownTimeout: Duration = .seconds(30)

    /// The defaults.
    public init() {}
}
