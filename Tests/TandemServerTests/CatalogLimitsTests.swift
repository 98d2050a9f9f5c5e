import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// `limits.*`: streams, partitions and views are bounded, so that open files and memory stay
/// within what the process may hold.
@Suite("Catalog limits")
struct CatalogLimitsTests {
    static func stream(_ name: String, partitions: Int) -> String {
        #"{"name":"\#(name)","partitions":\#(partitions),"time_field":"ts","fields":{"ts":{"type":"timestamp"}}}"#
    }

    static func view(_ name: String) -> String {
        #"{"name":"\#(name)","stream":"pageviews","bucket":"1m","aggregates":{"c":{"fn":"count"}}}"#
    }

    func post(_ client: some TestClientProtocol, _ uri: String, _ body: String) async throws -> (HTTPResponse.Status, String?) {
        let response = try await client.execute(uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
        return (response.status, (try? errorBody(response))?.code)
    }

    @Test func streamsPartitionsAndViewsAreBounded() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // pageviews (4 partitions) is already there.
        try await withApp(
            directory: directory,
            configure: {
                $0.maxStreams = 3; $0.maxPartitions = 8; $0.maxViews = 1
            }
        ) { client async throws in
            #expect(try await post(client, "/v1/streams", Self.stream("wide", partitions: 5)) == (.badRequest, "too_many_partitions"))
            #expect(try await post(client, "/v1/streams", Self.stream("a", partitions: 2)).0 == .created)
            #expect(try await post(client, "/v1/streams", Self.stream("b", partitions: 2)).0 == .created)
            #expect(try await post(client, "/v1/streams", Self.stream("c", partitions: 1)) == (.badRequest, "too_many_streams"))
            // Re-posting an existing stream is not a new one.
            #expect(try await post(client, "/v1/streams", Self.stream("a", partitions: 2)).0 == .ok)
            #expect(try await post(client, "/v1/views", Self.view("one")).0 == .created)
            #expect(try await post(client, "/v1/views", Self.view("two")) == (.conflict, "too_many_views"))
            #expect(try await post(client, "/v1/views", Self.view("one")).0 == .ok)
        }
    }
}
