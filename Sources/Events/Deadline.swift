import Synchronization

/// Runs `body`, failing with `timeoutError()` once it has taken `limit`. Database clients wait
/// forever for an unreachable server, and nothing in Tandem may hang on one.
///
/// The caller really is released at the deadline: `body` runs in a task of its own, which is
/// cancelled then but not waited for (a call stuck in a driver that ignores cancellation keeps
/// only that task, never its caller). Cancelling the caller cancels `body` the same way.
public func withDeadline<T: Sendable>(
    _ limit: Duration,
    timeoutError: @escaping @Sendable () -> any Error,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = DeadlineOutcome<T>()
    let work = Task { try await body() }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            outcome.start(continuation)
            let timer = Task {
                try await Task.sleep(for: limit)
                work.cancel()
                outcome.finish(.failure(timeoutError()))
            }
            Task {
                let result = await work.result
                timer.cancel()
                outcome.finish(result)
            }
        }
    } onCancel: {
        work.cancel()
        outcome.finish(.failure(CancellationError()))
    }
}

/// The first of a body's result, its deadline and its caller's cancellation; the others are
/// dropped.
private final class DeadlineOutcome<T: Sendable>: Sendable {
    private enum State {
        case waiting
        case started(CheckedContinuation<T, any Error>)
        /// Finished before the continuation was in place (the caller was already cancelled).
        case early(Result<T, any Error>)
        case done
    }

    private let state = Mutex<State>(.waiting)

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        let early: Result<T, any Error>? = state.withLock { state in
            if case .early(let result) = state {
                state = .done
                return result
            }
            state = .started(continuation)
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func finish(_ result: Result<T, any Error>) {
        let continuation: CheckedContinuation<T, any Error>? = state.withLock { state in
            switch state {
            case .waiting:
                state = .early(result)
                return nil
            case .started(let continuation):
                state = .done
                return continuation
            case .early, .done:
                return nil
            }
        }
        continuation?.resume(with: result)
    }
}
