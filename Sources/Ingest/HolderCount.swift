import Synchronization

/// A count of requests holding a resource, with an admission limit.
final class HolderCount: Sendable {
    private let value = Atomic<Int>(0)

    /// Counts one more holder unless `limit` are already counted.
    func enter(limit: Int) -> Bool {
        var current = value.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = value.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Counts one holder less.
    func leave() { value.subtract(1, ordering: .relaxed) }
}
