import Aggregation
import BatchLayer
import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import Ingest
import NIOCore
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// The serving cache through the real application and a real PostgreSQL: it holds exactly the
/// published table, is rebuilt from PostgreSQL after a restart, steps aside for a version that
/// does not fit, and a publish during queries never changes an answer.
@Suite("Serving cache")
struct ServingCacheTests {
    let jobs = BatchJobTests()

    /// Creates the test view, posts `events` events and publishes a full version of them.
    func publish(_ client: some TestClientProtocol, events: Int, seed: UInt64) async throws {
        #expect(try await jobs.post(client, "/v1/views", BatchJobTests.view).status == .created)
        try await jobs.postEvents(client, count: events, seed: seed)
        #expect(try await jobs.runJob(client, mode: "full")?.state == "succeeded")
    }

    /// Every url's totals over the whole test range, optionally for one url only.
    func totals(_ client: some TestClientProtocol, url: String? = nil) async throws -> QueryResponse {
        let filter = url.map { #","filter":{"field":"url","op":"=","value":"\#($0)"}"# } ?? ""
        let body = #"""
            {"view":"jobs_view","from":"2025-11-19T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all","group_by":["url"]\#(filter)}
            """#
        let response = try await jobs.post(client, "/v1/query", body)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try decode(QueryResponse.self, response)
    }

    /// The hourly series of one url.
    func hourly(_ client: some TestClientProtocol, url: String) async throws -> [[String: JSONValue]] {
        let body = #"""
            {"view":"jobs_view","from":"2025-11-19T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"1h","filter":{"field":"url","op":"=","value":"\#(url)"}}
            """#
        let response = try await jobs.post(client, "/v1/query", body)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try decode(QueryResponse.self, response).rows
    }

    /// The serving cache's entry for the test view once its `cached` flag is as asked (`nil`
    /// after about ten seconds).
    func cacheEntry(_ client: some TestClientProtocol, cached: Bool) async throws -> StatusResponse.ServingCache.View? {
        for _ in 0..<1000 {
            let entry = try await client.get(StatusResponse.self, "/v1/status").servingCache?.views.first { $0.view == "jobs_view" }
            if entry?.cached == cached { return entry }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    @Test func theCacheHoldsThePublishedTableAndIsRebuiltAfterARestart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        let configure: (inout TandemConfiguration) -> Void = { $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil }
        let before = try await withApp(directory: directory, database: database, configure: configure) { client async throws in
            try await publish(client, events: 3000, seed: 11)
            let components = try #require(TestComponents.current)
            let batch = try #require(components.batch)
            let view = try #require(components.views.compiledView("jobs_view"))
            let published = try #require(batch.publication(for: view))
            let columns = try #require(published.columns, "a published version that fits is cached at once")
            let table = try await batch.read(published, from: .min, to: .max)
            #expect(columns.state(from: .min, to: .max) == table)
            let entry = try #require(try await cacheEntry(client, cached: true))
            #expect(entry.version == published.id)
            #expect(entry.rows == table.count)
            #expect(entry.bytes > 0)
            let answer = try await totals(client)
            #expect(answer.provenance.source == "batch+speed")
            #expect(answer.rows.reduce(0) { $0 + ($1["views"]?.int ?? 0) } == 3000)
            return (answer.rows, try await hourly(client, url: "/p/3"), published.id)
        }
        try await withApp(directory: directory, database: database, configure: configure) { client async throws in
            let entry = try #require(try await cacheEntry(client, cached: true), "the restart rebuilds the cache from PostgreSQL")
            #expect(entry.version == before.2)
            let components = try #require(TestComponents.current)
            let batch = try #require(components.batch)
            let view = try #require(components.views.compiledView("jobs_view"))
            let published = try #require(batch.publication(for: view))
            let columns = try #require(published.columns)
            let table = try await batch.read(published, from: .min, to: .max)
            #expect(columns.state(from: .min, to: .max) == table)
            #expect(try await totals(client).rows == before.0)
            #expect(try await hourly(client, url: "/p/3") == before.1)
            #expect(try await totals(client, url: "/p/3").rows == before.0.filter { $0["url"] == .string("/p/3") })
        }
    }

    @Test func aVersionOverTheBudgetIsServedFromItsTable() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        try await withApp(
            directory: directory, database: database,
            configure: {
                $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil
                $0.batch.cacheMaxBytes = 1000
            }
        ) { client async throws in
            try await publish(client, events: 2000, seed: 12)
            let entry = try #require(try await cacheEntry(client, cached: false))
            #expect(entry.rows == 0)
            let status = try await client.get(StatusResponse.self, "/v1/status")
            #expect(status.servingCache?.maxBytes == 1000)
            #expect(status.servingCache?.usedBytes == 0)
            let answer = try await totals(client)
            #expect(answer.provenance.source == "batch+speed")
            #expect(answer.rows.reduce(0) { $0 + ($1["views"]?.int ?? 0) } == 2000)
            // A filter on the dimension is pushed down to the typed table: same rows.
            let filtered = try await totals(client, url: "/p/2")
            #expect(filtered.rows == answer.rows.filter { $0["url"] == .string("/p/2") })
            #expect(filtered.rows.count == 1)
        }
    }

    @Test func publishesDuringQueriesNeverChangeAnAnswer() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        try await withApp(directory: directory, database: database, configure: { $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil }) {
            client async throws in
            try await publish(client, events: 3000, seed: 13)
            let expected = try await totals(client).rows
            let expectedSeries = try await hourly(client, url: "/p/1")
            let (queries, versions) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                group.addTask {
                    var published = 0
                    for round in 0..<6 {
                        if try await jobs.runJob(client, mode: round % 2 == 0 ? "full" : "incremental")?.state == "succeeded" { published += 1 }
                    }
                    return (0, published)
                }
                group.addTask {
                    var queries = 0
                    for _ in 0..<400 {
                        let rows = try await totals(client).rows
                        let series = try await hourly(client, url: "/p/1")
                        #expect(rows == expected)
                        #expect(series == expectedSeries)
                        queries += 2
                    }
                    return (queries, 0)
                }
                var total = (0, 0)
                for try await (queries, versions) in group { total = (total.0 + queries, total.1 + versions) }
                return total
            }
            #expect(versions == 6)
            #expect(queries == 800)
        }
    }
}
