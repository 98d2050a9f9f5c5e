import Aggregation
import Events
import Foundation
import FuzzSupport

/// The entry point: libFuzzer's driver on ``fuzzViewDefinition(_:_:)``.
@main
enum FuzzViewDefinitionMain {
    static func main() { runLibFuzzer(fuzzViewDefinition) }
}

/// View definitions on arbitrary JSON: decoding and compiling may refuse, never trap.
///
/// A definition that compiles against the fixed stream must survive being stored (encoded and
/// decoded again it still compiles, to the same JSON), and a handful of fixed events, with extreme
/// event times and values, are applied to a ``ViewState`` whose rows must all answer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzViewDefinition(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    guard let definition = try? JSONDecoder().decode(ViewDefinition.self, from: Data(input)),
        let view = try? CompiledView(definition, stream: StreamFixture.stream)
    else { return 0 }
    checkStored(definition)
    var state = ViewState()
    for event in extremeEvents {
        view.apply(values: event.values, eventTime: event.time, to: &state)
    }
    for row in state.rows.values { _ = view.results(row) }
    // Everything merged into one row per group.
    let all = RollupRequest(from: CompiledView.queryRange.lowerBound, to: CompiledView.queryRange.upperBound, groupBy: definition.dimensions)
    if (try? view.check(all)) != nil {
        for row in view.rollup(state, all) { _ = view.results(row.states) }
    }
    return 0
}

/// Stores a definition the way the catalog does (JSON) and reads it back: it must still compile
/// and encode to the same JSON.
func checkStored(_ definition: ViewDefinition) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    do {
        let stored = try encoder.encode(definition)
        let reloaded = try JSONDecoder().decode(ViewDefinition.self, from: stored)
        _ = try CompiledView(reloaded, stream: StreamFixture.stream)
        let again = try encoder.encode(reloaded)
        fuzzCheck(
            again == stored,
            "a stored view reloads differently: \(String(decoding: stored, as: UTF8.self)) then \(String(decoding: again, as: UTF8.self))")
    } catch {
        fatalError("a view that compiles does not survive being stored: \(error)")
    }
}

/// One event: its time and one value per stream field.
struct Event {
    var time: Int64
    var values: [FieldValue?]
}

/// Events at the edges: the extreme event times, extreme ints and doubles, empty and absent values.
let extremeEvents: [Event] = {
    let times: [Int64] = [0, -1, Int64.min, Int64.max, StreamFixture.ingestTime, -62_135_596_800_000, 253_402_300_799_999]
    let rows: [[FieldValue?]] = [
        [.timestamp(0), .string("u1"), .string("/"), .string("US"), .int(200), .int(0), .double(0), .bool(true), .timestamp(0)],
        [
            .timestamp(.min), .string(""), .string("/a"), nil, .int(.min), .int(.min), .double(-.greatestFiniteMagnitude), .bool(false),
            .timestamp(.min),
        ],
        [
            .timestamp(.max), .string("u2"), nil, .string("DE"), .int(.max), .int(.max), .double(.greatestFiniteMagnitude), nil,
            .timestamp(.max),
        ],
        [nil, .string("u3"), .string("/b"), .string(""), nil, .int(-1), .double(.leastNonzeroMagnitude), .bool(true), nil],
        [.timestamp(1), .string("u1"), .string("/"), .string("US"), .int(404), .int(1500), .double(-0.0), nil, .timestamp(-1)],
        [.timestamp(2), .string("é"), .string("/"), .string("FR"), .int(500), .int(7), .double(1e-300), .bool(false), nil],
        [.timestamp(3), .string("u1"), .string("/a"), .string("US"), .int(200), .int(9000), .double(123.5), .bool(true), .timestamp(3)],
    ]
    return times.enumerated().flatMap { index, time in
        rows.indices.map { row in Event(time: time, values: rows[(row + index) % rows.count]) }
    }
}()
