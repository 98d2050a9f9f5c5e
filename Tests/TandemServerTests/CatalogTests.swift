import Aggregation
import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// With a database, stream and view definitions live in PostgreSQL.
@Suite("Catalog in PostgreSQL")
struct CatalogTests {
    static let orders =
        #"{"name":"orders","partitions":2,"time_field":"ts","fields":{"ts":{"type":"timestamp","required":true},"amount":{"type":"int"}}}"#
    static let view = #"{"name":"order_totals","stream":"orders","dimensions":[],"bucket":"1h","aggregates":{"total":{"fn":"sum","field":"amount"}}}"#

    func post(_ client: some TestClientProtocol, _ uri: String, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }

    @Test func definitionsComeBackFromPostgreSQLAndFilesAreImportedOnce() async throws {
        let files = try TemporaryDirectory()
        defer { files.remove() }
        // A data directory used without a database keeps its definitions in files...
        try await withApp(directory: files) { client async throws in
            #expect(try await post(client, "/v1/streams", Self.orders).status == .created)
            #expect(try await post(client, "/v1/views", Self.view).status == .created)
        }
        let database = try TestDatabase.create()
        // ...which the first start with a database imports.
        try await withApp(directory: files, database: database, configure: { $0.streams = [] }) { client async throws in
            #expect(try await client.get(StreamDefinition.self, "/v1/streams/orders").partitions == 2)
            #expect(try await client.get(ViewResponse.self, "/v1/views/order_totals").view.stream == "orders")
            let evolved = Self.orders.replacingOccurrences(
                of: #""amount":{"type":"int"}"#, with: #""amount":{"type":"int"},"note":{"type":"string"}"#)
            #expect(try await post(client, "/v1/streams", evolved).status == .ok)
        }
        // A server on another data directory but the same database sees the same catalog.
        let elsewhere = try TemporaryDirectory()
        defer { elsewhere.remove() }
        try await withApp(directory: elsewhere, database: database, configure: { $0.streams = [] }) { client async throws in
            let stream = try await client.get(StreamDefinition.self, "/v1/streams/orders")
            #expect(stream.version == 2)
            #expect(stream.fields.map(\.name).last == "note")
            #expect(try await client.get(ViewResponse.self, "/v1/views/order_totals").view.name == "order_totals")
            #expect(try await client.execute(uri: "/v1/views/order_totals", method: .delete).status == .noContent)
        }
        try await withApp(directory: elsewhere, database: database, configure: { $0.streams = [] }) { client async throws in
            #expect(try await client.execute(uri: "/v1/views/order_totals", method: .get).status == .notFound)
        }
    }
}
