import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import Ingest
import NIOCore
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

/// The expected rows of a tumbling query over `events`, by brute force.
func expectedRows(_ events: [TestEvent], from: Int64, to: Int64, granularity: Int64?, groupByURL: Bool) -> [String: [String: Any]] {
    var rows: [String: [String: Any]] = [:]
    var users: [String: Set<String>] = [:]
    var latencies: [String: [Double]] = [:]
    for event in events where event.url != "/p/4" {
        let bucket = event.ts - event.ts % 60_000
        guard bucket >= from && bucket < to else { continue }
        let time = granularity.map { bucket - bucket % $0 }
        let key = "\(time.map(String.init) ?? "-")|\(groupByURL ? event.url : "")"
        var row = rows[key] ?? ["views": 0, "n_sum": Int64(0), "n_max": Int64.min]
        row["views"] = (row["views"] as! Int) + 1
        row["n_sum"] = (row["n_sum"] as! Int64) + event.n
        row["n_max"] = max(row["n_max"] as! Int64, event.n)
        if let latency = event.latency { latencies[key, default: []].append(latency) }
        if let user = event.user { users[key, default: []].insert(user) }
        rows[key] = row
    }
    for key in rows.keys {
        rows[key]!["users"] = users[key]?.count ?? 0
        let values = latencies[key] ?? []
        rows[key]!["lat_min"] = values.min()
        rows[key]!["lat_sum"] = values.reduce(0, +)
        rows[key]!["lat_avg"] = values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
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
    func settledQuery(_ client: some TestClientProtocol, _ json: String) async throws -> [String: Any] {
        for _ in 0..<500 {
            let response = try await query(client, json)
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let body = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as! [String: Any]
            let provenance = body["provenance"] as! [String: Any]
            if provenance["lag_records"] as? Int == 0 { return body }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the speed layer did not catch up within 5 s")
        return [:]
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
            #expect(try errorBody(conflict)["code"] as? String == "view_conflict")
            let badStream = try await postView(client, urlViewJSON.replacingOccurrences(of: #""stream":"pageviews""#, with: #""stream":"nope""#))
            #expect(try errorBody(badStream)["code"] as? String == "unknown_stream")
            let badField = try await postView(client, urlViewJSON.replacingOccurrences(of: #""field":"n"}"#, with: #""field":"url"}"#))
            #expect(badField.status == .badRequest)
            #expect(try errorBody(badField)["code"] as? String == "invalid_aggregate")
            let list = try await client.getJSON("/v1/views")
            #expect((list["views"] as? [[String: Any]])?.map { $0["name"] as? String } == ["by_url"])
            let one = try await client.getJSON("/v1/views/by_url")
            #expect(one["bucket"] as? String == "1m")
            #expect((one["status"] as? [String: Any])?["caught_up"] as? Bool == true)
            #expect(try await client.execute(uri: "/v1/views/by_url", method: .delete).status == .noContent)
            #expect(try await client.execute(uri: "/v1/views/by_url", method: .delete).status == .notFound)
            let gone = try await query(client, #"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z"}"#)
            #expect(try errorBody(gone)["code"] as? String == "unknown_view")
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
                let provenance = body["provenance"] as! [String: Any]
                #expect(provenance["source"] as? String == "speed")
                #expect(provenance["speed_offsets"] as? [String: Int] == provenance["log_end"] as? [String: Int])
                let step: Int64? = granularity == "all" ? nil : (granularity == "1h" ? 3_600_000 : 60_000)
                let expected = expectedRows(events, from: from, to: to, granularity: step, groupByURL: groupByURL)
                let rows = body["rows"] as! [[String: Any]]
                #expect(rows.count == expected.count, "granularity \(granularity)")
                for row in rows {
                    let time = (row["time"] as? String).map { String(Events_parse($0)) } ?? "-"
                    let key = "\(time)|\(groupByURL ? row["url"] as! String : "")"
                    let want = try #require(expected[key], "unexpected row \(row)")
                    #expect(row["views"] as? Int == want["views"] as? Int)
                    #expect((row["n_sum"] as? Int).map(Int64.init) == want["n_sum"] as? Int64)
                    #expect((row["n_max"] as? Int).map(Int64.init) == want["n_max"] as? Int64)
                    #expect(row["users"] as? Int == want["users"] as? Int)
                    #expect(row["lat_min"] as? Double == want["lat_min"] as? Double)
                    #expect(row["lat_sum"] as? Double == want["lat_sum"] as? Double)
                    if let avg = want["lat_avg"] as? Double {
                        #expect(abs((row["lat_avg"] as? Double ?? .nan) - avg) <= 1e-9 * max(1, abs(avg)))
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
            let rows = body["rows"] as! [[String: Any]]
            let counts = Dictionary(grouping: events.filter { $0.url != "/p/4" }, by: \.url).mapValues(\.count)
            let top = counts.values.sorted(by: >).prefix(2)
            #expect(rows.map { $0["views"] as? Int } == top.map { $0 })
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
            #expect(try errorBody(response)["code"] as? String == code)
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
            #expect(try errorBody(response)["code"] as? String == "too_many_groups")
        }
    }
}
