import Synchronization

/// A one-way stop request that a task can wait for: what ends a view's consumers, or one
/// partition's consumer when the partition moves to another server.
final class StopSignal: Sendable {
    private let state = Mutex<(stopped: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Asks whoever waits to stop.
    func stop() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.stopped = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether ``stop()`` was called.
    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Returns once ``stop()`` is called or the task is cancelled (which also stops it).
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let already = state.withLock { state -> Bool in
                    if state.stopped || Task.isCancelled { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if already { continuation.resume() }
            }
        } onCancel: {
            stop()
        }
    }
}
