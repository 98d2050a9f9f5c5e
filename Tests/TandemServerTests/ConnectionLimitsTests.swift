import Foundation
import TandemTestSupport
import Testing

/// `server.idle_timeout` and `server.max_connections`, against a real `tandem serve` over raw
/// sockets (`server.read_timeout` is in the hostile-input battery).
@Suite("Connection limits of a real server")
struct ConnectionLimitsTests {
    static func start(_ server: String, ingest: String = "{}") async throws -> (ServerProcess, TemporaryDirectory) {
        let directory = try TemporaryDirectory(prefix: "tandem-connections")
        let config = """
            server: {host: 127.0.0.1, port: 0, \(server)}
            ingest: \(ingest)
            streams:
              - {name: s, partitions: 1, time_field: ts, fields: {ts: {type: timestamp, required: true}}}
            """
        try config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        return (try await ServerProcess.start(in: directory, run: 1), directory)
    }

    @Test func anIdleConnectionIsClosed() async throws {
        let (server, directory) = try await Self.start("idle_timeout: 1s, read_timeout: 60s")
        defer {
            server.kill()
            directory.remove()
        }
        let connection = try RawHTTPConnection(port: server.port)
        #expect(connection.closedByPeer(within: .seconds(5)), "an idle connection must be closed after server.idle_timeout")
    }

    @Test func connectionsPastTheCapWaitForOneToClose() async throws {
        let (server, directory) = try await Self.start("max_connections: 2, idle_timeout: 60s, read_timeout: 60s")
        defer {
            server.kill()
            directory.remove()
        }
        let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        var held = [try RawHTTPConnection(port: server.port), try RawHTTPConnection(port: server.port)]
        for connection in held {
            #expect(connection.write(request))
            #expect(connection.readAnswerHead(within: .seconds(5))?.hasPrefix("HTTP/1.1 200") == true)
        }
        // A third connection is not served while two are open...
        let third = try RawHTTPConnection(port: server.port)
        #expect(third.write(request))
        #expect(third.readAnswerHead(within: .seconds(2)) == nil, "the cap of 2 connections must hold the third back")
        // ...and is served once one of them closes.
        held.removeFirst()
        #expect(third.readAnswerHead(within: .seconds(5))?.hasPrefix("HTTP/1.1 200") == true)
        _ = held
    }

    @Test func bodiesAreAdmittedBeforeTheyAreBuffered() async throws {
        let (server, directory) = try await Self.start("read_timeout: 60s", ingest: "{max_in_flight_bytes: 100}")
        defer {
            server.kill()
            directory.remove()
        }
        let event = #"{"ts":1763596800000}"#
        let body = event + String(repeating: " ", count: 1000 - event.utf8.count)
        // A 1,000-byte body is announced, and only its first bytes sent: it holds its admission.
        let slow = try RawHTTPConnection(port: server.port)
        #expect(slow.write("POST /v1/streams/s/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"))
        #expect(slow.write(String(body.prefix(10))))
        try await Task.sleep(for: .milliseconds(500))
        // Meanwhile another body does not fit in the 100 bytes left.
        let refused = try RawHTTPConnection.exchange(
            port: server.port, method: "POST", path: "/v1/streams/s/events", headers: [("Content-Type", "application/json")], body: Array(event.utf8))
        #expect(refused.status == 503)
        #expect(refused.errorCode == "log_queue_full")
        // The first body arrives and is appended; then there is room again.
        #expect(slow.write(String(body.dropFirst(10))))
        #expect(slow.readAnswerHead(within: .seconds(5))?.hasPrefix("HTTP/1.1 200") == true)
        let accepted = try RawHTTPConnection.exchange(
            port: server.port, method: "POST", path: "/v1/streams/s/events", headers: [("Content-Type", "application/json")], body: Array(event.utf8))
        #expect(accepted.status == 200)
    }
}
