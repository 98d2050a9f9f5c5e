import Events

/// A view's aggregate states by (bucket, group) in dictionary-encoded form, and still growing:
/// what the speed layer keeps per segment. Each dimension's values are interned once in a
/// dictionary of its own; a row (a slot) holds its bucket, one code per dimension and its states
/// in flat arrays; with `indexed`, each value has the list of slots that hold it.
///
/// Next to a ``ViewState`` (a hash map from boxed group keys to arrays of states) an event costs
/// one dictionary lookup per dimension and one hash of integers, with no allocation once its
/// values are known; and a query rolls slots up by code, as it does the published
/// ``ColumnarState``, hashing each distinct value once rather than every row
/// (``RollupAccumulator``).
public struct EncodedState: Sendable {
    /// The view's dimension count.
    public let dimensionCount: Int
    /// The states in a row: the view's aggregates and, with ``countsLate``, its late count.
    public let aggregateCount: Int
    /// Whether a row's last state is a view's late count (``CompiledView/lateColumn``), which is
    /// kept apart, as a plain number per slot (``lateCounts``): most rows hold none, and a row of
    /// `AggregateState`s would spend a whole state's width on it.
    public let countsLate: Bool
    /// The states per slot in ``states``: ``aggregateCount``, less the late count.
    @usableFromInline let stride: Int
    /// Whether ``postings`` are kept.
    public let indexed: Bool
    /// Per dimension: the distinct values, by code.
    var dictionaries: [[FieldValue?]]
    /// Per dimension: the code of each value.
    var lookups: [[FieldValue?: UInt32]]
    /// Per slot: the bucket's start.
    @usableFromInline var buckets: [Int64] = []
    /// Per slot and dimension (`slot * dimensionCount + dimension`): the value's code.
    @usableFromInline var codes: [UInt32] = []
    /// Per slot and aggregate (`slot * stride + aggregate`): the state.
    @usableFromInline var states: [AggregateState] = []
    /// Per slot: its late count (empty unless ``countsLate``).
    @usableFromInline var lateCounts: [Int64] = []
    /// The slot of each (bucket, codes), by open addressing (see ``SlotTable``).
    var slots = SlotTable()
    /// Per dimension and code: the slots holding that value, ascending (empty unless `indexed`).
    var postings: [[[Int32]]]
    /// Per dimension: the codes of ASCII string values by their bytes (the scan's fast path).
    var asciiCodes: [ASCIICodeTable]

    /// An empty state.
    /// - Parameters:
    ///   - dimensions: the view's dimension count.
    ///   - aggregates: the view's aggregate count.
    ///   - indexed: whether to keep, per value, the slots that hold it, so that a filter on a
    ///     dimension reads only those slots.
    public init(dimensions: Int, aggregates: Int, indexed: Bool = false) {
        self.init(dimensions: dimensions, aggregates: aggregates, countsLate: false, indexed: indexed)
    }

    private init(dimensions: Int, aggregates: Int, countsLate: Bool, indexed: Bool) {
        precondition(!countsLate || aggregates > 0)
        dimensionCount = dimensions
        aggregateCount = aggregates
        self.countsLate = countsLate
        stride = countsLate ? aggregates - 1 : aggregates
        self.indexed = indexed
        dictionaries = Array(repeating: [], count: dimensions)
        lookups = Array(repeating: [:], count: dimensions)
        postings = indexed ? Array(repeating: [], count: dimensions) : []
        asciiCodes = Array(repeating: ASCIICodeTable(), count: dimensions)
    }

    /// An empty state for `view`'s rows: its dimensions, and its aggregates with the late count
    /// (``CompiledView/stateWidth``).
    public init(view: CompiledView, indexed: Bool = false) {
        self.init(dimensions: view.definition.dimensions.count, aggregates: view.stateWidth, countsLate: true, indexed: indexed)
    }

    /// The number of (bucket, group) rows.
    public var count: Int { buckets.count }

    /// An estimate of the memory held, in bytes, computed in constant time: the row arrays, the
    /// slot table, postings, and 48 bytes per distinct value (a sketch's own buffers and long
    /// strings are not counted).
    public var estimatedBytes: Int {
        let values = dictionaries.reduce(0) { $0 + $1.count }
        return buckets.capacity * 8 + codes.capacity * 4 + states.capacity * MemoryLayout<AggregateState>.stride + lateCounts.capacity * 8
            + slots.table.capacity * 4
            + (indexed ? count * dimensionCount * 4 : 0) + values * 48
    }

    /// The code of `value` in `dimension`, interning it when new.
    @inline(__always)
    mutating func code(of value: FieldValue?, dimension: Int) -> UInt32 {
        if let code = lookups[dimension][value] { return code }
        let code = UInt32(dictionaries[dimension].count)
        dictionaries[dimension].append(value)
        lookups[dimension][value] = code
        if indexed { postings[dimension].append([]) }
        return code
    }

    /// The slot of `key`, opened with `emptyRow` when new.
    @inline(__always)
    mutating func slot(of key: EncodedKey, emptyRow: [AggregateState]) -> Int {
        let (found, position) = find(key)
        if let found { return found }
        open(key, holding: emptyRow, late: 0, at: position)
        return buckets.count - 1
    }

    /// The slot of `key`, if it has one.
    @inline(__always)
    func existingSlot(_ key: EncodedKey) -> Int? { find(key).slot }

    /// Where `key` is in the slot table: its slot, or the free position it would take.
    @inline(__always)
    private func find(_ key: EncodedKey) -> (slot: Int?, position: Int) {
        var position = SlotTable.hash(key) & slots.mask
        while true {
            let slot = Int(slots.table[position])
            if slot < 0 { return (nil, position) }
            if buckets[slot] == key.bucket && matches(slot, key) { return (slot, position) }
            position = (position + 1) & slots.mask
        }
    }

    /// Whether `slot` holds `key`'s codes.
    @inline(__always)
    private func matches(_ slot: Int, _ key: EncodedKey) -> Bool {
        let base = slot * dimensionCount
        for dimension in 0..<dimensionCount where codes[base + dimension] != key.code(dimension) { return false }
        return true
    }

    /// The key of `slot`.
    private func key(of slot: Int) -> EncodedKey {
        var key = EncodedKey(bucket: buckets[slot])
        for dimension in 0..<dimensionCount { key.set(dimension, codes[slot * dimensionCount + dimension]) }
        return key
    }

    /// Opens a slot for `key` holding `row` (a copy of the states of one row, in aggregate order)
    /// and, with ``countsLate``, the late count `late` (any state of `row` past ``stride`` is
    /// ignored then), at the free `position` of the slot table that ``find(_:)`` gave.
    @inline(__always)
    private mutating func open(_ key: EncodedKey, holding row: some Collection<AggregateState>, late: Int64, at position: Int) {
        let slot = buckets.count
        if (slot + 1) * 2 > slots.table.count {
            // At most half full, so that probes stay short: twice the size, every slot placed again.
            slots = SlotTable(capacity: slots.table.count * 2)
            for existing in 0..<slot { place(existing) }
            place(slot, key)
        } else {
            slots.table[position] = Int32(slot)
        }
        buckets.append(key.bucket)
        for dimension in 0..<dimensionCount {
            let code = key.code(dimension)
            codes.append(code)
            if indexed { postings[dimension][Int(code)].append(Int32(slot)) }
        }
        if countsLate {
            states.append(contentsOf: row.prefix(stride))
            lateCounts.append(late)
        } else {
            states.append(contentsOf: row)
        }
    }

    /// The number a late-count state holds.
    @inline(__always)
    static func count(_ state: AggregateState?) -> Int64 {
        guard case .count(let count)? = state else { return 0 }
        return count
    }

    /// Merges one row of states into the row at `key` (a bucket and one value per dimension).
    public mutating func mergeRow(_ row: [AggregateState], at key: StateKey) {
        var encoded = EncodedKey(bucket: key.bucket)
        for dimension in 0..<dimensionCount { encoded.set(dimension, code(of: key.group.values[dimension], dimension: dimension)) }
        mergeRow(row[...], at: encoded)
    }

    /// Puts `slot` (of `key`, or of its own stored key) in the first free position of its probe.
    private mutating func place(_ slot: Int, _ key: EncodedKey? = nil) {
        var position = SlotTable.hash(key ?? self.key(of: slot)) & slots.mask
        while slots.table[position] >= 0 { position = (position + 1) & slots.mask }
        slots.table[position] = Int32(slot)
    }

    /// Merges a row of a ``ViewState`` (with ``countsLate``, its last state is the late count).
    @inline(__always)
    private mutating func mergeRow(_ row: ArraySlice<AggregateState>, at key: EncodedKey) {
        guard countsLate else { return mergeStored(row, late: 0, at: key) }
        mergeStored(row.prefix(stride), late: Self.count(row.dropFirst(stride).first), at: key)
    }

    /// Merges stored states (``stride`` of them) and a late count into the row at `key`.
    @inline(__always)
    private mutating func mergeStored(_ row: ArraySlice<AggregateState>, late: Int64, at key: EncodedKey) {
        let (found, position) = find(key)
        guard let slot = found else {
            open(key, holding: row, late: late, at: position)
            return
        }
        let base = slot * stride
        for (offset, state) in row.enumerated() { states[base + offset].merge(state) }
        if countsLate { lateCounts[slot] &+= late }
    }

    /// Merges another state of the same view into this one (the batch layer's partitions): each
    /// of its values is looked up here once, then its rows are merged row by row.
    public mutating func merge(_ other: EncodedState) {
        precondition(other.countsLate == countsLate && other.aggregateCount == aggregateCount, "merging states of different views")
        var translation: [[UInt32]] = []
        for dimension in 0..<dimensionCount {
            var codes: [UInt32] = []
            codes.reserveCapacity(other.dictionaries[dimension].count)
            for value in other.dictionaries[dimension] { codes.append(code(of: value, dimension: dimension)) }
            translation.append(codes)
        }
        for slot in 0..<other.count {
            var key = EncodedKey(bucket: other.buckets[slot])
            for dimension in 0..<dimensionCount { key.set(dimension, translation[dimension][Int(other.codes[slot * dimensionCount + dimension])]) }
            mergeStored(other.states(at: slot), late: countsLate ? other.lateCounts[slot] : 0, at: key)
        }
    }

    /// Adds one event's values to the states of `slot`: each aggregate's field, and the late
    /// count (after them, ``CompiledView/lateColumn``) when the event was late.
    @inline(__always)
    mutating func addEvent(_ values: [FieldValue?], fieldIndexes: [Int?], late: Bool, to slot: Int) {
        let base = slot * stride
        for position in 0..<fieldIndexes.count {
            if let index = fieldIndexes[position] { states[base + position].add(values[index]) } else { states[base + position].add(nil) }
        }
        if late {
            if countsLate { lateCounts[slot] &+= 1 } else { states[base + fieldIndexes.count].add(nil) }
        }
    }

    /// The group of `slot`.
    func group(_ slot: Int) -> GroupKey {
        let base = slot * dimensionCount
        return GroupKey((0..<dimensionCount).map { dictionaries[$0][Int(codes[base + $0])] })
    }

    /// The states of `slot`.
    func row(_ slot: Int) -> [AggregateState] {
        let stored = states(at: slot)
        return countsLate ? Array(stored) + [.count(lateCounts[slot])] : Array(stored)
    }

    /// Row `slot`: its key (bucket and group) and its states, in aggregate order.
    public func row(at slot: Int) -> (key: StateKey, states: [AggregateState]) {
        (StateKey(bucket: buckets[slot], group: group(slot)), row(slot))
    }

    /// Merges the rows whose bucket starts in `[from, to)` into `state` and, with a `narrowing`,
    /// only those whose dimension holds one of its values (read from the postings when the state
    /// is indexed; other rows may then remain).
    public func merge(into state: inout ViewState, from: Int64 = .min, to: Int64 = .max, narrowing: DimensionNarrowing? = nil) {
        func take(_ slot: Int) {
            let bucket = buckets[slot]
            guard bucket >= from && bucket < to else { return }
            state.mergeRow(row(slot), at: StateKey(bucket: bucket, group: group(slot)))
        }
        if let narrowing, indexed {
            for value in Set(narrowing.values) {
                guard let code = lookups[narrowing.dimension][value] else { continue }
                for slot in postings[narrowing.dimension][Int(code)] { take(Int(slot)) }
            }
        } else {
            for slot in 0..<count { take(slot) }
        }
    }

    /// The bucket start of `slot`.
    @inlinable public func bucket(at slot: Int) -> Int64 { buckets[slot] }

    /// The code of `slot`'s value in `dimension`: its index in ``values(of:)``.
    @inlinable public func code(at slot: Int, dimension: Int) -> UInt32 { codes[slot * dimensionCount + dimension] }

    /// The distinct values of `dimension`, by code.
    public func values(of dimension: Int) -> [FieldValue?] { dictionaries[dimension] }

    /// The states of `slot`, in aggregate order; with ``countsLate`` without the late count
    /// (``lateCount(at:)``).
    @inlinable public func states(at slot: Int) -> ArraySlice<AggregateState> {
        states[(slot * stride)..<((slot + 1) * stride)]
    }

    /// The late count of `slot` (0 unless ``countsLate``).
    @inlinable public func lateCount(at slot: Int) -> Int64 { countsLate ? lateCounts[slot] : 0 }

    /// The rows of `state`, encoded.
    public init(_ state: ViewState, dimensions: Int, aggregates: Int) {
        self.init(dimensions: dimensions, aggregates: aggregates)
        for (key, row) in state.rows { mergeRow(row, at: key) }
    }

    /// The rows of `state`, rows of `view` (with their late counts), encoded.
    public init(_ state: ViewState, view: CompiledView) {
        self.init(view: view)
        for (key, row) in state.rows { mergeRow(row, at: key) }
    }

    /// The rows as a ``ViewState``.
    public var viewState: ViewState {
        var state = ViewState()
        merge(into: &state)
        return state
    }
}

/// The slot numbers of an ``EncodedState`` by (bucket, codes), in an open-addressing table with
/// linear probing, at most half full. It holds only slot numbers: a probe compares the key with
/// the slot's stored bucket and codes. The hash mixes the key with a seed drawn once per process,
/// so that event times chosen to collide cannot slow a partition down (the standard `Hasher` is
/// seeded for the same reason, but costs a SipHash per event).
struct SlotTable: Sendable {
    /// Slot numbers; -1 where free. The count is a power of two.
    var table: [Int32]
    var mask: Int { table.count - 1 }

    init(capacity: Int = 16) { table = [Int32](repeating: -1, count: capacity) }

    private static let seed = UInt64.random(in: .min ... .max)

    /// The key's hash: the seed and each word of the key mixed in with multiply and xor-shift
    /// rounds (SplitMix64's finalizer).
    @inline(__always)
    static func hash(_ key: EncodedKey) -> Int {
        @inline(__always) func mix(_ state: UInt64, _ word: UInt64) -> UInt64 {
            var z = (state ^ word) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 31)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 29)
        }
        var state = mix(seed, UInt64(bitPattern: key.bucket))
        state = mix(state, key.low)
        state = mix(state, key.high)
        for code in key.rest { state = mix(state, UInt64(code)) }
        return Int(truncatingIfNeeded: state)
    }
}

/// The key of an encoded row: a bucket and the dimension codes, the first four packed two to a
/// word (no allocation for views of up to four dimensions).
struct EncodedKey: Hashable {
    var bucket: Int64
    var low: UInt64 = 0
    var high: UInt64 = 0
    var rest: [UInt32] = []

    init(bucket: Int64) { self.bucket = bucket }

    /// Sets dimension `dimension`'s code; dimensions must be set in order, each once.
    @inline(__always)
    mutating func set(_ dimension: Int, _ code: UInt32) {
        switch dimension {
        case 0: low |= UInt64(code)
        case 1: low |= UInt64(code) << 32
        case 2: high |= UInt64(code)
        case 3: high |= UInt64(code) << 32
        default: rest.append(code)
        }
    }

    @inline(__always)
    func code(_ dimension: Int) -> UInt32 {
        switch dimension {
        case 0: UInt32(truncatingIfNeeded: low)
        case 1: UInt32(truncatingIfNeeded: low >> 32)
        case 2: UInt32(truncatingIfNeeded: high)
        case 3: UInt32(truncatingIfNeeded: high >> 32)
        default: rest[dimension - 4]
        }
    }
}

extension CompiledView {
    /// Applies one stored event to an encoded state, exactly as
    /// ``apply(payload:eventTime:to:scratch:)-(_,_,ViewState,_)`` applies it to a ``ViewState``.
    /// - Returns: whether the event passed the filter.
    /// - Throws: ``PoisonRecord`` or the codec's error, as for a ``ViewState``.
    @discardableResult
    @inline(__always)
    public func apply(
        payload: UnsafeRawBufferPointer, eventTime: Int64, late: Bool = false, to state: inout EncodedState, scratch: inout DecodeScratch
    ) throws -> Bool {
        guard Timestamp.supportedRange.contains(eventTime) else { throw PoisonRecord.eventTimeOutOfRange(eventTime) }
        try RecordCodec.decode(
            payload, fieldTypes: fieldTypes, wanted: wanted, spanned: spanned, into: &scratch.values, spans: &scratch.spans)
        if let filter, !filter.matches(scratch.values) { return false }
        var key = EncodedKey(bucket: bucket(of: eventTime))
        for (dimension, index) in dimensionIndexes.enumerated() {
            let code: UInt32
            if spanned[index] {
                // A string dimension read as its bytes: interned without building a `String`.
                let span = scratch.spans[index]
                code =
                    span < 0
                    ? state.code(of: nil, dimension: dimension)
                    : state.code(
                        ofString: UnsafeRawBufferPointer(rebasing: payload[(span >> 32)..<((span >> 32) + (span & 0xFFFF_FFFF))]),
                        dimension: dimension)
            } else {
                code = state.code(of: scratch.values[index], dimension: dimension)
            }
            key.set(dimension, code)
        }
        let slot = state.slot(of: key, emptyRow: emptyRow)
        state.addEvent(scratch.values, fieldIndexes: aggregateFieldIndexes, late: late, to: slot)
        return true
    }

    /// Applies a decoded event (one value per stream field), for tests and tools. Like the
    /// stored path, an event time outside ``Timestamp/supportedRange`` is skipped.
    public func apply(values: [FieldValue?], eventTime: Int64, late: Bool = false, to state: inout EncodedState) {
        guard Timestamp.supportedRange.contains(eventTime) else { return }
        add(values, eventTime: eventTime, late: late, to: &state)
    }

    @inline(__always)
    @discardableResult
    private func add(_ values: [FieldValue?], eventTime: Int64, late: Bool, to state: inout EncodedState) -> Bool {
        if let filter, !filter.matches(values) { return false }
        var key = EncodedKey(bucket: bucket(of: eventTime))
        for (dimension, index) in dimensionIndexes.enumerated() { key.set(dimension, state.code(of: values[index], dimension: dimension)) }
        let slot = state.slot(of: key, emptyRow: emptyRow)
        state.addEvent(values, fieldIndexes: aggregateFieldIndexes, late: late, to: slot)
        return true
    }
}
