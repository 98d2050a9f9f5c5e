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

    @Test func everyAcknowledgedEventSurvivesSIGKILLExactlyOnce() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-crash")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(in: directory, run: 1)
        let client = HTTPTestClient(baseURL: server.baseURL)
        let ledger = Ledger()
        let clients = 6
        let batch = 40

        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<clients {
                group.addTask {
                    var next = 0
                    // Bounded: stops at the first failure (the kill) or after 2000 requests.
                    for _ in 0..<2000 {
                        let range = next...(next + batch - 1)
                        let body = range.map { #"{"ts":1763596800000,"client":"c\#(c)","seq":\#($0)}"# }.joined(separator: "\n")
                        next += batch
                        ledger.sent.withLock { $0 += 1 }
                        guard
                            let (status, _) = try? await client.send(
                                .POST, "/v1/streams/orders/events", body: body,
                                contentType: "application/x-ndjson", timeout: .seconds(3)),
                            status == 200
                        else { return }
                        ledger.acknowledged.withLock { $0["c\(c)", default: []].append(range) }
                    }
                }
            }
            group.addTask {
                // Kill once a good number of requests are in flight or done.
                let deadline = ContinuousClock.now + .seconds(20)
                while ledger.acknowledged.withLock({ $0.values.reduce(0) { $0 + $1.count } }) < 150 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                server.kill()
            }
            try await group.waitForAll()
        }
        let acknowledged = ledger.acknowledged.withLock { $0 }
        let ackedRequests = acknowledged.values.reduce(0) { $0 + $1.count }
        #expect(ackedRequests >= 150)
        #expect(ledger.sent.withLock { $0 } > ackedRequests, "the kill should interrupt requests in flight")

        let restarted = try await ServerProcess.start(in: directory, run: 2)
        defer { restarted.terminate() }
        let reader = HTTPTestClient(baseURL: restarted.baseURL)
        var seen: [String: [Int: Int]] = [:]
        for partition in 0..<4 {
            let records = try await reader.readAll(StoredRecord.self, stream: "orders", partition: partition)
            for (position, record) in records.enumerated() {
                #expect(record.offset == Int64(position), "offsets are contiguous from 0")
                let name = try #require(record.event["client"]?.string)
                let seq = try #require(record.event["seq"]?.int)
                seen[name, default: [:]][Int(seq), default: 0] += 1
            }
        }
        var missing = 0
        for (name, ranges) in acknowledged {
            for range in ranges {
                for seq in range where seen[name]?[seq] != 1 { missing += 1 }
            }
        }
        #expect(missing == 0, "acknowledged events missing or duplicated after the crash")
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
