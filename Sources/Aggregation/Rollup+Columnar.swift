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
        var accumulator = try RollupAccumulator(self, request, limits: limits)
        try accumulator.add(columns)
        return accumulator.rows(sorted: sorted)
    }
}

/// Rows in dictionary-encoded form that a ``RollupAccumulator`` reads: a published version's
/// ``ColumnarState`` or a speed segment's ``EncodedState``.
protocol EncodedRows {
    var dictionaries: [[FieldValue?]] { get }
    var lookups: [[FieldValue?: UInt32]] { get }
    func bucket(_ row: Int) -> Int64
    func code(_ row: Int, _ dimension: Int) -> UInt32
    /// Takes `chunk` (rows of this source) into the columns, one per aggregate.
    func absorb(_ chunk: StateChunk, into columns: inout [any StateColumn])
}

extension ColumnarState: EncodedRows {
    @inline(__always) func bucket(_ row: Int) -> Int64 { buckets[row] }
    @inline(__always) func code(_ row: Int, _ dimension: Int) -> UInt32 { codes[dimension][row] }
    func absorb(_ chunk: StateChunk, into columns: inout [any StateColumn]) {
        for aggregate in columns.indices { columns[aggregate].absorb(chunk, from: states[aggregate]) }
    }
}

extension EncodedState: EncodedRows {
    @inline(__always) func bucket(_ row: Int) -> Int64 { buckets[row] }
    @inline(__always) func code(_ row: Int, _ dimension: Int) -> UInt32 { codes[row * dimensionCount + dimension] }
    func absorb(_ chunk: StateChunk, into columns: inout [any StateColumn]) {
        for aggregate in columns.indices {
            if aggregate < stride {
                columns[aggregate].absorb(chunk, from: states, stride: stride, offset: aggregate)
            } else {
                // The late count, kept apart.
                columns[aggregate].absorb(chunk, counts: lateCounts)
            }
        }
    }
}

/// Rolls encoded rows up into the answer rows of one tumbling or hopping request: a published
/// version's columns and any number of speed segments, each with dictionaries of its own, merge
/// into the same slots, one per (window, kept group). Rolling up is a homomorphism of the state
/// monoid, so this equals rolling up the merged state.
///
/// Each source's codes are translated to the query's own codes once per distinct value (the
/// first time a row uses it); the first source's dictionaries are taken as they are. A row then
/// costs a few array reads to find its slot. When the windows are few (a top-N over a range, a
/// series of one group), slots are found in a dense table by (group, window); otherwise in a
/// dictionary. States are merged a chunk of rows at a time, one aggregate at a time, in columns
/// of plain values (``StateColumn``).
public struct RollupAccumulator: Sendable {
    private let view: CompiledView
    private let request: RollupRequest
    private let limits: RollupLimits
    private let filter: CompiledFilter?
    private let kept: [String]
    /// The kept dimensions' positions in the view.
    private let positions: [Int]
    /// Per kept dimension: the query's values by code, and their codes.
    private var values: [[FieldValue?]]
    private var lookups: [[FieldValue?: UInt32]]
    /// With two or more kept dimensions: the group of each tuple of query codes, and each
    /// group's tuple (flat, `group * positions.count + index`).
    private var tuples: [EncodedKey: UInt32] = [:]
    private var tupleCodes: [UInt32] = []
    /// The dense table: windows of a tumbling request (0 when it is not used), where they start,
    /// and a slot (or -1) per `group * windows + window`.
    private var windows: Int
    private let windowStart: Int64
    private let windowStep: Int64
    private var dense: [Int32] = []
    private var denseGroups = 0
    private var sparse: [ColumnarKey: Int32] = [:]
    /// Per slot: its window's start and its group; per aggregate, the slots' states.
    private var slotTimes: [Int64?] = []
    private var slotGroups: [UInt32] = []
    private var columns: [any StateColumn]
    /// The rows of the current source not yet taken into `columns`.
    private var pending = StateChunk()
    private var visited = 0

    /// Pairs merged at a time.
    private static let chunk = 4096

    /// The most cells the dense table may hold.
    private static let maxDenseCells = 1 << 22

    /// Starts a roll-up. Call ``CompiledView/check(_:limits:)`` first.
    /// - Throws: ``ViewError`` `query_timeout` when `limits.deadline` has already passed.
    public init(_ view: CompiledView, _ request: RollupRequest, limits: RollupLimits) throws(ViewError) {
        precondition(CompiledView.columnarServes(request.window), "sessions roll up a merged state")
        if let deadline = limits.deadline, ContinuousClock.now >= deadline { throw RollupLimits.timedOut }
        self.view = view
        self.request = request
        self.limits = limits
        // `check` compiled this filter already; a failure here would be a bug, not bad input.
        filter = request.filter.flatMap { try? view.dimensionFilter($0) }
        kept = request.keptDimensions
        positions = kept.map { view.definition.dimensions.firstIndex(of: $0)! }
        columns = view.emptyRow.map(StateColumns.make)
        values = Array(repeating: [], count: positions.count)
        lookups = Array(repeating: [:], count: positions.count)
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
        self.windows = windows <= 4096 ? Int(windows) : 0
        windowStart = start
        windowStep = step
    }

    /// Adds a published version's rows in the request's range.
    /// - Throws: ``ViewError`` `too_many_groups` past `limits.maxRows`, `query_timeout` past
    ///   `limits.deadline`.
    public mutating func add(_ columns: ColumnarState) throws(ViewError) {
        let low = columns.firstRow(atOrAfter: request.from)
        let high = columns.firstRow(atOrAfter: request.to)
        // Nothing in range: its dictionaries are not worth taking (a later source's would be).
        guard high > low else { return }
        let codeFilter = filter.map { CodeFilter($0, dictionaries: columns.dictionaries, lookups: columns.lookups) }
        // Rows are ordered by bucket, so each posting list is cut to the range by binary search.
        let narrowed = codeFilter?.candidates(count: high - low) { dimension, code in
            let list = columns.postings[dimension][code]
            return list[list.lowerBound(of: Int32(low))..<list.lowerBound(of: Int32(high))]
        }
        if let narrowed { try visit(columns, narrowed, codeFilter) } else { try visit(columns, low..<high, codeFilter, expected: high - low) }
    }

    /// Adds a speed segment's rows in the request's range.
    /// - Throws: ``ViewError`` `too_many_groups` past `limits.maxRows`, `query_timeout` past
    ///   `limits.deadline`.
    public mutating func add(_ state: EncodedState) throws(ViewError) {
        guard state.count > 0 else { return }
        let codeFilter = filter.map { CodeFilter($0, dictionaries: state.dictionaries, lookups: state.lookups) }
        let narrowed =
            state.indexed ? codeFilter?.candidates(count: state.count) { dimension, code in state.postings[dimension][code][...] } : nil
        if let narrowed { try visit(state, narrowed, codeFilter) } else { try visit(state, 0..<state.count, codeFilter) }
    }

    /// - Parameter expected: the rows to visit, when known: the dense table is then sized for
    ///   the whole dictionary at once if that costs no more than the rows do.
    private mutating func visit<Source: EncodedRows>(_ source: Source, _ rows: some Sequence<Int>, _ filter: CodeFilter?, expected: Int = 0)
        throws(ViewError)
    {
        // Per kept dimension: the source's code → the query's (-1 until first used). The first
        // source's codes are the query's: its dictionaries are taken whole.
        var translation: [[Int32]] = []
        let identity = slotGroups.isEmpty && values.allSatisfy(\.isEmpty)
        if identity {
            values = positions.map { source.dictionaries[$0] }
            lookups = positions.map { source.lookups[$0] }
            let cells = (values.first?.count ?? 1) * windows
            if positions.count <= 1, windows > 0, cells <= min(max(65_536, expected), Self.maxDenseCells) {
                dense = [Int32](repeating: -1, count: cells)
                denseGroups = values.first?.count ?? 1
            }
        } else {
            translation = positions.map { [Int32](repeating: -1, count: source.dictionaries[$0].count) }
        }
        defer { flush(source) }
        var starts: [Int64] = []  // a hopping window's starts for one row, reused
        for row in rows {
            visited += 1
            if visited & 4095 == 0, let deadline = limits.deadline, ContinuousClock.now >= deadline || Task.isCancelled {
                throw RollupLimits.timedOut
            }
            if pending.count >= Self.chunk { flush(source) }
            let bucket = source.bucket(row)
            guard bucket >= request.from && bucket < request.to else { continue }
            if let filter, !filter.matches(row, source) { continue }
            let group: UInt32
            switch positions.count {
            case 0: group = 0
            case 1: group = identity ? source.code(row, positions[0]) : translate(source, row, 0, &translation)
            default:
                var key = EncodedKey(bucket: 0)
                for index in positions.indices {
                    key.set(index, identity ? source.code(row, positions[index]) : translate(source, row, index, &translation))
                }
                group = tuple(key)
            }
            switch request.window {
            case .tumbling(let granularity):
                let time = granularity.map { CompiledView.floor(bucket, to: $0) }
                place(row, time: time, group: group)
            case .hopping(let size, let advance):
                starts.removeAll(keepingCapacity: true)
                CompiledView.forEachHoppingStart(of: bucket, size: size, advance: advance, from: request.from, to: request.to) { starts.append($0) }
                for start in starts { place(row, to: ColumnarKey(time: start, group: UInt64(group))) }
            case .session:
                break
            }
            if slotGroups.count > limits.maxRows { throw limits.tooManyRows }
        }
    }

    /// The query's code of the value `row` holds in kept dimension `index`.
    @inline(__always)
    private mutating func translate<Source: EncodedRows>(_ source: Source, _ row: Int, _ index: Int, _ translation: inout [[Int32]]) -> UInt32 {
        let code = Int(source.code(row, positions[index]))
        let known = translation[index][code]
        if known >= 0 { return UInt32(known) }
        let mapped = intern(source.dictionaries[positions[index]][code], index)
        translation[index][code] = Int32(mapped)
        return mapped
    }

    /// The query's code of `value` in kept dimension `index`, given one when new.
    private mutating func intern(_ value: FieldValue?, _ index: Int) -> UInt32 {
        if let existing = lookups[index][value] { return existing }
        let code = UInt32(values[index].count)
        values[index].append(value)
        lookups[index][value] = code
        return code
    }

    /// The group of a tuple of query codes.
    private mutating func tuple(_ key: EncodedKey) -> UInt32 {
        if let group = tuples[key] { return group }
        let group = UInt32(tuples.count)
        tuples[key] = group
        for index in positions.indices { tupleCodes.append(key.code(index)) }
        return group
    }

    /// Queues `row` (of the current source) for the slot of a tumbling window starting at `time`
    /// and `group`: found in the dense table when it is used, else in the dictionary.
    @inline(__always)
    private mutating func place(_ row: Int, time: Int64?, group: UInt32) {
        guard windows > 0 else {
            place(row, to: ColumnarKey(time: time, group: UInt64(group)))
            return
        }
        let window = time.map { Int(($0 - windowStart) / windowStep) } ?? 0
        if Int(group) >= denseGroups {
            let needed = Int(group) + 1
            guard needed * windows <= Self.maxDenseCells else {
                spill()
                place(row, to: ColumnarKey(time: time, group: UInt64(group)))
                return
            }
            dense.append(contentsOf: repeatElement(-1, count: (needed - denseGroups) * windows))
            denseGroups = needed
        }
        let cell = Int(group) * windows + window
        if dense[cell] < 0 {
            dense[cell] = Int32(slotGroups.count)
            open(row, time: time, group: group)
        } else {
            pending.rows.append(Int32(row))
            pending.slots.append(dense[cell])
        }
    }

    /// Moves the dense table's slots to the dictionary, for good (too many groups for it).
    private mutating func spill() {
        for slot in slotGroups.indices { sparse[ColumnarKey(time: slotTimes[slot], group: UInt64(slotGroups[slot]))] = Int32(slot) }
        dense = []
        denseGroups = 0
        windows = 0
    }

    /// Queues `row` for the slot of `key` (the dictionary path), opening it if needed.
    private mutating func place(_ row: Int, to key: ColumnarKey) {
        if let slot = sparse[key] {
            pending.rows.append(Int32(row))
            pending.slots.append(slot)
        } else {
            sparse[key] = Int32(slotGroups.count)
            open(row, time: key.time, group: UInt32(key.group))
        }
    }

    /// Opens a slot holding `row`'s states (a copy: no empty state to allocate and merge into).
    private mutating func open(_ row: Int, time: Int64?, group: UInt32) {
        slotTimes.append(time)
        slotGroups.append(group)
        pending.opening.append(Int32(row))
    }

    /// Opens the pending slots, then merges the pending rows' states into theirs.
    private mutating func flush<Source: EncodedRows>(_ source: Source) {
        guard !pending.isEmpty else { return }
        source.absorb(pending, into: &columns)
        pending.removeAll()
    }

    /// Merges another roll-up of the same request (of other sources: speed partitions rolled up
    /// in parallel) into this one: its groups are translated once each, its slots merged into
    /// the matching ones or opened.
    /// - Throws: ``ViewError`` `too_many_groups` when the merged rows pass `limits.maxRows`.
    public mutating func merge(_ other: RollupAccumulator) throws(ViewError) {
        guard !other.slotGroups.isEmpty else { return }
        guard !slotGroups.isEmpty || !values.allSatisfy(\.isEmpty) else {
            self = other
            return
        }
        var translation = other.values.map { [Int32](repeating: -1, count: $0.count) }
        func translated(_ code: UInt32, _ index: Int) -> UInt32 {
            if translation[index][Int(code)] < 0 { translation[index][Int(code)] = Int32(intern(other.values[index][Int(code)], index)) }
            return UInt32(translation[index][Int(code)])
        }
        let width = positions.count
        for slot in other.slotGroups.indices {
            let theirs = Int(other.slotGroups[slot])
            let group: UInt32
            switch width {
            case 0: group = 0
            case 1: group = translated(UInt32(theirs), 0)
            default:
                var key = EncodedKey(bucket: 0)
                for index in 0..<width { key.set(index, translated(other.tupleCodes[theirs * width + index], index)) }
                group = tuple(key)
            }
            // A slot's time is its window's start, so it names the same window here.
            place(slot, time: other.slotTimes[slot], group: group)
        }
        for index in columns.indices { columns[index].absorb(pending, from: other.columns[index]) }
        pending.removeAll()
        if slotGroups.count > limits.maxRows { throw limits.tooManyRows }
    }

    /// The number of answer rows.
    public var count: Int { slotGroups.count }

    /// The value answer row `slot` holds for kept dimension `index`.
    @inline(__always)
    private func value(_ slot: Int, _ index: Int) -> FieldValue? {
        let group = Int(slotGroups[slot])
        return positions.count == 1 ? values[0][group] : values[index][Int(tupleCodes[group * positions.count + index])]
    }

    /// Answer row `slot`.
    public func row(_ slot: Int) -> RollupRow {
        RollupRow(
            time: slotTimes[slot], end: nil, dimensions: kept, group: positions.indices.map { value(slot, $0) },
            states: columns.map { $0.state(at: slot) })
    }

    /// Each answer row's sort key for aggregate `position` (``AggregateValue/sortKey``).
    public func sortKeys(aggregate position: Int) -> [Double?] {
        let spec = view.definition.aggregates[position].spec, fieldType = view.aggregateFieldTypes[position]
        return columns[position].sortKeys(spec, fieldType: fieldType)
    }

    /// Whether answer row `a` comes before `b` in ``CompiledView/rowOrder(_:_:)``'s order, without
    /// building either.
    public func precedes(_ a: Int, _ b: Int) -> Bool {
        if slotTimes[a] != slotTimes[b] { return (slotTimes[a] ?? .min) < (slotTimes[b] ?? .min) }
        for index in positions.indices {
            let x = value(a, index), y = value(b, index)
            guard x != y else { continue }
            switch (x, y) {
            case (nil, _): return true
            case (_, nil): return false
            case (let x?, let y?): return FieldValueOrder.compare(x, y) == .less
            }
        }
        return false
    }

    /// The answer rows.
    /// - Parameter sorted: `false` leaves them unordered, for a caller that orders them itself.
    public func rows(sorted: Bool = true) -> [RollupRow] {
        var rows = slotGroups.indices.map(row)
        if sorted { rows.sort(by: CompiledView.rowOrder) }
        return rows
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
        /// `allowed` per code; `listed`, the allowed codes when an `=` or `in` named them (so
        /// that finding them does not scan the dictionary).
        case leaf(dimension: Int, allowed: [Bool], listed: [Int]?)
        case and([Node])
        case or([Node])
        case not(Node)
    }

    let root: Node

    init(_ filter: CompiledFilter, dictionaries: [[FieldValue?]], lookups: [[FieldValue?: UInt32]]) {
        let dimensions = dictionaries.count
        func compile(_ node: CompiledFilter.Node) -> Node {
            switch node {
            case .and(let all): return .and(all.map(compile))
            case .or(let any): return .or(any.map(compile))
            case .not(let inner): return .not(compile(inner))
            case .compare(let index, let op, let literals) where op == .equal || op == .in:
                // Look the values up rather than test every value of the dictionary.
                var allowed = [Bool](repeating: false, count: dictionaries[index].count)
                var listed: [Int] = []
                for literal in literals {
                    // A value listed twice is allowed once.
                    if let code = lookups[index][literal].map(Int.init), !allowed[code] {
                        allowed[code] = true
                        listed.append(code)
                    }
                }
                return .leaf(dimension: index, allowed: allowed, listed: listed)
            case .compare(let index, _, _):
                var values = [FieldValue?](repeating: nil, count: dimensions)
                let allowed = dictionaries[index].map { value in
                    values[index] = value
                    return CompiledFilter.evaluate(node, values)
                }
                return .leaf(dimension: index, allowed: allowed, listed: nil)
            }
        }
        root = compile(filter.root)
    }

    @inline(__always)
    func matches<Source: EncodedRows>(_ row: Int, _ source: Source) -> Bool { Self.evaluate(root, row, source) }

    private static func evaluate<Source: EncodedRows>(_ node: Node, _ row: Int, _ source: Source) -> Bool {
        switch node {
        case .leaf(let dimension, let allowed, _): allowed[Int(source.code(row, dimension))]
        case .and(let all): all.allSatisfy { evaluate($0, row, source) }
        case .or(let any): any.contains { evaluate($0, row, source) }
        case .not(let inner): !evaluate(inner, row, source)
        }
    }

    /// The rows that can pass, from the posting lists of the most selective comparison every
    /// passing row must satisfy (the filter itself, or one of its top-level `and` terms); `nil`
    /// when no such comparison reads fewer than the `count` rows there are.
    /// - Parameter postings: the rows of a (dimension, code), cut to the range when it can be.
    func candidates(count: Int, postings: (Int, Int) -> ArraySlice<Int32>) -> [Int]? {
        let required: [Node]
        switch root {
        case .leaf: required = [root]
        case .and(let all): required = all
        default: return nil
        }
        var best: (rows: Int, lists: [ArraySlice<Int32>])?
        for case .leaf(let dimension, let allowed, let listed) in required {
            var lists: [ArraySlice<Int32>] = []
            var rows = 0
            for code in listed ?? allowed.indices.filter({ allowed[$0] }) {
                let list = postings(dimension, code)
                if !list.isEmpty {
                    lists.append(list)
                    rows += list.count
                }
            }
            if rows < best?.rows ?? count { best = (rows, lists) }
        }
        guard let best else { return nil }
        // A row holds one value per dimension, so the lists are disjoint.
        var rows: [Int] = []
        rows.reserveCapacity(best.rows)
        for list in best.lists { for row in list { rows.append(Int(row)) } }
        return rows
    }
}
