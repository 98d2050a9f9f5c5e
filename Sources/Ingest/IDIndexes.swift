import EventLog
import Events
import Logging
import Synchronization

/// The ``IDIndex`` of every stream with an `id_field`, filled from the log's records within the
/// window when first needed (at start, for the streams that exist then), so that a restart
/// remembers what was accepted before it.
final class IDIndexes: Sendable {
    private struct Entry {
        var field: String
        var index: IDIndex
    }

    private let windowMilliseconds: Int64
    private let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])

    init(windowMilliseconds: Int64, logger: Logger) {
        self.windowMilliseconds = windowMilliseconds
        self.logger = logger
    }

    /// The stream's index, or `nil` when it has no id field. Built from the log the first time.
    func index(for definition: StreamDefinition, topic: any LogTopic) async throws -> IDIndex? {
        guard let field = definition.idField else { return nil }
        if let entry = entries.withLock({ $0[definition.name] }), entry.field == field { return entry.index }
        let built = try await build(definition, topic: topic)
        return entries.withLock { entries in
            // A concurrent first request may have built one too: the first stored wins.
            if let entry = entries[definition.name], entry.field == field { return entry.index }
            entries[definition.name] = Entry(field: field, index: built)
            return built
        }
    }

    /// Reads every record of `topic` whose ingest time is within the window and remembers its id.
    private func build(_ definition: StreamDefinition, topic: any LogTopic) async throws -> IDIndex {
        let clock = ContinuousClock.now
        let index = IDIndex(windowMilliseconds: windowMilliseconds)
        guard var reader = EventIDReader(definition: definition) else { return index }
        let cutoff = Timestamp.now() - index.windowMilliseconds
        var scanned = 0
        var damaged = 0
        for partition in 0..<topic.partitionCount {
            var offset = try await topic.startOffset(partition: partition, ingestTimeAtLeast: cutoff)
            while true {
                let batch = try await topic.read(partition: partition, from: offset, maxRecords: 10_000, maxBytes: 4 << 20)
                guard let next = batch.nextOffset else { break }
                for record in batch where record.ingestTime >= cutoff {
                    scanned += 1
                    do {
                        if let id = try record.payload.withUnsafeBytes({ try reader.fingerprint(of: $0) }) {
                            index.remember(id, at: record.ingestTime)
                        }
                    } catch {
                        // A record the current schema cannot read is a poison record for the
                        // views too; it has no id to remember.
                        damaged += 1
                    }
                }
                offset = next
            }
        }
        let size = index.size
        logger.info(
            "remembered the ids of the de-duplication window",
            metadata: [
                "stream": "\(definition.name)", "id_field": "\(definition.idField ?? "")", "records": "\(scanned)", "ids": "\(size.ids)",
                "bytes": "\(size.bytes)", "unreadable": "\(damaged)", "took": "\(ContinuousClock.now - clock)",
            ])
        return index
    }
}
