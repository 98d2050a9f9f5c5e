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
    public init(_ state: ViewState, view: CompiledView) {
        let dimensions = view.definition.dimensions.count
        let unordered = Array(state.rows)
        // Dictionaries first, in the rows' hash order; then the rows are ordered by bucket and,
        // within a bucket, by the first dimension's code, so that a roll-up over a range meets
        // its groups in a steady order rather than at random.
        var dictionaries: [[FieldValue?]] = []
        var lookups: [[FieldValue?: UInt32]] = []
        var unorderedCodes: [[UInt32]] = []
        var bytes = unordered.count * 8
        for dimension in 0..<dimensions {
            var lookup: [FieldValue?: UInt32] = [:]
            var dictionary: [FieldValue?] = []
            var column: [UInt32] = []
            column.reserveCapacity(unordered.count)
            for entry in unordered {
                let value = entry.key.group.values[dimension]
                if let known = lookup[value] {
                    column.append(known)
                } else {
                    let code = UInt32(dictionary.count)
                    lookup[value] = code
                    dictionary.append(value)
                    column.append(code)
                    bytes += Self.bytes(of: value) + 64
                }
            }
            dictionaries.append(dictionary)
            lookups.append(lookup)
            unorderedCodes.append(column)
            bytes += unordered.count * 8
        }
        let order = unordered.indices.sorted { a, b in
            let x = unordered[a].key.bucket, y = unordered[b].key.bucket
            if x != y { return x < y }
            return dimensions > 0 && unorderedCodes[0][a] < unorderedCodes[0][b]
        }
        let entries = order.map { unordered[$0] }
        rowCount = entries.count
        buckets = entries.map(\.key.bucket)
        let codes = unorderedCodes.map { column in order.map { column[$0] } }
        var postings: [[[Int32]]] = []
        for dimension in 0..<dimensions {
            var lists = [[Int32]](repeating: [], count: dictionaries[dimension].count)
            for (row, code) in codes[dimension].enumerated() { lists[Int(code)].append(Int32(row)) }
            postings.append(lists)
        }
        var states = view.emptyRow.map(StateColumns.make)
        for index in states.indices {
            for entry in entries { states[index].append(entry.value[index]) }
            bytes += states[index].bytes
        }
        self.dictionaries = dictionaries
        self.codes = codes
        self.postings = postings
        self.lookups = lookups
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
