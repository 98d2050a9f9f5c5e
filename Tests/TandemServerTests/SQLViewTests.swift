import BatchLayer
import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import Ingest
import Logging
import NIOCore
import PostgresNIO
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// The batch layer as SQL users see it: typed columns in every version table, and a view
/// `tandem."<view>"` re-pointed at each publish.
@Suite("SQL views over the batch layer")
struct SQLViewTests {
    let jobs = BatchJobTests()

    /// Every type a view column can have: text, double, bool and timestamptz dimensions; count,
    /// numeric and double sums, typed minima and maxima, avg with its sum and count, distinct and
    /// a quantile list.
    static let typedView = #"""
        {"name":"typed_view","stream":"pageviews","dimensions":["url"],"bucket":"1h",
         "aggregates":{"views":{"fn":"count"},"n_sum":{"fn":"sum","field":"n"},"lat_sum":{"fn":"sum","field":"latency_ms"},
           "n_min":{"fn":"min","field":"n"},"first_seen":{"fn":"min","field":"ts"},"lat_avg":{"fn":"avg","field":"latency_ms"},
           "users":{"fn":"distinct","field":"user_id"},"lat_q":{"fn":"quantile","field":"latency_ms","q":[0.5,0.9]}}}
        """#

    func rows(_ client: PostgresClient, _ sql: String) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in try await client.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test")) { rows.append(row) }
        return rows
    }

    @Test func theSQLViewHoldsThePublishedVersionWithTypedColumns() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        try await withApp(directory: directory, database: database, configure: { $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil }) {
            client async throws in
            #expect(try await jobs.post(client, "/v1/views", Self.typedView).status == .created)
            let events = TestEvent.random(count: 2000, seed: 21)
            #expect(try await client.post(events.map(\.json).joined(separator: "\n"), contentType: "application/x-ndjson").status == .ok)
            let first = try await runTypedJob(client)
            #expect(first?.state == "succeeded", "\(first?.error ?? "")")
            let components = try #require(TestComponents.current)
            let postgres = try #require(components.batch).client

            // Columns and types, as psql shows them.
            let columns = try await rows(
                postgres,
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'tandem' AND table_name = 'typed_view' ORDER BY ordinal_position"
            ).map { try $0.decode((String, String).self) }
            // The view's aggregates are in its order (a JSON object's keys, sorted).
            #expect(
                columns.map(\.0) == [
                    "bucket_start", "url", "first_seen", "lat_avg", "lat_avg_sum", "lat_avg_count", "lat_q_q0_5", "lat_q_q0_9", "lat_sum", "n_min",
                    "n_sum", "users", "views",
                ])
            #expect(
                columns.map(\.1) == [
                    "timestamp with time zone", "text", "timestamp with time zone", "double precision", "double precision", "bigint",
                    "double precision", "double precision", "double precision", "bigint", "numeric", "bigint", "bigint",
                ])

            // The same totals as a Tandem query, per url, from SQL.
            let sql = try await rows(
                postgres,
                "SELECT url, sum(views)::bigint, sum(n_sum)::bigint, sum(lat_avg_count)::bigint FROM tandem.typed_view GROUP BY url ORDER BY url"
            )
            .map { try $0.decode((String, Int64, Int64, Int64).self) }
            var expected: [String: (Int64, Int64, Int64)] = [:]
            for event in events {
                var entry = expected[event.url] ?? (0, 0, 0)
                entry.0 += 1
                entry.1 += event.n
                entry.2 += event.latency == nil ? 0 : 1
                expected[event.url] = entry
            }
            #expect(sql.map(\.0) == expected.keys.sorted())
            for (url, views, nSum, latencyCount) in sql {
                #expect(expected[url]! == (views, nSum, latencyCount), "\(url)")
            }
            // Dimension filters have an index.
            let indexes = try await rows(postgres, "SELECT indexdef FROM pg_indexes WHERE tablename LIKE 'tandem_vv_%'").map {
                try $0.decode(String.self)
            }
            #expect(indexes.contains { $0.contains("(d_0, bucket)") })

            // A second publish re-points the view at the new version.
            #expect(
                try await client.post(TestEvent.random(count: 500, seed: 22).map(\.json).joined(separator: "\n"), contentType: "application/x-ndjson")
                    .status == .ok)
            #expect(try await runTypedJob(client)?.state == "succeeded")
            let total = try await rows(postgres, "SELECT sum(views)::bigint FROM tandem.typed_view").map { try $0.decode(Int64.self) }
            #expect(total == [2500])
            let comment = try await rows(postgres, "SELECT obj_description('tandem.typed_view'::regclass)").map { try $0.decode(String.self) }
            #expect(comment.first?.contains("records below the cut") == true)

            // Deleting the view drops its SQL view.
            let deleted = try await client.execute(uri: "/v1/views/typed_view", method: .delete)
            #expect(deleted.status == .noContent)
            let left = try await rows(postgres, "SELECT count(*) FROM information_schema.views WHERE table_schema = 'tandem'").map {
                try $0.decode(Int64.self)
            }
            #expect(left == [0])
        }
    }

    func runTypedJob(_ client: some TestClientProtocol) async throws -> JobResponse? {
        var id: String?
        for _ in 0..<1000 where id == nil {
            let response = try await jobs.post(client, "/v1/jobs", #"{"view":"typed_view","mode":"full"}"#)
            if response.status == .accepted { id = try decode(JobResponse.self, response).id } else { try await Task.sleep(for: .milliseconds(10)) }
        }
        let name = try #require(id)
        for _ in 0..<2000 {
            let job = try await client.get(JobResponse.self, "/v1/jobs/\(name)")
            if job.state == "succeeded" || job.state == "failed" { return job }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }
}
