import EventLog
import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// A record in the log that cannot be applied to a view (written before ingest checked event
/// times) is skipped by the speed layer and by batch jobs alike: both count it, neither stops,
/// and merged answers stay exact over the records that apply.
@Suite("Poison records")
struct PoisonRecordTests {
    static let view =
        #"{"name":"poison_view","stream":"pageviews","bucket":"1m","aggregates":{"views":{"fn":"count"},"n_sum":{"fn":"sum","field":"n"}}}"#

    func post(_ client: some TestClientProtocol, _ uri: String, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }

    @Test func bothLayersSkipAPoisonRecordTheSameWay() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        try await withApp(directory: directory, database: database) { client async throws in
            // The poison record goes straight into the log, as an older version could have
            // written it: a valid payload with an event time of Int64.min.
            let components = try #require(TestComponents.current)
            var payload: [UInt8] = []
            RecordCodec.encode(
                [.timestamp(0), .string("/poison"), nil, nil, .int(1000)], schemaVersion: pageviewsDefinition.version, into: &payload)
            var batch = AppendBatch()
            batch.append(key: nil, payload: payload, eventTime: .min)
            _ = try await components.log.logTopic("pageviews")!.append(batch, to: 0)
            let events = (0..<20).map { #"{"ts":1763596800000,"url":"/ok","n":\#($0)}"# }.joined(separator: "\n")
            #expect(try await client.post(events, contentType: "application/x-ndjson").status == .ok)
            #expect(try await post(client, "/v1/views", Self.view).status == .created)

            // The view's first full job skips the poison record and succeeds.
            var job: JobResponse?
            for _ in 0..<2000 {
                let jobs = try await client.get(JobsResponse.self, "/v1/jobs?limit=10").jobs
                if let done = jobs.first(where: { $0.view == "poison_view" && $0.state == "succeeded" }) {
                    job = done
                    break
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            let progress = try #require(job?.progress, "the job did not succeed")
            #expect(progress.skipped == 1)

            // The speed layer skipped it too, and the answer counts exactly the valid events.
            var status: SpeedViewStatus?
            for _ in 0..<500 {
                status = try await client.get(ViewResponse.self, "/v1/views/poison_view").status
                if status?.caughtUp == true { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(status?.undecodable == 1)
            let answer = try await post(
                client, "/v1/query", #"{"view":"poison_view","from":"2025-11-19T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#)
            #expect(answer.status == .ok)
            let rows = try decode(QueryResponse.self, answer).rows
            #expect(rows.count == 1)
            #expect(rows.first?["views"]?.int == 20)
            #expect(rows.first?["n_sum"]?.int == 190)
        }
    }
}
