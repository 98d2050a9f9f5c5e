import Aggregation
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

let urlViewJSON = #"""
    {"name":"by_url","stream":"pageviews","dimensions":["url"],"bucket":"1m",
     "filter":{"not":{"field":"url","op":"=","value":"/p/4"}},
     "aggregates":{"views":{"fn":"count"},"n_sum":{"fn":"sum","field":"n"},"n_max":{"fn":"max","field":"n"},
                   "lat_min":{"fn":"min","field":"latency_ms"},"lat_sum":{"fn":"sum","field":"latency_ms"},
                   "users":{"fn":"distinct","field":"user_id"},"lat_avg":{"fn":"avg","field":"latency_ms"}}}
    """#

/// One expected row of a tumbling query over the `by_url` view.
struct ExpectedRow {
    var views = 0
    var nSum: Int64 = 0
    var nMax = Int64.min
    var users = 0
    /// `nil` when no event of the row has a latency.
    var latMin: Double?
    var latSum = 0.0
    /// `nil` when no event of the row has a latency.
    var latAvg: Double?
}

/// The expected rows of a tumbling query over `events`, by brute force.
func expectedRows(_ events: [TestEvent], from: Int64, to: Int64, granularity: Int64?, groupByURL: Bool) -> [String: ExpectedRow] {
    var rows: [String: ExpectedRow] = [:]
    var users: [String: Set<String>] = [:]
    var latencies: [String: [Double]] = [:]
    for event in events where event.url != "/p/4" {
        let bucket = event.ts - event.ts % 60_000
        guard bucket >= from && bucket < to else { continue }
        let time = granularity.map { bucket - bucket % $0 }
        let key = "\(time.map(String.init) ?? "-")|\(groupByURL ? event.url : "")"
        var row = rows[key] ?? ExpectedRow()
        row.views += 1
        row.nSum += event.n
        row.nMax = max(row.nMax, event.n)
        if let latency = event.latency { latencies[key, default: []].append(latency) }
        if let user = event.user { users[key, default: []].insert(user) }
        rows[key] = row
    }
    for key in rows.keys {
        rows[key]!.users = users[key]?.count ?? 0
        let values = latencies[key] ?? []
        rows[key]!.latMin = values.min()
        rows[key]!.latSum = values.reduce(0, +)
        rows[key]!.latAvg = values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
    return rows
}

@Suite("Views and queries through the real application")
struct ViewQueryTests {
    func postView(_ client: some TestClientProtocol, _ json: String) async throws -> TestResponse {
        try await client.execute(uri: "/v1/views", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: json))
    }

    func query(_ client: some TestClientProtocol, _ json: String, csv: Bool = false) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if csv { headers[.accept] = "text/csv" }
        return try await client.execute(uri: "/v1/query", method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    /// Queries until the speed layer has consumed the whole log (bounded wait), then returns the answer.
    func settledQuery(_ client: some TestClientProtocol, _ json: String) async throws -> QueryResponse {
        var body: QueryResponse?
        for _ in 0..<500 {
            let response = try await query(client, json)
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            body = try decode(QueryResponse.self, response)
            if body?.provenance.lagRecords == 0 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        if body?.provenance.lagRecords != 0 { Issue.record("the speed layer did not catch up within 5 s") }
        return try #require(body)
    }

    @Test func viewLifecycle() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            #expect(try await postView(client, urlViewJSON).status == .created)
            #expect(try await postView(client, urlViewJSON).status == .ok)
            let changed = urlViewJSON.replacingOccurrences(of: #""bucket":"1m""#, with: #""bucket":"5m""#)
            let conflict = try await postView(client, changed)
            #expect(conflict.status == .conflict)
            #expect(try errorBody(conflict).code == "view_conflict")
            let badStream = try await postView(client, urlViewJSON.replacingOccurrences(of: #""stream":"pageviews""#, with: #""stream":"nope""#))
            #expect(try errorBody(badStream).code == "unknown_stream")
            let badField = try await postView(client, urlViewJSON.replacingOccurrences(of: #""field":"n"}"#, with: #""field":"url"}"#))
            #expect(badField.status == .badRequest)
            #expect(try errorBody(badField).code == "invalid_aggregate")
            let list = try await client.get(ViewsResponse.self, "/v1/views")
            #expect(list.views.map(\.view.name) == ["by_url"])
            let one = try await client.get(ViewResponse.self, "/v1/views/by_url")
            #expect(one.view.bucketMilliseconds == 60_000)  // "bucket":"1m"
            #expect(one.status?.caughtUp == true)
            #expect(try await client.execute(uri: "/v1/views/by_url", method: .delete).status == .noContent)
            #expect(try await client.execute(uri: "/v1/views/by_url", method: .delete).status == .notFound)
            let gone = try await query(client, #"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z"}"#)
            #expect(try errorBody(gone).code == "unknown_view")
        }
    }

    @Test func answersAreExactOnceTheSpeedLayerCatchesUp() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let events = TestEvent.random(count: 3000, seed: 7)
        try await withApp(directory: directory, configure: { $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil }) { client async throws in
            // Some events before the view exists (replayed), the rest after (live).
            let early = events[..<1000].map(\.json).joined(separator: "\n")
            #expect(try await client.post(early, contentType: "application/x-ndjson").status == .ok)
            #expect(try await postView(client, urlViewJSON).status == .created)
            for chunk in stride(from: 1000, to: events.count, by: 400) {
                let body = events[chunk..<min(chunk + 400, events.count)].map(\.json).joined(separator: "\n")
                #expect(try await client.post(body, contentType: "application/x-ndjson").status == .ok)
            }
            let from: Int64 = 1_763_596_800_000 + 600_000, to: Int64 = 1_763_596_800_000 + 9_000_000
            for (granularity, groupByURL) in [("1h", true), ("all", false), ("1m", true), ("all", true)] {
                let request = #"""
                    {"view":"by_url","from":"\#(from)","to":"\#(to)","granularity":"\#(granularity)"\#(groupByURL ? #","group_by":["url"]"# : "")}
                    """#
                let body = try await settledQuery(client, request)
                #expect(body.provenance.source == "speed")
                #expect(body.provenance.speedOffsets == body.provenance.logEnd)
                let step: Int64? = granularity == "all" ? nil : (granularity == "1h" ? 3_600_000 : 60_000)
                let expected = expectedRows(events, from: from, to: to, granularity: step, groupByURL: groupByURL)
                let rows = body.rows
                #expect(rows.count == expected.count, "granularity \(granularity)")
                for row in rows {
                    let time = row["time"]?.string.map { String(Events_parse($0)) } ?? "-"
                    var url = ""
                    if groupByURL { url = try #require(row["url"]?.string) }
                    let key = "\(time)|\(url)"
                    let want = try #require(expected[key], "unexpected row \(row)")
                    #expect(row["views"]?.int == Int64(want.views))
                    #expect(row["n_sum"]?.int == want.nSum)
                    #expect(row["n_max"]?.int == want.nMax)
                    #expect(row["users"]?.int == Int64(want.users))
                    #expect(row["lat_min"]?.double == want.latMin)
                    #expect(row["lat_sum"]?.double == want.latSum)
                    if let avg = want.latAvg {
                        #expect(abs((row["lat_avg"]?.double ?? .nan) - avg) <= 1e-9 * max(1, abs(avg)))
                    }
                }
            }
        }
    }

    @Test func topNAndCSV() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let events = TestEvent.random(count: 500, seed: 3)
        try await withApp(directory: directory, configure: { $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil }) { client async throws in
            #expect(try await postView(client, urlViewJSON).status == .created)
            #expect(try await client.post(events.map(\.json).joined(separator: "\n"), contentType: "application/x-ndjson").status == .ok)
            let request = #"""
                {"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all","group_by":["url"],
                 "aggregates":["views","users"],"order_by":{"aggregate":"views","desc":true},"limit":2}
                """#
            let body = try await settledQuery(client, request)
            let rows = body.rows
            let counts = Dictionary(grouping: events.filter { $0.url != "/p/4" }, by: \.url).mapValues(\.count)
            let top = counts.values.sorted(by: >).prefix(2)
            #expect(rows.map { $0["views"]?.int } == top.map { Int64($0) })
            #expect(Set(rows[0].keys) == ["url", "views", "users"])
            let csv = try await query(client, request, csv: true)
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            let lines = String(buffer: csv.body).split(separator: "\r\n")
            #expect(lines.first == "url,views,users")
            #expect(lines.count == 3)
        }
    }

    @Test(arguments: [
        (#"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"90s"}"#, "invalid_granularity"),
        (#"{"view":"by_url","from":"2025-11-21T00:00:00Z","to":"2025-11-20T00:00:00Z"}"#, "invalid_range"),
        (#"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-20T00:00:00Z"}"#, "invalid_range"),
        (#"{"view":"by_url","from":"yesterday","to":"2025-11-20T00:00:00Z"}"#, "invalid_range"),
        (#"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","group_by":["country"]}"#, "unknown_field"),
        (
            #"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","filter":{"field":"user_id","op":"=","value":"u1"}}"#,
            "unknown_field"
        ),
        (#"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","aggregates":["nope"]}"#, "unknown_aggregate"),
        (
            #"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","window":{"type":"session","gap":"5m","key":"user_id"}}"#,
            "invalid_window"
        ),
        (
            #"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","window":{"type":"hopping","size":"90s","advance":"1m"}}"#,
            "invalid_window"
        ),
        (#"{"view":"nope","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z"}"#, "unknown_view"),
        (#"{"from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z"}"#, "invalid_body"),
    ])
    func badQueriesAre400(request: String, code: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            #expect(try await postView(client, urlViewJSON).status == .created)
            let response = try await query(client, request)
            #expect(response.status == .badRequest)
            #expect(try errorBody(response).code == code)
        }
    }

    @Test func tooManyGroupsIs400() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let events = TestEvent.random(count: 300, seed: 5)
        try await withApp(
            directory: directory,
            configure: {
                $0.maxQueryGroups = 10
                $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil
            }
        ) { client async throws in
            #expect(try await postView(client, urlViewJSON).status == .created)
            #expect(try await client.post(events.map(\.json).joined(separator: "\n"), contentType: "application/x-ndjson").status == .ok)
            _ = try await settledQuery(client, #"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#)
            let response = try await query(
                client, #"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"1m","group_by":["url"]}"#)
            #expect(response.status == .badRequest)
            #expect(try errorBody(response).code == "too_many_groups")
        }
    }
}
