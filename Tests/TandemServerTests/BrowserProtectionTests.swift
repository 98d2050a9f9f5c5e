import Foundation
import TandemAPI
import TandemTestSupport
import Testing

/// What a page in a user's browser can do to a real server: send a body that is not declared
/// JSON (415), reach it under a rebound DNS name (421), and, only for the origins configured,
/// post events across origins.
@Suite("Browser protections of a real server")
struct BrowserProtectionTests {
    static let config =
        CrashTests.config + """

            server:
              host: 127.0.0.1
              port: 0
              cors: {allowed_origins: ["https://shop.example"]}
            """

    @Test func jsonRoutesTakeOnlyJSONAndHostsAndOriginsAreChecked() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-browser")
        defer { directory.remove() }
        // The stream's config without its server line, then a server section with CORS.
        let config = Self.config.replacingOccurrences(of: "server: {host: 127.0.0.1, port: 0}\n", with: "")
        try config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(in: directory, run: 1)
        defer { server.terminate() }
        let port = server.port
        let view = #"{"name":"v","stream":"orders","dimensions":["client"],"bucket":"1m","aggregates":{"n":{"fn":"count"}}}"#
        func exchange(
            _ method: String, _ path: String, host: String = "127.0.0.1", _ headers: [(String, String)] = [], body: String = ""
        ) throws -> RawHTTPConnection.Answer {
            try RawHTTPConnection.exchange(port: port, method: method, path: path, host: host, headers: headers, body: Array(body.utf8))
        }

        // A form or text/plain body, which any page may send without a preflight, is refused by
        // every JSON route before it is read.
        for (path, body) in [
            ("/v1/views", view), ("/v1/query", #"{"view":"v","from":"2025-01-01T00:00:00Z","to":"2026-01-01T00:00:00Z"}"#),
            ("/v1/jobs", #"{"view":"v"}"#), ("/v1/streams", #"{"name":"s2","fields":{}}"#),
        ] {
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                let answer = try exchange("POST", path, [("Content-Type", type)], body: body)
                #expect(answer.status == 415, "\(path) \(type): \(answer.body)")
                #expect(try answer.decode(ErrorResponse.self).error.code == "unsupported_media_type")
            }
            let none = try exchange("POST", path, body: body)
            #expect(none.status == 415, "\(path) without a Content-Type")
        }
        #expect(try exchange("POST", "/v1/views", [("Content-Type", "application/json; charset=utf-8")], body: view).status == 201)
        #expect(try exchange("GET", "/v1/views/v").status == 200)

        // DNS rebinding: the page's own name in Host.
        for host in ["attacker.example", "attacker.example:\(port)", "127.0.0.1.nip.io"] {
            let answer = try exchange("GET", "/v1/streams", host: host)
            #expect(answer.status == 421, "\(host)")
            #expect(try answer.decode(ErrorResponse.self).error.code == "host_not_allowed")
        }
        for host in ["localhost", "LOCALHOST:\(port)", "127.0.0.1:\(port)", "[::1]:\(port)"] {
            #expect(try exchange("GET", "/v1/streams", host: host).status == 200, "\(host)")
        }

        // CORS: the configured origin may post events, after a preflight; nothing else.
        let event = #"{"ts":1763596800000,"client":"web","seq":1}"#
        let preflight = try exchange(
            "OPTIONS", "/v1/streams/orders/events",
            [("Origin", "https://shop.example"), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type")])
        #expect(preflight.status == 204)
        #expect(preflight.headers["access-control-allow-origin"] == "https://shop.example")
        #expect(preflight.headers["access-control-allow-methods"] == "POST")
        #expect(preflight.headers["access-control-allow-headers"]?.lowercased().contains("content-type") == true)
        #expect(preflight.headers["vary"] == "Origin")
        let posted = try exchange(
            "POST", "/v1/streams/orders/events", [("Origin", "https://shop.example"), ("Content-Type", "application/json")], body: event)
        #expect(posted.status == 200)
        #expect(posted.headers["access-control-allow-origin"] == "https://shop.example")
        let stranger = try exchange(
            "OPTIONS", "/v1/streams/orders/events", [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")])
        #expect(stranger.headers["access-control-allow-origin"] == nil)
        let strangerPost = try exchange(
            "POST", "/v1/streams/orders/events", [("Origin", "https://evil.example"), ("Content-Type", "application/json")], body: event)
        #expect(strangerPost.headers["access-control-allow-origin"] == nil)
        let otherRoute = try exchange("OPTIONS", "/v1/query", [("Origin", "https://shop.example"), ("Access-Control-Request-Method", "POST")])
        #expect(otherRoute.headers["access-control-allow-origin"] == nil, "only ingest is open to other origins")
    }
}
