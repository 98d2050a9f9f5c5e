import CRdKafka
import Synchronization

/// Wakes tasks when something happened, without a polling loop and without lost wake-ups.
///
/// A waiter reads ``generation`` before it checks its condition, and then waits for the generation
/// to move past the value it read: a ``signal()`` that lands between the check and the wait is not
/// missed. librdkafka calls ``signal()`` from its own threads (a queue that became non-empty), so
/// every method is safe from any thread.
final class Wakeup: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Signals each time librdkafka's `queue` goes from empty to non-empty. The caller must call
    /// ``stopSignalling(for:)`` before the queue or this object goes away.
    func signal(whenFilled queue: OpaquePointer) {
        rd_kafka_queue_cb_event_enable(
            queue,
            { _, opaque in
                guard let opaque else { return }
                Unmanaged<Wakeup>.fromOpaque(opaque).takeUnretainedValue().signal()
            }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Undoes ``signal(whenFilled:)``.
    static func stopSignalling(for queue: OpaquePointer) {
        rd_kafka_queue_cb_event_enable(queue, nil, nil)
    }

    /// The current generation; pass it to ``wait(after:)``.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Moves the generation on and resumes every waiter.
    func signal() {
        let waiters = state.withLock { state in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the generation differs from `generation`, or the task is cancelled.
    func wait(after generation: UInt64) async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.generation != generation || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
