import Aggregation
import Events
import Foundation
import FuzzSupport

/// The entry point: libFuzzer's driver on ``fuzzRecordCodec(_:_:)``.
@main
enum FuzzRecordCodecMain {
    static func main() { runLibFuzzer(fuzzRecordCodec) }
}

/// The decoders of stored bytes on arbitrary input: they may throw, never trap.
///
/// The whole input goes to every decoder: ``RecordCodec`` (full schema, a shorter older schema,
/// the selective decoder, JSON rendering), ``AggregateState/decode(_:)`` and ``RowCoding``. Then
/// the input minus its first byte is split in two at the position that byte gives, each half is
/// decoded as an aggregate state, and two states of the same aggregate are merged.
///
/// Whatever decodes must re-encode and decode again to the same bytes, and answer ``result``.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordCodec(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    decodeRecord(input)
    let bytes = Array(input)
    if let state = try? AggregateState.decode(bytes) { checkState(state, bytes) }
    decodeRows(bytes)
    guard let split = bytes.first else { return 0 }
    let rest = bytes.dropFirst()
    let middle = rest.startIndex + Int(split) % (rest.count + 1)
    guard let a = try? AggregateState.decode(Array(rest[..<middle])), let b = try? AggregateState.decode(Array(rest[middle...])) else {
        return 0
    }
    guard let (spec, fieldType) = aggregate(of: a), sameAggregate(a, b) else { return 0 }
    var merged = a
    merged.merge(b)
    _ = merged.result(spec, fieldType: fieldType)
    return 0
}

/// The stream as an older version knew it: its first three fields.
let olderStream: StreamDefinition = {
    var stream = StreamFixture.stream
    stream.fields.removeLast(stream.fields.count - 3)
    stream.version = 1
    return stream
}()

/// The record decoders on `bytes`; whatever decodes must round-trip and render as valid JSON.
func decodeRecord(_ bytes: UnsafeRawBufferPointer) {
    _ = RecordCodec.schemaVersion(of: bytes)
    _ = try? RecordCodec.decode(bytes, definition: olderStream)
    var scratch = [FieldValue?](repeating: nil, count: StreamFixture.fieldTypes.count)
    for mask in [0b1_1111_1111, 0b1_0101_0101, 0] {
        let wanted = StreamFixture.fieldTypes.indices.map { mask & (1 << $0) != 0 }
        try? RecordCodec.decode(bytes, fieldTypes: StreamFixture.fieldTypes, wanted: wanted, into: &scratch)
    }
    guard let values = try? RecordCodec.decode(bytes, definition: StreamFixture.stream) else { return }
    let version = RecordCodec.schemaVersion(of: bytes) ?? 1
    var encoded: [UInt8] = []
    RecordCodec.encode(values, schemaVersion: version, into: &encoded)
    let again: [FieldValue?]
    do {
        again = try encoded.withUnsafeBytes { try RecordCodec.decode($0, definition: StreamFixture.stream) }
    } catch {
        fatalError("a decoded record re-encodes to bytes that do not decode: \(error); \(encoded)")
    }
    var reencoded: [UInt8] = []
    RecordCodec.encode(again, schemaVersion: version, into: &reencoded)
    fuzzCheck(reencoded == encoded, "record does not round-trip: \(encoded) then \(reencoded)")
    var json = ""
    do {
        try RecordCodec.appendJSON(bytes, definition: StreamFixture.stream, to: &json)
    } catch {
        fatalError("a record that decodes does not render as JSON: \(error)")
    }
    fuzzCheck((try? JSONSerialization.jsonObject(with: Data(json.utf8))) != nil, "a record renders as invalid JSON: \(json)")
}

/// A state that decoded must re-encode to bytes that decode to the same state, and answer.
func checkState(_ state: AggregateState, _ bytes: [UInt8]) {
    let encoded = state.encoded
    let again: AggregateState
    do {
        again = try AggregateState.decode(encoded)
    } catch {
        fatalError("a decoded state re-encodes to bytes that do not decode: \(error); input \(bytes), encoded \(encoded)")
    }
    fuzzCheck(again.encoded == encoded, "state does not round-trip: \(encoded) then \(again.encoded)")
    if let (spec, fieldType) = aggregate(of: state) { _ = state.result(spec, fieldType: fieldType) }
}

/// Group keys and rows of states as stored in PostgreSQL.
func decodeRows(_ bytes: [UInt8]) {
    if let key = try? RowCoding.decodeKey(bytes) {
        fuzzCheck((try? RowCoding.decodeKey(RowCoding.encode(key))).map(RowCoding.encode) == RowCoding.encode(key), "group key does not round-trip")
    }
    if let row = try? RowCoding.decodeRow(bytes) {
        for state in row { checkState(state, bytes) }
    }
}

/// An aggregate that could have produced `state`, and its field's type (timestamps for the
/// min and max of ints, so that the RFC 3339 formatting is exercised too).
func aggregate(of state: AggregateState) -> (AggregateSpec, FieldType?)? {
    switch state {
    case .count: (AggregateSpec(.count), nil)
    case .sumInt: (AggregateSpec(.sum, field: "bytes"), .int)
    case .sumDouble: (AggregateSpec(.sum, field: "latency"), .double)
    case .minInt: (AggregateSpec(.min, field: "ts"), .timestamp)
    case .maxInt: (AggregateSpec(.max, field: "bytes"), .int)
    case .minDouble: (AggregateSpec(.min, field: "latency"), .double)
    case .maxDouble: (AggregateSpec(.max, field: "latency"), .double)
    case .avg: (AggregateSpec(.avg, field: "latency"), .double)
    case .distinct(let sketch): (AggregateSpec(.distinct, field: "user", precision: sketch.precision), .string)
    case .quantile(let sketch):
        (
            AggregateSpec(
                .quantile, field: "latency", quantiles: [0, 0.01, 0.5, 0.99, 1], quantilesAsList: true, relativeAccuracy: sketch.relativeAccuracy),
            .double
        )
    }
}

/// Whether two states belong to the same aggregate (same kind, same sketch parameters): only
/// those are ever merged.
func sameAggregate(_ a: AggregateState, _ b: AggregateState) -> Bool {
    switch (a, b) {
    case (.count, .count), (.sumInt, .sumInt), (.sumDouble, .sumDouble), (.minInt, .minInt), (.maxInt, .maxInt), (.minDouble, .minDouble),
        (.maxDouble, .maxDouble), (.avg, .avg):
        true
    case (.distinct(let x), .distinct(let y)): x.precision == y.precision
    case (.quantile(let x), .quantile(let y)): x.relativeAccuracy == y.relativeAccuracy
    default: false
    }
}
