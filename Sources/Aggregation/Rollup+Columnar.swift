import Events

extension CompiledView {
    /// Whether ``rollup(_:_:limits:)-(ColumnarState,_,_)`` serves a window shape: tumbling and
    /// hopping windows, whose rows from the batch and speed layers merge window by window.
    /// Sessions span both layers' buckets, so they roll up the merged state instead.
    public static func columnarServes(_ window: WindowShape) -> Bool {
        if case .session = window { return false }
        return true
    }

    /// Rolls a published version's columns up into answer rows: the same rows as rolling up
    /// `columns.state(from:to:)`, without building it. A filter on dimension values reads only
    /// the posting lists of the values it allows; other rows in the range are never touched.
    /// - Parameter sorted: `false` leaves the rows unordered, for a caller that orders them itself.
    /// - Throws: ``ViewError`` `too_many_groups` past `limits.maxRows`, `query_timeout` past
    ///   `limits.deadline`.
    public func rollup(_ columns: ColumnarState, _ request: RollupRequest, limits: RollupLimits, sorted: Bool = true) throws(ViewError) -> [RollupRow]
    {
        precondition(Self.columnarServes(request.window), "sessions roll up a merged state")
        let kept = request.keptDimensions
        let positions = kept.map { definition.dimensions.firstIndex(of: $0)! }
        // One integer per kept group: mixed radix over the dictionaries' sizes. A product that
        // does not fit (many dimensions of huge cardinality) takes the general path.
        var radix: [UInt64] = []
        var capacity: UInt64 = 1
        for position in positions {
            radix.append(capacity)
            let (product, overflow) = capacity.multipliedReportingOverflow(by: UInt64(max(columns.dictionaries[position].count, 1)))
            if overflow { return try rollup(columns.state(from: request.from, to: request.to), request, limits: limits, sorted: sorted) }
            capacity = product
        }
        let filter = try request.filter.map { (filter) throws(ViewError) in try CodeFilter(try dimensionFilter(filter), columns: columns) }
        let low = columns.firstRow(atOrAfter: request.from)
        let high = columns.firstRow(atOrAfter: request.to)
        if let deadline = limits.deadline, ContinuousClock.now >= deadline {
            throw RollupLimits.timedOut
        }
        let narrowed = filter?.candidates(in: low..<high, columns: columns)
        var accumulator = ColumnarAccumulator(
            columns: columns, request: request, positions: positions, radix: radix, capacity: capacity, filter: filter, limits: limits,
            expectedRows: narrowed?.count ?? (high - low))
        if let narrowed { try accumulator.visit(narrowed) } else { try accumulator.visit(low..<high) }
        var rows: [RollupRow] = []
        rows.reserveCapacity(accumulator.keys.count)
        let aggregates = columns.states.count
        for (slot, key) in accumulator.keys.enumerated() {
            var rest = key.group
            var group: [FieldValue?] = []
            group.reserveCapacity(positions.count)
            for position in positions {
                let size = UInt64(max(columns.dictionaries[position].count, 1))
                group.append(columns.dictionaries[position][Int(rest % size)])
                rest /= size
            }
            let states = Array(accumulator.states[(slot * aggregates)..<((slot + 1) * aggregates)])
            rows.append(RollupRow(time: key.time, end: nil, dimensions: kept, group: group, states: states))
        }
        if sorted { rows.sort(by: Self.rowOrder) }
        return rows
    }

    /// Merges two roll-ups of the same request over disjoint states (a published version and the
    /// speed layer after its cut) window by window and group by group: rolling up is a
    /// homomorphism of the state monoid, so this equals rolling up the merged state.
    /// - Throws: ``ViewError`` `too_many_groups` when the merged rows pass `limits.maxRows`.
    public static func merge(_ first: [RollupRow], _ second: [RollupRow], limits: RollupLimits, sorted: Bool = true) throws(ViewError) -> [RollupRow]
    {
        guard !first.isEmpty else { return second }
        guard !second.isEmpty else { return first }
        var slots: [RollupKey: Int] = [:]
        var rows = first
        for (index, row) in first.enumerated() { slots[RollupKey(time: row.time, group: GroupKey(row.group))] = index }
        for row in second {
            if let slot = slots[RollupKey(time: row.time, group: GroupKey(row.group))] {
                rows[slot].states.mergeRow(row.states)
            } else {
                rows.append(row)
            }
        }
        guard rows.count <= limits.maxRows else {
            throw limits.tooManyRows
        }
        if sorted { rows.sort(by: rowOrder) }
        return rows
    }
}

/// The merged states of the columnar roll-up, one slot per (window, group), states flat in slot
/// order. When the windows times the groups are few (a top-N over a range, say), slots are found
/// in a dense table; otherwise in a dictionary.
struct ColumnarAccumulator {
    let columns: ColumnarState
    let request: RollupRequest
    let positions: [Int]
    let radix: [UInt64]
    let filter: CodeFilter?
    let limits: RollupLimits
    let aggregates: Int
    /// Tumbling windows in the range, when the dense table is used.
    let windowStart: Int64
    let windowStep: Int64
    let groups: Int
    var dense: [Int32]
    var slots: [ColumnarKey: Int32] = [:]
    var keys: [ColumnarKey] = []
    var states: [AggregateState] = []
    var visited = 0

    init(
        columns: ColumnarState, request: RollupRequest, positions: [Int], radix: [UInt64], capacity: UInt64, filter: CodeFilter?,
        limits: RollupLimits, expectedRows: Int
    ) {
        self.columns = columns
        self.request = request
        self.positions = positions
        self.radix = radix
        self.filter = filter
        self.limits = limits
        aggregates = columns.states.count
        var windows: Int64 = 0
        var start: Int64 = 0, step: Int64 = 1
        if case .tumbling(let granularity) = request.window {
            if let granularity {
                start = CompiledView.floor(request.from, to: granularity)
                step = granularity
                let (span, overflow) = request.to.subtractingReportingOverflow(start)
                windows = overflow ? .max : span / granularity + 1
            } else {
                windows = 1
            }
        }
        windowStart = start
        windowStep = step
        groups = Int(clamping: capacity)
        // Dense only when the table is small next to the rows it serves.
        let (cells, overflow) = windows.multipliedReportingOverflow(by: Int64(clamping: capacity))
        if windows > 0, !overflow, cells <= max(65_536, 4 * Int64(expectedRows)), cells <= 16_777_216 {
            dense = [Int32](repeating: -1, count: Int(cells))
        } else {
            dense = []
            slots.reserveCapacity(min(expectedRows, 1 << 20))
        }
    }

    mutating func visit(_ rows: some Sequence<Int>) throws(ViewError) {
        var starts: [Int64] = []  // a hopping window's starts for one row, reused
        for row in rows {
            visited += 1
            if visited & 4095 == 0, let deadline = limits.deadline, ContinuousClock.now >= deadline || Task.isCancelled {
                throw RollupLimits.timedOut
            }
            if let filter, !filter.matches(row) { continue }
            var group: UInt64 = 0
            for (index, position) in positions.enumerated() { group &+= UInt64(columns.codes[position][row]) &* radix[index] }
            let bucket = columns.buckets[row]
            switch request.window {
            case .tumbling(let granularity):
                let time = granularity.map { CompiledView.floor(bucket, to: $0) }
                if dense.isEmpty {
                    add(row, to: ColumnarKey(time: time, group: group))
                } else {
                    let window = time.map { Int(($0 - windowStart) / windowStep) } ?? 0
                    let cell = window * groups + Int(group)
                    if dense[cell] < 0 {
                        dense[cell] = Int32(keys.count)
                        open(row, ColumnarKey(time: time, group: group))
                    } else {
                        merge(row, into: Int(dense[cell]))
                    }
                }
            case .hopping(let size, let advance):
                starts.removeAll(keepingCapacity: true)
                CompiledView.forEachHoppingStart(of: bucket, size: size, advance: advance, from: request.from, to: request.to) { starts.append($0) }
                for start in starts { add(row, to: ColumnarKey(time: start, group: group)) }
            case .session:
                break
            }
            if keys.count > limits.maxRows { throw limits.tooManyRows }
        }
    }

    /// Merges `row` into the slot of `key` (the dictionary path), opening it if needed.
    private mutating func add(_ row: Int, to key: ColumnarKey) {
        if let slot = slots[key] {
            merge(row, into: Int(slot))
        } else {
            slots[key] = Int32(keys.count)
            open(row, key)
        }
    }

    /// Opens a new slot for `key` holding `row`'s states.
    @inline(__always)
    private mutating func open(_ row: Int, _ key: ColumnarKey) {
        keys.append(key)
        for index in 0..<aggregates { states.append(columns.states[index][row]) }
    }

    /// Merges `row`'s states into `slot`.
    @inline(__always)
    private mutating func merge(_ row: Int, into slot: Int) {
        let base = slot * aggregates
        for index in 0..<aggregates { states[base + index].merge(columns.states[index][row]) }
    }
}

/// A roll-up slot of the columnar path: a window start (none for `granularity: all`) and a group
/// number.
struct ColumnarKey: Hashable {
    var time: Int64?
    var group: UInt64
}

/// A dimension filter over dictionary codes: each comparison is decided once per distinct value,
/// so a row is checked with array lookups, never by comparing values.
struct CodeFilter {
    indirect enum Node {
        case leaf(dimension: Int, allowed: [Bool])
        case and([Node])
        case or([Node])
        case not(Node)
    }

    let root: Node
    let codes: [[UInt32]]

    init(_ filter: CompiledFilter, columns: ColumnarState) throws(ViewError) {
        let dimensions = columns.dictionaries.count
        func compile(_ node: CompiledFilter.Node) -> Node {
            switch node {
            case .and(let all): return .and(all.map(compile))
            case .or(let any): return .or(any.map(compile))
            case .not(let inner): return .not(compile(inner))
            case .compare(let index, let op, let literals) where op == .equal || op == .in:
                // Look the values up rather than test every value of the dictionary.
                var allowed = [Bool](repeating: false, count: columns.dictionaries[index].count)
                for literal in literals { if let code = columns.lookups[index][literal] { allowed[Int(code)] = true } }
                return .leaf(dimension: index, allowed: allowed)
            case .compare(let index, _, _):
                var values = [FieldValue?](repeating: nil, count: dimensions)
                let allowed = columns.dictionaries[index].map { value in
                    values[index] = value
                    return CompiledFilter.evaluate(node, values)
                }
                return .leaf(dimension: index, allowed: allowed)
            }
        }
        root = compile(filter.root)
        codes = columns.codes
    }

    @inline(__always)
    func matches(_ row: Int) -> Bool { Self.evaluate(root, row, codes) }

    private static func evaluate(_ node: Node, _ row: Int, _ codes: [[UInt32]]) -> Bool {
        switch node {
        case .leaf(let dimension, let allowed): allowed[Int(codes[dimension][row])]
        case .and(let all): all.allSatisfy { evaluate($0, row, codes) }
        case .or(let any): any.contains { evaluate($0, row, codes) }
        case .not(let inner): !evaluate(inner, row, codes)
        }
    }

    /// The rows in `range` that can pass, from the posting lists of the most selective comparison
    /// every passing row must satisfy (the filter itself, or one of its top-level `and` terms);
    /// `nil` when no such comparison narrows the range.
    func candidates(in range: Range<Int>, columns: ColumnarState) -> [Int]? {
        let required: [Node]
        switch root {
        case .leaf: required = [root]
        case .and(let all): required = all
        default: return nil
        }
        var best: (rows: Int, lists: [ArraySlice<Int32>])?
        for case .leaf(let dimension, let allowed) in required {
            var lists: [ArraySlice<Int32>] = []
            var rows = 0
            for (code, passes) in allowed.enumerated() where passes {
                let list = columns.postings[dimension][code]
                let slice = list[list.lowerBound(of: Int32(range.lowerBound))..<list.lowerBound(of: Int32(range.upperBound))]
                if !slice.isEmpty {
                    lists.append(slice)
                    rows += slice.count
                }
            }
            if rows < best?.rows ?? range.count { best = (rows, lists) }
        }
        guard let best else { return nil }
        if best.lists.count == 1 { return best.lists[0].map { Int($0) } }
        return best.lists.flatMap { $0.map { Int($0) } }.sorted()
    }
}
