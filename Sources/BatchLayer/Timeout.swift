import Events

/// Runs `body`, failing with ``BatchError`` `database_unavailable` if it takes longer than
/// `limit`: PostgresNIO waits forever for an unreachable server, and nothing here may hang.
func withTimeout<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withDeadline(
        limit, timeoutError: { BatchError(.unavailable, "\(what) did not finish within \(limit): is PostgreSQL reachable?") }, body)
}
