import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

@Suite("Streams over HTTP")
struct StreamRouteTests {
    static let orders =
        #"{"name":"orders","partitions":2,"time_field":"ts","key_field":"customer","fields":{"ts":{"type":"timestamp","required":true},"customer":{"type":"string"},"amount":{"type":"double"}}}"#

    func create(_ client: some TestClientProtocol, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: "/v1/streams", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }

    @Test func createListGetEvolveAndConflict() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            let created = try await create(client, Self.orders)
            #expect(created.status == .created)
            #expect(try decode(StreamDefinition.self, created).version == 1)
            #expect(try await create(client, Self.orders).status == .ok)
            let list = try await client.get(StreamsResponse.self, "/v1/streams")
            #expect(list.streams.map(\.name) == ["orders", "pageviews"])
            let oneResponse = try await client.execute(uri: "/v1/streams/orders", method: .get)
            #expect(oneResponse.status == .ok)
            let one = try decode(StreamDefinition.self, oneResponse)
            #expect(one.keyField == "customer")
            #expect(one.fields.map(\.name) == ["amount", "customer", "ts"])
            // These fields are in name order, which is also how they decode without `field_order`:
            // the text shows that the answer carries it.
            #expect(String(buffer: oneResponse.body).contains(#""field_order":["amount","customer","ts"]"#))

            let evolved = Self.orders.replacingOccurrences(
                of: #""amount":{"type":"double"}"#, with: #""amount":{"type":"double"},"coupon":{"type":"string"}"#)
            let update = try await create(client, evolved)
            #expect(update.status == .ok)
            #expect(try decode(StreamDefinition.self, update).version == 2)
            #expect(try decode(StreamDefinition.self, update).fields.map(\.name) == ["amount", "customer", "ts", "coupon"])

            let retyped = Self.orders.replacingOccurrences(of: #""amount":{"type":"double"}"#, with: #""amount":{"type":"string"}"#)
            let conflict = try await create(client, retyped)
            #expect(conflict.status == .conflict)
            #expect(try errorBody(conflict).code == "stream_conflict")

            let repartitioned = Self.orders.replacingOccurrences(of: #""partitions":2"#, with: #""partitions":3"#)
            #expect(try await create(client, repartitioned).status == .conflict)
            let missing = try await client.execute(uri: "/v1/streams/nope", method: .get)
            #expect(missing.status == .notFound)
        }
    }

    @Test(arguments: [
        (#"{"name":"Bad-Name","fields":{"a":{"type":"string"}}}"#, "invalid_stream"),
        (#"{"name":"x","partitions":0,"fields":{"a":{"type":"string"}}}"#, "invalid_stream"),
        (#"{"name":"x","fields":{"a":{"type":"uuid"}}}"#, "invalid_body"),
        (#"{"name":"x","time_field":"a","fields":{"a":{"type":"string"}}}"#, "invalid_stream"),
        (#"{"name":"x","fields":{"a; drop table x":{"type":"string"}}}"#, "invalid_stream"),
        (#"{"fields":{"a":{"type":"string"}}}"#, "invalid_body"),
        ("not json", "invalid_body"),
    ])
    func invalidDefinitionsAre400(body: String, code: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            let response = try await create(client, body)
            #expect(response.status == .badRequest)
            #expect(try errorBody(response).code == code)
        }
    }

    @Test func streamsAndEventsSurviveARestart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            #expect(try await create(client, Self.orders).status == .created)
            let body = (0..<20).map { #"{"ts":1763596800000,"customer":"c\#($0 % 3)","amount":\#($0)}"# }.joined(separator: "\n")
            #expect(try await client.post(body, stream: "orders", contentType: "application/x-ndjson").status == .ok)
        }
        try await withApp(directory: directory, configure: { $0.streams = [] }) { client async throws in
            let one = try await client.get(StreamDefinition.self, "/v1/streams/orders")
            #expect(one.partitions == 2)
            let records = try await client.records("orders", partitions: 2)
            #expect(records.count == 20)
            let more = try await client.post(#"{"ts":1763596800000,"customer":"c1","amount":1}"#, stream: "orders")
            #expect(more.status == .ok)
            #expect(try await client.endOffsets("orders").reduce(0, +) == 21)
        }
    }

    @Test func recordsParametersAreChecked() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            for query in ["partition=4", "partition=-1", "offset=abc", "limit=0"] {
                let response = try await client.execute(uri: "/v1/streams/pageviews/records?\(query)", method: .get)
                #expect(response.status == .badRequest, "\(query)")
                #expect(try errorBody(response).code == "invalid_parameter")
            }
            let health = try await client.get(HealthResponse.self, "/healthz")
            #expect(health.status == "ok")
        }
    }
}
