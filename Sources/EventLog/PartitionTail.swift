/// The records of one partition from an offset on, as they are appended.
///
/// Each element is a batch of consecutive records; iteration waits for appends at the end of the
/// log and finishes when the log closes or the task is cancelled.
public struct PartitionTail: AsyncSequence, Sendable {
    public typealias Element = RecordBatch

    let log: PartitionLog
    let start: Int64
    let maxRecords: Int
    let maxBytes: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let log: PartitionLog
        var position: Int64
        let maxRecords: Int
        let maxBytes: Int

        public mutating func next() async throws -> RecordBatch? {
            while !Task.isCancelled {
                let batch = try log.read(from: position, maxRecords: maxRecords, maxBytes: maxBytes)
                if let next = batch.nextOffset {
                    position = next
                    return batch
                }
                guard await log.waitForData(at: position) else { return nil }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(log: log, position: start, maxRecords: maxRecords, maxBytes: maxBytes)
    }
}
