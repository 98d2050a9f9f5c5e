import Aggregation
import Benchmark
import EventLog
import PageviewFixtures

/// Aggregate update: a stored batch of 1,000 pageview records applied to a view's speed segment
/// with `CompiledView.apply` (decode the view's fields, bucket, intern the dimension values,
/// find or open the row, update its states), as a speed-layer consumer does per log batch
/// (`RecordBatch.forEachPayload`, one reused `DecodeScratch`).
///
/// The segment starts empty and grows through a day of events (144 batches, 144,000
/// events, in arrival order), then starts over, so the figures cover a segment's whole day:
/// rows opened as new urls and hours come, and rows updated. One iteration is one batch; with
/// the scaling factor of 1,000 the figures read per event.
let benchmarks: @Sendable () -> Void = {
    let views: [(label: String, view: ViewDefinition)] = [
        ("url×hour count", PageviewStream.urlHourly),
        ("hourly count + distinct users (HLL) + p95 (DDSketch)", PageviewStream.hourly),
    ]
    for (label, view) in views {
        let slot = FixtureSlot<UpdateFixture>()
        Benchmark(
            "Aggregate update, 1,000 events, \(label)",
            configuration: .init(
                metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(2),
                maxIterations: 20_000)
        ) { benchmark, fixture in
            fixture.startDayIfDone()
            benchmark.startMeasurement()
            try fixture.applyNextBatch()
        } setup: {
            slot.fill(try await UpdateFixture(view))
        } teardown: {
            slot.take()?.log.remove()
        }
    }
}
