/// How many definitions a server accepts. Each stream partition holds open files and each view
/// runs a consumer per partition, so unbounded counts would exhaust file descriptors and memory.
public struct CatalogLimits: Sendable, Equatable {
    /// The most streams (`limits.max_streams`).
    public var maxStreams: Int
    /// The most partitions over all streams (`limits.max_partitions`).
    public var maxPartitions: Int
    /// The most views (`limits.max_views`).
    public var maxViews: Int

    /// Creates limits; the defaults are the server's.
    public init(maxStreams: Int = 256, maxPartitions: Int = 4096, maxViews: Int = 256) {
        self.maxStreams = maxStreams
        self.maxPartitions = maxPartitions
        self.maxViews = maxViews
    }
}
