import BatchLayer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SpeedLayer
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// A stored definition the server can no longer run does not stop it, and secrets stay secret.
@Suite("Startup resilience and secrets")
struct StartupResilienceTests {
    @Test func aStoredViewThatNoLongerCompilesIsMarkedFailedAndTheServerRuns() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // A view written by an older version, with an accuracy this version refuses.
        try FileManager.default.createDirectory(atPath: directory.path + "/views", withIntermediateDirectories: true)
        let stored = #"""
            {"name":"old_p","stream":"pageviews","dimensions":[],"bucket":"1m","aggregate_order":["p"],
             "aggregates":{"p":{"fn":"quantile","field":"latency_ms","q":0.5,"relative_accuracy":1e-300}}}
            """#
        try stored.write(toFile: directory.path + "/views/old_p.json", atomically: true, encoding: .utf8)
        try await withApp(directory: directory) { client async throws in
            let view = try await client.get(ViewResponse.self, "/v1/views/old_p")
            #expect(view.failure?.contains("relative_accuracy") == true)
            let health = try await client.get(HealthResponse.self, "/healthz")
            #expect(health.failedViews["old_p"] != nil)
            // The rest of the server works: ingest, and a new view.
            #expect(try await client.post(#"{"ts":1763596800000,"url":"/a"}"#).status == .ok)
            let created = try await client.execute(
                uri: "/v1/views", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"name":"fine","stream":"pageviews","bucket":"1m","aggregates":{"c":{"fn":"count"}}}"#))
            #expect(created.status == .created)
        }
    }

    @Test func speedStatePastItsRowLimitIsReported() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory, configure: { $0.speed.stateRowLimit = 5 }) { client async throws in
            let created = try await client.execute(
                uri: "/v1/views", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(
                    string: #"{"name":"urls","stream":"pageviews","dimensions":["url"],"bucket":"1m","aggregates":{"c":{"fn":"count"}}}"#))
            #expect(created.status == .created)
            let events = (0..<10).map { #"{"ts":1763596800000,"url":"/\#($0)"}"# }.joined(separator: "\n")
            #expect(try await client.post(events, contentType: "application/x-ndjson").status == .ok)
            var status: SpeedViewStatus?
            for _ in 0..<200 {
                status = try await client.get(ViewResponse.self, "/v1/views/urls").status
                if status?.stateRows == 10 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(status?.stateRows == 10)
            #expect(status?.overRowLimit == true)
        }
    }

    @Test(arguments: [
        ("postgres://tandem:s3cret@db.example:5432/tandem", "postgres://tandem:***@db.example:5432/tandem"),
        ("postgres://tandem:s3cret@", "postgres://tandem:***@"),
        ("postgres://tandem@db:5432/x", "postgres://tandem@db:5432/x"),
        ("not a url", "not a url"),
    ])
    func passwordsAreRedacted(url: String, shown: String) {
        #expect(DatabaseClient.redacted(url) == shown)
    }

    @Test func aBadDatabaseURLDoesNotPrintItsPassword() throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        do {
            _ = try DatabaseClient.make(url: "postgres://tandem:s3cret@/tandem", logger: logger)
            Issue.record("a URL without a host must be refused")
        } catch {
            #expect(!"\(error)".contains("s3cret"))
        }
    }

    /// How long a start waits for PostgreSQL: 10 s by default, `postgres.connect_timeout`, or a
    /// libpq-style `connect_timeout` in the URL; nonsense is refused with the setting's name.
    @Test func theConnectTimeoutComesFromTheSettingOrTheURL() throws {
        #expect(TandemConfiguration().batch.connectTimeout == .seconds(10))
        let configured = try TandemConfiguration.parse(yaml: "postgres: {connect_timeout: 45s}")
        #expect(configured.batch.connectTimeout == .seconds(45))
        #expect(throws: (any Error).self) { try TandemConfiguration.parse(yaml: "postgres: {connect_timeout: 10ms}") }
        #expect(try DatabaseClient.connectTimeout(url: "postgres://u@db/x?sslmode=disable&connect_timeout=7") == .seconds(7))
        #expect(try DatabaseClient.connectTimeout(url: "postgres://u@db/x") == nil)
        #expect(
            performing: { try DatabaseClient.connectTimeout(url: "postgres://u@db/x?connect_timeout=soon") },
            throws: { "\($0)".contains("connect_timeout") })
        // A number PostgresNIO would overflow when it adds it to now is refused, in the URL and the setting.
        #expect(throws: (any Error).self) { try DatabaseClient.connectTimeout(url: "postgres://u@db/x?connect_timeout=99999999999") }
        #expect(throws: (any Error).self) { try TandemConfiguration.parse(yaml: "postgres: {connect_timeout: 100000d}") }
    }
}
