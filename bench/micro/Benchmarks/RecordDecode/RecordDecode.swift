import Benchmark
import EventLog
import Events
import PageviewFixtures

/// Record decode: the read side of a stored batch of 1,000 pageview records. One iteration is
/// one batch; with the scaling factor of 1,000 the figures read per record.
///
/// - Log read: `Topic.read` of 1,000 records (framing checked, CRC-32C of each, copied into one
///   buffer), as the speed layer's tail and the batch layer's scan read them.
/// - Every field: `RecordCodec.decode` into one value per field (every string built).
/// - The url×hour view's fields: the decode that view runs per event, with the url (a string
///   read only as a dimension) left as a byte span, no `String` built.
/// - The hourly view's fields: user_id and latency_ms decoded, the rest skipped.
let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(1.5), maxIterations: 10_000)
    let readSlot = FixtureSlot<DecodeFixture>()
    Benchmark("Log read, 1,000 stored records", configuration: configuration) { benchmark, fixture in
        blackHole(try fixture.log.topic.read(partition: 0, from: fixture.nextOffset(), maxRecords: 1000))
    } setup: {
        readSlot.fill(try await DecodeFixture())
    } teardown: {
        readSlot.take()?.log.remove()
    }

    let fullSlot = FixtureSlot<DecodeFixture>()
    Benchmark("Record decode, 1,000 records, every field", configuration: configuration) { benchmark, fixture in
        let definition = fixture.definition
        try fixture.nextBatch().forEachPayload { _, _, payload in blackHole(try RecordCodec.decode(payload, definition: definition)) }
    } setup: {
        fullSlot.fill(try await DecodeFixture())
    } teardown: {
        fullSlot.take()?.log.remove()
    }

    let fields: [(label: String, wanted: Set<String>, spanned: Set<String>)] = [
        ("url×hour view's fields (url as bytes)", ["url"], ["url"]),
        ("hourly view's fields (user_id, latency_ms)", ["user_id", "latency_ms"], []),
    ]
    for (label, wanted, spanned) in fields {
        let slot = FixtureSlot<DecodeFixture>()
        Benchmark("Record decode, 1,000 records, the \(label)", configuration: configuration) { benchmark, fixture in
            let types = fixture.fieldTypes
            let wanted = fixture.definition.fields.map { wanted.contains($0.name) }
            let spanned = fixture.definition.fields.map { spanned.contains($0.name) }
            var values = [FieldValue?](repeating: nil, count: types.count)
            var spans = [Int](repeating: -1, count: types.count)
            try fixture.nextBatch().forEachPayload { _, _, payload in
                try RecordCodec.decode(payload, fieldTypes: types, wanted: wanted, spanned: spanned, into: &values, spans: &spans)
                blackHole(values)
                blackHole(spans)
            }
        } setup: {
            slot.fill(try await DecodeFixture())
        } teardown: {
            slot.take()?.log.remove()
        }
    }
}
