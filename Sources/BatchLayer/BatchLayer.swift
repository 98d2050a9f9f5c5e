import Aggregation
import EventLog
import Events
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Telemetry

/// The batch layer: recompute jobs that aggregate the log below a cut with the same `Aggregation`
/// code as the speed layer, write a new view version into PostgreSQL with COPY, and publish
/// `(view, version, cut)` in one transaction (the exact-merge contract of DESIGN.md).
///
/// It never imports the speed layer: what it needs of it and of the running views comes through
/// two small protocols, ``SpeedSegments`` and ``RunningViews``.
public final class BatchLayer: Service, Sendable {
    /// Settings.
    public struct Configuration: Sendable, Equatable {
        /// Attempts per job before it fails.
        public var maxAttempts = 3
        /// The first retry waits this long; each next one twice as long.
        public var retryDelay: Duration = .seconds(1)
        /// The most memory the serving cache may hold over all views
        /// (`serving.cache_max_bytes`; 0 turns it off). See ``ServingCache``.
        public var cacheMaxBytes = 2 << 30
        /// The longest one SQL statement may run (`postgres.statement_timeout`): PostgreSQL
        /// cancels it then, and a job stops waiting for one (a COPY, an index build) 30 seconds
        /// later, in case the server cannot even say so.
        public var statementTimeout: Duration = .seconds(300)
        /// How long the server waits for PostgreSQL to answer `SELECT 1` at start and at each
        /// attempt to reattach (`postgres.connect_timeout`, or `connect_timeout` in the URL as in
        /// libpq). At start, a database that does not answer in time is treated as away: the
        /// server starts without it and attaches it in the background.
        public var connectTimeout: Duration = .seconds(10)
        /// The speed layer's watermark delay (`speed.watermark_delay`), with which a job judges
        /// each record late or not exactly as the speed layer does (``Lateness``).
        public var watermarkDelayMilliseconds: Int64 = 5000
        /// This server, as it registers in the database (`tandem_instances`); `nil` registers
        /// nothing (tools that run a batch layer of their own).
        public var instance: InstanceIdentity?
        /// When servers share the database (``InstanceIdentity/shared``): how long the runner keeps
        /// the table of a version it replaced before dropping it, for the other servers, which
        /// keep answering from it until they have caught up with the new one.
        public var retiredGrace: Duration = .seconds(60)

        /// Creates a configuration with the defaults.
        public init() {}
    }

    struct State {
        var publications = PublicationState<CheckedContinuation<Void, Never>>()
        var jobs = JobBook()
        var plan: SchedulePlan
        /// The canonical JSON of each view's definition, by view name (see ``canonical(_:)``):
        /// every query pins a version, and encoding the definition each time would cost more than
        /// the query.
        var canonical: [String: (definition: ViewDefinition, text: String)] = [:]
        /// Views whose published cut did not fit the log at start, with why: they answer from the
        /// speed layer alone (replayed from offset 0) until ``requeueAtStart()`` rebuilds them.
        var invalidated: [String: String] = [:]
        /// Views whose jobs a crash or a stop interrupted, with the mode to run again.
        var interrupted: [String: JobMode] = [:]
        /// What this server is to the jobs.
        var role: Role
        /// Queued jobs of views this runner does not run, with when it first saw each.
        var orphans: [Int64: ContinuousClock.Instant] = [:]

        /// The canonical JSON of `definition`, from the cache when it has not changed.
        mutating func canonical(_ definition: ViewDefinition) -> String {
            if let known = canonical[definition.name], known.definition == definition { return known.text }
            let text = BatchLayer.canonical(definition)
            canonical[definition.name] = (definition, text)
            return text
        }
    }

    /// What a server is to the jobs.
    enum Role: Equatable {
        /// The database's only server: it runs its jobs.
        case sole
        /// Elected among the servers that share the database, with this epoch: it runs every job.
        case runner(epoch: Int64)
        /// Another server is the runner: jobs queued here are queued in the database for it, and
        /// its publications are followed.
        case follower
    }

    private let store: BatchStore
    private let jobStore: JobStore
    private let registry: InstanceRegistry?
    /// The runner's election, when servers share the database.
    private let lease: RunnerLease?
    /// The client this layer uses, for the other catalogs kept in the same database.
    public var client: PostgresClient { store.client }
    private let log: any SharedLog
    private let views: any RunningViews
    private let speed: any SpeedSegments
    private let configuration: Configuration
    private let telemetry: Telemetry
    private let logger: Logger
    private let state: Mutex<State>
    private let queue: AsyncStream<Int64>
    private let queueSink: AsyncStream<Int64>.Continuation
    /// Views whose published version should be loaded into the serving cache.
    private let warmQueue: AsyncStream<String>
    private let warmSink: AsyncStream<String>.Continuation
    private let faults: BatchFaults
    /// The local record of the publications, when the layer has a state directory.
    private let local: LocalPublications?
    /// Whether the database has been reached and prepared (``prepare()``); until then jobs,
    /// version reads and the job history answer `database_unavailable` at once.
    private let attached = Atomic<Bool>(false)
    /// Tables of replaced versions to drop after ``Configuration/retiredGrace`` (``run()`` drops
    /// them; a shutdown first leaves them retired, for the next runner's election to drop).
    private let retiredTables: AsyncStream<Int64>
    private let retiredSink: AsyncStream<Int64>.Continuation
    /// Versions of another server that this one now serves: ``run()`` retires the speed state
    /// of the older one once no query reads it.
    private let adopted: AsyncStream<(String, PublishedVersion)>
    private let adoptedSink: AsyncStream<(String, PublishedVersion)>.Continuation
    /// Asks ``run()`` to reattach (see ``attachWhenReachable(_:)``).
    private let attachQueue: AsyncStream<@Sendable () async throws -> Void>
    private let attachSink: AsyncStream<@Sendable () async throws -> Void>.Continuation

    /// Creates the batch layer; call ``prepare()`` before serving.
    /// - Parameters:
    ///   - stateDirectory: where the layer keeps its local record of the publications
    ///     (``LocalPublications``), so that a start without the database knows them.
    ///   - faults: faults to inject (tests only).
    public init(
        client: PostgresClient, log: any SharedLog, views: any RunningViews, speed: any SpeedSegments, configuration: Configuration = Configuration(),
        stateDirectory: String? = nil, faults: BatchFaults = BatchFaults(), telemetry: Telemetry = .disabled, logger: Logger
    ) {
        self.faults = faults
        self.telemetry = telemetry
        self.local = stateDirectory.map { LocalPublications(path: $0 + "/publications.json") }
        (attachQueue, attachSink) = AsyncStream.makeStream(of: (@Sendable () async throws -> Void).self)
        self.store = BatchStore(client: client, logger: logger)
        self.jobStore = JobStore(client: client, logger: logger)
        self.registry = configuration.instance.map { InstanceRegistry(client: client, identity: $0, logger: logger) }
        self.lease = configuration.instance.flatMap { $0.shared ? RunnerLease(client: client, instance: $0.id, logger: logger) : nil }
        self.log = log
        self.views = views
        self.speed = speed
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(State(plan: SchedulePlan(), role: configuration.instance?.shared == true ? .follower : .sole))
        (queue, queueSink) = AsyncStream.makeStream(of: Int64.self)
        (warmQueue, warmSink) = AsyncStream.makeStream(of: String.self)
        (retiredTables, retiredSink) = AsyncStream.makeStream(of: Int64.self)
        (adopted, adoptedSink) = AsyncStream.makeStream(of: (String, PublishedVersion).self)
    }

    /// The canonical JSON of a view definition, stored with each version so that a version of a
    /// view that was deleted and defined again differently is never used.
    public static func canonical(_ definition: ViewDefinition) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding a definition of strings and numbers cannot fail; the name is a safe stand-in
        // (a mismatch only makes a version unusable, never a wrong one used).
        return (try? String(decoding: encoder.encode(definition), as: UTF8.self)) ?? definition.name
    }

    // MARK: Start

    /// Applies migrations, loads the publications, cleans up after a crash (versions left
    /// building, jobs left running), and records the publications locally. Call
    /// ``markAttached()`` once the rest of the server has caught up with them.
    /// - Returns: the views whose publication differs from the one held before (at a reattach:
    ///   their speed state must restart from the new cut).
    @discardableResult
    public func prepare() async throws -> Set<String> {
        let store = self.store
        let jobStore = self.jobStore
        let logger = self.logger
        let registry = self.registry
        let sole = lease == nil
        let (publications, interrupted) = try await withTimeout(.seconds(60), "connecting to PostgreSQL and applying migrations") {
            try await Migrations.apply(on: store.client, logger: logger)
            // Before anything that assumes this server is the database's only one.
            try await registry?.register()
            let publications = try await store.loadPublications()
            // Servers that share the database leave this to the runner they elect.
            guard sole else { return (publications, [(view: String, mode: String)]()) }
            try await store.cleanUp(keeping: Set(publications.values.map(\.id)))
            let interrupted = try await jobStore.failInterrupted(.serverStopped)
            return (publications, interrupted)
        }
        var requeue: [String: JobMode] = [:]
        for job in interrupted {
            let mode = JobMode(rawValue: job.mode) ?? .full
            requeue[job.view] = requeue[job.view] == .full ? .full : mode
        }
        let changed = state.withLock { state in
            let before = state.publications.publications
            state.publications.load(publications)
            state.interrupted = requeue
            return Set(before.keys).union(publications.keys).filter { before[$0]?.id != publications[$0]?.id }
        }
        saveLocal()
        return changed
    }

    /// Starts without the database: the publications are the ones last recorded locally, so that
    /// each view's speed state starts from its published cut and answers know what they lack.
    public func loadLocalPublications() {
        guard let local else { return }
        do {
            let publications = try local.load()
            state.withLock { $0.publications.load(publications) }
            logger.notice("using the publications recorded locally until PostgreSQL is reachable", metadata: ["views": "\(publications.count)"])
        } catch {
            logger.error(
                "cannot read the local record of publications; views replay from offset 0 and answer from the speed layer alone",
                metadata: ["path": "\(local.path)", "error": "\(error)"])
        }
    }

    /// Rewrites the local record of the publications.
    private func saveLocal() {
        guard let local else { return }
        let publications = state.withLock { $0.publications.publications }
        do { try local.save(publications) } catch {
            logger.warning("could not record the publications locally", metadata: ["path": "\(local.path)", "error": "\(error)"])
        }
    }

    /// Jobs, version reads and the job history work from now on.
    public func markAttached() { attached.store(true, ordering: .releasing) }

    /// Whether the database was reached and prepared.
    public var isAttached: Bool { attached.load(ordering: .acquiring) }

    /// The error of a call that needs the database before it was reached.
    private var detachedError: BatchError {
        BatchError(.unavailable, "PostgreSQL has not been reachable since the server started; the server attaches it as soon as it answers")
    }

    /// Keeps trying to reach the database in the background (``run()``), with a backoff from 1 to
    /// 30 seconds and a log line for every attempt, then calls `attach` (which prepares the layer
    /// and catches the server up) until it succeeds.
    public func attachWhenReachable(_ attach: @escaping @Sendable () async throws -> Void) {
        attachSink.yield(attach)
    }

    private func reattach(_ attach: @Sendable () async throws -> Void) async {
        var delay: Duration = .seconds(1)
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            logger.info("trying to reach PostgreSQL to attach the batch layer", metadata: ["attempt": "\(attempt)"])
            var failure = await ping(timeout: configuration.connectTimeout)
            if failure == nil {
                do {
                    try await attach()
                    logger.notice("PostgreSQL is reachable: the batch layer is attached", metadata: ["attempt": "\(attempt)"])
                    return
                } catch {
                    failure = Self.describe(error)
                }
            }
            logger.warning(
                "PostgreSQL is not reachable yet",
                metadata: ["attempt": "\(attempt)", "error": "\(failure ?? "")", "retry_in": "\(delay)"])
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
    }

    /// Checks every published version's cut against the log, once the streams' topics are open
    /// and before the views start: a version whose cut does not fit (``cutProblem(_:)``) is
    /// dropped from the answers, so that the view's speed layer replays from offset 0, and
    /// ``requeueAtStart()`` queues a full recompute of it.
    public func checkCuts() {
        let published = state.withLock { state in Array(state.publications.publications.values) }
        var invalidated: [String: String] = [:]
        for version in published {
            guard let problem = cutProblem(version) else { continue }
            invalidated[version.view] = problem
            logger.warning(
                "a published version does not fit the log: it is not merged, and a full recompute is queued",
                metadata: ["view": "\(version.view)", "version": "\(version.id)", "reason": "\(problem)"])
        }
        state.withLock { state in
            for view in invalidated.keys { state.publications.forget(view: view) }
            state.invalidated = invalidated
        }
        if !invalidated.isEmpty { saveLocal() }
    }

    /// Why a published version cannot be merged with this log, if it cannot: its cut was taken
    /// from another topic (the log was restored from elsewhere, or deleted and created again), or
    /// reaches past the log's end (records it counted are gone).
    func cutProblem(_ version: PublishedVersion) -> String? {
        guard let data = version.definition.data(using: .utf8), let definition = try? JSONDecoder().decode(ViewDefinition.self, from: data),
            let topic = log.logTopic(definition.stream)
        else { return nil }
        if let logID = version.logID, logID != topic.id {
            return "its cut was taken from another log (topic id \(logID), the log's is \(topic.id))"
        }
        let end = topic.endOffsets()
        guard version.cut.count == end.count else {
            return "its cut has \(version.cut.count) partitions, the log \(end.count)"
        }
        if let partition = end.indices.first(where: { version.cut[$0] > end[$0] }) {
            return "its cut reaches offset \(version.cut[partition]) of partition \(partition), past the log's end \(end[partition])"
        }
        return nil
    }

    /// Views whose published version did not fit the log at start, with the reason.
    public var invalidatedViews: [String: String] { state.withLock { $0.invalidated } }

    /// Once the views run: queues a full recompute of every view whose published version did not
    /// fit the log at start (until it publishes, they answer from the speed layer alone), and
    /// queues again the jobs that a crash or a stop interrupted.
    public func requeueAtStart() async {
        let (invalidated, interrupted) = state.withLock { ($0.invalidated, $0.interrupted) }
        var jobs: [String: (mode: JobMode, trigger: String)] = interrupted.mapValues { ($0, "requeued") }
        for view in invalidated.keys { jobs[view] = (.full, "cut_check") }
        for (view, job) in jobs.sorted(by: { $0.key < $1.key }) {
            do {
                let queued = try await submit(view: view, mode: job.mode, trigger: job.trigger)
                logger.info(
                    "queued a job at start",
                    metadata: [
                        "view": "\(view)", "job": "\(queued.id)", "mode": "\(job.mode.rawValue)", "trigger": "\(job.trigger)",
                        "reason": "\(invalidated[view] ?? "a job of this view was interrupted")",
                    ])
            } catch {
                logger.warning("could not queue a job at start", metadata: ["view": "\(view)", "error": "\(error)"])
            }
        }
    }

    /// The published version of a view, when it was computed for this very definition.
    public func publication(for view: CompiledView) -> PublishedVersion? {
        state.withLock { state in state.publications.publication(view: view.name, definition: state.canonical(view.definition)) }
    }

    // MARK: Reading

    /// Pins the version a query will read (or none), so that publishing a newer one cannot drop
    /// what this query needs until ``unpin(_:view:)``.
    public func pin(_ view: CompiledView) -> PublishedVersion? {
        state.withLock { state in state.publications.pin(view: view.name, definition: state.canonical(view.definition)) }
    }

    /// Releases a pin; the last pin of an older version resumes the retirement waiting for it.
    public func unpin(_ version: PublishedVersion?, view: String) {
        let ready = state.withLock { $0.publications.unpin(version?.id ?? 0, view: view) }
        for waiter in ready { waiter.resume() }
    }

    /// The rows of a published version whose bucket starts in `[from, to)` (failing after
    /// `timeout` rather than waiting for an unreachable database).
    public func read(
        _ version: PublishedVersion, from: Int64, to: Int64, narrowing: DimensionNarrowing? = nil, timeout: Duration = .seconds(10)
    ) async throws -> ViewState {
        guard isAttached else { throw detachedError }
        guard let view = views.compiledView(version.view) else { throw BatchError(.unknownView, "view \(version.view) is not running") }
        let store = self.store
        let pushed = version.typed ? narrowing : nil
        let width = view.stateWidth
        return try await withTimeout(timeout, "reading view version \(version.id)") {
            try await store.read(version.table, width: width, from: from, to: to, narrowing: pushed)
        }
    }

    // MARK: Jobs

    /// Queues a job for a view.
    /// - Throws: ``BatchError`` `job_running` when the view has a queued or running job.
    @discardableResult
    public func submit(view name: String, mode: JobMode, trigger: String) async throws -> Job {
        guard views.compiledView(name) != nil else { throw BatchError(.unknownView, "view \"\(name)\" does not exist") }
        guard isAttached else { throw detachedError }
        if !isRunner {
            // Queued in the database, where the runner adopts it within a second.
            let id = try await jobStore.insert(view: name, mode: mode, trigger: trigger)
            logger.info(
                "job queued for the batch runner",
                metadata: ["job": "\(id)", "view": "\(name)", "mode": "\(mode.rawValue)", "trigger": "\(trigger)"])
            return Job(id: id, view: name, mode: mode, trigger: trigger, state: .queued, createdAt: Date())
        }
        let claimed = state.withLock { $0.jobs.claim(name) }
        guard claimed else { throw BatchError(.jobRunning, "view \"\(name)\" already has a queued or running job; wait for it to finish") }
        do {
            let id = try await jobStore.insert(view: name, mode: mode, trigger: trigger)
            let job = Job(id: id, view: name, mode: mode, trigger: trigger, state: .queued, createdAt: Date())
            state.withLock { $0.jobs.queued(job) }
            queueSink.yield(id)
            logger.info("job queued", metadata: ["job": "\(job.name)", "view": "\(name)", "mode": "\(mode.rawValue)", "trigger": "\(trigger)"])
            return job
        } catch {
            state.withLock { $0.jobs.release(name) }
            throw error
        }
    }

    /// A job by id (live progress for jobs of this process, history from PostgreSQL).
    public func job(_ id: Int64) async throws -> Job? {
        if let live = state.withLock({ $0.jobs.job(id) }) { return live }
        guard isAttached else { throw detachedError }
        return try await jobStore.job(id)
    }

    /// The latest jobs, newest first.
    public func jobs(limit: Int = 100) async throws -> [Job] {
        guard isAttached else { throw detachedError }
        let history = try await jobStore.latest(limit: limit)
        return state.withLock { $0.jobs.overlay(history) }
    }

    /// The jobs this process has queued or run since it started, newest first (no database
    /// needed: for metrics and the dashboard).
    public func liveJobs() -> [Job] {
        state.withLock { Array($0.jobs.jobs.values) }.sorted { $0.id > $1.id }
    }

    private func update(_ id: Int64, _ change: (inout Job) -> Void) async {
        let changed = state.withLock { state -> (before: JobState, job: Job)? in
            guard let before = state.jobs.job(id)?.state, let job = state.jobs.update(id, change) else { return nil }
            return (before, job)
        }
        guard let (before, job) = changed else { return }
        if before != job.state {
            // One line per state change, whatever caused it.
            var metadata: Logger.Metadata = [
                "job": "\(job.name)", "view": "\(job.view)", "mode": "\(job.mode.rawValue)", "from": "\(before.rawValue)",
                "to": "\(job.state.rawValue)", "attempt": "\(job.attempts)",
            ]
            if let error = job.error, job.state == .failed { metadata["error"] = "\(error)" }
            logger.info("job state changed", metadata: metadata)
            if job.state == .succeeded || job.state == .failed { recordFinished(job) }
        }
        do {
            try await jobStore.record(job)
        } catch {
            logger.warning("could not record job progress", metadata: ["job": "\(job.name)", "error": "\(error)"])
        }
    }

    // MARK: Running

    /// A finished job's metrics: its duration by outcome, and what it scanned and wrote.
    private func recordFinished(_ job: Job) {
        let labels = [("view", job.view), ("mode", job.mode.rawValue), ("outcome", job.state.rawValue)]
        if let started = job.startedAt, let finished = job.finishedAt {
            telemetry.timer("tandem_batch_job_duration_seconds", labels).recordSeconds(max(0, finished.timeIntervalSince(started)))
        }
        telemetry.counter("tandem_batch_jobs_finished_total", labels).increment()
        telemetry.counter("tandem_batch_scanned_records_total", [("view", job.view)]).increment(by: Int(job.scanned))
        telemetry.counter("tandem_batch_rows_written_total", [("view", job.view)]).increment(by: Int(job.rowsWritten ?? 0))
    }

    /// Runs queued jobs (several views at once, one job per view) until graceful shutdown; the
    /// ``Scheduler`` service queues the scheduled ones.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await view in self.warmQueue { await self.warm(view) }
            }
            group.addTask {
                for await attach in self.attachQueue { await self.reattach(attach) }
            }
            group.addTask { await self.heartbeat() }
            if lease != nil {
                group.addTask { await self.campaign() }
                group.addTask { await self.followPublications() }
                group.addTask {
                    await withDiscardingTaskGroup { retires in
                        for await (view, version) in self.adopted {
                            retires.addTask {
                                await self.retire(
                                    view: view, keeping: version.id, below: version.cut, maxEventTimes: version.maxEventTimes, replaced: nil)
                            }
                        }
                    }
                }
                group.addTask {
                    await withDiscardingTaskGroup { drops in
                        for await id in self.retiredTables {
                            drops.addTask {
                                try? await Task.sleep(for: self.configuration.retiredGrace)
                                guard !Task.isCancelled else { return }
                                await self.dropRetired(id)
                            }
                        }
                    }
                }
            }
            for await id in queue.cancelOnGracefulShutdown() {
                group.addTask { await self.execute(id) }
            }
            group.cancelAll()
        }
        if let registry, isAttached {
            do { try await registry.unregister() } catch {
                logger.warning("could not remove this server's row from tandem_instances; it goes stale", metadata: ["error": "\(error)"])
            }
        }
        // The jobs were released at once; their COPYs end (fail) shortly after. The client, a
        // service that stops after this one, must not close a connection under a COPY.
        let running = await store.copies.drained(within: .seconds(15))
        if running > 0 { logger.warning("a COPY was still running at shutdown", metadata: ["copies": "\(running)"]) }
    }

    /// The servers registered on the database, with whether each is this one, whether it is the
    /// batch runner, and the partitions it computes when the servers divide them (empty when
    /// this layer registers nothing).
    public func instances() async throws -> [(
        id: String, address: String, pid: Int32, dataDirectory: String, age: Double, current: Bool, runner: Bool, partitions: [String: [Int]]
    )] {
        guard let registry else { return [] }
        let sole = lease == nil
        return try await registry.list().map {
            (
                $0.id, $0.address, $0.pid, $0.dataDirectory, $0.age, $0.id == registry.identity.id,
                sole ? $0.id == registry.identity.id : $0.runner, $0.partitions
            )
        }
    }

    /// Records the address this server is reached at (once it knows the port it bound), in the
    /// registry row and in every heartbeat from now on.
    public func advertise(_ address: String) async {
        guard let registry else { return }
        registry.address.withLock { $0 = address }
        guard isAttached else { return }
        do { try await Task { try await registry.beat() }.value } catch {
            logger.warning("could not record this server's address", metadata: ["address": "\(address)", "error": "\(error)"])
        }
    }

    /// Whether this server runs the jobs: it is the database's only server, or the elected runner.
    public var isRunner: Bool {
        state.withLock { $0.role != .follower }
    }

    /// The epoch this server was elected runner with, when servers share the database.
    private var epoch: Int64? {
        if case .runner(let epoch) = state.withLock({ $0.role }) { return epoch }
        return nil
    }

    // MARK: Several servers

    /// Stands for batch runner every second while the database is attached, and runs the jobs
    /// for as long as this server is elected (``RunnerLease``).
    private func campaign() async {
        guard let lease else { return }
        var lastFailure: String?
        while !Task.isCancelled {
            if isAttached {
                do {
                    _ = try await lease.campaign(
                        elected: { epoch in await self.elected(epoch) }, tick: { await self.adoptQueuedJobs() },
                        deposed: { self.state.withLock { $0.role = .follower } })
                    lastFailure = nil
                } catch {
                    let failure = Self.describe(error)
                    if failure != lastFailure { logger.warning("could not stand for batch runner", metadata: ["error": "\(failure)"]) }
                    lastFailure = failure
                }
            }
            try? await Task.sleep(for: RunnerLease.checkEvery)
        }
    }

    /// This server was elected runner: it cleans up after the previous one (the versions it left
    /// building, its retired tables), queues again the jobs it left running, and adopts the
    /// queued ones.
    private func elected(_ epoch: Int64) async {
        state.withLock { $0.role = .runner(epoch: epoch) }
        logger.notice("this server is the batch runner now", metadata: ["epoch": "\(epoch)"])
        let store = self.store, jobStore = self.jobStore
        let local = Set(state.withLock { $0.publications.publications.values.map(\.id) })
        do {
            let (interrupted, published) = try await withTimeout(.seconds(60), "taking over the jobs") {
                let published = try await store.loadPublications()
                try await store.cleanUp(keeping: local.union(published.values.map(\.id)))
                return (try await jobStore.failInterrupted(.runnerStopped), published)
            }
            // The last runner's newest versions, which this server may not have followed yet:
            // the next jobs build on them, and queries read them.
            for view in views.compiledViews {
                guard let version = published[view.name] else { continue }
                await adopt(version, of: view, as: .runner(epoch: epoch))
            }
            // Queued in the database, and adopted below once the view runs here (at a start, the
            // election may come before the views have started).
            for (view, mode) in interrupted {
                do {
                    let id = try await jobStore.insert(view: view, mode: JobMode(rawValue: mode) ?? .full, trigger: "requeued")
                    logger.info("queued again a job the previous runner left running", metadata: ["view": "\(view)", "job": "\(id)"])
                } catch let error as BatchError where error.code == .jobRunning {
                    // Another job of the view is queued already: it covers this one.
                } catch {
                    logger.warning("could not queue again an interrupted job", metadata: ["view": "\(view)", "error": "\(error)"])
                }
            }
        } catch {
            logger.warning("could not take over the previous runner's jobs", metadata: ["error": "\(Self.describe(error))"])
        }
        await adoptQueuedJobs()
    }

    /// Runs the jobs that other servers queued in the database (the runner, every second).
    private func adoptQueuedJobs() async {
        guard isRunner, isAttached else { return }
        let jobStore = self.jobStore
        let queued: [Job]
        do { queued = try await withTimeout(JobStore.deadline, "reading the queued jobs") { try await jobStore.queued() } } catch { return }
        // Only jobs still queued can be orphans.
        let ids = Set(queued.map(\.id))
        state.withLock { $0.orphans = $0.orphans.filter { ids.contains($0.key) } }
        for var job in queued {
            guard views.compiledView(job.view) != nil else {
                // A view defined on another server reaches this one within a second or two (and at
                // a start, the views start after the election); one that never does was deleted,
                // and its job must not hold the view's name.
                let now = ContinuousClock.now
                let since = state.withLock { state in
                    if state.orphans[job.id] == nil { state.orphans[job.id] = now }
                    return state.orphans[job.id]!
                }
                guard now - since > .seconds(30) else { continue }
                state.withLock { _ = $0.orphans.removeValue(forKey: job.id) }
                job.state = .failed
                job.error = "the view does not exist (deleted before its job ran)"
                job.finishedAt = Date()
                _ = try? await withTimeout(JobStore.deadline, "failing a job of a deleted view") { [job] in try await jobStore.record(job) }
                continue
            }
            let adopted = state.withLock { state -> Bool in
                guard state.jobs.job(job.id) == nil, state.jobs.claim(job.view) else { return false }
                state.jobs.queued(job)
                return true
            }
            guard adopted else { continue }
            logger.info("job adopted from the database", metadata: ["job": "\(job.name)", "view": "\(job.view)", "trigger": "\(job.trigger)"])
            queueSink.yield(job.id)
        }
    }

    /// A server that is not the runner follows the runner's publications: for each view whose
    /// published version in the database is newer than the one it serves, it first brings its
    /// speed state to the new cut (``SpeedSegments/follow(view:from:maxEventTimes:)``), which
    /// answers keep using the version it serves meanwhile, then serves the new version and
    /// retires the old one's speed state once no query reads it.
    private func followPublications() async {
        let store = self.store
        var lastFailure: String?
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            guard isAttached, !isRunner, !Task.isCancelled else { continue }
            let stored: [String: PublishedVersion]
            do {
                stored = try await Task { try await withTimeout(.seconds(5), "reading the publications") { try await store.loadPublications() } }
                    .value
                lastFailure = nil
            } catch {
                let failure = Self.describe(error)
                if failure != lastFailure { logger.warning("could not read the runner's publications", metadata: ["error": "\(failure)"]) }
                lastFailure = failure
                continue
            }
            for view in views.compiledViews {
                guard let version = stored[view.name], !isRunner else { continue }
                await adopt(version, of: view, as: .follower)
            }
        }
    }

    /// Serves `version`, published by another server (the runner, or the runner before this one),
    /// if it is newer than the one served and of the same definition: first brings the speed
    /// state to its cut (``SpeedSegments/follow(view:from:maxEventTimes:)``), which answers keep
    /// using the version served meanwhile, then serves it (as long as this server still has
    /// `role`), and retires the older one's speed state once no query reads it.
    private func adopt(_ version: PublishedVersion, of view: CompiledView, as role: Role) async {
        let current = state.withLock { state in
            (id: state.publications.publications[view.name]?.id, definition: state.canonical(view.definition))
        }
        guard version.id > current.id ?? 0, version.definition == current.definition else { return }
        do {
            try await speed.follow(view: view.name, from: version.cut, maxEventTimes: version.maxEventTimes)
        } catch {
            logger.warning("could not bring the speed state to a new publication's cut", metadata: ["view": "\(view.name)", "error": "\(error)"])
            return
        }
        // Elected or deposed meanwhile, this server may have published a newer version itself.
        let installed = state.withLock { state -> Bool in
            guard state.role == role, version.id > state.publications.publications[view.name]?.id ?? 0 else { return false }
            state.publications.publish(version)
            return true
        }
        guard installed else { return }
        saveLocal()
        warm(view: view.name)
        logger.info("serving another server's newer version", metadata: ["view": "\(view.name)", "version": "\(version.id)"])
        adoptedSink.yield((view.name, version))
    }

    /// Writes this server's heartbeat while the database is attached, until cancelled.
    private func heartbeat() async {
        guard let registry else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: InstanceRegistry.heartbeat)
            guard isAttached, !Task.isCancelled else { continue }
            // A task of its own: the shutdown that cancels this loop must not cancel a query in
            // flight, which makes PostgresNIO close its connection under it.
            do { try await Task { try await registry.beat() }.value } catch {
                logger.warning("could not write this server's heartbeat", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Submits the incremental jobs that are due now (see ``SchedulePlan``); called by the
    /// ``Scheduler`` every second.
    func submitDueJobs() async {
        guard isAttached, isRunner else { return }
        let due = views.compiledViews.map { view in
            SchedulePlan.View(
                // Schedules are checked when a view is defined; one that fails here never fires.
                name: view.name, schedule: view.definition.schedule.flatMap { try? Schedule.parse($0) },
                overRowLimit: speed.isOverRowLimit(view: view.name), active: state.withLock { $0.jobs.isActive(view.name) })
        }
        let jobs = state.withLock { $0.plan.due(due, now: Timestamp.now()) }
        for (view, trigger) in jobs {
            do {
                try await submit(view: view, mode: .incremental, trigger: trigger)
            } catch let error as BatchError where error.code == .jobRunning {
                // Another job for the view was queued since the plan was made: it covers this one.
            } catch {
                logger.warning("could not queue a due job", metadata: ["view": "\(view)", "trigger": "\(trigger)", "error": "\(error)"])
            }
        }
    }

    private func execute(_ id: Int64) async {
        guard let job = state.withLock({ $0.jobs.job(id) }) else { return }
        defer { state.withLock { $0.jobs.release(job.view) } }
        for attempt in 1...configuration.maxAttempts {
            guard isRunner else {
                // Deposed: the next runner fails this job and queues its view again.
                // Its row stays `running`: the next runner fails it and queues the view again.
                logger.notice("job left to the next batch runner", metadata: ["job": "\(job.name)"])
                return
            }
            await update(id) { job in
                job.state = .running
                job.attempts = attempt
                job.startedAt = job.startedAt ?? Date()
                job.error = nil
            }
            do {
                try await build(id)
                return
            } catch {
                let message = Self.describe(error)
                logger.error("job attempt failed", metadata: ["job": "\(job.name)", "attempt": "\(attempt)", "error": "\(message)"])
                await update(id) { $0.error = message }
                if attempt < configuration.maxAttempts && !Task.isCancelled {
                    // Only cancellation (shutdown) ends this sleep early; the loop then stops.
                    try? await Task.sleep(for: configuration.retryDelay * (1 << (attempt - 1)))
                }
            }
        }
        await update(id) { job in
            job.state = .failed
            job.finishedAt = Date()
        }
    }

    /// One attempt (``Recompute``), then the new version is served and the old one retired.
    private func build(_ id: Int64) async throws {
        guard let job = state.withLock({ $0.jobs.job(id) }), let view = views.compiledView(job.view) else {
            throw BatchError(.unknownView, "the view no longer exists")
        }
        let started = ContinuousClock.now
        let recompute = Recompute(
            store: store, log: log, speed: speed, logger: logger, watermarkDelay: configuration.watermarkDelayMilliseconds, faults: faults,
            longestCall: configuration.statementTimeout + .seconds(30), epoch: epoch)
        let budget = configuration.cacheMaxBytes - state.withLock { $0.publications.cacheBytes(excluding: view.name) }
        let outcome = try await recompute.run(
            view, mode: job.mode, previous: publication(for: view), definition: Self.canonical(view.definition), cacheBudget: budget,
            planned: { mode, cut, total in
                await self.update(id) { job in
                    job.mode = mode
                    job.cut = cut
                    job.total = total
                    job.scanned = 0
                    job.skipped = 0
                }
            },
            progress: { scanned, skipped in self.state.withLock { $0.jobs.progress(id, scanned: scanned, skipped: skipped) } })
        let published = outcome.published
        state.withLock { $0.publications.publish(published) }
        saveLocal()
        await update(id) { job in
            job.state = .succeeded
            job.versionID = published.id
            job.rowsWritten = Int64(outcome.rows)
            job.scanned = outcome.total
            job.finishedAt = Date()
        }
        logger.info(
            "view version published",
            metadata: [
                "view": "\(view.name)", "version": "\(published.id)", "mode": "\(outcome.mode.rawValue)", "rows": "\(outcome.rows)",
                "records": "\(outcome.total)", "seconds": "\(ContinuousClock.now - started)", "phases": "\(outcome.phases)",
            ])
        await retire(view: view.name, keeping: published.id, below: published.cut, maxEventTimes: published.maxEventTimes, replaced: outcome.replaced)
    }

    /// Once no query reads an older version (or the speed-only state), drops the speed segments
    /// below the new cut and the replaced version's table.
    private func retire(view: String, keeping id: Int64, below cut: [Int64], maxEventTimes: [Int64?]?, replaced: Int64?) async {
        let waitID = state.withLock { $0.publications.makeWaitID() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let proceed = state.withLock { $0.publications.wait(waitID, view: view, keeping: id, waiter: continuation) }
                if proceed { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.publications.cancel(waitID) }?.resume()
        }
        speed.dropSegments(view: view, below: cut, maxEventTimes: maxEventTimes)
        guard let replaced else { return }
        // Servers sharing the database answer from it until they serve the new one.
        if lease != nil { retiredSink.yield(replaced) } else { await dropRetired(replaced) }
    }

    /// Drops the table of a version that a newer one replaced.
    private func dropRetired(_ id: Int64) async {
        do { try await store.drop(id: id, state: "dropped") } catch {
            logger.warning("could not drop a retired version", metadata: ["version": "\(id)", "error": "\(error)"])
        }
    }

    // MARK: Serving cache

    /// Asks for a view's published version to be loaded into the serving cache (at start: the
    /// columns of versions published before are rebuilt from their tables). Until it is loaded,
    /// queries read the table.
    public func warm(view: String) {
        warmSink.yield(view)
    }

    private func warm(_ name: String) async {
        guard isAttached, let view = views.compiledView(name), let published = publication(for: view), published.columns == nil else { return }
        let budget = configuration.cacheMaxBytes - state.withLock { $0.publications.cacheBytes(excluding: name) }
        guard budget > 0 else { return }
        let started = ContinuousClock.now
        let store = self.store
        do {
            let rows = try await withTimeout(.seconds(600), "loading view version \(published.id) into the serving cache") {
                try await store.read(published.table, width: view.stateWidth)
            }
            guard let columns = ServingCache.columns(of: rows, view: view, budget: budget) else {
                logger.notice(
                    "view version does not fit the serving cache; queries read its table",
                    metadata: ["view": "\(name)", "version": "\(published.id)", "rows": "\(rows.count)", "budget_bytes": "\(budget)"])
                return
            }
            let installed = state.withLock { $0.publications.install(columns, view: name, id: published.id) }
            if installed {
                logger.info(
                    "view version loaded into the serving cache",
                    metadata: [
                        "view": "\(name)", "version": "\(published.id)", "rows": "\(columns.rowCount)", "bytes": "\(columns.estimatedBytes)",
                        "seconds": "\(ContinuousClock.now - started)",
                    ])
            }
        } catch {
            logger.warning(
                "could not load a view version into the serving cache; queries read its table", metadata: ["view": "\(name)", "error": "\(error)"])
        }
    }

    /// What the serving cache holds: one entry per published version of a running view.
    /// Whether PostgreSQL answers a trivial query within `timeout`: `nil` when it does, else why
    /// not. For `/readyz`.
    public func ping(timeout: Duration = .seconds(2)) async -> String? {
        do {
            let client = self.client
            try await withTimeout(timeout, "SELECT 1") { _ = try await client.query("SELECT 1").collect() }
            return nil
        } catch {
            return "\(error)"
        }
    }

    public func servingCache() -> [ServingCache.Entry] {
        let current = views.compiledViews.map { (name: $0.name, definition: Self.canonical($0.definition)) }
        return state.withLock { state in
            current.compactMap { view in
                state.publications.publication(view: view.name, definition: view.definition).map { published in
                    ServingCache.Entry(
                        view: view.name, version: published.id, cached: published.columns != nil, rows: published.columns?.rowCount ?? 0,
                        bytes: published.columns?.estimatedBytes ?? 0)
                }
            }
        }.sorted { $0.view < $1.view }
    }

    /// How long a start or a reattach waits for PostgreSQL (``Configuration/connectTimeout``).
    public var connectTimeout: Duration { configuration.connectTimeout }

    /// The serving cache's limit in bytes (`serving.cache_max_bytes`).
    public var cacheMaxBytes: Int { configuration.cacheMaxBytes }

    /// A readable message for an error (PostgresNIO hides the server's message from `description`).
    public static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            let server = error.serverInfo?[.message] ?? "\(error.code)"
            return "PostgreSQL: \(server)"
        }
        return "\(error)"
    }

    /// Forgets the publication of a view that another server deleted (it dropped the versions).
    public func forgetLocally(view: String) {
        state.withLock { $0.publications.forget(view: view) }
        saveLocal()
    }

    /// Forgets a deleted view's versions.
    public func forget(view: String) async {
        state.withLock { $0.publications.forget(view: view) }
        saveLocal()
        do { try await store.forget(view: view) } catch {
            logger.warning("could not drop the versions of a deleted view", metadata: ["view": "\(view)", "error": "\(error)"])
        }
    }
}
