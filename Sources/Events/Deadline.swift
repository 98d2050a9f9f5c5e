/// Runs `body`, failing with `timeoutError()` if it takes longer than `limit`; the body is
/// cancelled. Database clients wait forever for an unreachable server, and nothing in Tandem may
/// hang on one.
public func withDeadline<T: Sendable>(
    _ limit: Duration,
    timeoutError: @escaping @Sendable () -> any Error,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw timeoutError()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
