import Aggregation
import EventLog
import PageviewFixtures

/// A day of pageviews in a one-partition log, read back in batches of 1,000 records, and the
/// view's growing segment.
final class UpdateFixture: @unchecked Sendable {
    // @unchecked: the mutable parts are touched only by the benchmark's iterations, one at a time.
    let log: PageviewLog
    let view: CompiledView
    let batches: [RecordBatch]
    private var state: EncodedState
    private var scratch: DecodeScratch
    private var position = 0

    init(_ definition: ViewDefinition) async throws {
        log = try PageviewLog(partitions: 1)
        // A day of the week's rate (1M events in 7 days).
        try await log.append(PageviewStream.generate(count: 144_000, from: PageviewStream.cut, to: PageviewStream.end))
        batches = try log.read(partition: 0)
        view = try CompiledView(definition, stream: PageviewStream.definition(partitions: 1))
        scratch = view.makeDecodeScratch()
        state = Self.emptySegment(view)
    }

    /// An empty segment, indexed as the speed layer keeps it.
    static func emptySegment(_ view: CompiledView) -> EncodedState {
        EncodedState(dimensions: view.definition.dimensions.count, aggregates: view.definition.aggregates.count, indexed: true)
    }

    /// After the day's last batch, a new, empty segment (outside the measurement: freeing the
    /// old one is not an update).
    func startDayIfDone() {
        guard position == batches.count else { return }
        state = Self.emptySegment(view)
        position = 0
    }

    func applyNextBatch() throws {
        try batches[position].forEachPayload { _, eventTime, payload in
            _ = try view.apply(payload: payload, eventTime: eventTime, to: &state, scratch: &scratch)
        }
        position += 1
    }
}
