import Events

/// A view version held in memory in columnar form, for the serving layer: rows ordered by bucket,
/// each dimension dictionary-encoded with a posting list per value (the rows that hold it), and
/// each aggregate's states in one flat array. A filter on a dimension value reads only that
/// value's rows; a time range is two binary searches.
///
/// Immutable once built, so any number of queries read it at once; a query that pinned a version
/// holds its columns until it ends, whatever is published meanwhile.
public final class ColumnarState: Sendable {
    /// Rows held.
    public let rowCount: Int
    /// Each row's bucket start, ascending.
    let buckets: [Int64]
    /// Per dimension: the distinct values, by code.
    let dictionaries: [[FieldValue?]]
    /// Per dimension: each row's value code.
    let codes: [[UInt32]]
    /// Per dimension and code: the rows holding that value, ascending (so also by bucket).
    let postings: [[[Int32]]]
    /// Per dimension: the code of each value.
    let lookups: [[FieldValue?: UInt32]]
    /// Per aggregate: each row's state, as plain values where the aggregate allows.
    let states: [any StateColumn]
    /// An estimate of the memory held, in bytes.
    public let estimatedBytes: Int

    /// Builds the columns of `state`, rows of `view`.
    public convenience init(_ state: ViewState, view: CompiledView) {
        self.init(EncodedState(state, view: view), view: view)
    }

    /// Builds the columns of an encoded state, rows of `view`: its dictionaries are kept as they
    /// are, and its rows ordered by bucket and, within a bucket, by the first dimension's code, so
    /// that a roll-up over a range meets its groups in a steady order rather than at random.
    public init(_ state: EncodedState, view: CompiledView) {
        let dimensions = state.dimensionCount, stride = state.stride
        let order = (0..<state.count).sorted { a, b in
            let x = state.buckets[a], y = state.buckets[b]
            if x != y { return x < y }
            return dimensions > 0 && state.codes[a * dimensions] < state.codes[b * dimensions]
        }
        rowCount = order.count
        buckets = order.map { state.buckets[$0] }
        dictionaries = state.dictionaries
        lookups = state.lookups
        var bytes = order.count * 8
        var codes: [[UInt32]] = []
        var postings: [[[Int32]]] = []
        for dimension in 0..<dimensions {
            let column = order.map { state.codes[$0 * dimensions + dimension] }
            var lists = [[Int32]](repeating: [], count: state.dictionaries[dimension].count)
            for (row, code) in column.enumerated() { lists[Int(code)].append(Int32(row)) }
            codes.append(column)
            postings.append(lists)
            bytes += order.count * 8
            for value in state.dictionaries[dimension] { bytes += Self.bytes(of: value) + 64 }
        }
        self.codes = codes
        self.postings = postings
        var states = view.emptyRow.map(StateColumns.make)
        for index in states.indices {
            if index < stride {
                for row in order { states[index].append(state.states[row * stride + index]) }
            } else {
                // The late count, kept apart in the encoded state.
                states[index] = StateColumns.counts(order.map { state.lateCount(at: $0) })
            }
            bytes += states[index].bytes
        }
        self.states = states
        estimatedBytes = bytes
    }

    private static func bytes(of value: FieldValue?) -> Int {
        if case .string(let text)? = value { return text.utf8.count }
        return 0
    }

    /// The first row whose bucket is at or after `time`.
    func firstRow(atOrAfter time: Int64) -> Int { buckets.lowerBound(of: time) }

    /// The rows whose bucket starts in `[from, to)` as a `ViewState` (for window shapes the
    /// columnar roll-up does not serve).
    public func state(from: Int64, to: Int64) -> ViewState {
        var result = ViewState()
        let dimensions = dictionaries.count
        for row in firstRow(atOrAfter: from)..<firstRow(atOrAfter: to) {
            let group = GroupKey((0..<dimensions).map { dictionaries[$0][Int(codes[$0][row])] })
            result.rows[StateKey(bucket: buckets[row], group: group)] = states.map { $0.state(at: row) }
        }
        return result
    }
}

extension AggregateState {
    /// An estimate of the heap memory a state holds beyond its own size (sketches), in bytes.
    var heapBytes: Int {
        switch self {
        case .distinct(let sketch): sketch.heapBytes
        case .quantile(let sketch): sketch.heapBytes
        default: 0
        }
    }
}
