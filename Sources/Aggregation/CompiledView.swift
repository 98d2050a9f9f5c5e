import Events

/// A view bound to its stream's schema: field positions resolved, filter compiled, and the
/// per-event path (decode only the fields needed, filter, bucket, group, update) ready to run.
public final class CompiledView: Sendable {
    /// The view.
    public let definition: ViewDefinition
    /// The stream's schema it was compiled against.
    public let stream: StreamDefinition
    let fieldTypes: [FieldType]
    let wanted: [Bool]
    /// Per field: a string read only as a dimension, which the encoded path interns from its
    /// bytes (``RecordCodec/decode(_:fieldTypes:wanted:spanned:into:spans:)``).
    let spanned: [Bool]
    let dimensionIndexes: [Int]
    let aggregateFieldIndexes: [Int?]
    /// The type of each aggregate's field (`nil` for `count`).
    public let aggregateFieldTypes: [FieldType?]
    let filter: CompiledFilter?
    /// The identity row: every aggregate empty, then the hidden late count (``lateColumn``).
    public let emptyRow: [AggregateState]
    /// The position of the hidden `count` that every row of state carries after the view's own
    /// aggregates: the records the row holds that were late when they arrived (``Lateness``).
    /// Stored, merged and rolled up like any count, it is what an answer's `late_records` sums;
    /// it is never answered as an aggregate.
    public let lateColumn: Int
    /// The states in a row: the view's aggregates and the late count.
    public var stateWidth: Int { lateColumn + 1 }

    /// Compiles `definition` against `stream`.
    /// - Throws: ``ViewError`` when the view does not fit the stream.
    public init(_ definition: ViewDefinition, stream: StreamDefinition) throws(ViewError) {
        try definition.validate(against: stream)
        self.definition = definition
        self.stream = stream
        fieldTypes = stream.fields.map(\.type)
        dimensionIndexes = definition.dimensions.map { stream.fieldIndex($0)! }
        aggregateFieldIndexes = definition.aggregates.map { $0.spec.field.flatMap(stream.fieldIndex) }
        aggregateFieldTypes = aggregateFieldIndexes.map { $0.map { stream.fields[$0].type } }
        filter = try definition.filter.map { filter throws(ViewError) in
            try CompiledFilter(filter, fields: stream.fields.map { ($0.name, $0.type) })
        }
        var wanted = [Bool](repeating: false, count: stream.fields.count)
        for index in dimensionIndexes { wanted[index] = true }
        for index in aggregateFieldIndexes.compactMap({ $0 }) { wanted[index] = true }
        for name in definition.filter?.fields ?? [] { if let index = stream.fieldIndex(name) { wanted[index] = true } }
        self.wanted = wanted
        var spanned = [Bool](repeating: false, count: stream.fields.count)
        for index in dimensionIndexes where fieldTypes[index] == .string { spanned[index] = true }
        for index in aggregateFieldIndexes.compactMap({ $0 }) { spanned[index] = false }
        for name in definition.filter?.fields ?? [] { if let index = stream.fieldIndex(name) { spanned[index] = false } }
        self.spanned = spanned
        lateColumn = definition.aggregates.count
        emptyRow = zip(definition.aggregates, aggregateFieldTypes).map { AggregateState.empty($0.spec, fieldType: $1) } + [.count(0)]
    }

    /// The view's name.
    public var name: String { definition.name }

    /// The start of the base bucket that holds `eventTime`.
    @inline(__always)
    public func bucket(of eventTime: Int64) -> Int64 { Self.floor(eventTime, to: definition.bucketMilliseconds) }

    /// `time` rounded down to a multiple of `step` (also for times before 1970).
    ///
    /// Never traps: a result below `Int64.min` saturates there. Times Tandem stores lie in
    /// ``Timestamp/supportedRange`` and steps are bounded, so that never happens for them.
    @inline(__always)
    public static func floor(_ time: Int64, to step: Int64) -> Int64 {
        guard step > 0 else { return time }
        let remainder = time % step
        guard remainder < 0 else { return time - remainder }
        let (result, overflow) = (time - remainder).subtractingReportingOverflow(step)
        return overflow ? .min : result
    }

    /// A reusable buffer for ``apply(payload:eventTime:to:scratch:)``.
    public func makeScratch() -> [FieldValue?] { [FieldValue?](repeating: nil, count: stream.fields.count) }

    /// Reusable buffers for ``apply(payload:eventTime:to:scratch:)-(_,_,EncodedState,_)``.
    public func makeDecodeScratch() -> DecodeScratch {
        DecodeScratch(values: makeScratch(), spans: [Int](repeating: -1, count: stream.fields.count))
    }

    /// Applies one stored event to `state`.
    /// - Returns: whether the event passed the filter.
    @discardableResult
    @inline(__always)
    /// - Throws: ``PoisonRecord`` when the record cannot be applied (its event time is outside
    ///   ``Timestamp/supportedRange``), or the codec's error when it does not decode. Both layers
    ///   skip such a record the same way, so their answers still agree.
    public func apply(
        payload: UnsafeRawBufferPointer, eventTime: Int64, late: Bool = false, to state: inout ViewState, scratch: inout [FieldValue?]
    ) throws -> Bool {
        guard Timestamp.supportedRange.contains(eventTime) else { throw PoisonRecord.eventTimeOutOfRange(eventTime) }
        try RecordCodec.decode(payload, fieldTypes: fieldTypes, wanted: wanted, into: &scratch)
        if let filter, !filter.matches(scratch) { return false }
        var group = [FieldValue?]()
        group.reserveCapacity(dimensionIndexes.count)
        for index in dimensionIndexes { group.append(scratch[index]) }
        let key = StateKey(bucket: bucket(of: eventTime), group: GroupKey(group))
        state.rows[key, default: emptyRow].addEvent(scratch, fieldIndexes: aggregateFieldIndexes, late: late)
        return true
    }

    /// Applies a decoded event (one value per stream field), for tests and tools.
    /// Like the stored path, an event time outside ``Timestamp/supportedRange`` is skipped.
    public func apply(values: [FieldValue?], eventTime: Int64, late: Bool = false, to state: inout ViewState) {
        guard Timestamp.supportedRange.contains(eventTime) else { return }
        if let filter, !filter.matches(values) { return }
        let key = StateKey(bucket: bucket(of: eventTime), group: GroupKey(dimensionIndexes.map { values[$0] }))
        state.rows[key, default: emptyRow].addEvent(values, fieldIndexes: aggregateFieldIndexes, late: late)
    }

    /// The late records a row of states holds (its hidden late count).
    @inline(__always)
    public func lateRecords(_ row: [AggregateState]) -> Int64 {
        guard case .count(let late) = row[lateColumn] else { return 0 }
        return late
    }

    /// The answers of a row of states, in the view's aggregate order (the late count is not one).
    public func results(_ row: [AggregateState]) -> [AggregateValue] {
        zip(row, zip(definition.aggregates, aggregateFieldTypes)).map { state, aggregate in state.result(aggregate.0.spec, fieldType: aggregate.1) }
    }
}

extension Array where Element == AggregateState {
    /// Adds one event to a row of states: each aggregate's field, and the late count (after
    /// them) when the event was late.
    @inline(__always)
    mutating func addEvent(_ values: [FieldValue?], fieldIndexes: [Int?], late: Bool) {
        for position in fieldIndexes.indices {
            if let index = fieldIndexes[position] { self[position].add(values[index]) } else { self[position].add(nil) }
        }
        if late { self[fieldIndexes.count].add(nil) }
    }
}

/// Reusable buffers for decoding stored events into an ``EncodedState``: the decoded values and
/// the positions of strings read as bytes.
public struct DecodeScratch: Sendable {
    var values: [FieldValue?]
    var spans: [Int]
}
