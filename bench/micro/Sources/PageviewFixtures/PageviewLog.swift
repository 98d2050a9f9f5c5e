import EventLog
import Events
import Foundation
import Logging

/// A real event log in a fresh temporary directory, holding a `pageviews` topic; removed again
/// by ``remove()``.
public final class PageviewLog: Sendable {
    /// The log's directory.
    public let directory: String
    /// The log.
    public let log: EventLog
    /// The `pageviews` topic.
    public let topic: Topic

    /// A logger that stays quiet unless something goes wrong, so that the benchmark table is all
    /// that is printed.
    public static var quietLogger: Logger {
        var logger = Logger(label: "tandem-micro-bench")
        logger.logLevel = .warning
        return logger
    }

    /// Opens a log in a new temporary directory with a `pageviews` topic.
    /// - Parameters:
    ///   - partitions: the topic's partition count.
    ///   - configuration: how the log stores data; by default without an fsync per batch, which
    ///     only fixtures use (the append benchmark sets its own).
    public init(partitions: Int, configuration: LogConfiguration = LogConfiguration(durability: .interval(milliseconds: 1000))) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-micro-\(UUID().uuidString)").path
        log = try EventLog(directory: directory, configuration: configuration, logger: Self.quietLogger)
        topic = try log.createTopic("pageviews", partitions: partitions)
    }

    /// Appends `events` as the ingest path does: requests of `requestSize` events, each split
    /// into one batch per partition by the user's key.
    public func append(_ events: [Pageview], requestSize: Int = 1000) async throws {
        for start in stride(from: 0, to: events.count, by: requestSize) {
            let batches = Self.batches(events[start..<min(start + requestSize, events.count)], partitions: topic.partitionCount)
            for (partition, batch) in batches.enumerated() where !batch.isEmpty { _ = try await topic.append(batch, to: partition) }
        }
    }

    /// Every record of `partition`, in batches of at most `batchSize` records, as a consumer
    /// reads them.
    public func read(partition: Int, batchSize: Int = 1000) throws -> [RecordBatch] {
        var batches: [RecordBatch] = []
        var offset: Int64 = 0
        while true {
            let batch = try topic.read(partition: partition, from: offset, maxRecords: batchSize)
            guard let next = batch.nextOffset else { return batches }
            batches.append(batch)
            offset = next
        }
    }

    /// Closes the log and deletes its directory.
    public func remove() {
        log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `events` as one append batch per partition, keyed by user, each payload encoded as the
    /// ingest parser encodes it.
    public static func batches(_ events: ArraySlice<Pageview>, partitions: Int) -> [AppendBatch] {
        var batches = [AppendBatch](repeating: AppendBatch(), count: partitions)
        var payload: [UInt8] = []
        for event in events {
            payload.removeAll(keepingCapacity: true)
            event.encoded(into: &payload)
            let key = Array(event.userID.utf8)
            batches[partition(of: key, partitions: partitions)].append(key: key, payload: payload, eventTime: event.time)
        }
        return batches
    }

    /// The partition of a key: FNV-1a, like any stable hash (the server's own partitioner is not
    /// a public product; which partition an event lands in does not change what is measured).
    static func partition(of key: [UInt8], partitions: Int) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Int(hash % UInt64(partitions))
    }
}
