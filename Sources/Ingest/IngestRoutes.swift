import Catalog
import CompressNIO
import EventLog
import Events
import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import NIOCore
import TandemAPI

/// The HTTP routes of streams, ingest and reading the log back:
///
/// - `POST /v1/streams`, `GET /v1/streams`, `GET /v1/streams/{name}`
/// - `POST /v1/streams/{name}/events` (JSON object, JSON array, or NDJSON)
/// - `GET /v1/streams/{name}/partitions`
/// - `GET /v1/streams/{name}/records?partition=P&offset=O&limit=N[&wait_ms=W]` (NDJSON)
public struct IngestRoutes: Sendable {
    let ingestor: Ingestor
    let catalog: StreamCatalog
    let log: any SharedLog
    let configuration: IngestConfiguration
    private let longPolls = HolderCount()

    /// Creates the routes.
    public init(ingestor: Ingestor, catalog: StreamCatalog, log: any SharedLog, configuration: IngestConfiguration) {
        self.ingestor = ingestor
        self.catalog = catalog
        self.log = log
        self.configuration = configuration
    }

    /// Adds the routes to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/v1/streams") { request, _ in try await createStream(request) }
        router.get("/v1/streams") { _, _ in try JSONCoding.response(StreamsResponse(streams: catalog.all)) }
        router.get("/v1/streams/:name") { _, context in try JSONCoding.response(try definition(context)) }
        router.post("/v1/streams/:name/events") { request, context in try await postEvents(request, context) }
        router.get("/v1/streams/:name/partitions") { _, context in try partitions(context) }
        router.get("/v1/streams/:name/records") { request, context in try await records(request, context) }
    }

    private func definition(_ context: some RequestContext) throws -> StreamDefinition {
        let name = context.parameters.get("name") ?? ""
        guard let definition = catalog[name] else {
            throw APIError.notFound("unknown_stream", "stream \"\(name)\" does not exist")
        }
        return definition
    }

    private func createStream(_ request: Request) async throws -> Response {
        let requested = try await JSONCoding.decodeBody(StreamDefinition.self, from: request)
        // A SchemaError propagates: the server's error middleware gives it its status.
        let (stored, outcome) = try await catalog.define(requested)
        return try JSONCoding.response(stored, status: outcome == .created ? .created : .ok)
    }

    /// The body format named by a `Content-Type` header, or 415.
    static func bodyFormat(_ contentType: String?) throws -> BodyFormat {
        // What clients send: answered without Foundation's trimming and lowercasing, which cost
        // 4 % of a one-event request's CPU.
        switch contentType {
        case "application/json": return .json
        case "application/x-ndjson": return .ndjson
        default: break
        }
        let mediaType = JSONCoding.mediaType(contentType)
        switch mediaType {
        case "application/json": return .json
        case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines": return .ndjson
        default:
            throw APIError(
                .unsupportedMediaType, code: "unsupported_media_type",
                "Content-Type must be application/json (an object or an array) or application/x-ndjson, got \(mediaType.isEmpty ? "none" : "\"\(mediaType)\"")"
            )
        }
    }

    /// Whether a `Content-Encoding` header says gzip (`false` for none or `identity`), or 415.
    static func isGzip(_ contentEncoding: String?) throws -> Bool {
        guard let contentEncoding else { return false }
        switch contentEncoding.trimmingCharacters(in: .whitespaces).lowercased() {
        case "identity", "": return false
        case "gzip", "x-gzip": return true
        case let other:
            throw APIError(
                .unsupportedMediaType, code: "unsupported_encoding", "Content-Encoding must be gzip or identity, got \"\(other)\"")
        }
    }

    /// A gzip body, decompressed: refused when it would pass `limit` bytes (a small body may
    /// inflate to gigabytes), when it is damaged or cut short, or when it holds more than one
    /// gzip member.
    static func gunzip(_ body: ByteBuffer, limit: Int) throws -> ByteBuffer {
        var compressed = body
        // The gzip trailer's last field: the decompressed size modulo 2^32. zlib checks the
        // trailer only when it reaches it, so this also tells a whole stream from a cut one.
        let size = body.readableBytes >= 18 ? body.getInteger(at: body.writerIndex - 4, endianness: .little, as: UInt32.self) : nil
        let plain: ByteBuffer
        do {
            plain = try compressed.decompress(with: .gzip(), maxSize: limit)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw APIError(
                .contentTooLarge, code: "body_too_large",
                "the body, decompressed, is larger than the limit of \(limit) bytes (ingest.max_body_bytes); nothing was appended")
        } catch {
            throw APIError.badRequest("invalid_body", "the gzip body cannot be decompressed (\(error)); nothing was appended")
        }
        guard compressed.readableBytes == 0, let size, size == UInt32(truncatingIfNeeded: plain.readableBytes) else {
            throw APIError.badRequest(
                "invalid_body", "the gzip body is cut short or holds more than one gzip member; nothing was appended")
        }
        return plain
    }

    private func postEvents(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let name = context.parameters.get("name") ?? ""
        guard catalog[name] != nil else { throw APIError.notFound("unknown_stream", "stream \"\(name)\" does not exist") }
        let format = try Self.bodyFormat(request.headers[.contentType])
        let gzip = try Self.isGzip(request.headers[.contentEncoding])
        let limit = configuration.maxBodyBytes
        let tooLarge = APIError(.contentTooLarge, code: "body_too_large", "the body is larger than the limit of \(limit) bytes; nothing was appended")
        // The body is admitted against ingest.max_in_flight_bytes before it is buffered: its
        // declared length, or the most a body may be when it is sent chunked (or decompressed).
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        let reserved = gzip ? limit : min(declared ?? limit, limit)
        let result = try await ingestor.withAdmission(bytes: reserved) {
            var body = try await BoundedBody.collect(request, upTo: limit, tooLarge: tooLarge)
            if gzip { body = try Self.gunzip(body, limit: limit) }
            return try await ingestor.ingest(body, format: format, stream: name, reservedBytes: reserved)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: result.json)))
    }

    private func partitions(_ context: some RequestContext) throws -> Response {
        let definition = try definition(context)
        guard let topic = log.logTopic(definition.name) else { throw APIError.notFound("unknown_stream", "stream has no log") }
        return try JSONCoding.response(
            PartitionsResponse(
                stream: definition.name,
                partitions: topic.partitionInfo().map {
                    .init(
                        partition: $0.partition, startOffset: $0.startOffset, endOffset: $0.endOffset, sizeBytes: $0.sizeBytes, segments: $0.segments)
                }))
    }

    private func records(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let definition = try definition(context)
        guard let topic = log.logTopic(definition.name) else { throw APIError.notFound("unknown_stream", "stream has no log") }
        let query = request.uri.queryParameters
        func integer(_ name: String, default value: Int64, range: ClosedRange<Int64>) throws -> Int64 {
            guard let text = query.get(name) else { return value }
            guard let number = Int64(text), range.contains(number) else {
                throw APIError.badRequest(
                    "invalid_parameter", "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"", field: name)
            }
            return number
        }
        let partition = Int(try integer("partition", default: 0, range: 0...Int64(definition.partitions - 1)))
        let offset = try integer("offset", default: 0, range: 0...Int64.max)
        let limit = Int(try integer("limit", default: 1000, range: 1...10_000))
        let waitMilliseconds = try integer("wait_ms", default: 0, range: 0...60_000)
        var batch = try await topic.read(partition: partition, from: offset, maxRecords: limit, maxBytes: 4 << 20)
        if batch.isEmpty && waitMilliseconds > 0 {
            guard longPolls.enter(limit: configuration.maxLongPolls) else {
                throw APIError(
                    .tooManyRequests, code: "too_many_long_polls",
                    "\(configuration.maxLongPolls) requests are already waiting for records (ingest.max_long_polls); retry shortly",
                    retryAfterSeconds: 1)
            }
            defer { longPolls.leave() }
            let arrived = await withTaskGroup(of: Bool.self) { group in
                // A failed wait (the log closing) is answered like a timeout: the records so far.
                group.addTask { (try? await topic.waitForData(partition: partition, at: offset)) ?? false }
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(waitMilliseconds))
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            if arrived { batch = try await topic.read(partition: partition, from: offset, maxRecords: limit, maxBytes: 4 << 20) }
        }
        var text = ""
        text.reserveCapacity(batch.byteCount * 3)
        for record in batch {
            text += "{\"partition\":\(partition),\"offset\":\(record.offset),\"event_time\":\"\(Timestamp.format(record.eventTime))\""
            text += ",\"ingest_time\":\"\(Timestamp.format(record.ingestTime))\",\"key\":"
            if let key = record.key {
                JSONText.appendString(String(decoding: key, as: UTF8.self), to: &text)
            } else {
                text += "null"
            }
            text += ",\"event\":"
            try record.payload.withUnsafeBytes { try RecordCodec.appendJSON($0, definition: definition, to: &text) }
            text += "}\n"
        }
        var headers: HTTPFields = [.contentType: "application/x-ndjson"]
        if let next = batch.nextOffset { headers[HTTPField.Name("Tandem-Next-Offset")!] = String(next) }
        headers[HTTPField.Name("Tandem-End-Offset")!] = String(topic.endOffsets()[partition])
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
