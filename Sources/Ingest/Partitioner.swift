import Synchronization

/// Spreads events without a key over the partitions, round-robin. (A keyed event goes where its
/// topic puts the key: ``EventLog/LogTopic/partition(forKey:)``.)
public final class Partitioner: Sendable {
    private let roundRobin = Atomic<Int>(0)

    /// Creates a partitioner.
    public init() {}

    /// A starting point for one request's keyless events; its `i`-th keyless event goes to
    /// `(start + i) % partitions`, and the next request starts one partition further.
    public func nextStart() -> Int {
        roundRobin.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
    }
}
