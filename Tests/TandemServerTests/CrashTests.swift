import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import TandemAPI
import TandemTestSupport
import Testing

/// A real `tandem serve` process takes events from concurrent clients, is killed with SIGKILL in
/// the middle, and restarts: every acknowledged event must be read back exactly once.
@Suite("Crash recovery of a real server process")
struct CrashTests {
    static let config = """
        server: {host: 127.0.0.1, port: 0}
        log: {segment_bytes: 65536}
        ingest: {max_event_future: none}
        streams:
          - name: orders
            partitions: 4
            time_field: ts
            key_field: client
            fields:
              ts: {type: timestamp, required: true}
              client: {type: string, required: true}
              seq: {type: int, required: true}
        """

    /// What the clients were told.
    final class Ledger: Sendable {
        let acknowledged = Mutex<[String: [ClosedRange<Int>]]>([:])
        let sent = Mutex<Int>(0)
    }

    /// Posts batches of `batch` events from each of `clients` clients (client `cN`, `seq` counting
    /// up) until a request fails (the server stopped) or 2000 requests each, recording what was
    /// acknowledged.
    static func postUntilStopped(_ client: HTTPTestClient, ledger: Ledger, clients: Int, batch: Int, timeout: TimeAmount) async {
        await withTaskGroup(of: Void.self) { group in
            for c in 0..<clients {
                group.addTask {
                    var next = 0
                    for _ in 0..<2000 {
                        let range = next...(next + batch - 1)
                        let body = range.map { #"{"ts":1763596800000,"client":"c\#(c)","seq":\#($0)}"# }.joined(separator: "\n")
                        next += batch
                        ledger.sent.withLock { $0 += 1 }
                        guard
                            let (status, _) = try? await client.send(
                                .POST, "/v1/streams/orders/events", body: body, contentType: "application/x-ndjson", timeout: timeout),
                            status == 200
                        else { return }
                        ledger.acknowledged.withLock { $0["c\(c)", default: []].append(range) }
                    }
                }
            }
        }
    }

    /// Waits until `count` requests were acknowledged, at most 20 s.
    static func waitForAcknowledged(_ ledger: Ledger, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ledger.acknowledged.withLock({ $0.values.reduce(0) { $0 + $1.count } }) < count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// How many times each client's each `seq` is in the `orders` log.
    static func stored(_ server: ServerProcess) async throws -> [String: [Int: Int]] {
        let reader = HTTPTestClient(baseURL: server.baseURL)
        var seen: [String: [Int: Int]] = [:]
        for partition in 0..<4 {
            for (position, record) in try await reader.readAll(StoredRecord.self, stream: "orders", partition: partition).enumerated() {
                #expect(record.offset == Int64(position), "offsets are contiguous from 0")
                let name = try #require(record.event["client"]?.string)
                let seq = try #require(record.event["seq"]?.int)
                seen[name, default: [:]][Int(seq), default: 0] += 1
            }
        }
        return seen
    }

    /// The acknowledged events that are not in `seen` exactly once.
    static func missing(_ ledger: Ledger, in seen: [String: [Int: Int]]) -> Int {
        var missing = 0
        for (name, ranges) in ledger.acknowledged.withLock({ $0 }) {
            for range in ranges {
                for seq in range where seen[name]?[seq] != 1 { missing += 1 }
            }
        }
        return missing
    }

    @Test func everyAcknowledgedEventSurvivesSIGKILLExactlyOnce() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-crash")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(in: directory, run: 1)
        let client = HTTPTestClient(baseURL: server.baseURL)
        let ledger = Ledger()
        let batch = 40

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await Self.postUntilStopped(client, ledger: ledger, clients: 6, batch: batch, timeout: .seconds(3)) }
            group.addTask {
                // Kill once a good number of requests are in flight or done.
                try await Self.waitForAcknowledged(ledger, count: 150)
                server.kill()
            }
            try await group.waitForAll()
        }
        let ackedRequests = ledger.acknowledged.withLock { $0.values.reduce(0) { $0 + $1.count } }
        #expect(ackedRequests >= 150)
        #expect(ledger.sent.withLock { $0 } > ackedRequests, "the kill should interrupt requests in flight")

        let restarted = try await ServerProcess.start(in: directory, run: 2)
        defer { restarted.terminate() }
        let reader = HTTPTestClient(baseURL: restarted.baseURL)
        let seen = try await Self.stored(restarted)
        #expect(Self.missing(ledger, in: seen) == 0, "acknowledged events missing or duplicated after the crash")
        let duplicated = seen.values.flatMap(\.values).filter { $0 > 1 }.count
        #expect(duplicated == 0)
        // A request's events for one key share one write: each batch is there whole or not at all.
        for (_, sequences) in seen {
            let batches = Dictionary(grouping: sequences.keys) { $0 / batch }
            for (_, members) in batches { #expect(members.count == batch) }
        }
        // The restarted server goes on appending after the recovered data.
        let after = try await reader.send(.POST, "/v1/streams/orders/events", body: #"{"ts":1763596800000,"client":"c0","seq":-1}"#)
        #expect(after.status == 200, "\(after.body)")
    }
}
