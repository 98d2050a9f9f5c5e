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
///
/// A stream with an `id_field` appends an event only if no event with its id was accepted within
/// ``IngestConfiguration/dedupWindowMilliseconds`` (whatever partition it went to, and across
/// restarts); the others count as `duplicates`. So a client may retry a request whose answer it
/// never saw.
public final class Ingestor: Sendable {
    private let catalog: StreamCatalog
    private let log: any SharedLog
    private let configuration: IngestConfiguration
    private let logger: Logger
    private let partitioner = Partitioner()
    private let inFlightBytes = Atomic<Int>(0)
    private let ids: IDIndexes

    /// Creates an ingestor.
    public init(catalog: StreamCatalog, log: any SharedLog, configuration: IngestConfiguration, logger: Logger) {
        self.catalog = catalog
        self.log = log
        self.configuration = configuration
        self.logger = logger
        self.ids = IDIndexes(windowMilliseconds: configuration.dedupWindowMilliseconds, logger: logger)
    }

    /// Fills the id index of every stream with an `id_field` from the log, so that the first
    /// requests after a restart are checked against what was accepted before it. (Without this,
    /// each stream's index is filled by its first request.)
    public func loadIDIndexes() async throws {
        for definition in catalog.all where definition.idField != nil {
            if let topic = log.logTopic(definition.name) { _ = try await ids.index(for: definition, topic: topic) }
        }
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
        guard let topic = log.logTopic(stream) else {
            throw APIError(.internalServerError, code: "internal", "stream \"\(stream)\" has no log topic")
        }
        let partitionCount = definition.partitions
        let idIndex: IDIndex?
        do {
            idIndex = try await ids.index(for: definition, topic: topic)
        } catch {
            logger.error("could not read the log to fill the id index", metadata: ["stream": "\(stream)", "error": "\(error)"])
            throw APIError(
                .serviceUnavailable, code: "log_unavailable", "the log could not be read to check event ids; retry shortly", retryAfterSeconds: 5)
        }
        var batches = [AppendBatch](repeating: AppendBatch(), count: partitionCount)
        var eventIDs = [[EventFingerprint?]](repeating: [], count: idIndex == nil ? 0 : partitionCount)
        var parser = EventParser(definition: definition, bounds: configuration.eventTimeBounds)
        var next = partitioner.nextStart()
        let maxEvents = configuration.maxEventsPerRequest
        let summary = body.withUnsafeReadableBytes { bytes in
            parser.parse(bytes, format: format, ingestTime: Timestamp.now(), maxEvents: maxEvents) { event in
                let partition: Int
                if let key = event.key {
                    partition = topic.partition(forKey: key)
                } else {
                    partition = next % partitionCount
                    next &+= 1
                }
                batches[partition].append(key: event.key, payload: event.payload, eventTime: event.eventTime)
                if idIndex != nil { eventIDs[partition].append(event.id) }
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
        try IngestQuota.current?.take(summary.events)
        let bytes = max(0, batches.reduce(0) { $0 + $1.byteCount } - reservedBytes)
        try admit(bytes)
        defer { inFlightBytes.subtract(bytes, ordering: .relaxed) }
        guard let idIndex else {
            let ranges = try await append(batches, to: topic)
            return IngestResponse(
                accepted: summary.events, duplicates: 0,
                partitions: PartitionMap(ranges.mapValues { IngestResponse.Offsets(first: $0.first, last: $0.last) }))
        }
        return try await appendNew(batches, ids: eventIDs, index: idIndex, to: topic)
    }

    /// Appends the events whose ids are new, and remembers the ids of every partition written,
    /// even when another partition of the request failed (so that the client's retry appends only
    /// what is missing).
    private func appendNew(_ batches: [AppendBatch], ids: [[EventFingerprint?]], index: IDIndex, to topic: any LogTopic) async throws
        -> IngestResponse
    {
        let reservation = await index.reserve(ids.flatMap { $0 }, now: Timestamp.now())
        // Where each partition's events start in the reservation's flat list.
        var starts = [0]
        for partitionIDs in ids { starts.append(starts.last! + partitionIDs.count) }
        var batches = batches
        for partition in batches.indices where reservation.isNew[starts[partition]..<starts[partition + 1]].contains(false) {
            batches[partition] = batches[partition].filter { reservation.isNew[starts[partition] + $0] }
        }
        let results = await appendEach(batches, to: topic)
        var appended: [EventFingerprint] = []
        for partition in batches.indices {
            guard case .success? = results[partition] else { continue }
            for (position, id) in ids[partition].enumerated() where reservation.isNew[starts[partition] + position] {
                if let id { appended.append(id) }
            }
        }
        index.settle(reservation, appended: appended, now: Timestamp.now())
        let ranges = try ranges(of: results, topic: topic)
        let duplicates = reservation.duplicates
        return IngestResponse(
            accepted: reservation.isNew.count - duplicates, duplicates: duplicates,
            partitions: PartitionMap(ranges.mapValues { IngestResponse.Offsets(first: $0.first, last: $0.last) }))
    }

    /// Appends each non-empty batch to its partition, concurrently, and returns every outcome.
    private func appendEach(_ batches: [AppendBatch], to topic: any LogTopic) async -> [Int: Result<OffsetRange, any Error>] {
        await withTaskGroup(of: (Int, Result<OffsetRange, any Error>).self) { group in
            for (partition, batch) in batches.enumerated() where !batch.isEmpty {
                group.addTask {
                    do {
                        return (partition, .success(try await topic.append(batch, to: partition)))
                    } catch {
                        return (partition, .failure(error))
                    }
                }
            }
            var results: [Int: Result<OffsetRange, any Error>] = [:]
            for await (partition, result) in group { results[partition] = result }
            return results
        }
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

    private func append(_ batches: [AppendBatch], to topic: any LogTopic) async throws -> [Int: OffsetRange] {
        // One partition (every one-event request): appended by this task, with no child task.
        if let partition = batches.firstIndex(where: { !$0.isEmpty }), !batches[(partition + 1)...].contains(where: { !$0.isEmpty }) {
            do {
                return [partition: try await topic.append(batches[partition], to: partition)]
            } catch {
                throw mapLogError(error, topic: topic)
            }
        }
        return try ranges(of: await appendEach(batches, to: topic), topic: topic)
    }

    /// The offsets given, or the error of the first partition that failed.
    private func ranges(of results: [Int: Result<OffsetRange, any Error>], topic: any LogTopic) throws -> [Int: OffsetRange] {
        var ranges: [Int: OffsetRange] = [:]
        for (partition, result) in results.sorted(by: { $0.key < $1.key }) {
            switch result {
            case .success(let range): ranges[partition] = range
            case .failure(let error): throw mapLogError(error, topic: topic)
            }
        }
        return ranges
    }

    /// The API error for a failed append.
    private func mapLogError(_ error: any Error, topic: any LogTopic) -> APIError {
        guard let error = error as? LogError else {
            logger.error("append failed", metadata: ["topic": "\(topic.name)", "error": "\(error)"])
            return APIError(.internalServerError, code: "log_write_failed", "the events could not be written to the log")
        }
        // Nothing of a failed batch was acknowledged: each partition's append either wrote
        // and synced all of its records or answers this error. Partitions that succeeded
        // keep theirs, which a retry with an id field does not double.
        logger.error("append failed", metadata: ["topic": "\(topic.name)", "error": "\(error)"])
        switch error.code {
        case .closed:
            return APIError(.serviceUnavailable, code: "shutting_down", "the server is shutting down; retry shortly", retryAfterSeconds: 1)
        case .diskFull:
            return APIError(
                .init(code: 507, reasonPhrase: "Insufficient Storage"), code: "disk_full",
                "the log's disk is full; nothing of this request was acknowledged. Free space and retry", retryAfterSeconds: 30)
        case .failStopped:
            return APIError(.serviceUnavailable, code: "partition_failed", error.message, retryAfterSeconds: 60)
        case .recordTooLarge:
            return APIError(.contentTooLarge, code: "record_too_large", error.message)
        default:
            return APIError(
                .serviceUnavailable, code: "log_unavailable", "the log could not write the events (\(error.message)); retry shortly",
                retryAfterSeconds: 5)
        }
    }
}
