import Events
import Telemetry

/// Runs `body`, failing with ``BatchError`` `database_unavailable` if it takes longer than
/// `limit`: PostgresNIO waits forever for an unreachable server, and nothing here may hang.
/// Each call is counted in ``DatabaseCalls``.
func withTimeout<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let timeout = "\(what) did not finish within \(limit): is PostgreSQL reachable?"
    return try await DatabaseCalls.track(
        { try await withDeadline(limit, timeoutError: { BatchError(.unavailable, timeout) }, body) },
        isTimeout: { ($0 as? BatchError)?.message == timeout })
}
