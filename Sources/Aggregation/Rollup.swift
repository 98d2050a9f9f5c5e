import Events

/// How a query turns base buckets into answer rows.
public enum WindowShape: Sendable, Equatable {
    /// One row per granularity step (or per group over the whole range when `nil`).
    case tumbling(granularity: Int64?)
    /// Windows of `size` starting every `advance` (both multiples of the bucket); sliding windows
    /// are hopping windows whose advance is the bucket.
    case hopping(size: Int64, advance: Int64)
    /// Per value of the `key` dimension: runs of activity separated by at least `gap` of none.
    case session(gap: Int64, key: String)
}

/// What to roll up: a time range, the dimensions kept, a filter on dimension values, a shape.
public struct RollupRequest: Sendable {
    /// Buckets starting at or after this time (epoch ms) are included...
    public var from: Int64
    /// ...up to, not including, this one.
    public var to: Int64
    /// The dimensions kept (a subset of the view's); the others are merged away.
    public var groupBy: [String]
    /// A filter over the view's dimensions.
    public var filter: Filter?
    /// The window shape.
    public var window: WindowShape

    /// The dimensions answer rows carry: `groupBy`, with a session window's key first when it is
    /// not already there.
    public var keptDimensions: [String] {
        guard case .session(_, let key) = window, !groupBy.contains(key) else { return groupBy }
        return [key] + groupBy
    }

    /// Creates a request.
    public init(from: Int64, to: Int64, groupBy: [String] = [], filter: Filter? = nil, window: WindowShape = .tumbling(granularity: nil)) {
        self.from = from
        self.to = to
        self.groupBy = groupBy
        self.filter = filter
        self.window = window
    }
}

/// What one query may cost: checked before any work (``CompiledView/check(_:limits:)``) and
/// while the answer is built (``CompiledView/rollup(_:_:limits:)``).
public struct RollupLimits: Sendable, Equatable {
    /// The most answer rows (`query.max_groups`): the roll-up stops as soon as it passes it.
    public var maxRows: Int
    /// The most windows the range may hold at the query's step (`query.max_windows`): the range
    /// divided by the granularity, or by a hopping window's advance.
    public var maxWindows: Int64
    /// The most hopping windows one base bucket may fall in (`query.max_windows_per_bucket`): a
    /// hopping window's size divided by its advance.
    public var maxWindowsPerBucket: Int64
    /// When the roll-up gives up with `query_timeout`.
    public var deadline: ContinuousClock.Instant?

    /// Creates limits; the defaults are the server's.
    public init(
        maxRows: Int = 100_000, maxWindows: Int64 = 1_000_000, maxWindowsPerBucket: Int64 = 10_000,
        deadline: ContinuousClock.Instant? = nil
    ) {
        self.maxRows = maxRows
        self.maxWindows = maxWindows
        self.maxWindowsPerBucket = maxWindowsPerBucket
        self.deadline = deadline
    }

    /// The error of a roll-up past ``deadline``.
    public static let timedOut = ViewError(.queryTimeout, "the query did not finish within its time limit (query.timeout)")

    /// The error of a roll-up past ``maxRows``.
    public var tooManyRows: ViewError {
        ViewError(
            .tooManyGroups,
            "the query produces more than \(maxRows) rows, the limit; narrow the range, coarsen the granularity or group by fewer dimensions",
            field: "group_by")
    }

    /// No limit at all, for tests and tools over small states.
    public static let unlimited = RollupLimits(maxRows: .max, maxWindows: .max, maxWindowsPerBucket: .max)
}

/// One answer row before formatting: a window (start, and end for sessions), the kept
/// dimensions' values, and merged states.
public struct RollupRow: Sendable, Equatable {
    /// The window's start (absent for `granularity: all`).
    public var time: Int64?
    /// The window's end, for sessions.
    public var end: Int64?
    /// Names of the kept dimensions, in order.
    public var dimensions: [String]
    /// Their values.
    public var group: [FieldValue?]
    /// The merged states, in the view's aggregate order.
    public var states: [AggregateState]
}

extension CompiledView {
    /// The range a query's `from` and `to` may name: the supported event times (`to` one past).
    public static let queryRange: ClosedRange<Int64> = Timestamp.supportedRange.lowerBound...(Timestamp.supportedRange.upperBound + 1)

    /// Checks a rollup request against this view and against what a query may cost.
    /// - Throws: ``ViewError``: `query_too_large` when the range holds more windows than
    ///   `limits` allow, the codes of ``check(_:)`` otherwise.
    public func check(_ request: RollupRequest, limits: RollupLimits) throws(ViewError) {
        try check(request)
        func ceilDivide(_ a: Int64, _ b: Int64) -> Int64 { a / b + (a % b == 0 ? 0 : 1) }
        let span = request.to - request.from
        switch request.window {
        case .tumbling(let granularity?):
            let windows = ceilDivide(span, granularity)
            guard windows <= limits.maxWindows else {
                throw ViewError(
                    .queryTooLarge,
                    "the range holds \(windows) windows of \(DurationText.format(milliseconds: granularity)), more than the limit of \(limits.maxWindows); narrow the range or coarsen the granularity",
                    field: "granularity")
            }
        case .hopping(let size, let advance):
            let windows = ceilDivide(span, advance)
            guard windows <= limits.maxWindows else {
                throw ViewError(
                    .queryTooLarge,
                    "the range holds \(windows) hopping windows, more than the limit of \(limits.maxWindows); narrow the range or lengthen the advance",
                    field: "window.advance")
            }
            let perBucket = ceilDivide(size, advance)
            guard perBucket <= limits.maxWindowsPerBucket else {
                throw ViewError(
                    .queryTooLarge,
                    "each bucket would fall in \(perBucket) overlapping windows, more than the limit of \(limits.maxWindowsPerBucket); shorten the size or lengthen the advance",
                    field: "window.size")
            }
        case .tumbling(nil), .session:
            break
        }
        // No step may be longer than the supported times span: then bucket ± step never leaves
        // 64 bits, whatever the client wrote.
        let longest = Self.queryRange.upperBound - Self.queryRange.lowerBound
        let steps: [(Int64, String)] =
            switch request.window {
            case .tumbling(let granularity?): [(granularity, "granularity")]
            case .tumbling(nil): []
            case .hopping(let size, let advance): [(size, "window.size"), (advance, "window.advance")]
            case .session(let gap, _): [(gap, "window.gap")]
            }
        for (step, field) in steps where step > longest {
            throw ViewError(
                field == "granularity" ? .invalidGranularity : .invalidWindow, "\(field) must not be longer than 10,000 years",
                field: field)
        }
    }

    /// Checks a rollup request against this view.
    public func check(_ request: RollupRequest) throws(ViewError) {
        guard Self.queryRange.contains(request.from), Self.queryRange.contains(request.to) else {
            throw ViewError(
                .invalidRange,
                "from and to must lie between \(Timestamp.format(Self.queryRange.lowerBound)) and \(Timestamp.format(Self.queryRange.upperBound))",
                field: Self.queryRange.contains(request.from) ? "to" : "from")
        }
        guard request.from < request.to else {
            throw ViewError(.invalidRange, "the range is empty or inverted: from must be before to", field: "from")
        }
        for name in request.groupBy where !definition.dimensions.contains(name) {
            throw ViewError(.unknownField, "group_by names \"\(name)\", which is not a dimension of view \"\(definition.name)\"", field: "group_by")
        }
        if let filter = request.filter { _ = try dimensionFilter(filter) }
        let bucket = definition.bucketMilliseconds
        switch request.window {
        case .tumbling(let granularity):
            if let granularity, granularity <= 0 || granularity % bucket != 0 {
                throw ViewError(
                    .invalidGranularity, "granularity must be a multiple of the view's bucket (\(DurationText.format(milliseconds: bucket)))",
                    field: "granularity")
            }
        case .hopping(let size, let advance):
            guard size > 0, advance > 0, size % bucket == 0, advance % bucket == 0 else {
                throw ViewError(
                    .invalidWindow, "hopping size and advance must be multiples of the view's bucket (\(DurationText.format(milliseconds: bucket)))",
                    field: "window")
            }
        case .session(let gap, let key):
            guard definition.dimensions.contains(key) else {
                throw ViewError(.invalidWindow, "session key \"\(key)\" is not a dimension of the view", field: "window.key")
            }
            guard gap > 0 else { throw ViewError(.invalidWindow, "session gap must be positive", field: "window.gap") }
        }
    }

    func dimensionFilter(_ filter: Filter) throws(ViewError) -> CompiledFilter {
        let fields = definition.dimensions.map { name in (name: name, type: stream.fields[stream.fieldIndex(name)!].type) }
        return try CompiledFilter(filter, fields: fields)
    }

    /// Rolls base-bucket state up into answer rows (see ``WindowShape``), sorted by time, then
    /// group, with no limit. Call ``check(_:)`` first.
    public func rollup(_ state: ViewState, _ request: RollupRequest) -> [RollupRow] {
        do {
            return try rollup(state, request, limits: .unlimited)
        } catch {
            preconditionFailure("a roll-up without limits cannot fail: \(error)")
        }
    }

    /// Rolls base-bucket state up into answer rows (see ``WindowShape``), sorted by time, then
    /// group. Call ``check(_:limits:)`` first.
    /// - Throws: ``ViewError`` `too_many_groups` as soon as the answer passes `limits.maxRows`,
    ///   `query_timeout` once `limits.deadline` has passed (checked every few thousand rows).
    /// - Parameter sorted: `false` leaves the rows unordered, for a caller that orders them itself.
    public func rollup(_ state: ViewState, _ request: RollupRequest, limits: RollupLimits, sorted: Bool = true) throws(ViewError) -> [RollupRow] {
        // `check` compiled this filter already; a failure here would be a bug, not bad input.
        let filter = request.filter.flatMap { try? dimensionFilter($0) }
        var visited = 0
        if let deadline = limits.deadline, ContinuousClock.now >= deadline {
            throw RollupLimits.timedOut
        }
        let kept = request.keptDimensions
        let positions = kept.map { definition.dimensions.firstIndex(of: $0)! }
        var merged: [RollupKey: [AggregateState]] = [:]
        var sessionInput: [GroupKey: [(Int64, [AggregateState])]] = [:]
        for (key, row) in state.rows where key.bucket >= request.from && key.bucket < request.to {
            visited += 1
            if visited & 4095 == 0, let deadline = limits.deadline, ContinuousClock.now >= deadline || Task.isCancelled {
                throw RollupLimits.timedOut
            }
            if let filter, !filter.matches(key.group.values) { continue }
            let group = GroupKey(positions.map { key.group.values[$0] })
            switch request.window {
            case .tumbling(let granularity):
                let time = granularity.map { Self.floor(key.bucket, to: $0) }
                merge(&merged, RollupKey(time: time, group: group), row)
            case .hopping(let size, let advance):
                Self.forEachHoppingStart(of: key.bucket, size: size, advance: advance, from: request.from, to: request.to) { start in
                    merge(&merged, RollupKey(time: start, group: group), row)
                }
            case .session:
                sessionInput[group, default: []].append((key.bucket, row))
            }
            if merged.count > limits.maxRows || sessionInput.count > limits.maxRows { throw limits.tooManyRows }
        }
        var rows: [RollupRow] = []
        if case .session(let gap, _) = request.window {
            let bucket = definition.bucketMilliseconds
            for (group, buckets) in sessionInput {
                // Several base rows can share a bucket (other dimensions merged away): merge first.
                var byBucket: [Int64: [AggregateState]] = [:]
                for (start, row) in buckets {
                    byBucket[start] =
                        byBucket[start].map {
                            var r = $0; r.mergeRow(row); return r
                        } ?? row
                }
                var current: (start: Int64, end: Int64, states: [AggregateState])?
                for start in byBucket.keys.sorted() {
                    let row = byBucket[start]!
                    if var open = current, start - open.end < gap {
                        open.states.mergeRow(row)
                        open.end = start + bucket
                        current = open
                    } else {
                        if let open = current {
                            rows.append(RollupRow(time: open.start, end: open.end, dimensions: kept, group: group.values, states: open.states))
                        }
                        current = (start, start + bucket, row)
                    }
                }
                if let open = current {
                    rows.append(RollupRow(time: open.start, end: open.end, dimensions: kept, group: group.values, states: open.states))
                }
                if rows.count > limits.maxRows { throw limits.tooManyRows }
            }
        } else {
            rows = merged.map { RollupRow(time: $0.key.time, end: nil, dimensions: kept, group: $0.key.group.values, states: $0.value) }
        }
        if sorted { rows.sort(by: Self.rowOrder) }
        return rows
    }

    /// Calls `body` with the start of every hopping window that holds `bucket` and starts in
    /// `[from, to)`: at most size / advance of them, which ``check(_:limits:)`` bounds.
    /// Saturating arithmetic: without that check (tools, tests) a step may be anything, and
    /// nothing here may trap.
    @inline(__always)
    static func forEachHoppingStart(of bucket: Int64, size: Int64, advance: Int64, from: Int64, to: Int64, _ body: (Int64) -> Void) {
        let low = bucket.subtractingReportingOverflow(size)
        let first = saturating(floor(low.overflow ? .min : low.partialValue, to: advance), plus: advance)
        let floorFrom = floor(from, to: advance)
        var start = max(first, floorFrom == from ? floorFrom : saturating(floorFrom, plus: advance))
        while start <= bucket && start < to {
            body(start)
            let next = start.addingReportingOverflow(advance)
            if next.overflow { break }
            start = next.partialValue
        }
    }

    private static func saturating(_ a: Int64, plus b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }

    private func merge(_ merged: inout [RollupKey: [AggregateState]], _ key: RollupKey, _ row: [AggregateState]) {
        if merged[key] == nil { merged[key] = row } else { merged[key]!.mergeRow(row) }
    }

    /// The order of answer rows: by time, then group (absent values first).
    public static func rowOrder(_ a: RollupRow, _ b: RollupRow) -> Bool {
        if a.time != b.time { return (a.time ?? .min) < (b.time ?? .min) }
        for (x, y) in zip(a.group, b.group) where x != y {
            switch (x, y) {
            case (nil, _): return true
            case (_, nil): return false
            case (let x?, let y?): return FieldValueOrder.compare(x, y) == .less
            }
        }
        return false
    }
}

struct RollupKey: Hashable {
    var time: Int64?
    var group: GroupKey
}
