import Foundation
import NIOHTTP1
import TandemAPI
import TandemTestSupport
import Testing

/// Every class of hostile request, sent to a real `tandem serve` over raw sockets: each gets a 4xx
/// with a stable code, the server stays up, restarts cleanly after each case, and its log holds
/// exactly the valid events. The table it prints is the one in the README.
@Suite("Hostile-input battery through a real server")
struct HostileBatteryTests {
    static let config = """
        server: {host: 127.0.0.1, port: 0, read_timeout: 2s, idle_timeout: 10s}
        ingest: {max_body_bytes: 65536, max_events_per_request: 100, max_event_future: none, max_long_polls: 1}
        query: {max_windows: 100000, max_windows_per_bucket: 1000, timeout: 10s}
        streams:
          - name: pageviews
            partitions: 2
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
            aggregates: {views: {fn: count}, p95: {fn: quantile, field: latency_ms, q: 0.95}, n_sum: {fn: sum, field: n}}
        """

    struct Case: Sendable {
        var group: String
        var label: String
        var method = "POST"
        var path = "/v1/streams/pageviews/events"
        var contentType = "application/json"
        var body: [UInt8]
        var status: Int
        var code: String

        init(
            _ group: String, _ label: String, method: String = "POST", path: String = "/v1/streams/pageviews/events",
            contentType: String = "application/json", body: [UInt8], status: Int, code: String
        ) {
            self.group = group
            self.label = label
            self.method = method
            self.path = path
            self.contentType = contentType
            self.body = body
            self.status = status
            self.code = code
        }

        init(
            _ group: String, _ label: String, method: String = "POST", path: String = "/v1/streams/pageviews/events",
            contentType: String = "application/json", _ text: String, status: Int, code: String
        ) {
            self.init(group, label, method: method, path: path, contentType: contentType, body: Array(text.utf8), status: status, code: code)
        }
    }

    static let ts = "1763596800000"

    static func event(_ fields: String) -> String { #"{"ts":\#(ts),"url":"/x","user_id":"u1"\#(fields)}"# }

    static func view(_ aggregates: String = #"{"c":{"fn":"count"}}"#, name: String = "v1", bucket: String = "1m", extra: String = "") -> String {
        #"{"name":"\#(name)","stream":"pageviews","dimensions":["url"],"bucket":"\#(bucket)","aggregates":\#(aggregates)\#(extra)}"#
    }

    static func query(_ fields: String) -> String { #"{"view":"by_url"\#(fields)}"# }

    static let cases: [Case] = [
        // Events: malformed bodies.
        Case("events", "truncated JSON", #"{"ts":"#, status: 400, code: "invalid_event"),
        Case("events", "one bad NDJSON line", contentType: "application/x-ndjson", event("") + "\n{oops\n", status: 400, code: "invalid_event"),
        Case(
            "events", "invalid UTF-8 in a string", body: Array(#"{"ts":1763596800000,"url":""#.utf8) + [0xC3, 0x28, 0xFF] + Array(#""}"#.utf8),
            status: 400, code: "invalid_event"),
        Case(
            "events", "30,000 nested arrays", String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000), status: 400,
            code: "invalid_event"),
        Case("events", "a number of 60,000 digits", event(#","n":"# + String(repeating: "9", count: 60_000)), status: 400, code: "invalid_event"),
        Case(
            "events", "a string of 70,000 bytes (over max_body_bytes)", event(#","url":""# + String(repeating: "a", count: 70_000) + "\""),
            status: 413, code: "body_too_large"),
        // Events: extreme times and numbers.
        Case("events", "ts = Int64.min", #"{"ts":-9223372036854775808,"url":"/x"}"#, status: 400, code: "invalid_event"),
        Case("events", "ts = Int64.max", #"{"ts":9223372036854775807,"url":"/x"}"#, status: 400, code: "invalid_event"),
        Case("events", "ts = 1e30", #"{"ts":1e30,"url":"/x"}"#, status: 400, code: "invalid_event"),
        Case("events", "ts = -1e30", #"{"ts":-1e30,"url":"/x"}"#, status: 400, code: "invalid_event"),
        Case("events", "ts with a fraction of a millisecond (number)", #"{"ts":1763596800000.5,"url":"/x"}"#, status: 400, code: "invalid_event"),
        Case("events", "ts in year 0000", #"{"ts":"0000-06-01T00:00:00Z","url":"/x"}"#, status: 400, code: "invalid_event"),
        Case("events", "NaN", event(#","latency_ms":NaN"#), status: 400, code: "invalid_event"),
        Case("events", "Infinity", event(#","latency_ms":Infinity"#), status: 400, code: "invalid_event"),
        Case("events", "\"Infinity\" as a string", event(#","latency_ms":"Infinity""#), status: 400, code: "invalid_event"),
        Case("events", "1e400 for a double", event(#","latency_ms":1e400"#), status: 400, code: "invalid_event"),
        Case("events", "2^63 for an int", event(#","n":9223372036854775808"#), status: 400, code: "invalid_event"),
        Case("events", "duplicate keys", #"{"ts":1763596800000,"url":"/x","url":"/y"}"#, status: 400, code: "invalid_event"),
        Case("events", "an unknown field", event(#","nope":1"#), status: 400, code: "invalid_event"),
        // Events: framing and routing.
        Case("events", "Content-Type text/plain", contentType: "text/plain", event(""), status: 415, code: "unsupported_media_type"),
        Case(
            "events", "200 KB body sent whole before reading", "[" + Array(repeating: event(""), count: 1800).joined(separator: ",") + "]",
            status: 413, code: "body_too_large"),
        Case(
            "events", "101 events (over max_events_per_request)", "[" + Array(repeating: event(""), count: 101).joined(separator: ",") + "]",
            status: 413, code: "too_many_events"),
        Case("events", "an unknown stream", path: "/v1/streams/nope/events", event(""), status: 404, code: "unknown_stream"),
        Case(
            "events", "records of partition 99", method: "GET", path: "/v1/streams/pageviews/records?partition=99", "", status: 400,
            code: "invalid_parameter"),
        Case(
            "events", "records at offset -1", method: "GET", path: "/v1/streams/pageviews/records?offset=-1", "", status: 400,
            code: "invalid_parameter"),
        // Definitions.
        Case(
            "definitions", "relative_accuracy 1e-300", path: "/v1/views",
            view(#"{"p":{"fn":"quantile","field":"latency_ms","q":0.5,"relative_accuracy":1e-300}}"#), status: 400, code: "invalid_aggregate"),
        Case(
            "definitions", "relative_accuracy 0.9", path: "/v1/views",
            view(#"{"p":{"fn":"quantile","field":"latency_ms","q":0.5,"relative_accuracy":0.9}}"#), status: 400, code: "invalid_aggregate"),
        Case(
            "definitions", "precision 99", path: "/v1/views", view(#"{"d":{"fn":"distinct","field":"user_id","precision":99}}"#),
            status: 400, code: "invalid_aggregate"),
        Case(
            "definitions", "filter ts > 1e19", path: "/v1/views", view(extra: #","filter":{"field":"ts","op":">","value":1e19}"#),
            status: 400, code: "invalid_filter"),
        Case(
            "definitions", "filter n > 1e300", path: "/v1/views", view(extra: #","filter":{"field":"n","op":">","value":1e300}"#),
            status: 400, code: "invalid_filter"),
        Case(
            "definitions", "filter nested 40 deep", path: "/v1/views",
            view(
                extra: #","filter":"# + String(repeating: #"{"not":"#, count: 40) + #"{"field":"url","op":"exists"}"#
                    + String(repeating: "}", count: 40)),
            status: 400, code: "invalid_filter"),
        Case("definitions", "bucket 100000000d", path: "/v1/views", view(bucket: "100000000d"), status: 400, code: "invalid_view"),
        Case(
            "definitions", "bucket 9223372036854775807ms", path: "/v1/views", view(bucket: "9223372036854775807ms"), status: 400, code: "invalid_view"
        ),
        Case("definitions", "bucket -1s", path: "/v1/views", view(bucket: "-1s"), status: 400, code: "invalid_body"),
        Case(
            "definitions", "a schedule that never fires", path: "/v1/views", view(extra: #","schedule":"0 0 30 2 *""#), status: 400,
            code: "invalid_view"),
        Case(
            "definitions", "an SQL-looking view name", path: "/v1/views", view(name: "x; DROP TABLE tandem_jobs; --"), status: 400,
            code: "invalid_view"),
        Case(
            "definitions", "an SQL-looking stream name", path: "/v1/streams",
            #"{"name":"x'; DROP TABLE t; --","partitions":1,"time_field":"ts","fields":{"ts":{"type":"timestamp"}}}"#, status: 400,
            code: "invalid_stream"),
        Case(
            "definitions", "100,000 partitions", path: "/v1/streams",
            #"{"name":"wide","partitions":100000,"time_field":"ts","fields":{"ts":{"type":"timestamp"}}}"#, status: 400, code: "invalid_stream"),
        Case(
            "definitions", "a view of an unknown stream", path: "/v1/views",
            #"{"name":"v2","stream":"nope","bucket":"1m","aggregates":{"c":{"fn":"count"}}}"#, status: 400, code: "unknown_stream"),
        Case("definitions", "a definition that is not JSON", path: "/v1/views", "{name:", status: 400, code: "invalid_body"),
        // Queries.
        Case(
            "queries", "hopping 100000000d every 1h", path: "/v1/query",
            query(#","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","window":{"type":"hopping","size":"100000000d","advance":"1h"}"#),
            status: 400, code: "query_too_large"),
        Case(
            "queries", "1m windows over 2000 years", path: "/v1/query",
            query(#","from":"0100-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","granularity":"1m""#), status: 400, code: "query_too_large"),
        Case(
            "queries", "from Int64.min to Int64.max", path: "/v1/query",
            query(#","from":"-9223372036854775808","to":"9223372036854775807","granularity":"all""#), status: 400, code: "invalid_range"),
        Case(
            "queries", "to before from", path: "/v1/query", query(#","from":"2025-11-21T00:00:00Z","to":"2025-11-20T00:00:00Z""#),
            status: 400, code: "invalid_range"),
        Case(
            "queries", "granularity 1e9d", path: "/v1/query",
            query(#","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"1e9d""#),
            status: 400, code: "invalid_granularity"),
        Case(
            "queries", "session gap 0s", path: "/v1/query",
            query(#","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","window":{"type":"session","gap":"0s","key":"url"}"#),
            status: 400, code: "invalid_window"),
        Case(
            "queries", "limit -1", path: "/v1/query", query(#","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","limit":-1"#),
            status: 400, code: "invalid_range"),
        Case(
            "queries", "an unknown view", path: "/v1/query", #"{"view":"nope","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z"}"#,
            status: 400, code: "unknown_view"),
        Case(
            "queries", "an unknown field in group_by", path: "/v1/query",
            query(#","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","group_by":["nope"]"#), status: 400, code: "unknown_field"),
    ]

    @Test func everyHostileRequestGetsA4xxAndNothingIsLost() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-battery")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        var server = try await ServerProcess.start(in: directory, run: 1)
        var valid = 0
        var table = ["| class | input | status | code |", "|---|---|---|---|"]
        var run = 1
        for group in ["events", "definitions", "queries"] {
            for item in Self.cases where item.group == group {
                let answer = try RawHTTPConnection.exchange(
                    port: server.port, method: item.method, path: item.path, headers: [("Content-Type", item.contentType)], body: item.body)
                #expect(answer.status == item.status, "\(item.label): \(answer.body.prefix(300))")
                #expect(answer.errorCode == item.code, "\(item.label): \(answer.body.prefix(300))")
                table.append("| \(group) | \(item.label) | \(answer.status) | `\(answer.errorCode ?? "-")` |")
                // A valid event after each case: the log must hold exactly these.
                let ok = try RawHTTPConnection.exchange(
                    port: server.port, method: "POST", path: "/v1/streams/pageviews/events", headers: [("Content-Type", "application/json")],
                    body: Array(Self.event(#","n":1,"latency_ms":5"#).utf8))
                #expect(ok.status == 200, "valid event after \(item.label): \(ok.body)")
                if ok.status == 200 { valid += 1 }
                // The server is alive, and a restart (SIGKILL, then start) after each case starts
                // cleanly and replays what it stored.
                server.kill()
                run += 1
                server = try await ServerProcess.start(in: directory, run: run)
            }
        }
        let health = try RawHTTPConnection.exchange(port: server.port, method: "GET", path: "/healthz")
        #expect(health.status == 200, "\(health.body)")

        // A client that trickles its request is cut off at server.read_timeout (2 s).
        let slow = try RawHTTPConnection(port: server.port)
        let head = "POST /v1/streams/pageviews/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
        var cutOff = false
        for byte in Array(head.utf8) + Array(repeating: UInt8(ascii: " "), count: 100) {
            guard slow.write([byte]) else {
                cutOff = true
                break
            }
            if slow.closedByPeer(within: .seconds(1)) {
                cutOff = true
                break
            }
        }
        #expect(cutOff, "a client sending a byte a second must be disconnected")
        table.append("| edge | a byte a second (read_timeout 2s) | closed | - |")

        // Long-polls past ingest.max_long_polls (1) are refused at once.
        let client = HTTPTestClient(baseURL: server.baseURL)
        async let waiting = client.send(.GET, "/v1/streams/pageviews/records?partition=0&offset=1000000&wait_ms=3000")
        try await Task.sleep(for: .milliseconds(500))
        let second = try RawHTTPConnection.exchange(
            port: server.port, method: "GET", path: "/v1/streams/pageviews/records?partition=1&offset=1000000&wait_ms=3000")
        #expect(second.status == 429)
        #expect(second.errorCode == "too_many_long_polls")
        table.append("| edge | a second long-poll (max_long_polls 1) | \(second.status) | `\(second.errorCode ?? "-")` |")
        #expect(try await waiting.status == 200)

        // The log holds exactly the valid events, and the view counts them.
        let records =
            try await client.readAll(StoredRecord.self, stream: "pageviews", partition: 0)
            + client.readAll(StoredRecord.self, stream: "pageviews", partition: 1)
        #expect(records.count == valid)
        #expect(valid == Self.cases.count)
        print(table.joined(separator: "\n"))
        server.kill()
    }
}
