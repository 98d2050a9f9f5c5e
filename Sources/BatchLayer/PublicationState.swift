import Aggregation

/// The published version of every view and the queries reading them, as a plain value.
///
/// Its methods change the state and say what the caller must do, outside any lock: which
/// retirements may now go ahead. This is the style of postgres-nio's `PoolStateMachine`: the
/// logic is tested without a database or a clock, and waiting is a continuation that the last
/// unpin resumes, never a polling loop.
///
/// `Waiter` is what a retirement waits with (a continuation in the batch layer, a plain token in
/// tests).
struct PublicationState<Waiter> {
    /// The published version of each view.
    private(set) var publications: [String: PublishedVersion] = [:]
    /// Queries reading each (view, version id); id 0 is "no version" (speed from offset 0).
    private(set) var pins: [String: [Int64: Int]] = [:]
    /// Retirements waiting until no query reads a version of their view other than the one kept.
    private var waiting: [Int: (view: String, keeping: Int64, waiter: Waiter)] = [:]
    /// Waits cancelled before they were registered.
    private var cancelled: Set<Int> = []
    private var nextWaitID = 0

    /// The published version of `view`, when it was computed for `definition`.
    func publication(view: String, definition: String) -> PublishedVersion? {
        publications[view].flatMap { $0.definition == definition ? $0 : nil }
    }

    /// Replaces every publication (at start).
    mutating func load(_ loaded: [String: PublishedVersion]) {
        publications = loaded
    }

    /// Records a newly published version.
    mutating func publish(_ version: PublishedVersion) {
        publications[version.view] = version
    }

    /// Puts columns on the published version `id` of `view` (the serving cache, loaded after
    /// the publish); `false` when another version was published meanwhile.
    mutating func install(_ columns: ColumnarState, view: String, id: Int64) -> Bool {
        guard publications[view]?.id == id else { return false }
        publications[view]?.columns = columns
        return true
    }

    /// The serving cache's bytes held by the published versions of every view but `view`.
    func cacheBytes(excluding view: String) -> Int {
        publications.reduce(0) { $0 + ($1.key == view ? 0 : $1.value.columns?.estimatedBytes ?? 0) }
    }

    /// Forgets a deleted view's publication.
    mutating func forget(view: String) {
        publications[view] = nil
    }

    /// Pins what a query on `view` will read: its publication for `definition`, or none.
    mutating func pin(view: String, definition: String) -> PublishedVersion? {
        let published = publication(view: view, definition: definition)
        pins[view, default: [:]][published?.id ?? 0, default: 0] += 1
        return published
    }

    /// Releases a pin.
    /// - Returns: the waiters of retirements that may now go ahead; resume them.
    mutating func unpin(_ id: Int64, view: String) -> [Waiter] {
        guard let count = pins[view]?[id] else { return [] }
        pins[view]?[id] = count > 1 ? count - 1 : nil
        var ready: [Waiter] = []
        for (waitID, wait) in waiting where wait.view == view && !isRead(view: view, otherThan: wait.keeping) {
            ready.append(wait.waiter)
            waiting[waitID] = nil
        }
        return ready
    }

    /// Whether a query reads a version of `view` other than `id` (or the speed-only state).
    func isRead(view: String, otherThan id: Int64) -> Bool {
        (pins[view] ?? [:]).contains { $0.key != id && $0.value > 0 }
    }

    /// A fresh id for ``wait(_:view:keeping:waiter:)``.
    mutating func makeWaitID() -> Int {
        defer { nextWaitID += 1 }
        return nextWaitID
    }

    /// Waits until no query reads a version of `view` other than `keeping`.
    /// - Returns: `true` when that is already so (or the wait was cancelled): go ahead at once;
    ///   `false` when `waiter` was kept, to be handed back by ``unpin(_:view:)`` or
    ///   ``cancel(_:)``.
    mutating func wait(_ id: Int, view: String, keeping: Int64, waiter: Waiter) -> Bool {
        if cancelled.remove(id) != nil || !isRead(view: view, otherThan: keeping) { return true }
        waiting[id] = (view, keeping, waiter)
        return false
    }

    /// Cancels a wait (shutdown).
    /// - Returns: its waiter, to resume, when it was waiting.
    mutating func cancel(_ id: Int) -> Waiter? {
        guard let wait = waiting.removeValue(forKey: id) else {
            cancelled.insert(id)
            return nil
        }
        return wait.waiter
    }
}
