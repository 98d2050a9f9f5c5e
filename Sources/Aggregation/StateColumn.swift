import Events

/// One aggregate's state in the flattest form its function allows: a plain value with a merge.
/// Counts, sums, minima, maxima and averages are a few machine words; only the sketches stay
/// ``AggregateState`` values. A column of cells merges in a tight loop, with no enum to switch on
/// and no reference counting per row.
protocol StateCell: Sendable {
    /// The cell holding `state`, which must be of this cell's kind.
    init(cell state: AggregateState)
    /// The state this cell holds.
    var state: AggregateState { get }
    /// Merges the state of other events of the same aggregate (as ``AggregateState/merge(_:)``).
    mutating func merge(_ other: Self)
}

struct CountCell: StateCell {
    var value: Int64
    init(value: Int64) { self.value = value }
    init(cell state: AggregateState) {
        guard case .count(let n) = state else { preconditionFailure("not a count: \(state)") }
        value = n
    }
    var state: AggregateState { .count(value) }
    @inline(__always) mutating func merge(_ other: CountCell) { value &+= other.value }
}

struct IntegerSumCell: StateCell {
    var sum: IntegerSum
    init(cell state: AggregateState) {
        guard case .sumInt(let total) = state else { preconditionFailure("not an integer sum: \(state)") }
        sum = total
    }
    var state: AggregateState { .sumInt(sum) }
    @inline(__always) mutating func merge(_ other: IntegerSumCell) { sum.add(other.sum) }
}

struct DoubleSumCell: StateCell {
    var sum: CompensatedSum
    init(cell state: AggregateState) {
        guard case .sumDouble(let total) = state else { preconditionFailure("not a double sum: \(state)") }
        sum = total
    }
    var state: AggregateState { .sumDouble(sum) }
    @inline(__always) mutating func merge(_ other: DoubleSumCell) { sum.merge(other.sum) }
}

struct AverageCell: StateCell {
    var sum: CompensatedSum
    var count: Int64
    init(cell state: AggregateState) {
        guard case .avg(let total, let n) = state else { preconditionFailure("not an average: \(state)") }
        sum = total
        count = n
    }
    var state: AggregateState { .avg(sum, count) }
    @inline(__always) mutating func merge(_ other: AverageCell) {
        sum.merge(other.sum)
        count &+= other.count
    }
}

/// A minimum or maximum of ints, timestamps or doubles (`nil`: no value yet).
struct ExtremeCell<Value: Comparable & Sendable, Kind: ExtremeKind>: StateCell where Kind.Value == Value {
    var value: Value?
    init(cell state: AggregateState) {
        guard let extracted = Kind.value(of: state) else { preconditionFailure("not a \(Kind.self): \(state)") }
        value = extracted
    }
    var state: AggregateState { Kind.state(value) }
    @inline(__always) mutating func merge(_ other: Self) {
        value = AggregateState.combine(value, other.value, Kind.pick)
    }
}

/// Which extreme an ``ExtremeCell`` keeps, and of what.
protocol ExtremeKind: Sendable {
    associatedtype Value: Comparable & Sendable
    /// The value of a state of this kind, `.some(nil)` when it has none yet, `nil` for another kind.
    static func value(of state: AggregateState) -> Value??
    static func state(_ value: Value?) -> AggregateState
    static func pick(_ a: Value, _ b: Value) -> Value
}

enum MinimumInt: ExtremeKind {
    static func value(of state: AggregateState) -> Int64?? { if case .minInt(let x) = state { x } else { nil } }
    static func state(_ value: Int64?) -> AggregateState { .minInt(value) }
    static func pick(_ a: Int64, _ b: Int64) -> Int64 { Swift.min(a, b) }
}

enum MaximumInt: ExtremeKind {
    static func value(of state: AggregateState) -> Int64?? { if case .maxInt(let x) = state { x } else { nil } }
    static func state(_ value: Int64?) -> AggregateState { .maxInt(value) }
    static func pick(_ a: Int64, _ b: Int64) -> Int64 { Swift.max(a, b) }
}

enum MinimumDouble: ExtremeKind {
    static func value(of state: AggregateState) -> Double?? { if case .minDouble(let x) = state { x } else { nil } }
    static func state(_ value: Double?) -> AggregateState { .minDouble(value) }
    static func pick(_ a: Double, _ b: Double) -> Double { Swift.min(a, b) }
}

enum MaximumDouble: ExtremeKind {
    static func value(of state: AggregateState) -> Double?? { if case .maxDouble(let x) = state { x } else { nil } }
    static func state(_ value: Double?) -> AggregateState { .maxDouble(value) }
    static func pick(_ a: Double, _ b: Double) -> Double { Swift.max(a, b) }
}

extension AggregateState: StateCell {
    init(cell state: AggregateState) { self = state }
    var state: AggregateState { self }
}

/// Rows of a source that a roll-up takes in at once: first the rows that open new slots (appended
/// in slot order), then (row, slot) pairs whose states merge into slots already open.
struct StateChunk {
    var opening: [Int32] = []
    var rows: [Int32] = []
    var slots: [Int32] = []

    var count: Int { opening.count + rows.count }
    var isEmpty: Bool { opening.isEmpty && rows.isEmpty }

    mutating func removeAll() {
        opening.removeAll(keepingCapacity: true)
        rows.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
    }
}

/// One aggregate's states for many rows (a published version's, or a roll-up's slots), as an
/// array of the aggregate's ``StateCell``.
protocol StateColumn: Sendable {
    /// Rows held.
    var count: Int { get }
    /// The state of `row`.
    func state(at row: Int) -> AggregateState
    /// Appends a row.
    mutating func append(_ state: AggregateState)
    /// Takes in `chunk`, whose rows are rows of `source` (a column of the same aggregate).
    mutating func absorb(_ chunk: StateChunk, from source: any StateColumn)
    /// Takes in `chunk`, whose row `r` holds the state `states[r * stride + offset]`.
    mutating func absorb(_ chunk: StateChunk, from states: [AggregateState], stride: Int, offset: Int)
    /// Takes in `chunk`, whose row `r` holds the count `counts[r]` (a column of counts only).
    mutating func absorb(_ chunk: StateChunk, counts: [Int64])
    /// Each row's sort key (``AggregateValue/sortKey``) for the aggregate `spec` over a field of
    /// `fieldType`.
    func sortKeys(_ spec: AggregateSpec, fieldType: FieldType?) -> [Double?]
    /// An estimate of the memory held, in bytes.
    var bytes: Int { get }
}

struct CellColumn<Cell: StateCell>: StateColumn {
    var cells: [Cell] = []

    var count: Int { cells.count }
    func state(at row: Int) -> AggregateState { cells[row].state }
    mutating func append(_ state: AggregateState) { cells.append(Cell(cell: state)) }

    // The methods below are reached through `any StateColumn`, so they are specialized ahead for
    // each cell: their loops then handle plain values inline.
    @_specialize(where Cell == CountCell)
    @_specialize(where Cell == IntegerSumCell)
    @_specialize(where Cell == DoubleSumCell)
    @_specialize(where Cell == AverageCell)
    @_specialize(where Cell == ExtremeCell<Int64, MinimumInt>)
    @_specialize(where Cell == ExtremeCell<Int64, MaximumInt>)
    @_specialize(where Cell == ExtremeCell<Double, MinimumDouble>)
    @_specialize(where Cell == ExtremeCell<Double, MaximumDouble>)
    @_specialize(where Cell == AggregateState)
    mutating func absorb(_ chunk: StateChunk, from source: any StateColumn) {
        // Columns of one aggregate always hold the same cell type.
        let other = (source as! CellColumn<Cell>).cells
        for row in chunk.opening { cells.append(other[Int(row)]) }
        cells.withUnsafeMutableBufferPointer { target in
            other.withUnsafeBufferPointer { from in
                for index in chunk.rows.indices { target[Int(chunk.slots[index])].merge(from[Int(chunk.rows[index])]) }
            }
        }
    }

    @_specialize(where Cell == CountCell)
    @_specialize(where Cell == IntegerSumCell)
    @_specialize(where Cell == DoubleSumCell)
    @_specialize(where Cell == AverageCell)
    @_specialize(where Cell == ExtremeCell<Int64, MinimumInt>)
    @_specialize(where Cell == ExtremeCell<Int64, MaximumInt>)
    @_specialize(where Cell == ExtremeCell<Double, MinimumDouble>)
    @_specialize(where Cell == ExtremeCell<Double, MaximumDouble>)
    @_specialize(where Cell == AggregateState)
    mutating func absorb(_ chunk: StateChunk, from states: [AggregateState], stride: Int, offset: Int) {
        for row in chunk.opening { cells.append(Cell(cell: states[Int(row) * stride + offset])) }
        cells.withUnsafeMutableBufferPointer { target in
            for index in chunk.rows.indices {
                target[Int(chunk.slots[index])].merge(Cell(cell: states[Int(chunk.rows[index]) * stride + offset]))
            }
        }
    }

    mutating func absorb(_ chunk: StateChunk, counts: [Int64]) {
        // Only the late count takes this path, into a column of counts.
        var column = self as! CellColumn<CountCell>
        self = CellColumn<Cell>(cells: [])  // no second reference while it is changed
        for row in chunk.opening { column.cells.append(CountCell(value: counts[Int(row)])) }
        column.cells.withUnsafeMutableBufferPointer { target in
            for index in chunk.rows.indices { target[Int(chunk.slots[index])].value &+= counts[Int(chunk.rows[index])] }
        }
        self = column as! CellColumn<Cell>
    }

    @_specialize(where Cell == CountCell)
    @_specialize(where Cell == IntegerSumCell)
    @_specialize(where Cell == DoubleSumCell)
    @_specialize(where Cell == AverageCell)
    @_specialize(where Cell == ExtremeCell<Int64, MinimumInt>)
    @_specialize(where Cell == ExtremeCell<Int64, MaximumInt>)
    @_specialize(where Cell == ExtremeCell<Double, MinimumDouble>)
    @_specialize(where Cell == ExtremeCell<Double, MaximumDouble>)
    @_specialize(where Cell == AggregateState)
    func sortKeys(_ spec: AggregateSpec, fieldType: FieldType?) -> [Double?] {
        cells.map { $0.state.result(spec, fieldType: fieldType).sortKey }
    }

    var bytes: Int {
        var total = cells.count * MemoryLayout<Cell>.stride
        if Cell.self == AggregateState.self { for cell in cells { total += cell.state.heapBytes } }
        return total
    }
}

enum StateColumns {
    /// A column of counts.
    static func counts(_ values: [Int64]) -> any StateColumn {
        CellColumn<CountCell>(cells: values.map { CountCell(value: $0) })
    }

    /// An empty column for states of `empty`'s kind.
    static func make(like empty: AggregateState) -> any StateColumn {
        switch empty {
        case .count: CellColumn<CountCell>()
        case .sumInt: CellColumn<IntegerSumCell>()
        case .sumDouble: CellColumn<DoubleSumCell>()
        case .avg: CellColumn<AverageCell>()
        case .minInt: CellColumn<ExtremeCell<Int64, MinimumInt>>()
        case .maxInt: CellColumn<ExtremeCell<Int64, MaximumInt>>()
        case .minDouble: CellColumn<ExtremeCell<Double, MinimumDouble>>()
        case .maxDouble: CellColumn<ExtremeCell<Double, MaximumDouble>>()
        case .distinct, .quantile: CellColumn<AggregateState>()
        }
    }
}
