import Aggregation

/// What one query may cost (the `query` section of the configuration).
public struct QueryLimits: Sendable, Equatable {
    /// The most rows a query may produce before ordering and limiting (`query.max_groups`);
    /// enforced while the answer is built, with 400 `too_many_groups`.
    public var maxGroups: Int
    /// The most windows a query's range may hold at its step (`query.max_windows`); past it the
    /// query is refused before any work with 400 `query_too_large`.
    public var maxWindows: Int64
    /// The most hopping windows one bucket may fall in, size / advance
    /// (`query.max_windows_per_bucket`); past it 400 `query_too_large`.
    public var maxWindowsPerBucket: Int64
    /// How long a query may run (`query.timeout`); past it the query is cancelled, its batch
    /// version unpinned, and the answer is 503 `query_timeout`.
    public var timeout: Duration

    /// Creates limits with the server's defaults.
    public init(maxGroups: Int = 100_000, maxWindows: Int64 = 1_000_000, maxWindowsPerBucket: Int64 = 10_000, timeout: Duration = .seconds(30)) {
        self.maxGroups = maxGroups
        self.maxWindows = maxWindows
        self.maxWindowsPerBucket = maxWindowsPerBucket
        self.timeout = timeout
    }

    /// The roll-up limits of one query that must finish by `deadline`.
    func rollup(deadline: ContinuousClock.Instant) -> RollupLimits {
        RollupLimits(maxRows: maxGroups, maxWindows: maxWindows, maxWindowsPerBucket: maxWindowsPerBucket, deadline: deadline)
    }
}
