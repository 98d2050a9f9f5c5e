import Events
import Foundation

/// How a job computes a view version.
public enum JobMode: String, Sendable, Codable {
    /// From offset 0 of every partition.
    case full
    /// From the published version's cut, merged into a copy of that version.
    case incremental
}

/// A job's state.
public enum JobState: String, Sendable, Codable {
    case queued, running, succeeded, failed
}

/// A recompute job, as `GET /v1/jobs/{id}` shows it.
public struct Job: Sendable, Equatable {
    public var id: Int64
    public var view: String
    public var mode: JobMode
    /// What asked for it: `api`, `schedule`, `new_view`, `size`, `cli`.
    public var trigger: String
    public var state: JobState
    public var scanned: Int64 = 0
    /// Records that could not be applied to the view (poison records), skipped as the speed layer
    /// skips them.
    public var skipped: Int64 = 0
    public var total: Int64 = 0
    public var cut: [Int64]?
    public var versionID: Int64?
    public var rowsWritten: Int64?
    public var attempts: Int = 0
    public var error: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?

    /// The API's job id, `j_000042`.
    public var name: String {
        let digits = String(id)
        return "j_" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Parses `j_000042` or `42`.
    public static func id(from name: String) -> Int64? {
        Int64(name.hasPrefix("j_") ? String(name.dropFirst(2)) : name)
    }
}
