import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
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
            #expect(try json(created)["version"] as? Int == 1)
            #expect(try await create(client, Self.orders).status == .ok)
            let list = try await client.getJSON("/v1/streams")
            #expect((list["streams"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["orders", "pageviews"])
            let one = try await client.getJSON("/v1/streams/orders")
            #expect(one["key_field"] as? String == "customer")
            #expect(one["field_order"] as? [String] == ["amount", "customer", "ts"])

            let evolved = Self.orders.replacingOccurrences(
                of: #""amount":{"type":"double"}"#, with: #""amount":{"type":"double"},"coupon":{"type":"string"}"#)
            let update = try await create(client, evolved)
            #expect(update.status == .ok)
            #expect(try json(update)["version"] as? Int == 2)
            #expect(try json(update)["field_order"] as? [String] == ["amount", "customer", "ts", "coupon"])

            let retyped = Self.orders.replacingOccurrences(of: #""amount":{"type":"double"}"#, with: #""amount":{"type":"string"}"#)
            let conflict = try await create(client, retyped)
            #expect(conflict.status == .conflict)
            #expect(try errorBody(conflict)["code"] as? String == "stream_conflict")

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
            #expect(try errorBody(response)["code"] as? String == code)
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
            let one = try await client.getJSON("/v1/streams/orders")
            #expect(one["partitions"] as? Int == 2)
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
                #expect(try errorBody(response)["code"] as? String == "invalid_parameter")
            }
            let health = try await client.getJSON("/healthz")
            #expect(health["status"] as? String == "ok")
        }
    }
}
