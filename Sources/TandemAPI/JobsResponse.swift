/// The answer of `GET /v1/jobs`, and of `POST /v1/jobs` without a view (one job per view).
public struct JobsResponse: Codable, Sendable, Equatable {
    /// A view for which no job was queued, and why.
    public struct Skipped: Codable, Sendable, Equatable {
        /// The view.
        public var view: String
        /// The error code (`job_running`).
        public var code: String

        /// Creates an entry.
        public init(view: String, code: String) {
            self.view = view
            self.code = code
        }
    }

    /// The jobs, newest first.
    public var jobs: [JobResponse]
    /// With `POST /v1/jobs`: the views that got no job.
    public var skipped: [Skipped]?

    /// Creates an answer.
    public init(jobs: [JobResponse], skipped: [Skipped]? = nil) {
        self.jobs = jobs
        self.skipped = skipped
    }
}
