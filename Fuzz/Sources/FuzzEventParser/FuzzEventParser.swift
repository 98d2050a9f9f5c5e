import Events
import FuzzSupport

/// The entry point: libFuzzer's driver on ``fuzzEventParser(_:_:)``.
@main
enum FuzzEventParserMain {
    static func main() { runLibFuzzer(fuzzEventParser) }
}

/// The ingest parser on arbitrary request bodies.
///
/// Input: one option byte, then the body. Option bits:
/// - bit 0: body format, 0 JSON (an object or an array), 1 NDJSON;
/// - bit 1: unknown fields are dropped instead of rejected;
/// - bit 2: the stream defaults a missing event time to the ingest time;
/// - bit 3: event times are bounded (at most 1 year old, 1 day ahead) instead of unbounded;
/// - bits 4–7: the event limit (`n` > 0 allows `n` events; 0 allows 10 000).
///
/// Every event handed to the sink must decode with ``RecordCodec``, carry the stream's schema
/// version, re-encode to the same bytes, render as JSON, and agree with its event time and key;
/// the summary must be consistent with what reached the sink.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventParser(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    guard let options = input.first else { return 0 }
    let body = UnsafeRawBufferPointer(rebasing: input[1...])

    var definition = StreamFixture.stream
    if options & 2 != 0 { definition.unknownFields = .drop }
    if options & 4 != 0 { definition.defaultTime = .ingest }
    let bounds =
        options & 8 != 0
        ? EventTimeBounds(maxAgeMilliseconds: 365 * 86_400_000, maxFutureMilliseconds: 86_400_000)
        : EventTimeBounds(maxAgeMilliseconds: nil, maxFutureMilliseconds: nil)
    let limit = Int(options >> 4)
    var parser = EventParser(definition: definition, bounds: bounds)
    let timeIndex = definition.timeFieldIndex!
    let keyIndex = definition.keyFieldIndex!

    var emitted = 0
    var scratch = [FieldValue?](repeating: nil, count: definition.fields.count)
    let everything = [Bool](repeating: true, count: definition.fields.count)
    let summary = parser.parse(
        body, format: options & 1 == 0 ? .json : .ndjson, ingestTime: StreamFixture.ingestTime, maxEvents: limit == 0 ? 10_000 : limit
    ) { event in
        emitted += 1
        let values: [FieldValue?]
        do {
            values = try RecordCodec.decode(event.payload, definition: definition)
            try RecordCodec.decode(event.payload, fieldTypes: StreamFixture.fieldTypes, wanted: everything, into: &scratch)
            var json = ""
            try RecordCodec.appendJSON(event.payload, definition: definition, to: &json)
        } catch {
            fatalError("event \(event.index): the parser wrote a record that does not decode: \(error); payload \(Array(event.payload))")
        }
        fuzzCheck(RecordCodec.schemaVersion(of: event.payload) == definition.version, "event \(event.index): wrong schema version")
        var again: [UInt8] = []
        RecordCodec.encode(values, schemaVersion: definition.version, into: &again)
        fuzzCheck(again.elementsEqual(event.payload), "event \(event.index): record re-encodes differently: \(Array(event.payload)) vs \(again)")
        var other: [UInt8] = []
        RecordCodec.encode(scratch, schemaVersion: definition.version, into: &other)
        fuzzCheck(other == again, "event \(event.index): the two decoders disagree: \(values) vs \(scratch)")
        switch values[timeIndex] {
        case .timestamp(let time)?: fuzzCheck(event.eventTime == time, "event \(event.index): event time \(event.eventTime) but ts \(time)")
        case nil: fuzzCheck(event.eventTime == StreamFixture.ingestTime, "event \(event.index): no ts but event time \(event.eventTime)")
        case let other?: fatalError("event \(event.index): ts decoded as \(other)")
        }
        switch values[keyIndex] {
        case .string(let user)?:
            let key = event.key.map { Array($0) }
            fuzzCheck(key == Array(user.utf8), "event \(event.index): key \(key ?? []) for user \(user)")
        case nil: fuzzCheck(event.key == nil, "event \(event.index): a key but no user")
        case let other?: fatalError("event \(event.index): user decoded as \(other)")
        }
    }

    fuzzCheck(summary.invalidEvents <= summary.events, "more invalid events than events: \(summary)")
    fuzzCheck(summary.issues.count <= EventParser.maxIssues, "too many issues: \(summary.issues.count)")
    fuzzCheck(emitted <= summary.events, "\(emitted) events reached the sink but the body has \(summary.events)")
    if summary.invalidEvents > 0 {
        fuzzCheck(!summary.issues.isEmpty, "invalid events but no issue: \(summary)")
    } else {
        fuzzCheck(summary.issues.isEmpty, "issues but no invalid event: \(summary)")
        fuzzCheck(emitted == summary.events, "\(summary.events) valid events but \(emitted) reached the sink")
    }
    return 0
}
