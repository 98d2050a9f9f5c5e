import Foundation
import NIOCore
import NIOHTTP1
import TandemAPI
import TandemTestSupport
import Testing

/// The speed layer rebuilds by replaying the log: after a SIGKILL and a restart, the same queries
/// give the same answers, once `/readyz` says replay is done.
@Suite("Speed layer replay after a restart")
struct RestartTests {
    static let config = """
        server: {host: 127.0.0.1, port: 0}
        ingest: {max_event_future: none}
        streams:
          - name: pageviews
            partitions: 3
            time_field: ts
            key_field: user_id
            fields:
              ts: {type: timestamp, required: true}
              url: {type: string, required: true}
              user_id: {type: string}
              latency_ms: {type: double}
              n: {type: int}
        views:
          - name: by_url
            stream: pageviews
            dimensions: [url]
            bucket: 1m
            aggregates:
              views: {fn: count}
              n_sum: {fn: sum, field: n}
              users: {fn: distinct, field: user_id}
              lat_p50: {fn: quantile, field: latency_ms, q: 0.5}
        """

    static let queries = [
        #"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"1h","group_by":["url"]}"#,
        #"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#,
        #"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","window":{"type":"hopping","size":"30m","advance":"10m"}}"#,
        #"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","window":{"type":"session","gap":"3m","key":"url"}}"#,
    ]

    /// The rows of each query once the speed layer has consumed everything (bounded wait).
    func answers(_ client: HTTPTestClient) async throws -> [[[String: JSONValue]]] {
        var result: [[[String: JSONValue]]] = []
        for query in Self.queries {
            var rows: [[String: JSONValue]]?
            for _ in 0..<500 where rows == nil {
                let (status, body) = try await client.send(.POST, "/v1/query", body: query)
                #expect(status == 200, "\(body)")
                let answer = try decode(QueryResponse.self, body)
                if answer.provenance.lagRecords == 0 {
                    rows = answer.rows
                } else {
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            result.append(try #require(rows, "the speed layer did not catch up"))
        }
        return result
    }

    /// Runs an incremental job and waits for it, so that the restart replays from a published cut.
    func recompute(_ client: HTTPTestClient) async throws {
        var job: JobResponse?
        for _ in 0..<500 {
            let (status, body) = try await client.send(.POST, "/v1/jobs", body: #"{"view":"by_url","mode":"incremental"}"#)
            if status == 202 {
                job = try decode(JobResponse.self, body)
                break
            }
            #expect(status == 409, "\(body)")  // the view's first job may still run
            try await Task.sleep(for: .milliseconds(10))
        }
        let id = try #require(job?.id)
        for _ in 0..<1000 {
            let (_, body) = try await client.send(.GET, "/v1/jobs/\(id)")
            let state = try decode(JobResponse.self, body).state
            if state == "succeeded" { return }
            #expect(state != "failed", "\(body)")
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("job \(id) did not finish")
    }

    @Test func sameAnswersAfterSIGKILLAndReplay() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-restart")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let database = try TestDatabase.create()
        let first = try await ServerProcess.start(in: directory, run: 1, database: database.url)
        let client = HTTPTestClient(baseURL: first.baseURL)
        let events = TestEvent.random(count: 20_000, seed: 11)
        for (index, chunk) in stride(from: 0, to: events.count, by: 2000).enumerated() {
            let body = events[chunk..<min(chunk + 2000, events.count)].map(\.json).joined(separator: "\n")
            let (status, reply) = try await client.send(.POST, "/v1/streams/pageviews/events", body: body, contentType: "application/x-ndjson")
            #expect(status == 200, "\(reply)")
            if index == 5 { try await recompute(client) }
        }
        let before = try await answers(client)
        #expect(before.count == Self.queries.count)
        #expect(before[1].contains { $0["views"] == .int(20000) })
        first.kill()

        let second = try await ServerProcess.start(in: directory, run: 2, database: database.url)
        defer { second.terminate() }
        let restarted = HTTPTestClient(baseURL: second.baseURL)
        var ready = false
        for _ in 0..<1000 where !ready {
            ready = try await restarted.send(.GET, "/readyz").status == 200
            if !ready { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(ready, "the restarted server never became ready")
        let after = try await answers(restarted)
        #expect(after == before)
        // The restarted speed layer replayed from the published cut, not from offset 0.
        let (_, body) = try await restarted.send(.POST, "/v1/query", body: Self.queries[1])
        let provenance = try decode(QueryResponse.self, body).provenance
        #expect(provenance.source == "batch+speed")
        #expect(provenance.batchVersion != nil)
        #expect(provenance.cut.values.values.reduce(0, +) > 0)
    }
}
