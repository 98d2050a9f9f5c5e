import Aggregation
import Events
import TandemTestSupport
import Testing

/// The stored-record path into an ``EncodedState``, which interns ASCII strings by their bytes,
/// against the path into a ``ViewState``, which builds every `String`.
@Suite("Encoded scan")
struct EncodedScanTests {
    static let view = ViewDefinition(
        name: "by_url_country", stream: "pageviews", dimensions: ["url", "country"], bucketMilliseconds: ViewFixture.hour,
        aggregates: [("views", AggregateSpec(.count)), ("users", AggregateSpec(.distinct, field: "user"))])

    /// Applies `events` as stored records both ways and checks that the rows agree.
    static func check(_ events: [ViewFixture.Event]) throws {
        let view = try CompiledView(view, stream: ViewFixture.stream)
        var state = ViewState(), encoded = EncodedState(view: view)
        var scratch = view.makeScratch(), decodeScratch = view.makeDecodeScratch()
        for event in events {
            var payload: [UInt8] = []
            RecordCodec.encode(event.values, schemaVersion: 1, into: &payload)
            try payload.withUnsafeBytes { bytes in
                _ = try view.apply(payload: bytes, eventTime: event.ts, to: &state, scratch: &scratch)
                _ = try view.apply(payload: bytes, eventTime: event.ts, to: &encoded, scratch: &decodeScratch)
            }
        }
        #expect(encoded.count == state.count)
        #expect(encoded.viewState == state)
    }

    @Test("strings equal only canonically share a row, whichever spelling comes first")
    func canonicalEquivalence() throws {
        // The Kelvin sign is canonically `K`; `é` precomposed and decomposed are one string.
        let spellings: [(String?, String?)] = [
            ("\u{212A}", "K"), ("K", "\u{212A}"), ("caf\u{E9}", "cafe\u{301}"), ("cafe\u{301}", "caf\u{E9}"), (nil, ""), ("", nil),
            ("/a", "/a"), ("/\u{1F600}", "\u{1F600}"),
        ]
        var events: [ViewFixture.Event] = []
        for (index, (url, country)) in spellings.enumerated() {
            events.append(ViewFixture.Event(ts: Int64(index) * 1_000, url: url, country: country, user: "u\(index)"))
        }
        try Self.check(events)
        let view = try CompiledView(Self.view, stream: ViewFixture.stream)
        var encoded = EncodedState(view: view)
        var scratch = view.makeDecodeScratch()
        for event in events {
            var payload: [UInt8] = []
            RecordCodec.encode(event.values, schemaVersion: 1, into: &payload)
            try payload.withUnsafeBytes { _ = try view.apply(payload: $0, eventTime: 0, to: &encoded, scratch: &scratch) }
        }
        // K (twice), café (twice), absent/empty, empty/absent, /a, the emoji: six rows.
        #expect(encoded.count == 6)
    }

    @Test("many values, long and short, agree with the state path", arguments: [1, 2, 3])
    func manyValues(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let events = (0..<5_000).map { index -> ViewFixture.Event in
            let rank = random.next() % 700
            // Lengths from 0 to 40 bytes cross the 8-byte words the hash reads.
            let url = "/" + String(repeating: "p", count: Int(rank % 40)) + "\(rank)"
            let country = random.next() % 9 == 0 ? nil : "C\(random.next() % 50)"
            return ViewFixture.Event(ts: Int64(index) * 60_000, url: url, country: country, user: "u\(random.next() % 300)")
        }
        try Self.check(events)
    }
}
