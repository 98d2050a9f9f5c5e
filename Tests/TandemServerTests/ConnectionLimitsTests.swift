import Foundation
import TandemTestSupport
import Testing

/// `server.idle_timeout` and `server.max_connections`, against a real `tandem serve` over raw
/// sockets (`server.read_timeout` is in the hostile-input battery).
@Suite("Connection limits of a real server")
struct ConnectionLimitsTests {
    static func start(_ server: String) async throws -> (ServerProcess, TemporaryDirectory) {
        let directory = try TemporaryDirectory(prefix: "tandem-connections")
        let config = """
            server: {host: 127.0.0.1, port: 0, \(server)}
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
        let request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
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
}
