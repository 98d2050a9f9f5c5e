import Aggregation
import Events
import Testing

@testable import BatchLayer

@Suite("COPY order")
struct CopyOrderTests {
    static let stream = StreamDefinition(
        name: "s",
        fields: [
            FieldDefinition(name: "ts", type: .timestamp, required: true), FieldDefinition(name: "url", type: .string),
            FieldDefinition(name: "n", type: .int),
        ],
        timeField: "ts")

    /// Whether `a` comes before `b` in a typed column's order: bytes for text, nulls last.
    static func before(_ a: FieldValue?, _ b: FieldValue?) -> Bool {
        switch (a, b) {
        case (nil, _): false
        case (_, nil): true
        case (.string(let x)?, .string(let y)?): Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        case (.int(let x)?, .int(let y)?): x < y
        default: false
        }
    }

    @Test("rows go out by the first dimension's value (bytes, nulls last), then bucket, each once", arguments: ["url", "n"])
    func order(dimension: String) throws {
        let view = try CompiledView(
            ViewDefinition(
                name: "v", stream: "s", dimensions: [dimension, dimension == "url" ? "n" : "url"], bucketMilliseconds: 60_000,
                aggregates: [("c", AggregateSpec(.count))]),
            stream: Self.stream)
        var state = EncodedState(view: view)
        // A fixed sequence (a 64-bit LCG), so a failure reproduces.
        var seed: UInt64 = 7
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 33
        }
        let urls: [String?] = [nil, "", "/b", "/a", "/\u{E9}", "/Z", "/a/b", "\u{212A}"]
        for _ in 0..<3_000 {
            let time = Int64(next() % 500) * 60_000
            let values: [FieldValue?] = [
                .timestamp(time), urls[Int(next() % UInt64(urls.count))].map(FieldValue.string),
                next() % 5 == 0 ? nil : .int(Int64(next() % 40) - 20),
            ]
            view.apply(values: values, eventTime: time, to: &state)
        }
        let order = BatchStore.copyOrder(state).map(Int.init)
        #expect(order.sorted() == Array(0..<state.count))
        let values = state.values(of: 0)
        for (a, b) in zip(order, order.dropFirst()) {
            let x = values[Int(state.code(at: a, dimension: 0))], y = values[Int(state.code(at: b, dimension: 0))]
            #expect(!Self.before(y, x), "\(String(describing: y)) after \(String(describing: x))")
            if x == y { #expect(state.bucket(at: a) <= state.bucket(at: b)) }
        }
    }
}
