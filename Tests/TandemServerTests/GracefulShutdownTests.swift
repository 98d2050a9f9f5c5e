import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import TandemAPI
import TandemTestSupport
import Testing

/// SIGTERM under load: the server stops taking requests, finishes those in flight, flushes the
/// log and exits 0; every event it answered 200 for is there after a restart.
@Suite("Graceful shutdown of a real server")
struct GracefulShutdownTests {
    @Test func sigtermUnderLoadKeepsEveryAcknowledgedEventAndExitsZero() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-sigterm")
        defer { directory.remove() }
        try CrashTests.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(in: directory, run: 1)
        let client = HTTPTestClient(baseURL: server.baseURL)
        let ledger = CrashTests.Ledger()
        let batch = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<6 {
                group.addTask {
                    var next = 0
                    for _ in 0..<2000 {
                        let range = next...(next + batch - 1)
                        let body = range.map { #"{"ts":1763596800000,"client":"c\#(c)","seq":\#($0)}"# }.joined(separator: "\n")
                        next += batch
                        guard
                            let (status, _) = try? await client.send(
                                .POST, "/v1/streams/orders/events", body: body, contentType: "application/x-ndjson", timeout: .seconds(10)),
                            status == 200
                        else { return }
                        ledger.acknowledged.withLock { $0["c\(c)", default: []].append(range) }
                    }
                }
            }
            group.addTask {
                let deadline = ContinuousClock.now + .seconds(20)
                while ledger.acknowledged.withLock({ $0.values.reduce(0) { $0 + $1.count } }) < 150 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                server.signalTerminate()
            }
            try await group.waitForAll()
        }
        #expect(try await server.waitForExit(timeout: .seconds(40)), "the server did not exit after SIGTERM")
        let output = try String(contentsOfFile: server.outputPath, encoding: .utf8)
        #expect(server.exitStatus == 0, "a graceful shutdown exits 0: \(output.suffix(2000))")
        #expect(output.contains("closed event log"), "the log was closed: \(output.suffix(2000))")

        let restarted = try await ServerProcess.start(in: directory, run: 2)
        defer { restarted.terminate() }
        let reader = HTTPTestClient(baseURL: restarted.baseURL)
        var seen: [String: [Int: Int]] = [:]
        for partition in 0..<4 {
            for record in try await reader.readAll(StoredRecord.self, stream: "orders", partition: partition) {
                let name = try #require(record.event["client"]?.string)
                let seq = try #require(record.event["seq"]?.int)
                seen[name, default: [:]][Int(seq), default: 0] += 1
            }
        }
        var missing = 0
        for (name, ranges) in ledger.acknowledged.withLock({ $0 }) {
            for range in ranges { for seq in range where seen[name]?[seq] != 1 { missing += 1 } }
        }
        #expect(ledger.acknowledged.withLock { $0.values.reduce(0) { $0 + $1.count } } >= 150)
        #expect(missing == 0, "acknowledged events missing or doubled after SIGTERM")
    }
}
