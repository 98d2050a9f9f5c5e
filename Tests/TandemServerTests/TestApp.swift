import BatchLayer
import EventLog
import Events
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Ingest
import Logging
import NIOCore
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// The stream most tests post to: keyed by `user_id`, 4 partitions.
let pageviewsDefinition = StreamDefinition(
    name: "pageviews", partitions: 4,
    fields: [
        FieldDefinition(name: "ts", type: .timestamp, required: true),
        FieldDefinition(name: "url", type: .string, required: true),
        FieldDefinition(name: "user_id", type: .string),
        FieldDefinition(name: "latency_ms", type: .double),
        FieldDefinition(name: "n", type: .int),
    ],
    timeField: "ts", keyField: "user_id")

/// Runs `body` against the real application (router-level test client) on `directory`.
func withApp<Value: Sendable>(
    directory: TemporaryDirectory,
    database: TestDatabase? = nil,
    logFileSystem: any LogFileSystem = SystemFileSystem(),
    batchFaults: BatchFaults = BatchFaults(),
    configure: (inout TandemConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Value
) async throws -> Value {
    var configuration = TandemConfiguration()
    configuration.dataDirectory = directory.path
    configuration.port = 0
    configuration.streams = [pageviewsDefinition]
    if let database { configuration.database = .url(database.url) }
    // Tests of other features run on loopback without tokens (the explicit setting); AuthTests
    // turn them on.
    configuration.authEnabled = false
    configure(&configuration)
    var logger = Logger(label: "test")
    logger.logLevel = ProcessInfo.processInfo.environment["TANDEM_TEST_LOG"] == "info" ? .info : .warning
    let (app, components) = try TandemApplication.build(
        configuration: configuration, logger: logger, logFileSystem: logFileSystem, batchFaults: batchFaults)
    defer { components.embeddedLog?.close() }
    return try await TestComponents.$current.withValue(components) {
        try await app.test(.router) { client in try await body(client) }
    }
}

/// The components of the application that `withApp` is running, for tests that look past HTTP.
enum TestComponents {
    @TaskLocal static var current: TandemApplication.Components?
}

extension TestClientProtocol {
    /// POSTs events and returns the response.
    func post(_ body: String, stream: String = "pageviews", contentType: String = "application/json") async throws -> TestResponse {
        try await execute(uri: "/v1/streams/\(stream)/events", method: .post, headers: [.contentType: contentType], body: ByteBuffer(string: body))
    }

    /// GETs a path, expects 200, and decodes the JSON body as `type`.
    func get<T: Decodable>(_ type: T.Type, _ uri: String) async throws -> T {
        let response = try await execute(uri: uri, method: .get)
        #expect(response.status == .ok, "GET \(uri): \(String(buffer: response.body))")
        return try decode(type, response)
    }

    /// The end offset of every partition of a stream.
    func endOffsets(_ stream: String = "pageviews") async throws -> [Int64] {
        try await get(PartitionsResponse.self, "/v1/streams/\(stream)/partitions").partitions.map(\.endOffset)
    }

    /// Every stored record of a stream, all partitions.
    func records(_ stream: String = "pageviews", partitions: Int = 4) async throws -> [StoredRecord] {
        var all: [StoredRecord] = []
        for partition in 0..<partitions {
            let response = try await execute(uri: "/v1/streams/\(stream)/records?partition=\(partition)&limit=10000", method: .get)
            #expect(response.status == .ok)
            for line in String(buffer: response.body).split(separator: "\n") {
                all.append(try decode(StoredRecord.self, line))
            }
        }
        return all
    }
}

/// The JSON body of a response, decoded as `type`.
func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
    try JSONDecoder().decode(type, from: Data(response.body.readableBytesView))
}

/// A JSON text (a body, one NDJSON line), decoded as `type`.
func decode<T: Decodable>(_ type: T.Type, _ text: some StringProtocol) throws -> T {
    try JSONDecoder().decode(type, from: Data(text.utf8))
}

/// The `error` object of an error response.
func errorBody(_ response: TestResponse) throws -> ErrorResponse.Body {
    try decode(ErrorResponse.self, response).error
}

extension RawHTTPConnection.Answer {
    /// The `error.code` of a JSON error body, if it has one.
    var errorCode: String? { (try? decode(ErrorResponse.self))?.error.code }
}
