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

/// A published version is never merged with a log it was not built from: a log that lost records
/// below the cut, or another log altogether, makes the start drop the version from the answers
/// and queue a full recompute.
@Suite("Cut integrity")
struct CutIntegrityTests {
    static let view = #"""
        {"name":"totals","stream":"pageviews","dimensions":[],"bucket":"1h","aggregates":{"views":{"fn":"count"}}}
        """#
    static let query = #"{"view":"totals","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#

    static func events(_ count: Int, from first: Int) -> String {
        (first..<first + count).map { #"{"ts":"2025-11-20T10:00:00Z","url":"/p/\#($0)","user_id":"u\#($0)"}"# }.joined(separator: "\n")
    }

    /// The merged count once the speed layer has consumed everything and, when asked, no job is
    /// queued or running.
    static func settledCount(_ client: some TestClientProtocol, jobsIdle: Bool) async throws -> (count: Int64?, version: Int64?) {
        var answer: QueryResponse?
        for _ in 0..<2000 {
            let jobs = try await client.get(JobsResponse.self, "/v1/jobs?limit=20").jobs
            let idle = !jobsIdle || jobs.allSatisfy { $0.state == "succeeded" || $0.state == "failed" }
            let response = try await client.execute(
                uri: "/v1/query", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: query))
            answer = try decode(QueryResponse.self, response)
            if idle && answer?.provenance.lagRecords == 0 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        guard case .int(let count)? = answer?.rows.first?["views"] else { return (nil, answer?.provenance.batchVersion) }
        return (count, answer?.provenance.batchVersion)
    }

    @Test func aLogThatLostRecordsOrWasReplacedIsNeverMergedWithTheOldVersion() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        func configure(_ configuration: inout TandemConfiguration) { configuration.ingest.eventTimeBounds.maxFutureMilliseconds = nil }
        // 1. 100 events, a published version covering them.
        try await withApp(directory: directory, database: database, configure: configure) { client async throws in
            let created = try await client.execute(
                uri: "/v1/views", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: Self.view))
            #expect(created.status == .created)
            #expect(try await client.post(Self.events(100, from: 0), contentType: "application/x-ndjson").status == .ok)
            let response = try await client.execute(
                uri: "/v1/jobs", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"view":"totals","mode":"full"}"#))
            #expect(response.status == .accepted || response.status == .conflict)
            let (count, version) = try await Self.settledCount(client, jobsIdle: true)
            #expect(count == 100)
            #expect(version != nil, "a version is published")
        }
        // 2. The log loses its records (segment files deleted; the topic, and its id, stay).
        let log = directory.path + "/log/pageviews"
        for partition in 0..<4 {
            for file in try FileManager.default.contentsOfDirectory(atPath: "\(log)/\(partition)")
            where file.hasSuffix(".log") || file.hasSuffix(".index") {
                try FileManager.default.removeItem(atPath: "\(log)/\(partition)/\(file)")
            }
        }
        try await withApp(directory: directory, database: database, configure: configure) { client async throws in
            let batch = try #require(TestComponents.current?.batch)
            #expect(batch.invalidatedViews["totals"]?.contains("past the log's end") == true, "\(batch.invalidatedViews)")
            #expect(try await client.post(Self.events(10, from: 1000), contentType: "application/x-ndjson").status == .ok)
            let (count, _) = try await Self.settledCount(client, jobsIdle: true)
            #expect(count == 10, "only the records the log holds")
            let jobs = try await client.get(JobsResponse.self, "/v1/jobs?limit=20").jobs
            #expect(jobs.contains { $0.trigger == "cut_check" && $0.mode == "full" && $0.state == "succeeded" }, "\(jobs.map(\.trigger))")
        }
        // 3. Another log altogether: the directory is deleted and the stream created again, and
        // then holds more records than the published cut, so offsets alone would not tell.
        try FileManager.default.removeItem(atPath: directory.path + "/log")
        try await withApp(directory: directory, database: database, configure: configure) { client async throws in
            let batch = try #require(TestComponents.current?.batch)
            #expect(batch.invalidatedViews["totals"]?.contains("another log") == true, "\(batch.invalidatedViews)")
            #expect(try await client.post(Self.events(200, from: 2000), contentType: "application/x-ndjson").status == .ok)
            let (count, _) = try await Self.settledCount(client, jobsIdle: true)
            #expect(count == 200)
        }
    }
}
