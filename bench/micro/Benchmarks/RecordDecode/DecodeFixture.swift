import EventLog
import Events
import PageviewFixtures

/// A one-partition log of 16,000 pageviews, and its records read back in batches of 1,000.
final class DecodeFixture: @unchecked Sendable {
    // @unchecked: `position` is touched only by the benchmark's iterations, one at a time.
    let log: PageviewLog
    let definition = PageviewStream.definition(partitions: 1)
    let fieldTypes: [FieldType]
    private let batches: [RecordBatch]
    private var position = 0

    init() async throws {
        log = try PageviewLog(partitions: 1)
        try await log.append(PageviewStream.generate(count: 16_000))
        batches = try log.read(partition: 0)
        fieldTypes = definition.fields.map(\.type)
    }

    func nextBatch() -> RecordBatch {
        defer { position = (position + 1) % batches.count }
        return batches[position]
    }

    func nextOffset() -> Int64 { nextBatch()[0].offset }
}
