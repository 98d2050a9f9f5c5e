import Synchronization

/// Chooses partitions: by a stable hash of the key when there is one, round-robin otherwise.
///
/// The hash is 64-bit FNV-1a of the key's bytes, modulo the partition count, so a key always lands
/// in the same partition of a stream (for as long as the partition count stays, which it does).
public final class Partitioner: Sendable {
    private let roundRobin = Atomic<Int>(0)

    /// Creates a partitioner.
    public init() {}

    /// The partition of a key.
    @inline(__always)
    public static func partition(forKey key: UnsafeRawBufferPointer, partitions: Int) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return Int(hash % UInt64(partitions))
    }

    /// A starting point for one request's keyless events; its `i`-th keyless event goes to
    /// `(start + i) % partitions`, and the next request starts one partition further.
    public func nextStart() -> Int {
        roundRobin.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
    }
}
