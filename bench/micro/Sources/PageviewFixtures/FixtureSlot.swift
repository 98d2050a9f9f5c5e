import Synchronization

/// Holds what a benchmark's setup built so that its teardown can release it (the benchmark
/// library hands the setup's result to the measured closure only).
public final class FixtureSlot<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    /// An empty slot.
    public init() {}

    /// Stores `newValue` and returns it.
    public func fill(_ newValue: Value) -> Value {
        value.withLock { $0 = newValue }
        return newValue
    }

    /// Takes the value out, leaving the slot empty.
    public func take() -> Value? {
        value.withLock { slot in
            defer { slot = nil }
            return slot
        }
    }
}
