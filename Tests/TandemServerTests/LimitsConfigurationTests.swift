import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import Ingest
import NIOCore
import ServingLayer
import TandemServer
import TandemTestSupport
import Testing

/// Every limit is a configuration key with a default; bad values are refused naming the key.
@Suite("Limits in the configuration")
struct LimitsConfigurationTests {
    @Test func defaults() throws {
        let configuration = try TandemConfiguration.parse(yaml: "{}")
        #expect(configuration.server.idleTimeout == .seconds(60))
        #expect(configuration.server.readTimeout == .seconds(30))
        #expect(configuration.server.maxConnections == 1024)
        #expect(configuration.query.maxGroups == 100_000)
        #expect(configuration.query.maxWindows == 1_000_000)
        #expect(configuration.query.maxWindowsPerBucket == 10_000)
        #expect(configuration.query.timeout == .seconds(30))
        #expect(configuration.ingest.maxLongPolls == 256)
        #expect(configuration.ingest.eventTimeBounds.range == Timestamp.supportedRange)
        #expect(configuration.maxStreams == 256)
        #expect(configuration.maxViews == 256)
        #expect(configuration.maxPartitions == 4096)
    }

    @Test func everyKeyIsRead() throws {
        let configuration = try TandemConfiguration.parse(
            yaml: """
                server: {idle_timeout: 5s, read_timeout: 2s, max_connections: 10}
                ingest: {max_long_polls: 3, min_event_time: "2000-01-01T00:00:00Z", max_event_time: "2100-01-01T00:00:00Z"}
                query: {max_groups: 7, max_windows: 8, max_windows_per_bucket: 9, timeout: 1500ms}
                limits: {max_streams: 4, max_views: 5, max_partitions: 6}
                """)
        #expect(configuration.server.idleTimeout == .seconds(5))
        #expect(configuration.server.readTimeout == .seconds(2))
        #expect(configuration.server.maxConnections == 10)
        #expect(configuration.ingest.maxLongPolls == 3)
        #expect(configuration.ingest.eventTimeBounds.range == Timestamp.parse("2000-01-01T00:00:00Z")!...Timestamp.parse("2100-01-01T00:00:00Z")!)
        #expect(configuration.query.maxGroups == 7)
        #expect(configuration.query.maxWindows == 8)
        #expect(configuration.query.maxWindowsPerBucket == 9)
        #expect(configuration.query.timeout == .milliseconds(1500))
        #expect(configuration.maxStreams == 4)
        #expect(configuration.maxViews == 5)
        #expect(configuration.maxPartitions == 6)
    }

    @Test(arguments: [
        ("server: {max_connections: 0}", "server.max_connections"),
        ("server: {read_timeout: soon}", "server.read_timeout"),
        ("query: {max_windows: -1}", "query.max_windows"),
        ("query: {timeout: 0s}", "query.timeout"),
        ("ingest: {min_event_time: \"0000-01-01T00:00:00Z\"}", "ingest.min_event_time"),
        ("ingest: {min_event_time: \"2100-01-01T00:00:00Z\", max_event_time: \"2000-01-01T00:00:00Z\"}", "ingest.min_event_time"),
        ("limits: {max_partitions: 0}", "limits.max_partitions"),
    ])
    func badValuesNameTheirKey(yaml: String, key: String) {
        do {
            _ = try TandemConfiguration.parse(yaml: yaml)
            Issue.record("\(yaml) must be refused")
        } catch {
            #expect("\(error)".contains(key), "\(error)")
        }
    }

    @Test func aQueryPastItsTimeoutIs503() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory, configure: { $0.query.timeout = .zero }) { client async throws in
            let created = try await client.execute(
                uri: "/v1/views", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"name":"c","stream":"pageviews","bucket":"1m","aggregates":{"c":{"fn":"count"}}}"#))
            #expect(created.status == .created)
            let response = try await client.execute(
                uri: "/v1/query", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"view":"c","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z"}"#))
            #expect(response.status == .serviceUnavailable)
            #expect(String(buffer: response.body).contains("query_timeout"))
        }
    }
}
