/// Which views are due for a job, as a plain value: given the views' schedules, whether their
/// speed state is over its row limit, and the jobs already active, it says which incremental jobs to submit. The scheduler
/// service feeds it a clock tick; tests feed it times.
struct SchedulePlan {
    /// One view as the plan sees it.
    struct View {
        var name: String
        /// The view's schedule, when it has one that parses.
        var schedule: Schedule?
        /// Whether the speed layer holds more rows of state for it than its limit.
        var overRowLimit: Bool
        /// Whether it has a queued or running job.
        var active: Bool
    }

    /// When each view's schedule last fired (or was first seen), epoch ms.
    private(set) var lastScheduled: [String: Int64] = [:]

    /// The jobs due at `now` (epoch ms): `(view, trigger)` with trigger `schedule` or `size`.
    ///
    /// A schedule starts counting when its view is first seen, so a new view or a restart does
    /// not fire at once; a fired schedule counts from `now`.
    mutating func due(_ views: [View], now: Int64) -> [(view: String, trigger: String)] {
        var jobs: [(view: String, trigger: String)] = []
        for view in views {
            var trigger: String?
            if let schedule = view.schedule {
                let last = lastScheduled[view.name] ?? now
                lastScheduled[view.name] = last
                if schedule.next(after: last) <= now {
                    trigger = "schedule"
                    lastScheduled[view.name] = now
                }
            }
            if trigger == nil, view.overRowLimit {
                trigger = "size"
            }
            if let trigger, !view.active { jobs.append((view.name, trigger)) }
        }
        return jobs
    }
}
