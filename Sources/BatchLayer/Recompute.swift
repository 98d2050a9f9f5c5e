import Aggregation
import EventLog
import Events
import Logging

/// One attempt of a recompute job: take the cut, scan the log below it (from the published cut
/// for an incremental job, merged into the published rows), COPY the state into a new version
/// table and publish it. A failure before the publish leaves nothing visible: the new table is
/// dropped.
struct Recompute: Sendable {
    let store: BatchStore
    let log: any SharedLog
    let speed: any SpeedSegments
    let logger: Logger
    /// The speed layer's watermark delay, for the lateness rule (``Lateness``).
    var watermarkDelay: Int64 = 5000
    /// Faults injected by tests.
    var faults = BatchFaults()
    /// How long a failed publish keeps reading the publication back before it gives up.
    var resolveFor: Duration = .seconds(60)
    /// How long a call that writes or reads a whole version (a COPY with its index builds, a
    /// read of the published rows) may take; shorter calls have 30 seconds.
    var longestCall: Duration = .seconds(330)
    /// The runner epoch a publish must still hold (``RunnerLease``), when servers share the database.
    var epoch: Int64?

    /// What the attempt published.
    struct Outcome: Sendable {
        var mode: JobMode
        var published: PublishedVersion
        var rows: Int
        /// The version it replaced, to drop once no query reads it.
        var replaced: Int64?
        /// Records scanned.
        var total: Int64
        /// How long each phase took: the scan (with the merge of published rows), the COPY with
        /// its indexes (while the serving cache is built beside it), and the publish.
        var phases: Phases
    }

    /// Durations of an attempt's phases, for the job's log line.
    struct Phases: Sendable, CustomStringConvertible {
        var scan: Duration = .zero
        /// The serving cache's build, which overlaps the COPY.
        var cache: Duration = .zero
        var copy: Duration = .zero
        var publish: Duration = .zero

        var description: String {
            func seconds(_ duration: Duration) -> String {
                let milliseconds = duration / .milliseconds(1)
                return "\(milliseconds.rounded() / 1000)"

            }
            return "scan=\(seconds(scan)) cache=\(seconds(cache)) copy=\(seconds(copy)) publish=\(seconds(publish))"
        }
    }

    /// Runs one attempt.
    /// - Parameters:
    ///   - view: the view.
    ///   - mode: the mode asked; incremental falls back to full without a published version, or
    ///     with one that did not record its largest event times (``PublishedVersion/maxEventTimes``).
    ///   - previous: the view's published version, if any.
    ///   - definition: the view's canonical definition, stored with the version.
    ///   - cacheBudget: the bytes of the serving cache this version may take; a version that
    ///     needs more is published without columns (queries then read its table).
    ///   - planned: told the mode, the cut and the records to scan before the scan starts.
    ///   - progress: told the records scanned and skipped after each batch.
    func run(
        _ view: CompiledView, mode asked: JobMode, previous: PublishedVersion?, definition: String, cacheBudget: Int,
        planned: (JobMode, [Int64], Int64) async -> Void, progress: @escaping @Sendable (Int64, Int64) -> Void
    ) async throws -> Outcome {
        guard let topic = log.logTopic(view.stream.name) else { throw BatchError(.unknownView, "stream \(view.stream.name) has no log") }
        let mode: JobMode = asked == .incremental && previous?.countsLateRecords == true ? .incremental : .full
        let cut = try await speed.openSegmentAtLogEnd(view: view.name, atLeast: previous?.cut)
        // With `durability: interval` the records below the cut may not be on disk yet: a version
        // must never count records that a power cut could take from the log.
        try await topic.syncAll()
        let from = mode == .incremental ? previous!.cut : [Int64](repeating: 0, count: cut.count)
        guard zip(from, cut).allSatisfy({ $0 <= $1 }) else { throw BatchError(.unavailable, "the published cut is ahead of the log") }
        let total = zip(from, cut).reduce(0) { $0 + $1.1 - $1.0 }
        await planned(mode, cut, total)
        let clock = ContinuousClock()
        var phases = Phases()
        var mark = clock.now
        func lap() -> Duration {
            let now = clock.now
            defer { mark = now }
            return now - mark
        }
        // Lateness goes on from the published cut's largest event times (a full job: from none).
        let maxima = mode == .incremental ? previous?.maxEventTimes ?? [] : []
        let before = (0..<cut.count).map { partition in
            Lateness(delay: watermarkDelay, maxEventTime: maxima.indices.contains(partition) ? maxima[partition] : nil)
        }
        let scan = try await LogScan.scan(view, topic: topic, from: from, to: cut, lateness: before, logger: logger, progress: progress)
        var result = scan.state
        let maxEventTimes = scan.maxEventTimes
        if mode == .incremental, let previous {
            // The published rows: from the serving cache when it holds them, else from the table.
            let published: ViewState
            if let columns = previous.columns {
                published = columns.state(from: .min, to: .max)
            } else {
                let store = self.store
                published = try await withTimeout(longestCall, "reading version \(previous.id)") {
                    try await store.read(previous.table, width: view.stateWidth)
                }
            }
            for (key, row) in published.rows { result.mergeRow(row, at: key) }
        }
        phases.scan = lap()
        // Built while PostgreSQL takes the COPY (another core), and before the publish, so that
        // the version is served from memory as soon as it is visible.
        let scanned = result
        async let cache = { () -> (ColumnarState?, Duration) in
            let started = clock.now
            let columns = ServingCache.columns(of: scanned, view: view, budget: cacheBudget)
            return (columns, clock.now - started)
        }()
        let store = self.store
        let version = try await withTimeout(.seconds(30), "creating a version of \(view.name)") {
            try await store.createVersion(
                view: view, definition: definition, mode: mode.rawValue, cut: cut, logID: topic.id, maxEventTimes: maxEventTimes)
        }
        let rows: Int
        var replaced: Int64?
        let columns: ColumnarState?
        do {
            rows = try await withTimeout(longestCall, "writing version \(version.id)") {
                try await store.copy(scanned, into: version.table, view: view)
            }
            (columns, phases.cache) = await cache
            phases.copy = lap()
        } catch {
            await drop(version.id)
            throw error
        }
        do {
            replaced = try await withTimeout(.seconds(30), "publishing version \(version.id)") {
                try await store.publish(view: view, id: version.id, table: version.table, cut: cut, rows: rows, epoch: epoch)
            }
            if faults.publishAnswerLost(view.name) { throw BatchError(.unavailable, "injected: the answer to the publish's COMMIT was lost") }
        } catch {
            // The COMMIT may have gone through with its answer lost: only the publication, read
            // back, can say. A version that may be published is never dropped.
            switch await resolvePublish(view: view.name, id: version.id) {
            case .published:
                logger.notice(
                    "a publish failed after its COMMIT went through; the version is published",
                    metadata: ["view": "\(view.name)", "version": "\(version.id)", "error": "\(error)"])
                replaced = previous?.id
            case .notPublished:
                await drop(version.id)
                throw error
            case .unknown(let readError):
                // The next start's clean-up drops it if it is not the publication.
                logger.warning(
                    "a publish failed and the publication cannot be read back; the version is kept until the database answers",
                    metadata: ["view": "\(view.name)", "version": "\(version.id)", "error": "\(error)", "read_error": "\(readError)"])
                throw error
            }
        }
        phases.publish = lap()
        let published = PublishedVersion(
            view: view.name, id: version.id, cut: cut, logID: topic.id, maxEventTimes: maxEventTimes, table: version.table,
            definition: definition, typed: true, columns: columns)
        return Outcome(mode: mode, published: published, rows: rows, replaced: replaced, total: total, phases: phases)
    }

    /// What reading a failed publish back found.
    enum PublishOutcome {
        case published
        case notPublished
        case unknown(any Error)
    }

    /// Reads the view's publication back, retrying with backoff for ``resolveFor``, to learn
    /// whether version `id` was published.
    func resolvePublish(view: String, id: Int64) async -> PublishOutcome {
        let started = ContinuousClock.now
        var delay: Duration = .milliseconds(100)
        var lastError: any Error = CancellationError()
        while !Task.isCancelled {
            do {
                let store = self.store
                let current = try await withTimeout(.seconds(10), "reading the publication of \(view) back") {
                    try await store.publishedID(view: view)
                }
                return current == id ? .published : .notPublished
            } catch {
                lastError = error
            }
            guard ContinuousClock.now - started + delay < resolveFor else { break }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
        return .unknown(lastError)
    }

    /// Drops a version that was not published.
    private func drop(_ id: Int64) async {
        let store = self.store
        do {
            try await withTimeout(.seconds(30), "dropping version \(id)") { try await store.drop(id: id, state: "failed") }
        } catch {
            // Not fatal: the next start's clean-up drops versions left building or failed.
            logger.warning("could not drop a failed version", metadata: ["version": "\(id)", "error": "\(error)"])
        }
    }
}

/// Faults a test injects into the batch layer, where the database alone cannot make them happen.
public struct BatchFaults: Sendable {
    /// Whether to act, for a view's publish, as if the COMMIT's answer had been lost: the
    /// transaction commits, then the attempt sees an error.
    public var publishAnswerLost: @Sendable (_ view: String) -> Bool

    /// No faults.
    public init(publishAnswerLost: @escaping @Sendable (_ view: String) -> Bool = { _ in false }) {
        self.publishAnswerLost = publishAnswerLost
    }
}
