import Aggregation
import BatchLayer
import Events
import SpeedLayer

/// Answers queries: resolves the view, reads the state (today the speed layer's segments from the
/// starting cut; with the batch layer, the published version plus the speed segments at or after
/// its cut), rolls it up into windows and groups, and orders and limits the rows.
public struct QueryEngine: Sendable {
    /// What a query may cost.
    public var limits: QueryLimits
    private let views: any ServedViews
    private let speed: any SpeedStateReading
    private let batch: (any BatchVersionReading)?
    /// The speed-state rows from which a query rolls the partitions up in parallel.
    static let parallelSpeedRows = 65_536

    /// Creates an engine.
    /// - Parameters:
    ///   - views: the running views.
    ///   - speed: the speed layer's state.
    ///   - batch: the batch layer's published versions, if the server has a database.
    ///   - limits: what a query may cost.
    public init(views: any ServedViews, speed: any SpeedStateReading, batch: (any BatchVersionReading)? = nil, limits: QueryLimits = QueryLimits()) {
        self.views = views
        self.speed = speed
        self.batch = batch
        self.limits = limits
    }

    /// Runs a query.
    /// - Throws: ``ViewError`` for a request that cannot be answered: among others
    ///   `query_too_large` before any work when its range and window cost too much,
    ///   `too_many_groups` as soon as the answer passes the limit, `query_timeout` past
    ///   `query.timeout`.
    ///
    /// The published batch version is pinned for the whole query, so that a newer publication
    /// cannot drop the speed segments this answer needs: a query that starts on version v
    /// finishes on v's cut. The pin is released however the query ends, including a timeout.
    ///
    /// With partitions divided among servers, a partition that moves, or that was computed
    /// again from a newer cut than the version pinned, fails one try with `partition_unavailable`:
    /// the query is then tried again, on the newest version, until its deadline.
    public func run(_ query: QueryRequest) async throws(ViewError) -> QueryResult {
        let deadline = ContinuousClock.now + limits.timeout
        while true {
            do {
                return try await run(query, deadline: deadline)
            } catch  where error.code == .partitionUnavailable && ContinuousClock.now + .milliseconds(50) < deadline {
                do { try await Task.sleep(for: .milliseconds(20)) } catch { throw RollupLimits.timedOut }
            }
        }
    }

    private func run(_ query: QueryRequest, deadline: ContinuousClock.Instant) async throws(ViewError) -> QueryResult {
        let rollupLimits = limits.rollup(deadline: deadline)
        guard let view = views.compiledView(query.view) else { throw ViewError(.unknownView, "view \"\(query.view)\" does not exist", field: "view") }
        let request = try query.rollup(for: view, limits: rollupLimits)
        let pinned = batch?.pin(view)
        defer { batch?.unpin(pinned, view: view.name) }
        let notRunning = ViewError(.unknownView, "view \"\(query.view)\" is not running", field: "view")
        // An ordered query orders the rows itself (a bounded heap for a top-N): no full sort here.
        let orderPosition = query.orderBy.flatMap { orderBy in view.definition.aggregates.firstIndex { $0.name == orderBy.aggregate } }
        let sorted = orderPosition == nil
        var source: String
        var missing: Provenance.Missing?
        // The answer's rows: built, or still in the accumulator's slots (a top-N then builds only
        // the rows it keeps).
        var rows: [RollupRow] = []
        var slots: RollupAccumulator?
        let progress: SpeedProgress
        if CompiledView.columnarServes(request.window), pinned == nil || pinned?.columns != nil {
            // All in memory, with no database round trip: the published version's columns (the
            // serving cache) and the speed segments after its cut roll up into the same slots. The
            // speed layer's partitions roll up on their own (in parallel when they are large), and
            // their slots are merged in.
            var accumulator = try RollupAccumulator(view, request, limits: rollupLimits)
            let empty = accumulator
            if let columns = pinned?.columns { try accumulator.add(columns) }
            let speedRead: (partials: [RollupAccumulator], progress: SpeedProgress)?
            do {
                speedRead = try await speed.read(
                    view: view.name, atOrAfter: pinned?.cut, from: request.from, to: request.to, partial: query.allowPartial == true,
                    parallelRows: Self.parallelSpeedRows, into: empty
                ) {
                    partial, segment in try partial.add(segment)
                }
            } catch let error as ViewError {
                throw error
            } catch {
                throw RollupLimits.timedOut  // cancelled
            }
            guard let speedRead else { throw notRunning }
            for partial in speedRead.partials { try accumulator.merge(partial) }
            let read = speedRead.progress
            progress = read
            if sorted { rows = accumulator.rows() } else { slots = accumulator }
            source = pinned == nil ? "speed" : "batch+speed"
        } else {
            // Sessions span both layers' buckets, and a version outside the cache is read from
            // its table: both roll up one merged state.
            let narrowing = view.narrowing(request.filter)
            let read: SpeedSnapshot?
            do {
                read = try await speed.snapshot(
                    view: view.name, atOrAfter: pinned?.cut, from: request.from, to: request.to, narrowing: narrowing,
                    partial: query.allowPartial == true)
            } catch let error as ViewError {
                throw error
            } catch {
                throw RollupLimits.timedOut  // cancelled
            }
            guard let snapshot = read else { throw notRunning }
            progress = snapshot.progress
            var state = snapshot.state
            source = "speed"
            if let pinned, let columns = pinned.columns {
                state = columns.state(from: request.from, to: request.to)
                state.merge(snapshot.state)
                source = "batch+speed"
            } else if let pinned, let batch {
                let remaining = deadline - ContinuousClock.now
                do {
                    guard remaining > .zero else { throw CancellationError() }
                    state = try await batch.read(
                        pinned, from: request.from, to: request.to, narrowing: narrowing, timeout: min(remaining, .seconds(10)))
                    state.merge(snapshot.state)
                    source = "batch+speed"
                } catch {
                    if Task.isCancelled { throw RollupLimits.timedOut }
                    // Never a silently incomplete answer: what is below the cut is only left out
                    // when the query says it may be, and then the answer says so.
                    let reason = "published version \(pinned.id) of view \"\(view.name)\" cannot be read: \(error)"
                    guard query.allowPartial == true else {
                        throw ViewError(
                            .batchUnavailable,
                            reason + "; retry later, or send \"allow_partial\": true for an answer without the records below its cut",
                            field: "view")
                    }
                    state = snapshot.state
                    missing = Provenance.Missing(batchVersion: pinned.id, belowCut: pinned.cut, reason: reason)
                }
            }
            rows = try view.rollup(state, request, limits: rollupLimits, sorted: sorted)
        }
        let wanted = query.aggregates ?? view.definition.aggregates.map(\.name)
        let positions = wanted.map { name in view.definition.aggregates.firstIndex { $0.name == name }! }
        // Only the ordering aggregate is answered for every row; the rest only for the rows kept
        // (a top-N keeps a bounded heap instead of sorting every row).
        if let orderBy = query.orderBy, let position = orderPosition {
            let descending = orderBy.desc ?? true
            let spec = view.definition.aggregates[position].spec, fieldType = view.aggregateFieldTypes[position]
            let keys = slots?.sortKeys(aggregate: position) ?? rows.map { $0.states[position].result(spec, fieldType: fieldType).sortKey }
            let order = slots.map { slots in slots.precedes } ?? { a, b in CompiledView.rowOrder(rows[a], rows[b]) }
            let kept = TopN.select(count: keys.count, limit: query.limit) { a, b in
                switch (keys[a], keys[b]) {
                case (let x?, let y?) where x != y: return descending ? x > y : x < y
                case (.some, nil): return true
                case (nil, .some): return false
                default: return order(a, b)
                }
            }
            if let slots { rows = kept.map(slots.row) } else { rows = kept.map { rows[$0] } }
        } else {
            rows = Array(rows.prefix(query.limit ?? rows.count))
        }
        // The late records the answer counts: the hidden late count of the rows it returns, unless
        // it includes a version whose rows have none. Wrapping, as counts merge: a damaged version
        // row must not stop the process.
        let countsLate = missing != nil || pinned?.countsLateRecords ?? true
        let lateRecords = countsLate ? rows.reduce(0) { $0 &+ view.lateRecords($1.states) } : nil
        // Only the aggregates asked are answered.
        let answering = positions.map { (position: $0, spec: view.definition.aggregates[$0].spec, fieldType: view.aggregateFieldTypes[$0]) }
        let hasTime: Bool
        if case .tumbling(nil) = request.window { hasTime = false } else { hasTime = true }
        var hasEnd = false
        if case .session = request.window { hasEnd = true }
        return QueryResult(
            aggregateNames: wanted,
            dimensions: request.keptDimensions,
            rows: rows.map { row in
                (row.time, row.end, row.group, answering.map { row.states[$0.position].result($0.spec, fieldType: $0.fieldType) })
            },
            provenance: Provenance(
                batchVersion: missing == nil ? pinned?.id : nil, cut: progress.cut, speedOffsets: progress.offsets, logEnd: progress.logEnd,
                lagRecords: progress.lagRecords, source: source, watermark: progress.watermark, missing: missing,
                freshnessMilliseconds: Self.freshness(progress, partial: missing != nil), lateRecords: lateRecords,
                speedSources: progress.sources, missingPartitions: progress.missing),
            hasTime: hasTime, hasEnd: hasEnd)
    }

    /// How old the newest record an answer counts is: now minus the latest ingest time over the
    /// partitions' last consumed records. A partial answer counts only what its speed layer
    /// consumed past the cut, so a partition that consumed nothing there does not count.
    static func freshness(_ progress: SpeedProgress, partial: Bool) -> Int64? {
        var newest: Int64?
        for (partition, time) in progress.lastIngestTimes.enumerated() {
            guard let time else { continue }
            if partial && progress.offsets[partition] <= progress.cut[partition] { continue }
            newest = max(newest ?? time, time)
        }
        return newest.map { max(0, Timestamp.now() - $0) }
    }
}
