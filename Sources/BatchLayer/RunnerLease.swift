import Logging
import PostgresNIO

/// The election of the batch runner among the servers that share a database (their log is
/// Kafka): the one server that runs jobs, takes cuts and publishes.
///
/// The runner holds a session-level advisory lock on a connection of its own, checked every
/// second; when the process dies or loses the database, PostgreSQL ends the session and releases
/// the lock, and another server takes it within a second or two of noticing. Each election bumps
/// `tandem_runner.epoch`, and a publish commits only under the epoch its runner was elected with
/// (``BatchStore/publish(view:id:table:cut:rows:epoch:)``), so that a runner cut off unnoticed can
/// never publish over its successor.
struct RunnerLease: Sendable {
    let client: PostgresClient
    /// This server's instance id, recorded as the runner.
    let instance: String
    let logger: Logger
    /// The advisory lock's key (the registry and migrations use their own).
    static let lockKey: Int64 = 7_351_094
    /// How often the lock's session is checked, and how often `tick` runs while elected.
    static let checkEvery: Duration = .seconds(1)

    /// Tries to become the runner and, when it does, stays it as long as the lock's session
    /// answers or until the task is cancelled.
    /// - Parameters:
    ///   - elected: called with the new epoch once this server is the runner.
    ///   - tick: called every ``checkEvery`` while it is.
    ///   - deposed: called when it stops being the runner.
    /// - Returns: whether this server was elected (`false`: another server holds the lock).
    func campaign(
        elected: @Sendable (Int64) async -> Void, tick: @Sendable () async -> Void, deposed: @Sendable () -> Void
    ) async throws -> Bool {
        let logger = self.logger, instance = self.instance
        return try await client.withConnection { connection in
            // Each statement in a task of its own: a shutdown that cancels the campaign must not
            // cancel a statement in flight, which makes PostgresNIO close the connection under it.
            let won = try await Task {
                try await withTimeout(.seconds(5), "trying to take the batch runner's lock") {
                    var won = false
                    for try await value in try await connection.query("SELECT pg_try_advisory_lock(\(Self.lockKey))", logger: logger)
                        .decode(Bool.self)
                    {
                        won = value
                    }
                    return won
                }
            }.value
            guard won else { return false }
            let epoch: Int64
            do {
                epoch = try await Task {
                    try await withTimeout(.seconds(10), "recording the batch runner's election") {
                        var epoch: Int64 = 0
                        for try await value in try await connection.query(
                            "UPDATE tandem_runner SET epoch = epoch + 1, instance = \(instance), elected_at = now() WHERE id = 1 RETURNING epoch",
                            logger: logger
                        ).decode(Int64.self) {
                            epoch = value
                        }
                        return epoch
                    }
                }.value
            } catch {
                await Self.release(connection, logger: logger)
                throw error
            }
            await elected(epoch)
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.checkEvery)
                guard !Task.isCancelled else { break }
                do {
                    try await Task {
                        try await withTimeout(.seconds(5), "checking the batch runner's lock") {
                            _ = try await connection.query("SELECT 1", logger: logger)
                        }
                    }.value
                } catch {
                    logger.warning(
                        "the batch runner's session with PostgreSQL failed: this server stops being the runner", metadata: ["error": "\(error)"])
                    break
                }
                await tick()
            }
            deposed()
            await Self.release(connection, logger: logger)
            return true
        }
    }

    /// Releases the lock (a session that already ended released it).
    private static func release(_ connection: PostgresConnection, logger: Logger) async {
        _ = try? await Task {
            try await withTimeout(.seconds(5), "releasing the batch runner's lock") {
                _ = try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
            }
        }.value
    }
}
