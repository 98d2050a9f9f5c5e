import Aggregation
import EventLog
import Events
import Logging
import ServiceLifecycle
import Synchronization
import TandemAPI
import Telemetry

/// The speed layer: consumes the log live and keeps every view's aggregate state in memory, by
/// (bucket, group), split into segments by log-offset cut (the exact-merge contract of DESIGN.md).
///
/// Each partition of each view has its own consumer task tailing the log, so partitions are
/// processed in parallel on all cores; a consumer updates its partition's state one log batch at
/// a time under that partition's lock. A record at offset `o` of partition `p` goes to the segment
/// whose cut range holds `o`, whatever its event time, so late events need no cut-off.
public final class SpeedLayer: Service, Sendable {
    enum Command: Sendable {
        /// A runtime was added: report its replay.
        case start(ViewRuntime)
        /// A partition of a runtime is to be consumed until its signal stops.
        case consume(ViewRuntime, PartitionRuntime, StopSignal)
    }

    private let log: any SharedLog
    private let configuration: SpeedLayerConfiguration
    private let logger: Logger
    private let telemetry: Telemetry
    /// Each view's runtimes, oldest first: one, except while the view follows a cut another
    /// server published (``follow(view:from:maxEventTimes:)``), when the runtime from the new cut
    /// is computed beside the one that serves the version in use.
    private let runtimes = Mutex<[String: [ViewRuntime]]>([:])
    /// The partitions of each stream that this server computes (``own(_:)``); `nil`: all of them.
    private let owned = Mutex<[String: Set<Int>]?>(nil)
    private let commands: AsyncStream<Command>
    private let commandSink: AsyncStream<Command>.Continuation

    /// Creates the speed layer over `log`; it counts late and undecodable records per view in
    /// `telemetry` (`tandem_late_records_total`, `tandem_speed_poison_records_total`).
    public init(
        log: any SharedLog, configuration: SpeedLayerConfiguration = SpeedLayerConfiguration(), telemetry: Telemetry = .disabled, logger: Logger
    ) {
        self.log = log
        self.configuration = configuration
        self.telemetry = telemetry
        self.logger = logger
        (commands, commandSink) = AsyncStream.makeStream(of: Command.self)
    }

    // MARK: Views

    /// Starts computing a view from `cut` (default: offset 0 of every partition); replaces a
    /// running view of the same name.
    /// - Parameter maxEventTimes: per partition, the largest event time below `cut` (`nil` in
    ///   a partition with no record there), as the published version recorded it, so that
    ///   records after the cut are judged late exactly as if the view had run from offset 0.
    ///   Without it, each consumer reads the event times below the cut first.
    public func addView(_ view: CompiledView, from cut: [Int64]? = nil, maxEventTimes: [Int64?]? = nil) throws {
        guard let topic = log.logTopic(view.stream.name) else {
            throw ViewError(.unknownStream, "stream \"\(view.stream.name)\" has no log topic")
        }
        let start = cut ?? [Int64](repeating: 0, count: topic.partitionCount)
        let runtime = ViewRuntime(
            view: view, cut: start, maxEventTimes: maxEventTimes, delay: configuration.watermarkDelayMilliseconds,
            replayTarget: topic.endOffsets())
        let previous = runtimes.withLock { runtimes in
            defer { runtimes[view.name] = [runtime] }
            return runtimes[view.name] ?? []
        }
        for runtime in previous { runtime.stop() }
        commandSink.yield(.start(runtime))
        owned.withLock { owned in reconcile(runtime, owned) }
        logger.info(
            "speed layer: view started", metadata: ["view": "\(view.name)", "replay_records": "\(runtime.consumedReplayTotal)"])
    }

    /// Stops computing a view and drops its state.
    public func removeView(_ name: String) {
        for runtime in runtimes.withLock({ $0.removeValue(forKey: name) }) ?? [] { runtime.stop() }
    }

    /// The names of the views being computed.
    public var viewNames: [String] { runtimes.withLock { $0.keys.sorted() } }

    /// The compiled view computed under `name`, if any.
    public func view(named name: String) -> CompiledView? { runtimes.withLock { $0[name]?.last?.view } }

    // MARK: Ownership

    /// Sets the partitions this server computes: per stream, the partitions it owns (a stream
    /// left out: none), or `nil` for every partition of every stream (a server alone, the
    /// default). A partition taken is computed from its view's first segment (the last
    /// published cut), in that segment and every later one; a partition given up stops its
    /// consumer and drops its state (its segments' cuts are kept).
    public func own(_ partitions: [String: Set<Int>]?) {
        owned.withLock { owned in
            owned = partitions
            for runtime in runtimes.withLock({ $0.values.flatMap { $0 } }) { reconcile(runtime, owned) }
        }
    }

    /// The partitions of `stream` this server computes; `nil`: all of them.
    public func ownedPartitions(of stream: String) -> Set<Int>? {
        owned.withLock { owned in owned.map { $0[stream] ?? [] } }
    }

    /// Starts and stops `runtime`'s partition consumers to match `owned`. Called under the
    /// ownership lock, so that two changes cannot interleave.
    private func reconcile(_ runtime: ViewRuntime, _ owned: [String: Set<Int>]?) {
        guard !runtime.isStopped, let topic = log.logTopic(runtime.view.stream.name) else { return }
        let ends = topic.endOffsets()
        let delay = configuration.watermarkDelayMilliseconds
        for partition in runtime.partitions {
            let p = partition.partition
            let wanted = owned.map { $0[runtime.view.stream.name]?.contains(p) ?? false } ?? true
            let first = partition.state.withLock { $0.segments[0].cut[p] }
            let known = runtime.knownMaxEventTime(partition: p, below: first)
            let consumers = partition.state.withLock { state -> (start: StopSignal?, stop: StopSignal?) in
                guard wanted != state.owned else { return (nil, nil) }
                // The first segment may have moved since `known` was read; then it is unknown.
                let maximum: Int64?? = wanted ? (state.segments[0].cut[p] == first ? known : nil) : .some(nil)
                return state.reset(
                    partition: p, view: runtime.view, delay: delay, maxEventTime: maximum, owned: wanted,
                    target: ends.indices.contains(p) ? ends[p] : 0)
            }
            replace(consumers, of: partition, in: runtime)
        }
    }

    /// Stops a partition's previous consumer and starts its new one, as ``PartitionRuntime/State/reset(partition:view:delay:maxEventTime:owned:target:)``
    /// returned them.
    private func replace(_ consumers: (start: StopSignal?, stop: StopSignal?), of partition: PartitionRuntime, in runtime: ViewRuntime) {
        consumers.stop?.stop()
        if let started = consumers.start { commandSink.yield(.consume(runtime, partition, started)) }
    }

    // MARK: Running

    /// Runs every view's consumers until graceful shutdown.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await command in commands.cancelOnGracefulShutdown() {
                switch command {
                case .start(let runtime):
                    group.addTask { await self.reportReplay(runtime) }
                case .consume(let runtime, let partition, let signal):
                    group.addTask { await self.consume(runtime, partition, until: signal) }
                }
            }
            for runtime in runtimes.withLock({ $0.values.flatMap { $0 } }) { runtime.stop() }
            group.cancelAll()
        }
    }

    /// Consumes one partition of a runtime until `signal` stops (the view stopped, or the
    /// partition moved away).
    private func consume(_ runtime: ViewRuntime, _ partition: PartitionRuntime, until signal: StopSignal) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.consume(runtime, partition, signal) }
            await signal.wait()
            group.cancelAll()
        }
    }

    private func consume(_ runtime: ViewRuntime, _ partition: PartitionRuntime, _ signal: StopSignal) async {
        // A private copy of the compiled view: consumers on different cores must not share the
        // arrays they touch per event, or reference counting alone makes them contend.
        let view: CompiledView
        do {
            view = try CompiledView(runtime.view.definition, stream: runtime.view.stream)
        } catch {
            // The view compiled when it was added, so this is a bug; say so rather than stall.
            partition.state.withLock { $0.failure = "the view no longer compiles: \(error)" }
            logger.error("speed layer: consumer not started", metadata: ["view": "\(runtime.view.name)", "error": "\(error)"])
            return
        }
        guard let topic = log.logTopic(view.stream.name) else {
            partition.state.withLock { $0.failure = "stream \"\(view.stream.name)\" has no log topic" }
            logger.error("speed layer: consumer not started", metadata: ["view": "\(view.name)", "error": "no log topic"])
            return
        }
        var scratch = view.makeDecodeScratch()
        let p = partition.partition
        // Only the consumer that `signal` belongs to may write the state: a partition that moved
        // away (and maybe back) has another one.
        guard let start = partition.state.withLock({ $0.consumer === signal ? $0.position : nil }) else { return }
        if start > 0, let before = try? await topic.read(partition: p, from: start - 1, maxRecords: 1, maxBytes: 1 << 20).first {
            // The record below the starting cut: how fresh an answer is before anything new arrives.
            partition.state.withLock { state in
                if state.consumer === signal { state.lastIngestTime = state.lastIngestTime ?? before.ingestTime }
            }
        }
        if partition.state.withLock({ $0.maximumUnknown }) {
            do {
                let maximum = try await Self.maxEventTime(topic, partition: p, below: start)
                partition.state.withLock { state in
                    guard state.consumer === signal else { return }
                    state.lateness = Lateness(delay: state.lateness.delay, maxEventTime: maximum)
                    state.maximumUnknown = false
                }
            } catch {
                if !signal.isStopped { partition.state.withLock { if $0.consumer === signal { $0.failure = "\(error)" } } }
                logger.error("speed layer: consumer stopped", metadata: ["view": "\(view.name)", "partition": "\(p)", "error": "\(error)"])
                return
            }
        }
        let lateCounter = telemetry.counter("tandem_late_records_total", [("view", view.name)])
        let poisonCounter = telemetry.counter("tandem_speed_poison_records_total", [("view", view.name)])
        do {
            for try await batch in try topic.tail(partition: p, from: start, maxRecords: configuration.batchRecords, maxBytes: 4 << 20) {
                var undecodable: [(Int64, String)] = []
                var late: Int64 = 0
                let current = partition.state.withLock { state -> Bool in
                    guard state.consumer === signal else { return false }
                    // The segment of each record: the last whose cut is at or below its offset.
                    var segment = state.segments.count - 1
                    let floor = state.segments[0].cut[p]
                    batch.forEachPayload { offset, eventTime, payload in
                        guard offset >= floor else {
                            // Below every segment: a job cut ahead of this consumer and published,
                            // and the segment that would hold it was dropped. The version counts it;
                            // only the lateness rule must still see it.
                            _ = state.lateness.admit(eventTime)
                            return
                        }
                        while segment > 0 && state.segments[segment].cut[p] > offset { segment -= 1 }
                        while segment + 1 < state.segments.count && state.segments[segment + 1].cut[p] <= offset { segment += 1 }
                        let isLate = state.lateness.admit(eventTime)
                        if isLate {
                            late += 1
                            Self.noteLate(bucket: view.bucket(of: eventTime), in: &state.lateBuckets)
                        }
                        do {
                            _ = try view.apply(
                                payload: payload, eventTime: eventTime, late: isLate, to: &state.segments[segment].state, scratch: &scratch)
                        } catch {
                            state.undecodable += 1
                            undecodable.append((offset, "\(error)"))
                        }
                    }
                    state.late += late
                    state.position = batch.nextOffset ?? state.position
                    state.lastIngestTime = batch.lastIngestTime ?? state.lastIngestTime
                    return true
                }
                guard current else { return }
                if late > 0 { lateCounter.increment(by: late) }
                if !undecodable.isEmpty { poisonCounter.increment(by: undecodable.count) }
                for (offset, error) in undecodable.prefix(5) {
                    logger.error(
                        "speed layer: skipped an undecodable record",
                        metadata: ["view": "\(view.name)", "partition": "\(p)", "offset": "\(offset)", "error": "\(error)"])
                }
            }
        } catch {
            guard !signal.isStopped else { return }
            partition.state.withLock { if $0.consumer === signal { $0.failure = "\(error)" } }
            logger.error("speed layer: consumer stopped", metadata: ["view": "\(view.name)", "partition": "\(p)", "error": "\(error)"])
        }
    }

    /// The largest event time of a partition's records below `end` (`nil`: none), by the same
    /// rule as ``Lateness`` (poison records do not count): for a view starting from a version
    /// that did not record it. Reads only the records' headers.
    static func maxEventTime(_ topic: any LogTopic, partition: Int, below end: Int64) async throws -> Int64? {
        var lateness = Lateness(delay: 0)
        var offset: Int64 = 0
        while offset < end {
            try Task.checkCancellation()
            let batch = try await topic.read(partition: partition, from: offset, maxRecords: Int(min(10_000, end - offset)), maxBytes: 4 << 20)
            guard let next = batch.nextOffset else { break }
            batch.forEachPayload { offset, eventTime, _ in
                if offset < end { _ = lateness.admit(eventTime) }
            }
            offset = next
        }
        return lateness.maxEventTime
    }

    /// How many buckets reached by late records each partition remembers.
    static let lateBucketLimit = 512

    /// Counts a late record in its bucket. Past twice the limit the earliest buckets are
    /// forgotten in one go, down to the limit, so that a record costs a dictionary update, not a
    /// scan of every bucket (the dashboard sees at least the latest `lateBucketLimit`).
    static func noteLate(bucket: Int64, in buckets: inout [Int64: Int64]) {
        buckets[bucket, default: 0] += 1
        guard buckets.count > 2 * lateBucketLimit else { return }
        let kept = buckets.keys.sorted().suffix(lateBucketLimit)
        buckets = buckets.filter { $0.key >= kept.first! }
    }

    /// Logs replay progress every few seconds until the view has caught up.
    private func reportReplay(_ runtime: ViewRuntime) async {
        let total = runtime.consumedReplayTotal
        guard total > 0 else { return }
        while !runtime.caughtUp && !Task.isCancelled {
            try? await Task.sleep(for: .seconds(2))  // cancellation is checked next
            guard !Task.isCancelled, !runtime.isStopped else { return }
            logger.info(
                "speed layer: replaying",
                metadata: ["view": "\(runtime.view.name)", "consumed": "\(runtime.consumedSinceStart)", "total": "\(total)"])
        }
        logger.info("speed layer: replay done", metadata: ["view": "\(runtime.view.name)", "records": "\(total)"])
    }

    // MARK: Reading

    /// The merged state of a view's segments at or after `cut`, restricted to buckets starting in
    /// `[from, to)`, with the offsets consumed and the watermark. With a `narrowing`, only the
    /// rows of its values are read (from each segment's postings).
    /// - Returns: `nil` when the view is not running.
    public func snapshot(
        view name: String, atOrAfter cut: [Int64]? = nil, from: Int64 = .min, to: Int64 = .max, narrowing: DimensionNarrowing? = nil
    ) -> SpeedSnapshot? {
        var state = ViewState()
        guard let progress = read(view: name, atOrAfter: cut, { segment in segment.merge(into: &state, from: from, to: to, narrowing: narrowing) })
        else { return nil }
        return SpeedSnapshot(state: state, progress: progress)
    }

    /// Calls `body` with each segment at or after `cut` of each partition of a view, under that
    /// partition's lock (its consumer waits meanwhile, so `body` should be quick and must not
    /// keep the segment), and returns where the speed layer stood.
    /// - Returns: `nil` when the view is not running.
    public func read<E: Error>(view name: String, atOrAfter cut: [Int64]? = nil, _ body: (borrowing EncodedState) throws(E) -> Void) throws(E)
        -> SpeedProgress?
    {
        guard let runtime = serving(name, at: cut), let topic = log.logTopic(runtime.view.stream.name) else { return nil }
        let floor = cut ?? runtime.startCut
        var offsets: [Int64] = []
        var partitionMaxima: [Int64?] = []
        var ingestTimes: [Int64?] = []
        var owned: [Bool] = []
        var aligned: [Bool] = []
        for partition in runtime.partitions {
            try partition.state.withLock { (partitionState: inout PartitionRuntime.State) throws(E) in
                for segment in partitionState.segments where segment.cut[partition.partition] >= floor[partition.partition] {
                    try body(segment.state)
                }
                offsets.append(partitionState.position)
                partitionMaxima.append(partitionState.maxEventTime)
                ingestTimes.append(partitionState.lastIngestTime)
                owned.append(partitionState.owned)
                aligned.append(partitionState.isAligned(partition.partition, at: floor))
            }
        }
        var progress = progress(cut: floor, offsets: offsets, maxima: partitionMaxima, ingestTimes: ingestTimes, topic: topic)
        (progress.owned, progress.aligned) = (owned, aligned)
        return progress
    }

    /// Where the speed layer stood after reading every partition: the offsets and largest event
    /// times read under each partition's lock, then the log's end and the watermark.
    private func progress(cut: [Int64], offsets: [Int64], maxima: [Int64?], ingestTimes: [Int64?], topic: any LogTopic) -> SpeedProgress {
        let logEnd = topic.endOffsets()
        return SpeedProgress(
            cut: cut, offsets: offsets, logEnd: logEnd, watermark: watermark(maxima: maxima, offsets: offsets, logEnd: logEnd),
            lastIngestTimes: ingestTimes, maxEventTimes: maxima)
    }

    /// Reads a view's segments at or after `cut` partition by partition: `body` folds each
    /// segment of a partition into that partition's own copy of `initial`, under the partition's
    /// lock. When the segments hold at least `parallelRows` rows, the partitions are read in
    /// parallel, one task each (a query over a day of speed state then uses every core).
    /// - Returns: each partition's result, in partition order, and where the speed layer stood;
    ///   `nil` when the view is not running.
    public func read<Partial: Sendable>(
        view name: String, atOrAfter cut: [Int64]? = nil, parallelRows: Int = 65_536, into initial: Partial,
        _ body: @escaping @Sendable (inout Partial, borrowing EncodedState) throws -> Void
    ) async throws -> (partials: [Partial], progress: SpeedProgress)? {
        guard let runtime = serving(name, at: cut), let topic = log.logTopic(runtime.view.stream.name) else { return nil }
        let floor = cut ?? runtime.startCut
        typealias Read = (partial: Partial, position: Int64, maxEventTime: Int64?, ingestTime: Int64?, owned: Bool, aligned: Bool)
        @Sendable func read(_ partition: PartitionRuntime) throws -> Read {
            try partition.state.withLock { state in
                var partial = initial
                for segment in state.segments where segment.cut[partition.partition] >= floor[partition.partition] {
                    try body(&partial, segment.state)
                }
                return (
                    partial, state.position, state.maxEventTime, state.lastIngestTime, state.owned, state.isAligned(partition.partition, at: floor)
                )
            }
        }
        let rows = runtime.partitions.reduce(0) { total, partition in
            total
                + partition.state.withLock { state in
                    state.segments.reduce(0) { $1.cut[partition.partition] >= floor[partition.partition] ? $0 + $1.state.count : $0 }
                }
        }
        var reads: [Read]
        if rows >= parallelRows && runtime.partitions.count > 1 {
            reads = try await withThrowingTaskGroup(of: (Int, Read).self) { group in
                for (index, partition) in runtime.partitions.enumerated() { group.addTask { (index, try read(partition)) } }
                var collected = [(Int, Read)]()
                for try await result in group { collected.append(result) }
                return collected.sorted { $0.0 < $1.0 }.map { $0.1 }
            }
        } else {
            reads = try runtime.partitions.map(read)
        }
        // Closures, not key paths: a key path into a generic tuple is built at run time, per call.
        var progress = progress(
            cut: floor, offsets: reads.map { $0.position }, maxima: reads.map { $0.maxEventTime }, ingestTimes: reads.map { $0.ingestTime },
            topic: topic)
        (progress.owned, progress.aligned) = (reads.map { $0.owned }, reads.map { $0.aligned })
        return (reads.map { $0.partial }, progress)
    }

    /// The event-time watermark: the least, over partitions still behind the log end, of their
    /// largest event time minus the delay. A partition that is caught up (idle) does not hold it
    /// back; when all are, it is the largest over all.
    public func watermark(maxima: [Int64?], offsets: [Int64], logEnd: [Int64]) -> Int64? {
        let delay = configuration.watermarkDelayMilliseconds
        var behind: [Int64] = []
        var all: [Int64] = []
        for (index, maximum) in maxima.enumerated() {
            let busy = offsets[index] < logEnd[index]
            if let maximum { all.append(maximum - delay) }
            if busy {
                guard let maximum else { return nil }
                behind.append(maximum - delay)
            }
        }
        return behind.min() ?? all.max()
    }

    static func isAtOrAfter(_ cut: [Int64], _ floor: [Int64]) -> Bool {
        zip(cut, floor).allSatisfy { $0 >= $1 }
    }

    // MARK: Cuts

    /// Opens a new segment at the log's current end (read while every partition's consumer is
    /// held, so no record at or past it can land in an older segment) and returns that cut.
    ///
    /// A backend whose end offsets are only as fresh as its last fetch (Kafka) may report an end
    /// below what a consumer has already taken; the cut is then that consumer's position, so that
    /// no record it consumed lies past the cut.
    public func openSegmentAtLogEnd(view name: String) throws -> [Int64] {
        guard let runtime = runtimes.withLock({ $0[name]?.last }), let topic = log.logTopic(runtime.view.stream.name) else {
            throw ViewError(.unknownView, "view \"\(name)\" is not running in the speed layer")
        }
        return Self.withAllLocks(runtime.partitions) { states in
            let cut = zip(topic.endOffsets(), states).map { max($0, $1.position) }
            for index in states.indices where states[index].segments.last?.cut != cut {
                states[index].segments.append(PartitionRuntime.Segment(cut: cut, view: runtime.view))
            }
            return cut
        }
    }

    /// Opens a new segment at `cut`. Every partition's consumer must not have passed the cut.
    public func openSegment(view name: String, at cut: [Int64]) throws {
        guard let runtime = runtimes.withLock({ $0[name]?.last }) else {
            throw ViewError(.unknownView, "view \"\(name)\" is not running in the speed layer")
        }
        try Self.withAllLocks(runtime.partitions) { states throws(ViewError) in
            for (index, state) in states.enumerated() where state.position > cut[index] {
                throw ViewError(.invalidRange, "partition \(index) has consumed up to \(state.position), past the cut \(cut[index])")
            }
            for index in states.indices where states[index].segments.last?.cut != cut {
                states[index].segments.append(PartitionRuntime.Segment(cut: cut, view: runtime.view))
            }
        }
    }

    /// Drops the segments wholly below `cut` (their records are all in a published batch version),
    /// and the runtimes that a runtime starting at or below `cut` replaces. Each partition drops
    /// by its own offset in the cut.
    /// - Parameter maxEventTimes: per partition, the largest event time below `cut`, as the
    ///   published version recorded it: a partition this server takes later starts from there.
    public func dropSegments(view name: String, below cut: [Int64], maxEventTimes: [Int64?]? = nil) {
        let (replaced, kept) = runtimes.withLock { runtimes -> ([ViewRuntime], [ViewRuntime]) in
            guard var generations = runtimes[name] else { return ([], []) }
            var replaced: [ViewRuntime] = []
            while generations.count > 1 && Self.isAtOrAfter(cut, generations[1].startCut) { replaced.append(generations.removeFirst()) }
            runtimes[name] = generations
            return (replaced, generations)
        }
        for runtime in replaced { runtime.stop() }
        for runtime in kept {
            if let maxEventTimes, maxEventTimes.count == cut.count { runtime.baseline.withLock { $0 = (cut, maxEventTimes) } }
            for partition in runtime.partitions {
                let p = partition.partition
                partition.state.withLock { state in
                    while state.segments.count > 1 && cut[p] >= state.segments[1].cut[p] { state.segments.removeFirst() }
                }
            }
            // Divided partitions: a partition cut elsewhere may lack a segment at the cut.
            if owned.withLock({ $0 != nil }) { align(runtime, at: cut) }
        }
    }

    /// Computes a view from a cut that another server published, beside the runtime in use, and
    /// returns once it has consumed up to the log's end as it was at the start (see
    /// ``SpeedSegments/follow(view:from:maxEventTimes:)``). Queries pinned to that cut read it
    /// from then on; ``dropSegments(view:below:maxEventTimes:)`` with the cut stops the runtime it replaces.
    /// - Throws: ``ViewError`` when the view is not running or was replaced meanwhile, or a
    ///   consumer failed; `CancellationError` when cancelled.
    public func follow(view name: String, from cut: [Int64], maxEventTimes: [Int64?]?) async throws {
        guard let newest = runtimes.withLock({ $0[name]?.last }), let topic = log.logTopic(newest.view.stream.name) else {
            throw ViewError(.unknownView, "view \"\(name)\" is not running in the speed layer")
        }
        var runtime = newest
        if newest.startCut != cut {
            runtime = ViewRuntime(
                view: newest.view, cut: cut, maxEventTimes: maxEventTimes, delay: configuration.watermarkDelayMilliseconds,
                replayTarget: topic.endOffsets())
            let added = runtimes.withLock { runtimes -> Bool in
                guard let last = runtimes[name]?.last, last === newest else { return false }
                runtimes[name]!.append(runtime)
                return true
            }
            guard added else { throw ViewError(.unknownView, "view \"\(name)\" was replaced while it followed a cut") }
            commandSink.yield(.start(runtime))
            owned.withLock { owned in reconcile(runtime, owned) }
            logger.info(
                "speed layer: following a published cut", metadata: ["view": "\(name)", "replay_records": "\(runtime.consumedReplayTotal)"])
        }
        while !runtime.caughtUp {
            try Task.checkCancellation()
            if runtime.isStopped { throw ViewError(.unknownView, "view \"\(name)\" was stopped while it followed a cut") }
            if let failure = runtime.partitions.lazy.compactMap({ $0.state.withLock { $0.failure } }).first {
                throw ViewError(.unknownView, "view \"\(name)\" could not follow a cut: \(failure)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Makes every partition of a view's newest runtime hold a segment starting at `cut`, ready
    /// for queries pinned to a version with that cut: a partition whose segments were cut
    /// elsewhere (partitions are divided, and it moved here after its owner reported the cut)
    /// is computed again from the cut. Queries pinned to an older cut then find that partition
    /// unavailable (``SpeedProgress/aligned``) and take the newer version.
    /// - Parameter maxEventTimes: per partition, the largest event time below `cut`, as the
    ///   version recorded it.
    public func align(view name: String, at cut: [Int64], maxEventTimes: [Int64?]?) {
        guard let runtime = runtimes.withLock({ $0[name]?.last }) else { return }
        if let maxEventTimes, maxEventTimes.count == cut.count { runtime.baseline.withLock { $0 = (cut, maxEventTimes) } }
        align(runtime, at: cut)
    }

    private func align(_ runtime: ViewRuntime, at cut: [Int64]) {
        for partition in runtime.partitions where cut.indices.contains(partition.partition) {
            let p = partition.partition
            if !partition.state.withLock({ $0.isAligned(p, at: cut) }) { restart(partition, of: runtime, at: cut) }
        }
    }

    /// Restarts one partition of a runtime from `cut`: its segments become one empty segment
    /// there, and its consumer (if this server owns it) starts again from `cut[partition]`.
    private func restart(_ partition: PartitionRuntime, of runtime: ViewRuntime, at cut: [Int64]) {
        let p = partition.partition
        let known = runtime.knownMaxEventTime(partition: p, below: cut[p])
        let target = log.logTopic(runtime.view.stream.name)?.endOffsets()[p] ?? 0
        let delay = configuration.watermarkDelayMilliseconds
        let consumers = partition.state.withLock { state -> (start: StopSignal?, stop: StopSignal?) in
            guard !state.isAligned(p, at: cut) else { return (nil, nil) }
            state.segments = [PartitionRuntime.Segment(cut: cut, view: runtime.view)]
            return state.reset(partition: p, view: runtime.view, delay: delay, maxEventTime: known, owned: state.owned, target: target)
        }
        if consumers.start != nil {
            logger.info(
                "speed layer: partition computed again from a published cut", metadata: ["view": "\(runtime.view.name)", "partition": "\(p)"])
        }
        replace(consumers, of: partition, in: runtime)
    }

    // MARK: Divided partitions

    /// Opens a new segment in each of `partitions` that this server computes, at the offset its
    /// consumer has reached or the log's end, whichever is larger (read under the partitions'
    /// locks, so no record at or past it can land in an older segment), and returns those
    /// offsets: this server's part of a cut that the batch runner assembles from every owner.
    /// Partitions it does not compute are left out of the answer.
    /// - Parameter floor: no offset is below it (the published cut, which a partition that
    ///   moved here may not have reached yet).
    public func openSegment(view name: String, partitions: Set<Int>, atLeast floor: [Int64]? = nil) throws -> [Int: Int64] {
        guard let runtime = runtimes.withLock({ $0[name]?.last }), let topic = log.logTopic(runtime.view.stream.name) else {
            throw ViewError(.unknownView, "view \"\(name)\" is not running in the speed layer")
        }
        return Self.withAllLocks(runtime.partitions) { states in
            var cut = zip(topic.endOffsets(), states).map { max($0, $1.position) }
            if let floor, floor.count == cut.count { cut = zip(cut, floor).map { max($0, $1) } }
            var opened: [Int: Int64] = [:]
            for p in partitions.sorted() where states.indices.contains(p) && states[p].owned {
                if states[p].segments.last!.cut[p] != cut[p] { states[p].segments.append(PartitionRuntime.Segment(cut: cut, view: runtime.view)) }
                opened[p] = cut[p]
            }
            return opened
        }
    }

    /// The state of each of `partitions` at or after `cut`, for a server that does not compute
    /// them (partitions divided among servers).
    public func export(view name: String, partitions: [Int], atOrAfter cut: [Int64], from: Int64 = .min, to: Int64 = .max) -> [PartitionExport]? {
        guard let runtime = serving(name, at: cut) else { return nil }
        return partitions.map { p -> PartitionExport in
            guard runtime.partitions.indices.contains(p), cut.indices.contains(p) else { return .notOwned }
            return runtime.partitions[p].state.withLock { state -> PartitionExport in
                guard state.owned else { return .notOwned }
                guard state.isAligned(p, at: cut) else {
                    return .cutUnavailable(firstSegment: state.segments[0].cut[p])
                }
                var merged = ViewState()
                for segment in state.segments where segment.cut[p] >= cut[p] { segment.state.merge(into: &merged, from: from, to: to) }
                return .state(merged, position: state.position, maxEventTime: state.maxEventTime, lastIngestTime: state.lastIngestTime)
            }
        }
    }

    /// Whether each of `partitions` that this server computes has consumed up to where the log
    /// ended when it took the partition.
    public func isCaughtUp(view name: String, partitions: [Int]) -> Bool {
        guard let runtime = runtimes.withLock({ $0[name]?.last }) else { return true }
        return partitions.allSatisfy { p in
            !runtime.partitions.indices.contains(p) || runtime.partitions[p].state.withLock { !$0.owned || $0.position >= $0.target }
        }
    }

    /// The runtime that serves queries pinned to `cut` (the latest starting at or below it), or
    /// the oldest when no version is pinned.
    private func serving(_ name: String, at cut: [Int64]?) -> ViewRuntime? {
        runtimes.withLock { runtimes in
            guard let generations = runtimes[name] else { return nil }
            guard let cut else { return generations.first }
            return generations.last { Self.isAtOrAfter(cut, $0.startCut) } ?? generations.first
        }
    }

    /// The runtime a view's status describes: the newest that has caught up, else the oldest.
    private var described: [ViewRuntime] {
        runtimes.withLock { runtimes in
            runtimes.values.compactMap { generations in generations.last(where: \.caughtUp) ?? generations.first }
        }.sorted { $0.view.name < $1.view.name }
    }

    private static func withAllLocks<T: Sendable, E: Error>(
        _ partitions: [PartitionRuntime], _ body: (inout [PartitionRuntime.State]) throws(E) -> T
    ) throws(E) -> T {
        func nest(_ index: Int, _ collected: inout [PartitionRuntime.State]) throws(E) -> T {
            if index == partitions.count {
                var states = collected
                let result = try body(&states)
                collected = states
                return result
            }
            return try partitions[index].state.withLock { (state: inout PartitionRuntime.State) throws(E) -> T in
                collected.append(state)
                defer { state = collected[index] }
                return try nest(index + 1, &collected)
            }
        }
        var collected: [PartitionRuntime.State] = []
        return try nest(0, &collected)
    }

    // MARK: Status

    /// Progress of every view.
    public func status() -> [SpeedViewStatus] {
        let all = described
        return all.map { runtime in
            var offsets: [Int64] = []
            var rows = 0
            var segments = 0
            var undecodable: Int64 = 0
            var failure: String?
            for partition in runtime.partitions {
                partition.state.withLock { state in
                    offsets.append(state.position)
                    rows += state.segments.reduce(0) { $0 + $1.state.count }
                    segments = max(segments, state.segments.count)
                    undecodable += state.undecodable
                    failure = failure ?? state.failure
                }
            }
            var status = SpeedViewStatus(
                view: runtime.view.name, caughtUp: runtime.caughtUp, consumed: runtime.consumedSinceStart,
                replayTotal: runtime.consumedReplayTotal, offsets: offsets, stateRows: rows, segments: segments,
                undecodable: undecodable, failure: failure)
            status.overRowLimit = configuration.stateRowLimit.map { rows > $0 } ?? false
            return status
        }
    }

    /// Where each partition of each running view stands, for monitoring: what it consumed, when
    /// the last record it consumed arrived, and how many late records it counted.
    public func partitionProgress() -> [ViewProgress] {
        let all = described
        return all.compactMap { runtime in
            guard let topic = log.logTopic(runtime.view.stream.name) else { return nil }
            let partitions = runtime.partitions.map { partition in
                partition.state.withLock { state in
                    ViewProgress.Partition(
                        partition: partition.partition, position: state.position, maxEventTime: state.maxEventTime,
                        lastIngestTime: state.lastIngestTime, lateRecords: state.late, lateBuckets: state.lateBuckets, undecodable: state.undecodable,
                        stateRows: state.segments.reduce(0) { $0 + $1.state.count },
                        stateBytes: state.segments.reduce(0) { $0 + $1.state.estimatedBytes })
                }
            }
            let logEnd = topic.endOffsets()
            let watermark = watermark(maxima: partitions.map(\.maxEventTime), offsets: partitions.map(\.position), logEnd: logEnd)
            return ViewProgress(
                view: runtime.view.name, stream: runtime.view.stream.name, partitions: partitions, logEnd: logEnd, watermark: watermark)
        }
    }

    /// Whether every view has replayed up to the log end seen when it started.
    public var isCaughtUp: Bool { described.allSatisfy(\.caughtUp) }
}

extension ViewRuntime {
    /// Records between the starting cut and the replay target.
    var consumedReplayTotal: Int64 { zip(replayTarget, startCut).reduce(0) { $0 + max($1.0 - $1.1, 0) } }
}
