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
    public func run(_ query: QueryRequest) async throws(ViewError) -> QueryResult {
        let deadline = ContinuousClock.now + limits.timeout
        let rollupLimits = limits.rollup(deadline: deadline)
        guard let view = views.compiledView(query.view) else { throw ViewError(.unknownView, "view \"\(query.view)\" does not exist", field: "view") }
        let request = try query.rollup(for: view, limits: rollupLimits)
        let pinned = batch?.pin(view)
        defer { batch?.unpin(pinned, view: view.name) }
        let narrowing = view.narrowing(request.filter)
        guard var snapshot = speed.snapshot(view: view.name, atOrAfter: pinned?.cut, from: request.from, to: request.to, narrowing: narrowing)
        else {
            throw ViewError(.unknownView, "view \"\(query.view)\" is not running", field: "view")
        }
        var source = "speed"
        var rows: [RollupRow]
        // An ordered query orders the rows itself (a bounded heap for a top-N): no full sort here.
        let orderPosition = query.orderBy.flatMap { orderBy in view.definition.aggregates.firstIndex { $0.name == orderBy.aggregate } }
        let sorted = orderPosition == nil
        if let pinned, let columns = pinned.columns {
            // The serving cache: no database round trip. Tumbling and hopping windows roll each
            // layer up on its own and merge the rows; sessions roll up the merged state.
            source = "batch+speed"
            if CompiledView.columnarServes(request.window) {
                rows = try CompiledView.merge(
                    try view.rollup(columns, request, limits: rollupLimits, sorted: sorted),
                    try view.rollup(snapshot.state, request, limits: rollupLimits, sorted: sorted), limits: rollupLimits, sorted: sorted)
            } else {
                var state = columns.state(from: request.from, to: request.to)
                state.merge(snapshot.state)
                rows = try view.rollup(state, request, limits: rollupLimits, sorted: sorted)
            }
        } else if let pinned, let batch {
            let remaining = deadline - ContinuousClock.now
            do {
                guard remaining > .zero else { throw CancellationError() }
                var state = try await batch.read(
                    pinned, from: request.from, to: request.to, narrowing: narrowing, timeout: min(remaining, .seconds(10)))
                state.merge(snapshot.state)
                snapshot.state = state
                source = "batch+speed"
            } catch {
                if ContinuousClock.now >= deadline || Task.isCancelled { throw RollupLimits.timedOut }
                source = "degraded"
            }
            rows = try view.rollup(snapshot.state, request, limits: rollupLimits, sorted: sorted)
        } else {
            rows = try view.rollup(snapshot.state, request, limits: rollupLimits, sorted: sorted)
        }
        let wanted = query.aggregates ?? view.definition.aggregates.map(\.name)
        let positions = wanted.map { name in view.definition.aggregates.firstIndex { $0.name == name }! }
        // Only the ordering aggregate is answered for every row; the rest only for the rows kept
        // (a top-N keeps a bounded heap instead of sorting every row).
        let kept: [Int]
        if let orderBy = query.orderBy, let position = orderPosition {
            let descending = orderBy.desc ?? true
            let spec = view.definition.aggregates[position].spec, fieldType = view.aggregateFieldTypes[position]
            let keys = rows.map { $0.states[position].result(spec, fieldType: fieldType).sortKey }
            kept = TopN.select(count: rows.count, limit: query.limit) { a, b in
                switch (keys[a], keys[b]) {
                case (let x?, let y?) where x != y: return descending ? x > y : x < y
                case (.some, nil): return true
                case (nil, .some): return false
                default: return CompiledView.rowOrder(rows[a], rows[b])
                }
            }
        } else {
            kept = Array(rows.indices.prefix(query.limit ?? rows.count))
        }
        let answered = kept.map { (row: rows[$0], values: view.results(rows[$0].states)) }
        let hasTime: Bool
        if case .tumbling(nil) = request.window { hasTime = false } else { hasTime = true }
        var hasEnd = false
        if case .session = request.window { hasEnd = true }
        return QueryResult(
            aggregateNames: wanted,
            dimensions: request.keptDimensions,
            rows: answered.map { entry in (entry.row.time, entry.row.end, entry.row.group, positions.map { entry.values[$0] }) },
            provenance: Provenance(
                batchVersion: pinned?.id, cut: snapshot.cut, speedOffsets: snapshot.offsets, logEnd: snapshot.logEnd,
                lagRecords: snapshot.lagRecords, source: source, watermark: snapshot.watermark),
            hasTime: hasTime, hasEnd: hasEnd)
    }
}
