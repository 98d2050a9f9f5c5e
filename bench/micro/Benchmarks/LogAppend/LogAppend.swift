import Benchmark
import EventLog
import PageviewFixtures

/// Log append: one 1,000-event batch of pageview records appended to one partition of a real log
/// in a temporary directory, through `Topic.append` (the group-commit writer: frame, CRC, one
/// `pwrite`, and an `fdatasync` per batch when the durability says so). One iteration is one
/// batch; with the scaling factor of 1,000 the figures read per event.
let benchmarks: @Sendable () -> Void = {
    let durabilities: [(label: String, durability: LogConfiguration.Durability)] = [
        ("fsync per batch (default)", .everyBatch),
        ("no fsync (interval 1 s)", .interval(milliseconds: 1000)),
    ]
    for (label, durability) in durabilities {
        let slot = FixtureSlot<AppendFixture>()
        Benchmark(
            "Log append, 1,000-event batch, \(label)",
            configuration: .init(
                metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo,
                maxDuration: .seconds(3), maxIterations: 1000)
        ) { benchmark, fixture in
            let range = try await fixture.log.topic.append(fixture.next(), to: 0)
            blackHole(range)
        } setup: {
            slot.fill(try AppendFixture(durability: durability))
        } teardown: {
            slot.take()?.log.remove()
        }
    }
}
