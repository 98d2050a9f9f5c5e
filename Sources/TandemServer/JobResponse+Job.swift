import BatchLayer
import Events
import Foundation
import TandemAPI

extension JobResponse {
    /// The answer for a job.
    init(_ job: Job) {
        func time(_ date: Date) -> String { Timestamp.format(Int64((date.timeIntervalSince1970 * 1000).rounded())) }
        self.init(
            id: job.name, view: job.view, mode: job.mode.rawValue, trigger: job.trigger, state: job.state.rawValue,
            progress: .init(scanned: job.scanned, total: job.total, skipped: job.skipped), cut: job.cut.map { PartitionMap($0) },
            version: job.versionID, rowsWritten: job.rowsWritten, attempts: job.attempts, createdAt: time(job.createdAt),
            startedAt: job.startedAt.map(time), finishedAt: job.finishedAt.map(time), error: job.error)
    }
}
