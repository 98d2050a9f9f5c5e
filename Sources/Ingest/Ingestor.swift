import Catalog
import EventLog
import Events
import HTTPAPI
import HTTPTypes
import Logging
import NIOCore
import Synchronization
import TandemAPI

/// Validates request bodies against a stream's schema and appends them to the log atomically.
///
/// A request is all or nothing: every event is parsed and checked before anything is appended, so
/// one invalid event refuses the whole request (400 `invalid_event`, listing the problems). The
/// answer comes only after every partition's batch is durable.
public final class Ingestor: Sendable {
    private let catalog: StreamCatalog
    private let log: EventLog
    private let configuration: IngestConfiguration
    private let logger: Logger
    private let partitioner = Partitioner()
    private let inFlightBytes = Atomic<Int>(0)

    /// Creates an ingestor.
    public init(catalog: StreamCatalog, log: EventLog, configuration: IngestConfiguration, logger: Logger) {
        self.catalog = catalog
        self.log = log
        self.configuration = configuration
        self.logger = logger
    }

    /// Ingests one request body.
    /// - Parameters:
    ///   - body: the body bytes.
    ///   - format: JSON (object or array) or NDJSON.
    ///   - stream: the stream's name.
    ///   - reservedBytes: bytes already admitted for this request (its body, by
    ///     ``withAdmission(bytes:_:)``); only the encoded events beyond them are admitted again.
    /// - Throws: ``APIError`` with the status and code that fit.
    public func ingest(_ body: ByteBuffer, format: BodyFormat, stream: String, reservedBytes: Int = 0) async throws -> IngestResponse {
        guard let definition = catalog[stream] else {
            throw APIError.notFound("unknown_stream", "stream \"\(stream)\" does not exist")
        }
        guard let topic = log.topic(stream) else {
            throw APIError(.internalServerError, code: "internal", "stream \"\(stream)\" has no log topic")
        }
        let partitionCount = definition.partitions
        var batches = [AppendBatch](repeating: AppendBatch(), count: partitionCount)
        var parser = EventParser(definition: definition, bounds: configuration.eventTimeBounds)
        var next = partitioner.nextStart()
        let maxEvents = configuration.maxEventsPerRequest
        let summary = body.withUnsafeReadableBytes { bytes in
            parser.parse(bytes, format: format, ingestTime: Timestamp.now(), maxEvents: maxEvents) { event in
                let partition: Int
                if let key = event.key {
                    partition = Partitioner.partition(forKey: key, partitions: partitionCount)
                } else {
                    partition = next % partitionCount
                    next &+= 1
                }
                batches[partition].append(key: event.key, payload: event.payload, eventTime: event.eventTime)
            }
        }
        if summary.exceededLimit {
            throw APIError(
                .contentTooLarge, code: "too_many_events",
                "the request holds more than \(maxEvents) events; nothing was appended. Send them in smaller requests.")
        }
        if summary.invalidEvents > 0 {
            let shown = summary.issues.count < summary.invalidEvents ? " (the first \(summary.issues.count) problems are listed)" : ""
            throw APIError(
                .badRequest, code: "invalid_event",
                "\(summary.invalidEvents) of \(summary.events) events are invalid; nothing was appended\(shown)",
                details: summary.issues.map { APIError.Detail(index: $0.index, field: $0.field, code: $0.code.rawValue, message: $0.message) })
        }
        let bytes = max(0, batches.reduce(0) { $0 + $1.byteCount } - reservedBytes)
        try admit(bytes)
        defer { inFlightBytes.subtract(bytes, ordering: .relaxed) }
        let ranges = try await append(batches, to: topic)
        return IngestResponse(
            accepted: summary.events, duplicates: 0,
            partitions: PartitionMap(ranges.mapValues { IngestResponse.Offsets(first: $0.first, last: $0.last) }))
    }

    /// Runs `body` with `bytes` reserved against `ingest.max_in_flight_bytes` (a request body
    /// before it is buffered), or refuses at once with 503 `log_queue_full` and `Retry-After`.
    public func withAdmission<T>(bytes: Int, _ body: () async throws -> T) async throws -> T {
        try admit(bytes)
        defer { inFlightBytes.subtract(bytes, ordering: .relaxed) }
        return try await body()
    }

    /// Reserves room in the log's queue or refuses with 503 and `Retry-After`.
    private func admit(_ bytes: Int) throws {
        guard bytes > 0 else { return }
        let limit = configuration.maxInFlightBytes
        var current = inFlightBytes.load(ordering: .relaxed)
        while true {
            guard current == 0 || current + bytes <= limit else {
                throw APIError(
                    .serviceUnavailable, code: "log_queue_full",
                    "the log's write queue is full (\(current) bytes waiting); retry shortly", retryAfterSeconds: 1)
            }
            let (exchanged, original) = inFlightBytes.compareExchange(
                expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    private func append(_ batches: [AppendBatch], to topic: Topic) async throws -> [Int: OffsetRange] {
        do {
            // One partition (every one-event request): appended by this task, with no child task.
            if let partition = batches.firstIndex(where: { !$0.isEmpty }),
                !batches[(partition + 1)...].contains(where: { !$0.isEmpty })
            {
                return [partition: try await topic.append(batches[partition], to: partition)]
            }
            return try await withThrowingTaskGroup(of: (Int, OffsetRange).self) { group in
                for (partition, batch) in batches.enumerated() where !batch.isEmpty {
                    group.addTask { (partition, try await topic.append(batch, to: partition)) }
                }
                var ranges: [Int: OffsetRange] = [:]
                for try await (partition, range) in group { ranges[partition] = range }
                return ranges
            }
        } catch let error as LogError {
            // Nothing of a failed batch was acknowledged: each partition's append either wrote
            // and synced all of its records or answers this error. Partitions that succeeded
            // keep theirs, which a retry with an id field does not double.
            logger.error("append failed", metadata: ["topic": "\(topic.name)", "error": "\(error)"])
            switch error.code {
            case .closed:
                throw APIError(.serviceUnavailable, code: "shutting_down", "the server is shutting down; retry shortly", retryAfterSeconds: 1)
            case .diskFull:
                throw APIError(
                    .init(code: 507, reasonPhrase: "Insufficient Storage"), code: "disk_full",
                    "the log's disk is full; nothing of this request was acknowledged. Free space and retry", retryAfterSeconds: 30)
            case .failStopped:
                throw APIError(.serviceUnavailable, code: "partition_failed", error.message, retryAfterSeconds: 60)
            case .recordTooLarge:
                throw APIError(.contentTooLarge, code: "record_too_large", error.message)
            default:
                throw APIError(
                    .serviceUnavailable, code: "log_unavailable", "the log could not write the events (\(error.message)); retry shortly",
                    retryAfterSeconds: 5)
            }
        } catch {
            logger.error("append failed", metadata: ["topic": "\(topic.name)", "error": "\(error)"])
            throw APIError(.internalServerError, code: "log_write_failed", "the events could not be written to the log")
        }
    }
}
