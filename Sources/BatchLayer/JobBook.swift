/// The jobs of this process, as a plain value: live progress by id, and the views that have a
/// queued or running job (at most one job per view). Tested without a database.
struct JobBook {
    /// Live jobs by id (the history is in PostgreSQL).
    private(set) var jobs: [Int64: Job] = [:]
    /// Views with a queued or running job.
    private(set) var active: Set<String> = []

    /// Claims `view` for a new job; `false` when it already has one (`job_running`).
    mutating func claim(_ view: String) -> Bool {
        active.insert(view).inserted
    }

    /// Releases `view` once its job has ended (or could not be queued).
    mutating func release(_ view: String) {
        active.remove(view)
    }

    /// Whether `view` has a queued or running job.
    func isActive(_ view: String) -> Bool { active.contains(view) }

    /// Records a newly queued job.
    mutating func queued(_ job: Job) {
        jobs[job.id] = job
    }

    /// A live job.
    func job(_ id: Int64) -> Job? { jobs[id] }

    /// Changes a live job and returns it as changed, to be recorded; `nil` when unknown.
    mutating func update(_ id: Int64, _ change: (inout Job) -> Void) -> Job? {
        guard var job = jobs[id] else { return nil }
        change(&job)
        jobs[id] = job
        return job
    }

    /// Adds scan progress to a live job.
    mutating func progress(_ id: Int64, scanned: Int64, skipped: Int64) {
        jobs[id]?.scanned += scanned
        jobs[id]?.skipped += skipped
    }

    /// `history` with each job this process runs replaced by its live state.
    func overlay(_ history: [Job]) -> [Job] {
        history.map { jobs[$0.id] ?? $0 }
    }
}
