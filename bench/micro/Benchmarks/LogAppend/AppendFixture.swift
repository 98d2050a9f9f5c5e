import EventLog
import PageviewFixtures

/// A log with one partition and a few prepared batches to append in turn (appends copy nothing:
/// the batches' buffers are shared).
final class AppendFixture: @unchecked Sendable {
    // @unchecked: `position` is touched only by the benchmark's iterations, one at a time.
    let log: PageviewLog
    let batches: [AppendBatch]
    private var position = 0

    init(durability: LogConfiguration.Durability) throws {
        log = try PageviewLog(partitions: 1, configuration: LogConfiguration(durability: durability))
        let events = PageviewStream.generate(count: 16_000)
        batches = stride(from: 0, to: events.count, by: 1000).map { PageviewLog.batches(events[$0..<$0 + 1000], partitions: 1)[0] }
    }

    func next() -> AppendBatch {
        defer { position = (position + 1) % batches.count }
        return batches[position]
    }
}
