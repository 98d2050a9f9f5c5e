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
    /// Per aggregate: each row's state.
    let states: [[AggregateState]]
    /// An estimate of the memory held, in bytes.
    public let estimatedBytes: Int

    /// Builds the columns of `state`.
    /// - Parameters:
    ///   - state: the rows.
    ///   - dimensions: the view's dimension count.
    ///   - aggregates: the view's aggregate count.
    public init(_ state: ViewState, dimensions: Int, aggregates: Int) {
        let entries = state.rows.sorted { $0.key.bucket < $1.key.bucket }
        rowCount = entries.count
        buckets = entries.map(\.key.bucket)
        var dictionaries: [[FieldValue?]] = []
        var codes: [[UInt32]] = []
        var postings: [[[Int32]]] = []
        var lookups: [[FieldValue?: UInt32]] = []
        var bytes = entries.count * 8
        for dimension in 0..<dimensions {
            var lookup: [FieldValue?: UInt32] = [:]
            var dictionary: [FieldValue?] = []
            var column: [UInt32] = []
            column.reserveCapacity(entries.count)
            var lists: [[Int32]] = []
            for (row, entry) in entries.enumerated() {
                let value = entry.key.group.values[dimension]
                let code: UInt32
                if let known = lookup[value] {
                    code = known
                } else {
                    code = UInt32(dictionary.count)
                    lookup[value] = code
                    dictionary.append(value)
                    lists.append([])
                    bytes += Self.bytes(of: value) + 64
                }
                column.append(code)
                lists[Int(code)].append(Int32(row))
            }
            dictionaries.append(dictionary)
            lookups.append(lookup)
            codes.append(column)
            postings.append(lists)
            bytes += entries.count * 8
        }
        var states: [[AggregateState]] = Array(repeating: [], count: aggregates)
        for index in 0..<aggregates {
            states[index].reserveCapacity(entries.count)
            for entry in entries {
                states[index].append(entry.value[index])
                bytes += MemoryLayout<AggregateState>.stride + entry.value[index].heapBytes
            }
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
            result.rows[StateKey(bucket: buckets[row], group: group)] = states.map { $0[row] }
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
