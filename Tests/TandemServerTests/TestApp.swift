import EventLog
import Events
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Ingest
import Logging
import NIOCore
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
    configure: (inout TandemConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Value
) async throws -> Value {
    var configuration = TandemConfiguration()
    configuration.dataDirectory = directory.path
    configuration.port = 0
    configuration.streams = [pageviewsDefinition]
    if let database { configuration.database = .url(database.url) }
    configure(&configuration)
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let (app, components) = try TandemApplication.build(configuration: configuration, logger: logger)
    defer { components.log.close() }
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

    /// GETs a path and decodes the JSON body.
    func getJSON(_ uri: String) async throws -> [String: Any] {
        let response = try await execute(uri: uri, method: .get)
        #expect(response.status == .ok, "GET \(uri): \(String(buffer: response.body))")
        return try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as! [String: Any]
    }

    /// The end offset of every partition of a stream.
    func endOffsets(_ stream: String = "pageviews") async throws -> [Int] {
        let body = try await getJSON("/v1/streams/\(stream)/partitions")
        return (body["partitions"] as! [[String: Any]]).map { $0["end_offset"] as! Int }
    }

    /// Every stored record of a stream, all partitions, as JSON objects.
    func records(_ stream: String = "pageviews", partitions: Int = 4) async throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        for partition in 0..<partitions {
            let response = try await execute(uri: "/v1/streams/\(stream)/records?partition=\(partition)&limit=10000", method: .get)
            #expect(response.status == .ok)
            for line in String(buffer: response.body).split(separator: "\n") {
                all.append(try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])
            }
        }
        return all
    }
}

/// The parsed JSON body of a response.
func json(_ response: TestResponse) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as! [String: Any]
}

/// The `error` object of an error response.
func errorBody(_ response: TestResponse) throws -> [String: Any] {
    try #require(try json(response)["error"] as? [String: Any])
}
