import Foundation
import Logging
import PostgresNIO

/// The job history in PostgreSQL (`tandem_jobs`): every SQL statement about jobs, each with bound
/// parameters. The batch layer keeps live progress in memory and records it here. Every call
/// fails with `database_unavailable` after ``deadline``, so that neither the scheduler nor a job
/// waits on an unreachable database.
struct JobStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// How long one call may take.
    static let deadline: Duration = .seconds(10)

    /// The most jobs one listing returns.
    static let maxListed = 10_000

    /// Records a new queued job and returns its id.
    /// - Throws: ``BatchError`` `job_running` when the view already has a queued or running job
    ///   in the database (queued by another server sharing it).
    func insert(view: String, mode: JobMode, trigger: String) async throws -> Int64 {
        let client = self.client, logger = self.logger
        return try await withTimeout(Self.deadline, "recording a job of \(view)") {
            var id: Int64 = 0
            do {
                let rows = try await client.query(
                    "INSERT INTO tandem_jobs (view, mode, trigger, state) VALUES (\(view), \(mode.rawValue), \(trigger), 'queued') RETURNING id",
                    logger: logger)
                for try await value in rows.decode(Int64.self) { id = value }
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                throw BatchError(.jobRunning, "view \"\(view)\" already has a queued or running job; wait for it to finish")
            }
            return id
        }
    }

    /// The queued jobs, oldest first: what a batch runner adopts (servers that share the
    /// database queue jobs there for it).
    func queued() async throws -> [Job] {
        try await select("reading the queued jobs", "WHERE state = 'queued' ORDER BY id", PostgresBindings())
    }

    /// Marks as failed the jobs a server left behind, to queue their views again: at the start
    /// of the database's only server, those it left queued or running
    /// (``Interruption/serverStopped``); when a server is elected batch runner, those the previous
    /// runner left running (``Interruption/runnerStopped``; queued jobs stay, for the new runner).
    /// - Returns: the view and mode of each job interrupted.
    func failInterrupted(_ interruption: Interruption) async throws -> [(view: String, mode: String)] {
        let client = self.client, logger = self.logger
        let (states, error) =
            interruption == .serverStopped
            ? (["queued", "running"], "interrupted: the server stopped (queued again at start)")
            : (["running"], "interrupted: the batch runner stopped (queued again by the next one)")
        return try await withTimeout(Self.deadline, "marking the interrupted jobs") {
            let rows = try await client.query(
                """
                UPDATE tandem_jobs SET state = 'failed', error = \(error), finished_at = now()
                WHERE state = ANY(\(states)) RETURNING view, mode
                """, logger: logger)
            var interrupted: [(view: String, mode: String)] = []
            for try await (view, mode) in rows.decode((String, String).self) { interrupted.append((view, mode)) }
            return interrupted
        }
    }

    /// Who left the jobs that ``failInterrupted(_:)`` fails.
    enum Interruption {
        case serverStopped
        case runnerStopped
    }

    /// Records a job's state and progress.
    func record(_ job: Job) async throws {
        let client = self.client, logger = self.logger
        try await withTimeout(Self.deadline, "recording job \(job.name)") {
            try await client.query(
                """
                UPDATE tandem_jobs SET mode = \(job.mode.rawValue), state = \(job.state.rawValue), scanned = \(job.scanned), total = \(job.total),
                  cut = \(job.cut), version_id = \(job.versionID), rows_written = \(job.rowsWritten), attempts = \(job.attempts),
                  error = \(job.error), started_at = \(job.startedAt), finished_at = \(job.finishedAt)
                WHERE id = \(job.id)
                """, logger: logger)
        }
    }

    /// The job with this id, from the history.
    func job(_ id: Int64) async throws -> Job? {
        var binds = PostgresBindings()
        binds.append(id)
        return try await select("reading job \(id)", "WHERE id = $1", binds).first
    }

    /// The latest jobs, newest first.
    func latest(limit: Int) async throws -> [Job] {
        var binds = PostgresBindings()
        binds.append(Int64(max(1, min(limit, Self.maxListed))))
        return try await select("reading the job history", "ORDER BY id DESC LIMIT $1", binds)
    }

    /// The jobs that `tail` (a WHERE or ORDER BY clause over `binds`) selects.
    private func select(_ what: String, _ tail: String, _ binds: PostgresBindings) async throws -> [Job] {
        let client = self.client, logger = self.logger
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT id, view, mode, trigger, state, scanned, total, cut, version_id, rows_written, attempts, error,
                       extract(epoch from created_at)::float8, extract(epoch from started_at)::float8, extract(epoch from finished_at)::float8
                FROM tandem_jobs \(tail)
                """, binds: binds)
        return try await withTimeout(Self.deadline, what) { try await Self.decode(client.query(query, logger: logger)) }
    }

    private static func decode(_ rows: PostgresRowSequence) async throws -> [Job] {
        var jobs: [Job] = []
        for try await row in rows {
            let (id, view, mode, trigger, jobState, scanned, total, cut) = try row.decode(
                (Int64, String, String, String, String, Int64, Int64, [Int64]?).self)
            let columns = Array(row)
            let versionID = try columns[8].decode(Int64?.self)
            let rowsWritten = try columns[9].decode(Int64?.self)
            let attempts = try columns[10].decode(Int.self)
            let error = try columns[11].decode(String?.self)
            let created = try columns[12].decode(Double.self)
            let started = try columns[13].decode(Double?.self)
            let finished = try columns[14].decode(Double?.self)
            jobs.append(
                Job(
                    id: id, view: view, mode: JobMode(rawValue: mode) ?? .full, trigger: trigger, state: JobState(rawValue: jobState) ?? .failed,
                    scanned: scanned, total: total, cut: cut, versionID: versionID, rowsWritten: rowsWritten, attempts: attempts, error: error,
                    createdAt: Date(timeIntervalSince1970: created), startedAt: started.map(Date.init(timeIntervalSince1970:)),
                    finishedAt: finished.map(Date.init(timeIntervalSince1970:))))
        }
        return jobs
    }
}
